"""The ``schema.*`` and ``checkpoint.*`` invariants, shared by loading and constructing.

One function runs them in spec order for either surface: ``load`` judges the parsed metadata
document, ``construct`` judges the constructor's arguments. Checks that belong to one surface
only are guarded by it, so reading top to bottom gives the spec's order.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ._limits import (
    JSON_INTEGER_MAX,
    JSON_INTEGER_MIN,
    LAYER_FEATURES_MAX,
    METADATA_MAX_DEPTH,
    SURROGATE,
    WEIGHT_MAX_DEPTH,
)
from .errors import CheckpointError, type_name

REQUIRED_KEYS = (
    "layer_names",
    "layer_sizes",
    "neuron_types",
    "frozen_layers",
    "n_layers",
    "total_params",
    "metadata",
)
KNOWN_KEYS = (*REQUIRED_KEYS, "archive_sha256")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

Surface = Literal["load", "construct"]
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fields:
    """Validated, normalized checkpoint fields (weights only on the construct surface)."""

    layer_names: list[str]
    layer_sizes: list[tuple[int, int]]
    neuron_types: list[str]
    frozen_layers: list[str]
    metadata: dict[str, Any]
    weights: list[Matrix] | None
    archive_sha256: str | None


def is_integer(value: object) -> bool:
    """An integer in the spec's sense: bool is not one, numpy integers are."""
    # An exact int first: the numbers.Integral ABC check is slow and this is a hot path.
    return type(value) is int or (
        isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    )


def is_text(value: object) -> bool:
    """A string made of Unicode scalar values (no lone surrogates)."""
    return isinstance(value, str) and SURROGATE.search(value) is None


def _string_list(value: object, code: str, surface: Surface) -> list[str]:
    sequence_types = (list,) if surface == "load" else (list, tuple)
    if not isinstance(value, sequence_types):
        raise CheckpointError(code, detail=f"got {type_name(value)}")
    for index, item in enumerate(value):
        if not is_text(item):
            raise CheckpointError(code, detail=f"item {index} is {type_name(item)}")
    return list(value)


def _size_pairs(value: object, surface: Surface) -> list[tuple[int, int]]:
    code = "schema.layer_sizes.type"
    sequence_types = (list,) if surface == "load" else (list, tuple)
    if not isinstance(value, sequence_types):
        raise CheckpointError(code, detail=f"got {type_name(value)}")
    pairs = []
    for index, pair in enumerate(value):
        if not isinstance(pair, sequence_types) or len(pair) != 2:
            raise CheckpointError(code, detail=f"item {index} is not a pair")
        if not all(is_integer(feature) for feature in pair):
            raise CheckpointError(code, detail=f"item {index} holds a non-integer")
        pairs.append((int(pair[0]), int(pair[1])))
    return pairs


def json_problem(value: object, depth: int = 1) -> str | None:
    """Why an in-memory value is not strict JSON within the spec's limits, or None."""
    if isinstance(value, dict):
        if depth > METADATA_MAX_DEPTH:
            return f"nests deeper than {METADATA_MAX_DEPTH} containers"
        for key, item in value.items():
            if not is_text(key):
                return f"key {key!r} is not a string"
            problem = json_problem(item, depth + 1)
            if problem:
                return f"{key!r}: {problem}"
        return None
    if isinstance(value, list):
        if depth > METADATA_MAX_DEPTH:
            return f"nests deeper than {METADATA_MAX_DEPTH} containers"
        for index, item in enumerate(value):
            problem = json_problem(item, depth + 1)
            if problem:
                return f"[{index}]: {problem}"
        return None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        in_range = JSON_INTEGER_MIN <= value <= JSON_INTEGER_MAX
        return None if in_range else f"integer {value} is out of range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is not a finite number"
    if isinstance(value, str):
        return None if is_text(value) else "a string holds a lone surrogate"
    return f"{type_name(value)} is not a JSON value"


def _metadata(value: object, surface: Surface) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CheckpointError("schema.metadata.type", detail=f"got {type_name(value)}")
    if surface == "construct":
        problem = json_problem(value)
        if problem:
            raise CheckpointError("schema.metadata.type", detail=problem)
    return value


def _leaf(value: object, index: int) -> float:
    """One number of a nested-sequence weight as float64 (schema.weights.type otherwise)."""
    code = "schema.weights.type"
    if isinstance(value, (bool, np.bool_)):
        # numpy would quietly turn True into 1; a boolean is not a weight.
        raise CheckpointError(code, detail=f"item {index} holds a boolean")
    if isinstance(value, numbers.Integral):
        if not JSON_INTEGER_MIN <= int(value) <= JSON_INTEGER_MAX:
            raise CheckpointError(code, detail=f"item {index} holds the out-of-range integer {value}")
        return float(int(value))  # the nearest float64, ties to even
    if isinstance(value, (float, np.floating)):
        return float(value)
    raise CheckpointError(code, detail=f"item {index} holds {type_name(value)}")


def _nested(weight: list[Any] | tuple[Any, ...], index: int) -> Matrix:
    """A nested-sequence weight as an array, level by level, so that neither its depth nor its
    raggedness can make this recurse, nor reach numpy's own rank limit."""
    code = "schema.weights.type"
    level: list[Any] = [weight]
    shape: list[int] = []
    while level and all(isinstance(item, (list, tuple)) for item in level):
        if len(shape) == WEIGHT_MAX_DEPTH:
            raise CheckpointError(code, detail=f"item {index} nests deeper than {WEIGHT_MAX_DEPTH} levels")
        lengths = {len(item) for item in level}
        if len(lengths) > 1:
            raise CheckpointError(code, detail=f"item {index} is a ragged sequence")
        shape.append(lengths.pop())
        level = [leaf for item in level for leaf in item]
    if any(isinstance(item, (list, tuple)) for item in level):
        raise CheckpointError(code, detail=f"item {index} is a ragged sequence")
    values = [_leaf(item, index) for item in level]
    return np.array(values, dtype=np.float64).reshape(shape)


def _weights(value: object) -> list[Matrix]:
    code = "schema.weights.type"
    if not isinstance(value, (list, tuple)):
        raise CheckpointError(code, detail=f"got {type_name(value)}")
    matrices = []
    for index, weight in enumerate(value):
        if isinstance(weight, np.ndarray):
            if weight.dtype.kind not in "fiu":
                raise CheckpointError(code, detail=f"item {index} has dtype {weight.dtype}")
            matrices.append(np.ascontiguousarray(weight, dtype=np.float64))
        elif isinstance(weight, (list, tuple)):
            matrices.append(_nested(weight, index))
        else:
            raise CheckpointError(code, detail=f"item {index} is {type_name(weight)}")
    return matrices


def check_fields(values: Mapping[str, Any], surface: Surface) -> Fields:
    """Run the schema and checkpoint invariants of ``surface`` in spec order.

    ``values`` is the parsed document (load) or the constructor's arguments (construct).

    Raises
    ------
    CheckpointError
        With the first violated invariant.
    """
    fields = _check_schema(values, surface)
    _check_values(fields, values, surface)
    return replace(fields, frozen_layers=sorted(set(fields.frozen_layers)))


def _check_schema(values: Mapping[str, Any], surface: Surface) -> Fields:
    """The schema phase: every value has its type (the frozen set not yet normalized)."""
    if surface == "load":
        if not isinstance(values, dict):
            raise CheckpointError("schema.root.type", got=type_name(values))
        for key in REQUIRED_KEYS:
            if key not in values:
                raise CheckpointError("schema.keys.required", key=key)
        for key in values:
            if key not in KNOWN_KEYS:
                raise CheckpointError("schema.keys.known", key=key)
    names = _string_list(values["layer_names"], "schema.layer_names.type", surface)
    sizes = _size_pairs(values["layer_sizes"], surface)
    neuron_types = _string_list(values["neuron_types"], "schema.neuron_types.type", surface)
    frozen = _string_list(values["frozen_layers"], "schema.frozen_layers.type", surface)
    if surface == "load":
        for key in ("n_layers", "total_params"):
            if not is_integer(values[key]):
                raise CheckpointError(f"schema.{key}.type", got=type_name(values[key]))
    metadata = _metadata(values["metadata"], surface)
    digest = values.get("archive_sha256")
    if digest is not None or "archive_sha256" in values:
        if not (isinstance(digest, str) and _SHA256_HEX.fullmatch(digest)):
            detail = f"got {digest!r}" if isinstance(digest, str) else f"got {type_name(digest)}"
            raise CheckpointError("schema.archive_sha256.type", detail=detail)
    weights = _weights(values["weights"]) if surface == "construct" else None
    return Fields(names, sizes, neuron_types, frozen, metadata, weights, digest)


def _check_values(fields: Fields, values: Mapping[str, Any], surface: Surface) -> None:
    """The checkpoint phase: the values agree with each other."""
    names = fields.layer_names
    for index, name in enumerate(names):
        if name == "":
            raise CheckpointError("checkpoint.layer_names.nonempty", index=index)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise CheckpointError("checkpoint.layer_names.unique", name=name)
        seen.add(name)
    if len(fields.layer_sizes) != len(names):
        raise CheckpointError(
            "checkpoint.layer_sizes.count", got=len(fields.layer_sizes), expected=len(names)
        )
    for name, pair in zip(names, fields.layer_sizes):
        for field, value in zip(("input_features", "output_features"), pair):
            if not 1 <= value <= LAYER_FEATURES_MAX:
                raise CheckpointError(
                    "checkpoint.layer_sizes.range",
                    name=name, field=field, value=value, maximum=LAYER_FEATURES_MAX,
                )
    if fields.neuron_types and len(fields.neuron_types) != len(names):
        raise CheckpointError(
            "checkpoint.neuron_types.count", got=len(fields.neuron_types), expected=len(names)
        )
    for name in fields.frozen_layers:
        if name not in seen:
            raise CheckpointError("checkpoint.frozen_layers.references", name=name)
    if fields.weights is not None and len(fields.weights) != len(names):
        raise CheckpointError(
            "checkpoint.weights.count", got=len(fields.weights), expected=len(names)
        )
    if surface == "load":
        if values["n_layers"] != len(names):
            raise CheckpointError(
                "checkpoint.n_layers.consistent", got=values["n_layers"], expected=len(names)
            )
        total = sum(inputs * outputs for inputs, outputs in fields.layer_sizes)
        if values["total_params"] != total:
            raise CheckpointError(
                "checkpoint.total_params.consistent", got=values["total_params"], expected=total
            )


def check_ranks(names: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> None:
    """array.shape.rank over every layer."""
    for name, shape in zip(names, shapes):
        if len(shape) != 2:
            raise CheckpointError("array.shape.rank", name=name, shape=shape)


def check_shapes(fields: Fields, shapes: Sequence[tuple[int, ...]]) -> None:
    """array.shape.match over every layer: (output_features, input_features)."""
    for name, (inputs, outputs), shape in zip(fields.layer_names, fields.layer_sizes, shapes):
        if shape != (outputs, inputs):
            raise CheckpointError(
                "array.shape.match", name=name, shape=shape, expected=(outputs, inputs)
            )


# Values judged per piece by check_finite: a mask of the whole matrix would be new memory of an
# eighth of the weights (two masks: a quarter), faulted in page by page; a piece's stays in cache.
_FINITE_PIECE = 1 << 16


def check_finite(names: Sequence[str], weights: Sequence[Matrix]) -> None:
    """array.finite over every layer; the position is reported in row-major order."""
    for name, weight in zip(names, weights):
        for first, piece in _row_major_pieces(weight):
            bad = np.flatnonzero(~np.isfinite(piece))
            if bad.size:
                index = [int(i) for i in np.unravel_index(bad[0], piece.shape)]
                position = tuple([first + index[0], *index[1:]] if index else index)
                raise CheckpointError("array.finite", name=name, position=position)


def _row_major_pieces(array: Matrix) -> Iterator[tuple[int, Matrix]]:
    """Slices of ``array`` along its first axis, in order, with the first index of each: views
    (no copy, whatever the memory order) of about _FINITE_PIECE values."""
    if array.ndim == 0:
        yield 0, array
        return
    step = max(1, _FINITE_PIECE // max(math.prod(array.shape[1:]), 1))
    for first in range(0, array.shape[0], step):
        yield first, array[first : first + step]


def check_state(values: Mapping[str, Any]) -> Fields:
    """Every invariant of the construct surface, in spec order, over in-memory values."""
    fields = check_fields(values, "construct")
    assert fields.weights is not None
    shapes = [tuple(weight.shape) for weight in fields.weights]
    check_ranks(fields.layer_names, shapes)
    check_shapes(fields, shapes)
    check_finite(fields.layer_names, fields.weights)
    return fields
