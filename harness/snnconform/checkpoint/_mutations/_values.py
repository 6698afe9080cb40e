"""Generic operators on values (type, unique, references, range, count, consistency),
for the document, the constructor's arguments and the transfer operations alike."""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .._casemodel import CaseModel
from .._fixturefiles import Raw
from .._hostvalue import Opaque
from .._strategies import json_values, nested
from ._registry import Draw, Params, Requirement, layers, locate, operator, pick, pick_layer

# ----------------------------------------------------------------------------- values (generic)

_WRONG_TYPES: dict[str, list[Any]] = {
    "object": [[], "text", 1, 1.5, True, None],
    "array": ["text", 1, {}, None, True],
    "string": [1, 1.5, None, True, [], {}],
    "integer": [1.5, 2.0, "3", None, True, [], {}],
    "number": ["0.1", None, True, [], {}],
    "string_or_integer": [1.5, None, True, [], {}],
    "boolean": [0, 1, "true", None, [], {}],
    "pair": ["64x32", 64, None, {}],
    "matrix": ["w", 1, 1.5, None, True, {}],
}


def _wrong_types(params: Params) -> list[Any]:
    candidates = _WRONG_TYPES[params["expect"]]
    if params["target"].startswith("/args"):
        # null means "not given" for freeze/unfreeze selectors, which is another invariant.
        candidates = [value for value in candidates if value is not None]
    return candidates


def _needs_item(params: Params) -> Requirement:
    target = params.get("target", "")
    if target.startswith(("/layer_names/", "/layer_sizes/", "/weights/", "/args/layer_names/")):
        return lambda draft: len(draft.layer_names) >= 1
    if target.startswith("/neuron_types/"):
        return lambda draft: len(draft.neuron_types) >= 1
    if target.startswith("/frozen_layers/"):
        return lambda draft: len(draft.frozen_layers) >= 1
    return lambda draft: True


@operator("value", "load construct transfer", requires=_needs_item)
def retype(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    # A "value" parameter pins one wrong value; otherwise one of the expectation's wrong types.
    wrong = params["value"] if "value" in params else pick(draw, _wrong_types(params))
    if params["target"] == "/":
        case.document = wrong
    elif params["target"] == "/archive_sha256":
        case.digest = wrong if wrong is not None else Raw("null")
    else:
        container, key = locate(case, params["target"], draw)
        container[key] = wrong


@operator("value", "construct", requires=layers(1))
def rows_as_arrays(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    """A weight given as a list of its rows, each a numpy array: numpy would stack them into
    the matrix, the spec refuses an array inside a sequence."""
    index = pick_layer(case, draw)
    case.state["weights"][index] = list(np.asarray(case.state["weights"][index]))


@operator("value", "load construct", requires=layers(1))
def resize_pair(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    container, key = locate(case, "/layer_sizes/*", draw)
    pair = list(container[key])
    container[key] = pair[:1] if params["length"] == 1 else [*pair, 1]


@operator("value", "load")
def drop_key(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    assert isinstance(case.document, dict)
    del case.document[params["key"]]


@operator("value", "load")
def add_key(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    assert isinstance(case.document, dict)
    case.document[params["key"]] = draw(json_values)


_NON_JSON: dict[str, Callable[[Draw], Any]] = {
    "nan": lambda draw: math.nan,
    "infinity": lambda draw: pick(draw, [math.inf, -math.inf]),
    "set": lambda draw: {1, 2},
    "bytes": lambda draw: b"\x00\xff",
    "tuple": lambda draw: (1, "two"),
    "big_int": lambda draw: pick(draw, [2**64, -(2**63) - 1, 10**30, -(10**48)]),
    "deep": lambda draw: nested(draw(st.integers(63, 80))),
}


@operator("value", "construct")
def non_json_metadata(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    metadata = dict(case.state["metadata"])
    kind = params["value"]
    if kind == "object":
        metadata["model"] = Opaque("object()")
    elif kind == "int_key":
        metadata[draw(st.integers(0, 9))] = "layer"
    else:
        metadata["value"] = _NON_JSON[kind](draw)
    case.state["metadata"] = metadata


@operator("value", "load")
def bad_digest_text(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    how = params["how"]
    case.digest = lambda archive: {
        "uppercase": hashlib.sha256(archive).hexdigest().upper(),
        "short": hashlib.sha256(archive).hexdigest()[:63],
        "non_hex": hashlib.sha256(archive).hexdigest()[:63] + "g",
    }[how]


@operator("value", "load construct", requires=_needs_item)
def empty_string(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    container, key = locate(case, params["target"], draw)
    container[key] = ""


@operator("value", "load construct", requires=layers(2))
def duplicate_item(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    container, key = locate(case, params["target"], draw)
    items = container[key]
    source, destination = draw(st.permutations(range(len(items))))[:2]
    items[destination] = items[source]


def _resizable(params: Params) -> Requirement:
    field, delta = params["target"].strip("/"), params["delta"]
    if field == "neuron_types":
        # An empty list is valid, so shrinking needs two entries and growing needs one.
        return lambda draft: len(draft.neuron_types) >= (2 if delta < 0 else 1)
    return lambda draft: len(draft.layer_names) >= (1 if delta < 0 else 0)


_FILLERS: dict[str, Any] = {"layer_sizes": [1, 1], "neuron_types": "LIF", "weights": np.zeros((1, 1))}


@operator("value", "load construct", requires=_resizable)
def resize_list(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    container, key = locate(case, params["target"], draw)
    if params["delta"] > 0:
        container[key].append(copy.deepcopy(_FILLERS[key]))
    else:
        container[key].pop(pick(draw, range(len(container[key]))))


def _out_of_range_values(params: Params, invariant: dict[str, Any], case: CaseModel) -> list[Any]:
    if params.get("bound") == "n_layers" or params["target"] == "/args/until_index":
        count = case.n_layers
        above = [count, count + 1, count + 10]
        return above if params.get("bound") == "n_layers" else [*above, -2, -5]
    low, high = invariant.get("minimum"), invariant.get("maximum")
    values: list[Any] = []
    if low is not None:
        values += [low - 1, low - 7] if low != 0 else [-0.001, -1, -5e-324, -1e308]
    if high is not None:
        values += [high + 1, high + 5, 2**40]
    return values


@operator("value", "load construct transfer", requires=_needs_item)
def out_of_range(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    container, key = locate(case, params["target"], draw)
    container[key] = pick(draw, _out_of_range_values(params, invariant, case))


def _dangling(names: list[str], draw: Draw) -> str:
    candidates = ["ghost", "Layer", "output "]
    if names:
        candidates += [names[0] + " ", names[0] + "_missing", names[0].upper() + "X"]
    return str(pick(draw, [name for name in candidates if name not in names]))


@operator("value", "load construct transfer")
def dangling_reference(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    name = _dangling(case.state["layer_names"], draw)
    target = params["target"]
    if target.endswith("/*"):
        container, key = locate(case, target[:-2], draw)
        items = container.setdefault(key, [])
        items.insert(draw(st.integers(0, len(items))), name)
    else:
        container, key = locate(case, target, draw)
        container[key] = name


@operator("value", "load")
def shift_integer(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    container, key = locate(case, params["target"], draw)
    container[key] += params["delta"]



# ----------------------------------------------------------------------------- transfer


@operator("transfer", "transfer")
def drop_selector(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    op = case.ops[-1]
    if op["op"] == "freeze_layers":
        op["args"] = pick(draw, [{}, {"layer_names": None}, {"until_index": None},
                                  {"layer_names": None, "until_index": None}])
    elif "all_layers" in params:
        op["args"] = {"all_layers": params["all_layers"]}  # only all_layers=True selects
    else:
        op["args"] = pick(draw, [{}, {"all_layers": False}, {"layer_names": None, "all_layers": False}])
