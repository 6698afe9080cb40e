"""Boundary cases derived from the spec's numeric limits: the value at a limit (which the limit
accepts) and one step past it (which the limit's invariant refuses), on every surface and in
every place where the limit applies.

Each recipe reads its limits from ``spec.limits``, so moving a limit in the spec moves the
cases, and an implementation whose own copy of a limit is off by one fails them. The recipes
are keyed by the limit names they cover (``RECIPES``); tests check that every limit of the spec
has a recipe and that the corpus holds an "at" and a "past" case on every surface where the
spec applies the limit (:func:`limit_surfaces`).

A case "at" a limit is not always accepted as a whole: a layer of 2^31 - 1 inputs cannot be
backed by real weights in a small file, so that case expects the next invariant in spec order
(array.data.length) instead. What matters is that the limit's own invariant lets it pass.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np

from ._casemodel import CaseModel, Draft
from ._fixturefiles import Npy, Raw, npy_header_text
from ._spec import Spec

Edit = Callable[[CaseModel], None]

# Where a metadata value sits: at the root of the metadata object, nested in objects, in arrays.
PLACES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "root": lambda value: {"value": value},
    "nested": lambda value: {"nested": {"inner": {"value": value}}},
    "array": lambda value: {"values": [0, [value], 1]},
    # What real checkpoints carry: a 64-bit seed, a time.time_ns() stamp, a signed 64-bit hash.
    "real_world": lambda value: {"seed": value, "t_ns": 1764547200123456789, "neg": -(2**63)},
}
TRANSFER_SURFACES = ("transfer_config", "apply_transfer_config")


@dataclass(frozen=True)
class Boundary:
    """One boundary case: which limit, which side of it, where the value goes, what it gives."""

    name: str  # readable, part of the case id
    limit: str
    side: str  # "at": the limit lets it pass; "past": one step beyond, the limit's invariant refuses
    surface: str  # the operation that judges it: load, construct or a transfer operation
    place: str
    value: Any  # for the origin; a non-finite float is written as its repr
    code: str | None  # None: accepted
    edit: Edit

    @property
    def first(self) -> str:
        """The case's first operation (a transfer surface follows a valid load)."""
        return self.surface if self.surface in ("load", "construct") else "load"

    @property
    def origin_value(self) -> Any:
        value = self.value
        return repr(value) if isinstance(value, float) and not math.isfinite(value) else value


def limit_surfaces(spec: Spec, limit: str) -> set[str]:
    """The operations where the spec applies a limit: the surfaces of every invariant whose
    rule names it as ``limits.NAME``."""
    pattern = re.compile(rf"\blimits\.{re.escape(limit)}\b")
    return {surface for inv in spec.invariants if pattern.search(inv.rule) for surface in inv.surfaces}


def _int(spec: Spec, name: str) -> int:
    value = spec.limits[name]
    if not isinstance(value, int):
        raise TypeError(f"limits.{name} must be an integer, not {value!r}")
    return value


# ----------------------------------------------------------------------------- edits


def _set_metadata(metadata: Any, case: CaseModel) -> None:
    case.state["metadata"] = metadata
    if isinstance(case.document, dict):
        case.document["metadata"] = metadata


def _set_field(field: str, value: Any, case: CaseModel) -> None:
    assert isinstance(case.document, dict)
    case.document[field] = value


def _every_layer_size(pair: list[int], case: CaseModel) -> None:
    assert isinstance(case.document, dict)
    case.document["layer_sizes"] = [list(pair) for _ in case.document["layer_sizes"]]


def _set_document(text: str, case: CaseModel) -> None:
    case.document = Raw(text)


def _resize_first_layer(inputs: int, outputs: int, real: bool, case: CaseModel) -> None:
    """Give layer 0 these sizes: with matching weights when ``real``, else only a .npy header
    declaring the shape over the layer's old data (load) or the old matrix (construct)."""
    sizes = case.state["layer_sizes"]
    sizes[0] = [inputs, outputs]
    if case.surface == "construct":
        if real:
            case.state["weights"][0] = np.zeros((outputs, inputs))
        return
    assert isinstance(case.document, dict)
    case.document["layer_sizes"][0] = [inputs, outputs]
    case.document["total_params"] = sum(i * o for i, o in case.document["layer_sizes"])
    if real:
        case.member(0).payload = Npy.of(np.zeros((outputs, inputs)), case.npy(0).version)
    else:
        case.npy(0).shape = (outputs, inputs)


def _first_weight_leaf(value: int, case: CaseModel) -> None:
    """Layer 0's weights as nested lists whose first number is ``value``."""
    rows = np.asarray(case.state["weights"][0]).tolist()
    rows[0][0] = value
    case.state["weights"][0] = rows


def _transfer(kind: str, rate: Any, case: CaseModel) -> None:
    case.ops.append({"op": kind, "config": {"freeze_until": -1, "lr_backbone": 0.0, "lr_head": rate}})


# ----------------------------------------------------------------------------- integers


def integer_range(spec: Spec) -> Iterator[Boundary]:
    """Metadata integers: both ends of [json_integer_min, json_integer_max] and one past them,
    plus the int64/uint64 seam inside the range, where a 64-bit implementation overflows."""
    low, high = _int(spec, "json_integer_min"), _int(spec, "json_integer_max")
    values = [
        ("min", "json_integer_min", low, "at"), ("below-min", "json_integer_min", low - 1, "past"),
        ("max", "json_integer_max", high, "at"), ("above-max", "json_integer_max", high + 1, "past"),
        ("int64-max", "json_integer_max", 2**63 - 1, "at"), ("uint64-min", "json_integer_max", 2**63, "at"),
    ]
    codes = {"load": "json.number.range", "construct": "schema.metadata.type"}
    for name, limit, value, side in values:
        for surface, code in codes.items():
            for place in ("root", "nested", "array"):
                yield Boundary(f"{name}-{surface}-{place}", limit, side, surface, place, value,
                               None if side == "at" else code, partial(_set_metadata, PLACES[place](value)))
    for surface in codes:
        yield Boundary(f"real-world-{surface}", "json_integer_max", "at", surface, "real_world", high, None,
                       partial(_set_metadata, PLACES["real_world"](high)))
    # A weight's integer leaves span the same range (schema.weights.type), converted to float64.
    for name, limit, value, side in values:
        yield Boundary(f"{name}-construct-weight-leaf", limit, side, "construct", "weight leaf", value,
                       None if side == "at" else "schema.weights.type", partial(_first_weight_leaf, value))
    # Counts and sizes in the integer range but far beyond their own rules: judged on the exact
    # value, never wrapped into range.
    narrower = {"n_layers": "checkpoint.n_layers.consistent",
                "total_params": "checkpoint.total_params.consistent",
                "layer_sizes": "checkpoint.layer_sizes.range"}
    for field, code in narrower.items():
        for name, value in (("min", low), ("uint64-min", 2**63), ("max", high)):
            edit = (partial(_every_layer_size, [value, 1]) if field == "layer_sizes"
                    else partial(_set_field, field, value))
            yield Boundary(f"{field}-{name}", "json_integer_max" if value > 0 else "json_integer_min",
                           "at", "load", field, value, code, edit)


# ----------------------------------------------------------------------------- nesting


def _brackets(opener: str, closer: str, levels: int) -> str:
    return opener * levels + closer * levels


def json_depth(spec: Spec) -> Iterator[Boundary]:
    """The document's lexical depth: exactly json_max_depth passes json.depth (and meets the next
    rule), one more is refused; in metadata, at the root, in a top-level field, unclosed, after
    stray closers (the count never goes below zero), and brackets inside strings, which never
    count."""
    limit = _int(spec, "json_max_depth")
    name = "json_max_depth"

    def cases(place: str, at_code: str | None, text_for: Callable[[int], Any], edit: Callable[..., None],
              offset: int) -> Iterator[Boundary]:
        # ``offset``: the depth the place itself adds before the value's own levels.
        for side, levels, code in (("at", limit - offset, at_code), ("past", limit - offset + 1, "json.depth")):
            yield Boundary(f"json-depth-{side}-{place}", name, side, "load", place, levels + offset, code,
                           partial(edit, text_for(levels)))

    def in_metadata(text: str, case: CaseModel) -> None:
        _set_metadata({"deep": Raw(text)}, case)

    yield from cases("metadata-arrays", None, lambda n: _brackets("[", "]", n), in_metadata, 2)
    yield from cases("metadata-objects", None, lambda n: '{"a":' * n + "1" + "}" * n, in_metadata, 2)
    yield from cases("root", "schema.root.type", lambda n: _brackets("[", "]", n), _set_document, 0)
    yield from cases("layer-names", "schema.layer_names.type", lambda n: Raw(_brackets("[", "]", n)),
                     partial(_set_field, "layer_names"), 1)
    yield from cases("unclosed", "json.syntax", lambda n: "[" * n, in_metadata, 2)
    yield from cases("after-stray-closers", "json.syntax", lambda n: "]]]" + "[" * n, _set_document, 0)
    for place, text in (("in-string", "[" * (limit + 8)), ("after-escaped-quote", '\\"' + "{" * (limit + 8))):
        yield Boundary(f"json-depth-at-{place}", name, "at", "load", place, limit + 8, None,
                       partial(_set_metadata, {"text": text}))


def _nested(containers: int, style: str) -> Any:
    """A value nesting ``containers`` containers: lists, dicts, or alternating."""
    value: Any = []
    for level in range(containers - 1):
        as_dict = style == "objects" or (style == "mixed" and level % 2)
        value = {"d": value} if as_dict else [value]
    return value


def metadata_depth(spec: Spec) -> Iterator[Boundary]:
    """In-memory metadata nests at most metadata_max_depth containers (itself included); in a
    document the same metadata reaches json_max_depth, and one more level is json.depth."""
    limit = _int(spec, "metadata_max_depth")
    past = {"construct": "schema.metadata.type", "load": "json.depth"}
    for surface, code in past.items():
        for style in ("arrays", "objects", "mixed"):
            for side, containers in (("at", limit), ("past", limit + 1)):
                metadata = {"deep": _nested(containers - 1, style)}
                yield Boundary(f"metadata-depth-{side}-{surface}-{style}", "metadata_max_depth", side, surface,
                               style, containers, None if side == "at" else code,
                               partial(_set_metadata, metadata))


def _wrapped(levels: int) -> Any:
    value: Any = 0.5
    for _ in range(levels):
        value = [value]
    return value


def _set_first_weight(weight: Any, case: CaseModel) -> None:
    case.state["weights"][0] = weight


def _first_weight_as_lists(case: CaseModel) -> None:
    case.state["weights"][0] = case.state["weights"][0].tolist()


def weight_depth(spec: Spec) -> Iterator[Boundary]:
    """A weight given as nested lists: weight_max_depth levels build an array (refused by rank),
    one more is refused as a weight type; a matrix as lists of lists is accepted."""
    limit = _int(spec, "weight_max_depth")
    name = "weight_max_depth"
    yield Boundary("weight-depth-at-matrix-as-lists", name, "at", "construct", "lists", 2, None,
                   _first_weight_as_lists)
    yield Boundary("weight-depth-at-limit", name, "at", "construct", "wrapped", limit, "array.shape.rank",
                   partial(_set_first_weight, _wrapped(limit)))
    for levels in sorted({limit + 1, 2 * limit, 2 * limit + 1}):
        yield Boundary(f"weight-depth-past-{levels}", name, "past", "construct", "wrapped", levels,
                       "schema.weights.type", partial(_set_first_weight, _wrapped(levels)))


# ----------------------------------------------------------------------------- layer sizes


def layer_features(spec: Spec) -> Iterator[Boundary]:
    """input_features and output_features at both ends of their range and one step past.
    At the maximum no small file holds the weights, so the case meets the next rule instead:
    array.data.length (load: the header declares the shape) or array.shape.match (construct)."""
    low, high = _int(spec, "layer_features_min"), _int(spec, "layer_features_max")
    after_high = {"load": "array.data.length", "construct": "array.shape.match"}
    fields: dict[str, Callable[[int], tuple[int, int]]] = {"input": lambda v: (v, 2), "output": lambda v: (2, v)}
    for surface in ("load", "construct"):
        for field, sizes in fields.items():
            yield Boundary(f"features-at-min-{surface}-{field}", "layer_features_min", "at", surface, field,
                           low, None, partial(_resize_first_layer, *sizes(low), True))
            yield Boundary(f"features-below-min-{surface}-{field}", "layer_features_min", "past", surface,
                           field, low - 1, "checkpoint.layer_sizes.range",
                           partial(_resize_first_layer, *sizes(low - 1), False))
            yield Boundary(f"features-at-max-{surface}-{field}", "layer_features_max", "at", surface, field,
                           high, after_high[surface], partial(_resize_first_layer, *sizes(high), False))
            yield Boundary(f"features-above-max-{surface}-{field}", "layer_features_max", "past", surface,
                           field, high + 1, "checkpoint.layer_sizes.range",
                           partial(_resize_first_layer, *sizes(high + 1), False))


# ----------------------------------------------------------------------------- float64


def _exponent10(value: Fraction) -> int:
    """floor(log10(value)) for a positive fraction, exactly."""
    exponent = len(str(value.numerator)) - len(str(value.denominator))
    while Fraction(10) ** exponent > value:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= value:
        exponent += 1
    return exponent


def _literal(value: Fraction, digits: int, up: bool) -> str:
    """``value`` as a decimal literal of ``digits`` significant digits, rounded up or down."""
    shift = _exponent10(value) - digits + 1
    scaled = value / Fraction(10) ** shift
    text = str(math.ceil(scaled) if up else math.floor(scaled))
    return f"{text[0]}.{text[1:]}e{shift + len(text) - 1}" if len(text) > 1 else f"{text}e{shift}"


def _float_literals(maximum: float) -> tuple[dict[str, str], dict[str, str]]:
    """Literals (by label) on both sides of the point where rounding to float64 overflows
    (halfway between the largest finite float64 and 2^1024, a tie that goes to even, i.e. to
    infinity), and around half the smallest subnormal, where rounding goes to zero (finite)."""
    halfway = Fraction(maximum) + Fraction(math.ulp(maximum)) / 2
    half_tiny = Fraction(math.ulp(0.0)) / 2
    finite = {"max": repr(maximum), "minus-max": "-" + repr(maximum),
              "below-halfway": _literal(halfway, 17, up=False), "halfway-minus-1": f"{int(halfway) - 1}.0",
              "min-subnormal": repr(math.ulp(0.0)), "above-half-subnormal": _literal(half_tiny, 17, up=True),
              "below-half-subnormal": _literal(half_tiny, 17, up=False),
              "minus-below-half-subnormal": "-" + _literal(half_tiny, 17, up=False)}
    infinite = {"above-halfway": _literal(halfway, 17, up=True),
                "minus-above-halfway": "-" + _literal(halfway, 17, up=True),
                "one-digit": _literal(halfway, 1, up=True), "halfway": f"{int(halfway)}.0"}
    return finite, infinite


def _set_first_matrix(value: float, descr: str, case: CaseModel) -> None:
    """Layer 0's weights with ``value`` first, stored in ``descr`` (load) or given in memory."""
    shape = case.state["weights"][0].shape
    matrix = np.zeros(shape, dtype=np.dtype(descr))
    with np.errstate(over="ignore"):
        matrix.flat[0] = value
    if case.surface == "construct":
        case.state["weights"][0] = matrix.astype(np.float64)
    else:
        case.member(0).payload = Npy.of(matrix, case.npy(0).version)


def float_range(spec: Spec) -> Iterator[Boundary]:
    """The largest finite float64 and one step past it (infinity, or a literal rounding there)
    wherever the spec asks for finite numbers: metadata literals and values, weights (in every
    float dtype), learning rates (floats, and integers rounded to float64)."""
    maximum = spec.limits["float64_max"]
    assert isinstance(maximum, float)
    name = "float64_max"
    finite, infinite = _float_literals(maximum)
    for side, literals, code in (("at", finite, None), ("past", infinite, "json.number.range")):
        for label, literal in literals.items():
            yield Boundary(f"float-{side}-load-literal-{label}", name, side, "load", "metadata", literal, code,
                           partial(_set_metadata, {"value": Raw(literal)}))
    values = {"max": maximum, "minus-max": -maximum, "min-subnormal": math.ulp(0.0), "infinity": math.inf,
              "minus-infinity": -math.inf}
    for label, value in values.items():
        side = "at" if math.isfinite(value) else "past"
        yield Boundary(f"float-{side}-construct-metadata-{label}", name, side, "construct", "metadata",
                       value, None if side == "at" else "schema.metadata.type",
                       partial(_set_metadata, {"value": value}))
    for surface in ("load", "construct"):
        for descr in ("<f8", ">f4", "<f2"):
            top = float(np.finfo(np.dtype(descr)).max)
            yield Boundary(f"float-at-{surface}-weight-max-{descr[1:]}", name, "at", surface,
                           f"weight {descr}", top, None, partial(_set_first_matrix, top, descr))
        yield Boundary(f"float-past-{surface}-weight", name, "past", surface, "weight <f8", math.inf,
                       "array.finite", partial(_set_first_matrix, math.inf, "<f8"))
    halfway = int(Fraction(maximum) + Fraction(math.ulp(maximum)) / 2)
    rates: list[tuple[str, Any, str]] = [
        ("float-max", maximum, "at"), ("integer-max", int(maximum), "at"),
        ("integer-rounding-to-max", halfway - 1, "at"), ("integer-above-2-53", 2**53 + 1, "at"),
        ("infinity", math.inf, "past"), ("integer-rounding-to-infinity", halfway, "past")]
    for surface in TRANSFER_SURFACES:
        for label, rate, side in rates:
            yield Boundary(f"float-{side}-{surface}-{label}", name, side, surface, "lr_head", rate,
                           None if side == "at" else "transfer.learning_rate.range",
                           partial(_transfer, surface, rate))


# ----------------------------------------------------------------------------- .npy headers


def _long_header(version: tuple[int, int], length: int | None, field: int | None, case: CaseModel) -> None:
    member, npy = case.member(0), case.npy(0)
    npy.version, npy.header_length, npy.length_field = version, length, field
    member.method, member.compressed = 8, None  # a long run of spaces deflates to a few bytes


def npy_header_length(spec: Spec) -> Iterator[Boundary]:
    """A 1.0 header exactly as long as its uint16 field can say, and one byte longer (the field
    says the maximum, so the header read is cut before its newline); a 2.0 / 3.0 header longer
    than any 1.0 one (testable with a small file), and a 2.0 / 3.0 field at its maximum, which
    runs past the member."""
    v1, v2 = _int(spec, "npy_header_length_max_v1"), _int(spec, "npy_header_length_max_v2")
    yield Boundary("npy-header-at-v1", "npy_header_length_max_v1", "at", "load", "1.0", v1, None,
                   partial(_long_header, (1, 0), v1, None))
    yield Boundary("npy-header-past-v1", "npy_header_length_max_v1", "past", "load", "1.0", v1 + 1,
                   "array.npy.header", partial(_long_header, (1, 0), v1 + 1, v1))
    for version in ((2, 0), (3, 0)):
        label = f"{version[0]}.{version[1]}"
        yield Boundary(f"npy-header-at-v{version[0]}", "npy_header_length_max_v2", "at", "load", label,
                       v1 + 1, None, partial(_long_header, version, v1 + 1, None))
        yield Boundary(f"npy-header-past-v{version[0]}", "npy_header_length_max_v2", "past", "load", label,
                       v2, "array.npy.header", partial(_long_header, version, None, v2))


def _first_shape(rows: int | None, columns: int | None, case: CaseModel) -> None:
    npy = case.npy(0)
    old_rows, old_columns = npy.shape
    npy.shape = (old_rows if rows is None else rows, old_columns if columns is None else columns)


def npy_dimension_digits(spec: Spec) -> Iterator[Boundary]:
    """Dimensions of exactly npy_dimension_digits_max digits parse (and meet array.shape.match);
    one digit more is a header error whatever the value, even when it fits an int64."""
    digits = _int(spec, "npy_dimension_digits_max")
    name = "npy_dimension_digits_max"
    for side, values, code in (("at", ("9" * digits, "1" + "0" * (digits - 1)), "array.shape.match"),
                               ("past", ("1" + "0" * digits, "9" * (digits + 1)), "array.npy.header")):
        for value in values:
            for place, rows, columns in (("rows", int(value), None), ("columns", None, int(value)),
                                         ("both", int(value), int(value))):
                yield Boundary(f"npy-digits-{side}-{value[:2]}x{len(value)}-{place}", name, side, "load",
                               place, value, code, partial(_first_shape, rows, columns))


# ----------------------------------------------------------------------------- zip fields


def _append_comment(length: int, extra: int, data: bytes) -> bytes:
    """The end record's comment length set to ``length``, then ``length + extra`` comment bytes."""
    return data[:-2] + struct.pack("<H", length) + b"#" * (length + extra)


def _end_record(offset: int, value: bytes, data: bytes) -> bytes:
    end = len(data) - 22
    return data[: end + offset] + value + data[end + offset + len(value):]


def _archive_edit(zip64: bool, edit: Callable[[bytes], bytes], case: CaseModel) -> None:
    case.archive.zip64 = zip64
    case.archive_edits.append(edit)


def zip_u16(spec: Spec) -> Iterator[Boundary]:
    """A comment of zip_u16_max bytes (the end record is as far from the end as it can be), and
    the same record one byte farther; entry counts at zip_u16_max without a zip64 record."""
    top = _int(spec, "zip_u16_max")
    name = "zip_u16_max"
    for zip64 in (False, True):
        label = "zip64" if zip64 else "zip32"
        yield Boundary(f"zip-comment-at-{label}", name, "at", "load", "comment", top, None,
                       partial(_archive_edit, zip64, partial(_append_comment, top, 0)))
        yield Boundary(f"zip-comment-past-{label}", name, "past", "load", "comment", top + 1,
                       "archive.zip.structure", partial(_archive_edit, zip64, partial(_append_comment, top, 1)))
    counts = struct.pack("<HH", top, top)
    yield Boundary("zip-entry-count-past", name, "past", "load", "entry count", top, "archive.zip.structure",
                   partial(_archive_edit, False, partial(_end_record, 8, counts)))


def _first_member(field: str, value: int, zip64: bool, case: CaseModel) -> None:
    case.archive.zip64 = zip64
    member = case.member(0)
    member.method, member.compressed = 8, None
    setattr(member, field, value)


def zip_u32(spec: Spec) -> Iterator[Boundary]:
    """32-bit fields: 0xFFFFFFFE is a value (a lying size: member integrity), 0xFFFFFFFF is a
    placeholder needing its zip64 extra field or end record (structure without one); the zip64
    value itself may be anything up to 2^64 - 1 (member integrity when it lies)."""
    top = _int(spec, "zip_u32_max")
    name = "zip_u32_max"
    integrity, structure = "archive.member.integrity", "archive.zip.structure"
    yield Boundary("zip-u32-at-zip64-placeholders", name, "at", "load", "zip64 extra", top, None,
                   partial(_archive_edit, True, lambda data: data))
    yield Boundary("zip-u32-at-usize-value", name, "at", "load", "uncompressed size", top - 1, integrity,
                   partial(_first_member, "uncompressed_size", top - 1, False))
    for value in (2**63 - 1, 2**63, 2**64 - 1):
        yield Boundary(f"zip-u32-at-zip64-usize-{value:x}", name, "at", "load", "zip64 uncompressed size",
                       value, integrity, partial(_first_member, "uncompressed_size", value, True))
    for field in ("uncompressed_size", "compressed_size", "central_offset"):
        yield Boundary(f"zip-u32-past-{field.replace('_', '-')}", name, "past", "load", field, top, structure,
                       partial(_first_member, field, top, False))
    for offset, label in ((12, "directory-size"), (16, "directory-offset")):
        yield Boundary(f"zip-u32-past-{label}", name, "past", "load", label, top, structure,
                       partial(_archive_edit, False, partial(_end_record, offset, struct.pack("<I", top))))


# ----------------------------------------------------------------------------- layer indexes


def _layer_index_op(surface: str, value: int | None, case: CaseModel) -> None:
    """A transfer operation with ``value`` as its index (None: the checkpoint's last layer + 1)."""
    index = case.n_layers if value is None else value
    if surface == "freeze_layers":
        case.ops.append({"op": surface, "args": {"until_index": index}})
    else:
        case.ops.append({"op": surface, "config": {"freeze_until": index, "lr_backbone": 0.0, "lr_head": 0.01}})


def layer_index(spec: Spec) -> Iterator[Boundary]:
    """A layer index at layer_index_min and one below, wherever an index is judged; and, where
    it meets a checkpoint, its data-given upper end: the last layer and one past it."""
    low = _int(spec, "layer_index_min")
    name = "layer_index_min"
    # TransferConfig's own check comes first in spec order; freeze_layers has only the index's.
    past = {"freeze_layers": "transfer.layer_index.range", "transfer_config": "transfer.freeze_until.range",
            "apply_transfer_config": "transfer.freeze_until.range"}
    for surface, code in past.items():
        yield Boundary(f"layer-index-at-min-{surface}", name, "at", surface, "index", low, None,
                       partial(_layer_index_op, surface, low))
        yield Boundary(f"layer-index-past-min-{surface}", name, "past", surface, "index", low - 1, code,
                       partial(_layer_index_op, surface, low - 1))
    for surface in ("freeze_layers", "apply_transfer_config"):
        yield Boundary(f"layer-index-past-last-{surface}", name, "past", surface, "index", "n_layers",
                       "transfer.layer_index.range", partial(_layer_index_op, surface, None))


# ----------------------------------------------------------------------------- registry


RECIPES: dict[tuple[str, ...], Callable[[Spec], Iterator[Boundary]]] = {
    ("json_integer_min", "json_integer_max"): integer_range,
    ("json_max_depth",): json_depth,
    ("metadata_max_depth",): metadata_depth,
    ("weight_max_depth",): weight_depth,
    ("layer_features_min", "layer_features_max"): layer_features,
    ("layer_index_min",): layer_index,
    ("float64_max",): float_range,
    ("npy_header_length_max_v1", "npy_header_length_max_v2"): npy_header_length,
    ("npy_dimension_digits_max",): npy_dimension_digits,
    ("zip_u16_max",): zip_u16,
    ("zip_u32_max",): zip_u32,
}


def limits_without_recipe(spec: Spec) -> list[str]:
    """The spec's limits that no recipe covers (a test keeps this empty)."""
    covered = {name for names in RECIPES for name in names}
    return [name for name in spec.limits if name not in covered]


def boundaries(spec: Spec) -> Iterator[Boundary]:
    for recipe in RECIPES.values():
        yield from recipe(spec)


def boundary_case(boundary: Boundary, draft: Draft) -> CaseModel:
    case = CaseModel.from_draft(draft, boundary.first)
    boundary.edit(case)
    return case
