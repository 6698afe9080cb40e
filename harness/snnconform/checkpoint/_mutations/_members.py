"""Operators on the .npy members (and the constructor's weights): magic, header, dtype,
shape, data length, finiteness."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .._casemodel import CaseModel
from .._fixturefiles import Npy, npy_header_text
from ._registry import Draw, Params, Requirement, layers, locate, operator, pick, pick_layer

# ----------------------------------------------------------------------------- .npy members


@operator("member", "load", requires=layers(1))
def bad_npy_magic(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    member = case.member(pick_layer(case, draw))
    npy = member.payload
    assert isinstance(npy, Npy)
    how = params["how"]
    if how == "magic":
        npy.magic = pick(draw, [b"\x93NUMPZ", b"\x92NUMPY", b"NUMPY\x93", b"\x93numpy", b"PK\x03\x04NP"])
    elif how == "version":
        npy.version = pick(draw, [(4, 0), (1, 1), (0, 0), (2, 1), (3, 7)])
    else:
        member.payload = npy.render()[: draw(st.integers(0, 7))]


def _header(entries: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"'{key}': {value}" for key, value in entries) + ", }"


@operator("member", "load", requires=layers(1))
def bad_npy_header(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    npy = case.npy(pick_layer(case, draw))
    entries = {"descr": repr(npy.descr), "fortran_order": str(npy.fortran_order), "shape": repr(npy.shape)}
    how = params["how"]
    if how == "length_past_end":
        npy.header_length_delta = len(npy.data) + draw(st.integers(1, 4096))
        return
    if how == "no_newline":
        npy.newline = " "
        return
    if how == "tab_before_brace":
        npy.header_text = "\t" + npy_header_text(npy.descr, npy.fortran_order, npy.shape)
        return
    if how == "missing_key":
        del entries[params.get("key") or pick(draw, sorted(entries))]
    elif how == "duplicate_key":
        key = pick(draw, sorted(entries))
        npy.header_text = _header([*entries.items(), (key, entries[key])])
        return
    elif how == "shape_without_comma":
        # "(6)" is a parenthesised int, not a tuple: the grammar's one-item shape needs "(6,)".
        entries["shape"] = f"({npy.shape[0] * npy.shape[1]})"
    elif how == "extra_key":
        entries[pick(draw, ["extra", "allow_pickle", "Descr"])] = "1"
    elif how == "shape_not_tuple":
        entries["shape"] = repr(list(npy.shape))
    elif how == "fortran_order_not_bool":
        entries["fortran_order"] = pick(draw, ["0", "'False'", "None", "false"])
    elif how == "python_expression":
        rows = npy.shape[0]
        entries["shape"] = pick(draw, [f"({rows}*1, {npy.shape[1]})", f"(int({rows}), {npy.shape[1]})",
                                        "__import__('os').getpid()"])
    elif how == "negative_dimension":
        entries["shape"] = f"(-{npy.shape[0]}, {npy.shape[1]})"
    elif how == "long_dimension":
        # More digits than npy.header_grammar allows: refused whatever the value.
        long = params["literal"]
        entries["shape"] = f"({long}, {npy.shape[1]})" if draw(st.booleans()) else f"({npy.shape[0]}, {long})"
    elif how == "structured_descr":
        entries["descr"] = f"[('w', {npy.descr!r})]"
    else:
        raise ValueError(f"unknown bad_npy_header how {how!r}")
    npy.header_text = _header(list(entries.items()))


@operator("member", "load", requires=layers(1))
def pickled_array(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    npy = case.npy(pick_layer(case, draw))
    npy.descr = params.get("descr", "|O")
    if "version" in params:
        npy.version = (params["version"][0], params["version"][1])
    npy.data = pickle.dumps([[1.0] * npy.shape[1]] * npy.shape[0], protocol=3)


@operator("member", "load", requires=layers(1))
def set_dtype(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.npy(pick_layer(case, draw)).descr = params["descr"]


def _asymmetric(params: Params) -> Requirement:
    if params.get("how") == "transpose":
        return lambda draft: any(inp != out for inp, out in draft.layer_sizes)
    return lambda draft: len(draft.layer_names) >= 1


def _bad_shape(params: Params, shape: tuple[int, int], draw: Draw) -> tuple[int, ...]:
    rows, columns = shape
    if params["rank"] == 0:
        return ()
    if params["rank"] == 1:
        return (rows * columns,)
    if params["rank"] == 3:
        return (1, rows, columns) if draw(st.booleans()) else (rows, columns, 1)
    return {"transpose": (columns, rows), "grow_rows": (rows + 1, columns),
            "grow_columns": (rows, columns + 1)}[params["how"]]


@operator("member", "load construct", requires=_asymmetric)
def reshape(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    sizes = case.state["layer_sizes"]
    candidates = [i for i, (inp, out) in enumerate(sizes) if params.get("how") != "transpose" or inp != out]
    index = pick_layer(case, draw, candidates)
    inputs, outputs = sizes[index]
    shape = _bad_shape(params, (outputs, inputs), draw)
    if case.surface == "construct":
        case.state["weights"][index] = np.resize(case.state["weights"][index], shape)
    else:
        case.npy(index).shape = shape


# huge_shape: 10^10 values; wrapping_shape: (2^61 + 8) values, whose byte count (2^64 + 64)
# wraps to 64 in 64-bit arithmetic, which is exactly the member's data: only an exact product
# refuses it.
_DECLARED_SHAPES = {"huge_shape": (100_000, 100_000), "wrapping_shape": (1073807362, 2147352580)}


def _data_long_enough(params: Params) -> Requirement:
    delta = params["delta"]
    if isinstance(delta, int) and delta < 0:
        return lambda draft: any(w.nbytes >= -delta for w in draft.weights)
    return lambda draft: len(draft.layer_names) >= 1


@operator("member", "load", requires=_data_long_enough)
def npy_data_length(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    delta = params["delta"]
    if delta in _DECLARED_SHAPES:
        # The document and the header declare a shape the member's data cannot hold.
        inputs, outputs = _DECLARED_SHAPES[delta]
        index = pick_layer(case, draw)
        assert isinstance(case.document, dict)
        sizes = case.document["layer_sizes"]
        sizes[index] = [inputs, outputs]
        case.document["total_params"] = sum(i * o for i, o in sizes)
        case.npy(index).shape = (outputs, inputs)
        if delta == "wrapping_shape":
            case.npy(index).data = bytes((inputs * outputs * 8) % 2**64)
        return
    candidates = [i for i in range(case.n_layers) if len(case.npy(i).data) >= -delta]
    npy = case.npy(pick_layer(case, draw, candidates))
    npy.data = npy.data + bytes(delta) if delta > 0 else npy.data[:delta]


def _float_layer(params: Params) -> Requirement:
    if "target" in params:
        return lambda draft: True
    return lambda draft: any(w.dtype.kind == "f" for w in draft.weights)


@operator("member", "load construct transfer", requires=_float_layer)
def non_finite(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(params.get("value", ""))
    if value is None:
        value = pick(draw, [math.nan, math.inf, -math.inf])
    if "target" in params:
        container, key = locate(case, params["target"], draw)
        container[key] = value
        return
    if case.surface == "construct":
        index = pick_layer(case, draw)
        weight = case.state["weights"][index].copy()
        weight.flat[draw(st.integers(0, weight.size - 1))] = value
        case.state["weights"][index] = weight
        return
    index = pick_layer(case, draw, [i for i in range(case.n_layers) if case.npy(i).descr[1] == "f"])
    npy = case.npy(index)
    values = np.frombuffer(npy.data, dtype=npy.descr).copy()
    values[draw(st.integers(0, values.size - 1))] = value
    npy.data = values.tobytes()
