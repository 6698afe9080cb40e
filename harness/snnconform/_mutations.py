"""The registry of mutation operators the spec names.

An operator edits a valid :class:`CaseModel` so that it violates one invariant. Generic
constraint kinds (type, unique, references, range, finite, count) have generic operators that
work from a JSON-pointer-like ``target`` (``*`` picks an item), so a new invariant of a known
kind needs YAML only. Operators draw their choices through Hypothesis, so shrinking and
replaying work as for any other strategy.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._casemodel import CaseModel, Draft
from ._fixturefiles import Npy, Pairs, Raw, ZipMember
from ._strategies import json_values, nested

Draw = st.DrawFn
Params = dict[str, Any]
Requirement = Callable[[Draft], bool]

#: Stages, in the order a loader meets them; mixed cases combine operators of different stages.
STAGES = ("file", "text", "value", "archive", "member", "transfer")


@dataclass(frozen=True)
class Operator:
    """A registered mutation: what it acts on and what the valid case it starts from needs."""

    apply: Callable[[CaseModel, Params, dict[str, Any], Draw], None]
    stage: str
    surfaces: frozenset[str]  # "load", "construct" (the first operation), "transfer"
    requires: Callable[[Params], Requirement] = lambda params: lambda draft: True


OPERATORS: dict[str, Operator] = {}


def operator(
    stage: str,
    surfaces: str = "load construct",
    requires: Callable[[Params], Requirement] | None = None,
) -> Callable[[Callable[[CaseModel, Params, dict[str, Any], Draw], None]], Any]:
    """Register the decorated function under its name."""

    def register(function: Callable[[CaseModel, Params, dict[str, Any], Draw], None]) -> Any:
        OPERATORS[function.__name__] = Operator(
            function, stage, frozenset(surfaces.split()), requires or (lambda params: lambda draft: True)
        )
        return function

    return register


def layers(minimum: int) -> Callable[[Params], Requirement]:
    return lambda params: lambda draft: len(draft.layer_names) >= minimum


def _pick(draw: Draw, items: list[Any] | range) -> Any:
    return draw(st.sampled_from(list(items)))


# ----------------------------------------------------------------------------- locating targets


def _root(case: CaseModel, pointer: str) -> Any:
    if pointer.startswith("/config") or pointer.startswith("/args"):
        return case.ops[-1]
    return case.document if case.surface == "load" else case.state


def locate(case: CaseModel, pointer: str, draw: Draw) -> tuple[Any, Any]:
    """(container, key) of the place ``pointer`` names; ``*`` draws one existing item."""
    parts = pointer.strip("/").split("/")
    container = _root(case, pointer)
    for part in parts[:-1]:
        key = _pick(draw, range(len(container))) if part == "*" else part
        container = container[key]
    last = parts[-1]
    return container, (_pick(draw, range(len(container))) if last == "*" else last)


# ----------------------------------------------------------------------------- files and text


@operator("file", "load")
def delete_file(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.file_actions[params["file"]] = "delete"


@operator("file", "load")
def replace_with_directory(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.file_actions[params["file"]] = "directory"


def _inside_key(draw: Draw, insert: bytes) -> Callable[[bytes], bytes]:
    """An edit placing ``insert`` right after the opening quote of a top-level key."""
    key = _pick(draw, [b'"layer_names"', b'"metadata"', b'"n_layers"'])

    def edit(text: bytes) -> bytes:
        position = text.index(key) + 1
        return text[:position] + insert + text[position:]

    return edit


@operator("text", "load")
def invalid_utf8(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.text_edits.append(_inside_key(draw, bytes.fromhex("".join(params["bytes"]))))


@operator("text", "load")
def prepend_bom(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.text_edits.append(lambda text: b"\xef\xbb\xbf" + text)


def _metadata(case: CaseModel) -> dict[str, Any]:
    document = case.document
    assert isinstance(document, dict), "metadata edits need a plain document"
    metadata: dict[str, Any] = dict(document["metadata"])
    document["metadata"] = metadata
    return metadata


@operator("text", "load")
def nest_deep(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    # metadata sits at depth 2, so a value nesting `levels` containers reaches depth levels + 2.
    levels = draw(st.integers(63, 140))
    style = params["container"]
    if style == "array":
        text = "[" * levels + "]" * levels
    elif style == "object":
        text = '{"a":' * levels + "1" + "}" * levels
    elif style == "mixed":
        pairs = (levels + 1) // 2  # two levels each
        text = '[{"a":' * pairs + "0" + "}]" * pairs
    else:
        text = "[" * levels
    _metadata(case)["deep"] = Raw(text)


def _truncate(draw: Draw) -> Callable[[bytes], bytes]:
    cut = draw(st.integers(0, 10**6))

    def edit(text: bytes) -> bytes:
        end = 1 + cut % (len(text.rstrip()) - 1)
        while text[end] & 0xC0 == 0x80:  # never split a UTF-8 sequence: that is another rule
            end -= 1
        return text[:end]

    return edit


def _append(draw: Draw) -> Callable[[bytes], bytes]:
    garbage = _pick(draw, [b" x", b"}", b" 1", b"{}", b"\x00"])
    return lambda text: text + garbage


def _empty(draw: Draw) -> Callable[[bytes], bytes]:
    replacement = _pick(draw, [b"", b"  \n"])
    return lambda text: replacement


# Each maker draws its choices now and returns an edit applied to the rendered document.
_SYNTAX_BREAKS: dict[str, Callable[[Draw], Callable[[bytes], bytes]]] = {
    "truncate": _truncate,
    "trailing_comma": lambda draw: lambda text: text[: text.rindex(b"}")] + b",}",
    "single_quotes": lambda draw: lambda text: text.replace(b'"n_layers"', b"'n_layers'"),
    "comment": lambda draw: lambda text: text.replace(b"{", b"{/* note */", 1),
    "trailing_garbage": _append,
    "leading_zero": lambda draw: lambda text: text.replace(b'"n_layers":', b'"n_layers": 0', 1),
    "control_character": lambda draw: _inside_key(draw, _pick(draw, [b"\x01", b"\t", b"\n"])),
    "bad_escape": lambda draw: _inside_key(draw, _pick(draw, [b"\\x41", b"\\u12", b"\\a", b"\\U0041"])),
    "empty": _empty,
}


@operator("text", "load")
def break_syntax(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    how = params["how"]
    if how == "lone_surrogate":
        surrogate = _pick(draw, ['"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"', '"a\\udbff"'])
        _metadata(case)["s"] = Raw(surrogate)
    else:
        case.text_edits.append(_SYNTAX_BREAKS[how](draw))


def _raw_at(case: CaseModel, where: str, text: str) -> None:
    if where == "metadata":
        _metadata(case)["value"] = Raw(text)
    else:
        assert isinstance(case.document, dict)
        case.document[where] = Raw(text)


@operator("text", "load")
def nonfinite_literal(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    _raw_at(case, params["at"], params["token"])


@operator("text", "load")
def big_number(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    _raw_at(case, params["at"], params["literal"])


def _escape_first(key: str) -> Raw:
    """The key written with its first character as a \\u escape (same key once unescaped)."""
    first = key[0]
    # json.dumps writes characters beyond U+FFFF as an escaped surrogate pair already.
    escaped = json.dumps(first)[1:-1] if ord(first) > 0xFFFF else "\\u%04x" % ord(first)
    return Raw('"' + escaped + json.dumps(key[1:])[1:])


@operator("text", "load")
def duplicate_key(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    assert isinstance(case.document, dict)
    holder: dict[str, Any] | None = None
    if params["at"] == "root":
        target: dict[str, Any] = case.document
    else:
        target = _metadata(case)
        target.setdefault("key", 1)
        holder = case.document
    items: list[tuple[str | Raw, Any]] = list(target.items())
    choices = [index for index, (key, _) in enumerate(items) if key or not params["escaped"]]
    key, value = items[_pick(draw, choices)]
    assert isinstance(key, str)
    duplicate = _escape_first(key) if params["escaped"] else key
    items.insert(draw(st.integers(0, len(items))), (duplicate, copy.deepcopy(value)))
    if holder is None:
        case.document = Pairs(items)
    else:
        holder["metadata"] = Pairs(items)


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
    wrong = _pick(draw, _wrong_types(params))
    if params["target"] == "/":
        case.document = wrong
    elif params["target"] == "/archive_sha256":
        case.digest = wrong if wrong is not None else Raw("null")
    else:
        container, key = locate(case, params["target"], draw)
        container[key] = wrong


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
    "infinity": lambda draw: _pick(draw, [math.inf, -math.inf]),
    "set": lambda draw: {1, 2},
    "bytes": lambda draw: b"\x00\xff",
    "tuple": lambda draw: (1, "two"),
    "big_int": lambda draw: _pick(draw, [2**53, -(2**53), 10**30]),
    "deep": lambda draw: nested(draw(st.integers(63, 80))),
}


@operator("value", "construct")
def non_json_metadata(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    from ._hostvalue import Opaque

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
        container[key].pop(_pick(draw, range(len(container[key]))))


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
    container[key] = _pick(draw, _out_of_range_values(params, invariant, case))


def _dangling(names: list[str], draw: Draw) -> str:
    candidates = ["ghost", "Layer", "output "]
    if names:
        candidates += [names[0] + " ", names[0] + "_missing", names[0].upper() + "X"]
    return str(_pick(draw, [name for name in candidates if name not in names]))


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


# ----------------------------------------------------------------------------- archive


@operator("archive", "load", requires=lambda params: lambda draft: draft.with_digest)
def torn_pair(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    if params["how"] == "wrong_digest":
        case.digest = draw(st.binary(min_size=32, max_size=32)).hex()
        return
    # The document of another save: same layers, different weights (or one more layer).
    other = copy.deepcopy(case.archive)
    if other.members:
        payload = other.members[0].payload
        assert isinstance(payload, Npy)
        payload.data = bytes([payload.data[0] ^ 0x01]) + payload.data[1:]
    else:
        other.members.append(ZipMember(b"layer_0.npy", Npy.of(np.zeros((1, 1)))))
    case.digest = hashlib.sha256(other.render()).hexdigest()


_NOT_ZIP = [b"\x1f\x8b\x08\x00" + b"\x00" * 30, b'{"layer_names": []}', b"\x93NUMPY\x01\x00" + b" " * 40]


def _zip_break(how: str, case: CaseModel, draw: Draw) -> None:
    archive = case.archive
    if how == "not_zip":
        data = _pick(draw, _NOT_ZIP) + draw(st.binary(max_size=40)).replace(b"PK", b"pk")
        case.archive_edits.append(lambda _: data)
    elif how == "empty_file":
        case.archive_edits.append(lambda _: b"")
    elif how == "truncate_tail":
        cut = draw(st.integers(1, 22))
        case.archive_edits.append(lambda data: data[:-cut])
    elif how == "bad_cd_offset":
        archive.cd_offset_delta = draw(st.integers(1, 64))
    elif how == "bad_entry_count":
        archive.entry_count_delta = 1 if not archive.members else _pick(draw, [1, -1])
    elif how == "bad_local_signature":
        _pick(draw, archive.members).local_signature = b"PK\x03\x05"
    elif how == "local_name_mismatch":
        member = _pick(draw, archive.members)
        member.local_name = member.name.replace(b"layer", b"lay3r")
    elif how == "data_past_directory":
        last = archive.members[-1]
        last.compressed_size = len(last.stream()) + draw(st.integers(1, 16))
    elif how == "multi_disk":
        archive.disk_number = draw(st.integers(1, 3))
    elif how == "overlapping_entries":
        archive.extend_first_entry_by_next = True
    else:
        raise ValueError(f"unknown corrupt_zip how {how!r}")


_ZIP_NEEDS = {"bad_local_signature": 1, "local_name_mismatch": 1, "data_past_directory": 1,
              "overlapping_entries": 2}


@operator("archive", "load", requires=lambda params: layers(_ZIP_NEEDS.get(params["how"], 0))(params))
def corrupt_zip(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    _zip_break(params["how"], case, draw)


@operator("archive", "load", requires=layers(1))
def duplicate_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    members = case.archive.members
    twin = copy.deepcopy(_pick(draw, members))
    members.insert(draw(st.integers(0, len(members))), twin)


def _member_name(template: str, case: CaseModel, draw: Draw) -> bytes:
    index = _pick(draw, range(case.n_layers)) if "{i}" in template else 0
    return template.format(n=case.n_layers, i=index).encode()


@operator("archive", "load", requires=lambda params: layers(1 if "{i}" in params["name"] else 0)(params))
def add_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    name = _member_name(params["name"], case, draw)
    payload: Npy | bytes = (
        Npy.of(np.zeros((1, 1))) if name.endswith(b".npy") else pickle.dumps({"payload": [1.0]})
    )
    members = case.archive.members
    members.insert(draw(st.integers(0, len(members))), ZipMember(name, payload))


@operator("archive", "load", requires=layers(1))
def rename_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    index = _pick(draw, range(case.n_layers))
    case.member(index).name = params["name"].format(i=index).encode()


@operator("archive", "load", requires=layers(1))
def drop_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.archive.members.remove(case.member(_pick(draw, range(case.n_layers))))


@operator("archive", "load", requires=layers(1))
def set_method(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    member = case.member(_pick(draw, range(case.n_layers)))
    member.compressed = member.stream()
    member.method = params["method"]


@operator("archive", "load", requires=layers(1))
def set_flag(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.member(_pick(draw, range(case.n_layers))).flags |= 1 << params["bit"]


@operator("archive", "load", requires=layers(1))
def corrupt_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    member = case.member(_pick(draw, range(case.n_layers)))
    how = params["how"]
    member.method = {"stored_size_mismatch": 0, "deflate_garbage": 8, "deflate_trailing": 8}.get(
        how, member.method
    )
    content, stream = member.content(), member.stream()
    if how == "crc":
        member.crc = zlib.crc32(content) ^ (1 << draw(st.integers(0, 31)))
    elif how == "flip_data_byte":
        position = draw(st.integers(0, len(stream) - 1))
        member.compressed = stream[:position] + bytes([stream[position] ^ 0x5A]) + stream[position + 1 :]
    elif how == "declared_size_larger":
        member.uncompressed_size = len(content) + draw(st.integers(1, 64))
    elif how == "declared_size_smaller":
        member.uncompressed_size = len(content) - draw(st.integers(1, len(content)))
    elif how == "stored_size_mismatch":
        member.uncompressed_size = len(content) + draw(st.integers(1, 64))
    elif how == "deflate_garbage":
        member.compressed = draw(st.binary(min_size=len(stream), max_size=len(stream)))
    elif how == "deflate_trailing":
        member.compressed = stream + draw(st.binary(min_size=1, max_size=8))
    else:
        raise ValueError(f"unknown corrupt_member how {how!r}")


# ----------------------------------------------------------------------------- .npy members


def _any_layer(case: CaseModel, draw: Draw) -> int:
    return int(_pick(draw, range(case.n_layers)))


@operator("member", "load", requires=layers(1))
def bad_npy_magic(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    member = case.member(_any_layer(case, draw))
    npy = member.payload
    assert isinstance(npy, Npy)
    how = params["how"]
    if how == "magic":
        npy.magic = _pick(draw, [b"\x93NUMPZ", b"\x92NUMPY", b"NUMPY\x93", b"\x93numpy", b"PK\x03\x04NP"])
    elif how == "version":
        npy.version = _pick(draw, [(4, 0), (1, 1), (0, 0), (2, 1), (3, 7)])
    else:
        member.payload = npy.render()[: draw(st.integers(0, 7))]


def _header(entries: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{key}': {value}" for key, value in entries.items()) + ", }"


@operator("member", "load", requires=layers(1))
def bad_npy_header(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    npy = case.npy(_any_layer(case, draw))
    entries = {"descr": repr(npy.descr), "fortran_order": str(npy.fortran_order), "shape": repr(npy.shape)}
    how = params["how"]
    if how == "length_past_end":
        npy.header_length_delta = len(npy.data) + draw(st.integers(1, 4096))
        return
    if how == "no_newline":
        npy.newline = " "
        return
    if how == "missing_key":
        del entries[_pick(draw, sorted(entries))]
    elif how == "extra_key":
        entries[_pick(draw, ["extra", "allow_pickle", "Descr"])] = "1"
    elif how == "shape_not_tuple":
        entries["shape"] = repr(list(npy.shape))
    elif how == "fortran_order_not_bool":
        entries["fortran_order"] = _pick(draw, ["0", "'False'", "None", "false"])
    elif how == "python_expression":
        rows = npy.shape[0]
        entries["shape"] = _pick(draw, [f"({rows}*1, {npy.shape[1]})", f"(int({rows}), {npy.shape[1]})",
                                        "__import__('os').getpid()"])
    elif how == "negative_dimension":
        entries["shape"] = f"(-{npy.shape[0]}, {npy.shape[1]})"
    elif how == "structured_descr":
        entries["descr"] = f"[('w', {npy.descr!r})]"
    else:
        raise ValueError(f"unknown bad_npy_header how {how!r}")
    npy.header_text = _header(entries)


@operator("member", "load", requires=layers(1))
def pickled_array(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    npy = case.npy(_any_layer(case, draw))
    npy.descr = "|O"
    npy.data = pickle.dumps([[1.0] * npy.shape[1]] * npy.shape[0], protocol=3)


@operator("member", "load", requires=layers(1))
def set_dtype(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.npy(_any_layer(case, draw)).descr = params["descr"]


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
    index = _pick(draw, candidates)
    inputs, outputs = sizes[index]
    shape = _bad_shape(params, (outputs, inputs), draw)
    if case.surface == "construct":
        case.state["weights"][index] = np.resize(case.state["weights"][index], shape)
    else:
        case.npy(index).shape = shape


def _data_long_enough(params: Params) -> Requirement:
    delta = params["delta"]
    if isinstance(delta, int) and delta < 0:
        return lambda draft: any(w.nbytes >= -delta for w in draft.weights)
    return lambda draft: len(draft.layer_names) >= 1


@operator("member", "load", requires=_data_long_enough)
def npy_data_length(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    delta = params["delta"]
    if delta == "huge_shape":
        index = _any_layer(case, draw)
        assert isinstance(case.document, dict)
        sizes = case.document["layer_sizes"]
        sizes[index] = [100_000, 100_000]
        case.document["total_params"] = sum(i * o for i, o in sizes)
        case.npy(index).shape = (100_000, 100_000)
        return
    candidates = [i for i in range(case.n_layers) if len(case.npy(i).data) >= -delta]
    npy = case.npy(_pick(draw, candidates))
    npy.data = npy.data + bytes(delta) if delta > 0 else npy.data[:delta]


def _float_layer(params: Params) -> Requirement:
    if "target" in params:
        return lambda draft: True
    return lambda draft: any(w.dtype.kind == "f" for w in draft.weights)


@operator("member", "load construct transfer", requires=_float_layer)
def non_finite(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(params.get("value", ""))
    if value is None:
        value = _pick(draw, [math.nan, math.inf, -math.inf])
    if "target" in params:
        container, key = locate(case, params["target"], draw)
        container[key] = value
        return
    if case.surface == "construct":
        index = _any_layer(case, draw)
        weight = case.state["weights"][index].copy()
        weight.flat[draw(st.integers(0, weight.size - 1))] = value
        case.state["weights"][index] = weight
        return
    index = _pick(draw, [i for i in range(case.n_layers) if case.npy(i).descr[1] == "f"])
    npy = case.npy(index)
    values = np.frombuffer(npy.data, dtype=npy.descr).copy()
    values[draw(st.integers(0, values.size - 1))] = value
    npy.data = values.tobytes()


# ----------------------------------------------------------------------------- transfer


@operator("transfer", "transfer")
def drop_selector(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    op = case.ops[-1]
    if op["op"] == "freeze_layers":
        op["args"] = _pick(draw, [{}, {"layer_names": None}, {"until_index": None},
                                  {"layer_names": None, "until_index": None}])
    else:
        op["args"] = _pick(draw, [{}, {"all_layers": False}, {"layer_names": None, "all_layers": False}])
