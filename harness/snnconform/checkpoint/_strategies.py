"""Hypothesis strategies for valid checkpoints, their file encodings and transfer operations.

Everything drawn here is valid by construction; invalid cases come from applying a mutation
operator to one of these (see :mod:`._mutations`). Sub-strategies are keyword defaults so a test
can narrow them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from sc_neurocore.transfer._limits import ACCEPTED_DTYPES, JSON_INTEGER_MAX, JSON_INTEGER_MIN

from ._casemodel import Draft

NEURON_TYPES = ("LIF", "IF", "ALIF", "AdEx", "Izhikevich", "HH")

names = st.text(min_size=1, max_size=10)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(JSON_INTEGER_MIN, JSON_INTEGER_MAX)
    # The ends of the range and the int64/uint64 seam, where implementations overflow.
    | st.sampled_from([JSON_INTEGER_MIN, 2**63 - 1, 2**63, JSON_INTEGER_MAX, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    """A metadata value nesting ``depth`` containers (the deepest is empty)."""
    value: Any = []
    for level in range(depth - 1):
        value = {"d": value} if level % 2 else [value]
    return value


@st.composite
def metadata(draw: st.DrawFn, values: st.SearchStrategy[Any] = json_values) -> dict[str, Any]:
    """Free JSON metadata; sometimes at the deepest nesting the spec allows (63 levels)."""
    result = draw(st.dictionaries(st.text(max_size=8), values, max_size=4))
    # One time in 20; not on 0, the value Hypothesis shrinks to, so minimal examples stay flat.
    if draw(st.integers(0, 19)) == 19:
        result["deep"] = nested(62)  # metadata itself is level 1, so this reaches 63
    return result


@st.composite
def matrices(draw: st.DrawFn, shape: tuple[int, int], descr: str) -> np.ndarray[Any, Any]:
    """A matrix whose values the dtype holds exactly (so the digest is well defined)."""
    dtype = np.dtype(descr)
    count = shape[0] * shape[1]
    if dtype.kind == "f":
        width = dtype.itemsize * 8
        elements = st.floats(allow_nan=False, allow_infinity=False, width=width)  # type: ignore[arg-type]
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    values = draw(st.lists(elements, min_size=count, max_size=count))
    return np.array(values, dtype=dtype).reshape(shape)


@st.composite
def drafts(
    draw: st.DrawFn,
    min_layers: int = 0,
    max_layers: int = 4,
    max_features: int = 6,
    layer_names: st.SearchStrategy[str] = names,
) -> Draft:
    """A valid checkpoint with varied but valid file encodings."""
    count = draw(st.integers(min_layers, max_layers))
    layer_list = draw(st.lists(layer_names, min_size=count, max_size=count, unique=True))
    sizes = [
        (draw(st.integers(1, max_features)), draw(st.integers(1, max_features))) for _ in layer_list
    ]
    release_format = draw(st.booleans())  # what the original release wrote: <f8, C order, deflate

    def varied(release: Any, choices: st.SearchStrategy[Any]) -> list[Any]:
        return [release if release_format else draw(choices) for _ in layer_list]

    dtypes = varied("<f8", st.sampled_from(("<f8",) * 4 + ACCEPTED_DTYPES))
    weights = [draw(matrices((out, inp), descr)) for (inp, out), descr in zip(sizes, dtypes)]
    neuron_types = draw(
        st.just([]) | st.lists(st.sampled_from(NEURON_TYPES) | names, min_size=count, max_size=count)
    )
    frozen = draw(st.lists(st.sampled_from(layer_list), max_size=count)) if layer_list else []
    return Draft(
        weights=weights,
        layer_names=layer_list,
        layer_sizes=sizes,
        neuron_types=neuron_types,
        metadata=draw(metadata()),
        frozen_layers=frozen,
        fortran=varied(False, st.booleans()),
        npy_versions=varied((1, 0), st.sampled_from([(1, 0), (1, 0), (2, 0), (3, 0)])),
        methods=varied(8, st.sampled_from([0, 8])),
        numpy_style=varied(True, st.booleans()),
        member_order=list(range(count)) if release_format else draw(st.permutations(range(count))),
        with_digest=not release_format and draw(st.booleans()),
        compact_json=not release_format and draw(st.booleans()),
        ascii_json=release_format or draw(st.booleans()),
        zip64=not release_format and draw(st.integers(0, 4)) == 0,
        npy_leading_spaces=varied(0, st.sampled_from([0, 0, 0, 0, 1, 3])),
    )


rates = st.sampled_from([0, 1, 0.0, -0.0, 0.01, 1e-3, 5e-324, 0.1, 2.5]) | st.floats(
    0, 10, allow_nan=False, allow_infinity=False
)


@st.composite
def transfer_ops(draw: st.DrawFn, layer_names: list[str], kind: str | None = None) -> dict[str, Any]:
    """One valid transfer operation on a checkpoint with these layers."""
    count = len(layer_names)
    kinds = ["transfer_config", "apply_transfer_config", "unfreeze_layers"]
    if count:
        kinds.append("freeze_layers")
    kind = kind or draw(st.sampled_from(kinds))
    subset = st.lists(st.sampled_from(layer_names), max_size=count) if count else st.just([])
    if kind == "freeze_layers":
        args: dict[str, Any] = {}
        choice = draw(st.sampled_from(["names", "index", "both"]))
        if choice in ("names", "both"):
            args["layer_names"] = draw(subset)
        if choice in ("index", "both"):
            args["until_index"] = draw(st.integers(-1, count - 1))
        return {"op": kind, "args": args}
    if kind == "unfreeze_layers":
        if draw(st.booleans()):
            return {"op": kind, "args": {"all_layers": True}}
        return {"op": kind, "args": {"layer_names": draw(subset), "all_layers": False}}
    until: int | str
    if kind == "transfer_config":
        until = draw(st.integers(-1, 10**6) | st.text(max_size=6))
    else:
        names_or_none: st.SearchStrategy[int | str] = st.sampled_from(layer_names) if count else st.just(-1)
        until = draw(st.integers(-1, count - 1) | names_or_none)
    config: dict[str, Any] = {"freeze_until": until}
    for key in ("lr_backbone", "lr_head"):
        if draw(st.booleans()):
            config[key] = draw(rates)
    return {"op": kind, "config": config}


@st.composite
def valid_cases(draw: st.DrawFn, base: st.SearchStrategy[Draft] = drafts()) -> Draft:
    """A draft followed by zero to three valid transfer operations."""
    draft = draw(base)
    draft.ops = draw(st.lists(transfer_ops(draft.layer_names), max_size=3))
    return draft
