"""Operators on the metadata document's file and bytes: presence, encoding, syntax, tokens."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from .._casemodel import CaseModel
from .._fixturefiles import Pairs, Raw
from ._registry import Draw, Params, operator, pick

# ----------------------------------------------------------------------------- files and text


@operator("file", "load")
def delete_file(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.file_actions[params["file"]] = "delete"


@operator("file", "load")
def replace_with_directory(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.file_actions[params["file"]] = "directory"


def _inside_key(draw: Draw, insert: bytes) -> Callable[[bytes], bytes]:
    """An edit placing ``insert`` right after the opening quote of a top-level key."""
    key = pick(draw, [b'"layer_names"', b'"metadata"', b'"n_layers"'])

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


def _put(case: CaseModel, key: str, value: Any) -> None:
    """Add a metadata member, also to metadata that another edit turned into :class:`Pairs`."""
    document = case.document
    assert isinstance(document, dict), "metadata edits need a plain document"
    metadata = document["metadata"]
    if isinstance(metadata, Pairs):
        document["metadata"] = Pairs([*metadata.items, (key, value)])
    else:
        document["metadata"] = {**metadata, key: value}


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
    _put(case, "deep", Raw(text))


def _truncate(draw: Draw) -> Callable[[bytes], bytes]:
    cut = draw(st.integers(0, 10**6))

    def edit(text: bytes) -> bytes:
        end = 1 + cut % (len(text.rstrip()) - 1)
        while text[end] & 0xC0 == 0x80:  # never split a UTF-8 sequence: that is another rule
            end -= 1
        return text[:end]

    return edit


def _append(draw: Draw) -> Callable[[bytes], bytes]:
    garbage = pick(draw, [b" x", b"}", b" 1", b"{}", b"\x00"])
    return lambda text: text + garbage


def _empty(draw: Draw) -> Callable[[bytes], bytes]:
    replacement = pick(draw, [b"", b"  \n"])
    return lambda text: replacement


# Each maker draws its choices now and returns an edit applied to the rendered document.
_SYNTAX_BREAKS: dict[str, Callable[[Draw], Callable[[bytes], bytes]]] = {
    "truncate": _truncate,
    "trailing_comma": lambda draw: lambda text: text[: text.rindex(b"}")] + b",}",
    "single_quotes": lambda draw: lambda text: text.replace(b'"n_layers"', b"'n_layers'"),
    "comment": lambda draw: lambda text: text.replace(b"{", b"{/* note */", 1),
    "trailing_garbage": _append,
    # "n_layers": 02 (a zero right before the number's first digit, whatever spaces precede it)
    "leading_zero": lambda draw: lambda text: re.sub(rb'("n_layers":\s*)', rb"\g<1>0", text, count=1),
    "control_character": lambda draw: _inside_key(draw, pick(draw, [b"\x01", b"\t", b"\n"])),
    "bad_escape": lambda draw: _inside_key(draw, pick(draw, [b"\\x41", b"\\u12", b"\\a", b"\\U0041"])),
    "empty": _empty,
}


@operator("text", "load")
def break_syntax(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    how = params["how"]
    if how == "lone_surrogate":
        surrogate = pick(draw, ['"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"', '"a\\udbff"'])
        _put(case, "s", Raw(surrogate))
    else:
        case.text_edits.append(_SYNTAX_BREAKS[how](draw))


def _raw_at(case: CaseModel, where: str, text: str) -> None:
    if where == "metadata":
        _put(case, "value", Raw(text))
    elif where == "metadata_nested":
        _put(case, "nested", {"inner": {"value": Raw(text)}})
    elif where == "metadata_array":
        _put(case, "values", [0, [Raw(text)], 1])
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
    key, value = items[pick(draw, choices)]
    assert isinstance(key, str)
    duplicate = _escape_first(key) if params["escaped"] else key
    items.insert(draw(st.integers(0, len(items))), (duplicate, copy.deepcopy(value)))
    if holder is None:
        case.document = Pairs(items)
    else:
        holder["metadata"] = Pairs(items)
