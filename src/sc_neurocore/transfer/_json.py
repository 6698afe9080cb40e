"""Strict reading of the metadata document: the spec's ``json.*`` invariants, in order.

Python's :func:`json.loads` is lenient in the ways the spec forbids (NaN literals, last duplicate
key wins, lone surrogate escapes, ``1e400`` becoming infinity, a RecursionError on deep input).
So the depth is measured before parsing, and after a successful parse the document's bytes are
scanned for what the parser let through; the checks then run in spec order, which keeps the
order a contract: a syntax error anywhere beats a NaN earlier on.

Every scan runs at C speed (regular expressions, ``bytes.translate``, numpy), never a Python
loop per character or per number: a document of tens of megabytes is judged in well under a
second on top of the parse itself. Scanning bytes is scanning characters here: every character
the scans look for is ASCII, and no byte of a multi-byte UTF-8 character is ASCII.
"""

from __future__ import annotations

import gc
import json
import math
import re
from typing import Any

import numpy as np

from ._limits import JSON_INTEGER_MAX, JSON_INTEGER_MIN, JSON_MAX_DEPTH
from .errors import CheckpointError


_BOM = b"\xef\xbb\xbf"  # U+FEFF in UTF-8
# A string as json.depth sees it: from a '"' to the next '"' not escaped by a backslash (a
# backslash skips the next byte), or to the end of the document when none follows.
_STRING = re.compile(rb'"[^"\\]*+(?:\\[\s\S][^"\\]*+)*+["\\]?')
_NOT_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as int8
_DEPTH_CHUNK = 1 << 20
_NONFINITE = re.compile(rb"-?Infinity|NaN")
# Outside strings, digits become "0", "e" and "E" become "e", "+" stays and the rest is a space:
# a wide number (below) then shows as 19 zeros or "e000" / "e+000", found at memchr speed.
_NUMBER_SHAPE = bytes(
    ord("0") if byte in b"0123456789" else ord("e") if byte in b"eE" else byte if byte == ord("+")
    else ord(" ")
    for byte in range(256)
)
_WIDE_SHAPES = (b"0" * 19, b"e000", b"e+000")
# Numbers that may lie outside the spec's range, at the start of a number token: an integer part
# of 19 or more digits (|x| < 10^18 fits int64), or an exponent of 3 or more significant digits
# without a minus sign (any other number stays below 10^18 * 10^99, finite). Only these are
# converted; every other number is in range.
_WIDE_NUMBER = re.compile(
    rb"(?<![0-9.eE+\-])-?(?:[0-9]{19,}(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?"
    rb"|[0-9]+(?:\.[0-9]+)?[eE]\+?0*[1-9][0-9]{2,})"
)
_INTEGER_DIGITS = len(str(JSON_INTEGER_MAX))
# Escapes of a parsed (so valid) document, consumed from the start: anything but a backslash, a
# one-character escape, a \u escape that is no surrogate, or a high surrogate escape followed by a
# low one. The first thing this cannot consume is a lone surrogate escape.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # or an escaped backslash before "u"
_PAIRED_ESCAPES = re.compile(
    rb"(?:[^\\]++|\\[^u]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4}"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})*+"
)


def _outside_strings(data: bytes) -> bytes:
    return _STRING.sub(b"", data) if b'"' in data else data


def lexical_depth(document: bytes | str) -> int:
    """The spec's json.depth measure: bracket nesting outside strings, floored at zero."""
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    brackets = _outside_strings(data).translate(None, _NOT_BRACKET)
    steps = np.frombuffer(brackets.translate(_STEP), dtype=np.int8)
    depth = deepest = 0
    for start in range(0, len(steps), _DEPTH_CHUNK):
        # A walk floored at zero is its plain running sum less the running minimum of that sum
        # (where negative): d_k = c_k - min(0, min_{j<=k} c_j), c starting at the depth so far.
        walk = np.cumsum(steps[start : start + _DEPTH_CHUNK], dtype=np.int32)
        walk += depth
        floor = np.minimum.accumulate(walk)
        np.minimum(floor, 0, out=floor)
        walk -= floor
        deepest, depth = max(deepest, int(walk.max())), int(walk[-1])
    return deepest


def _has_lone_surrogate(data: bytes) -> bool:
    # The input is valid UTF-8, so a surrogate can only come from a \u escape that does not pair.
    if _SURROGATE_ESCAPE.search(data) is None:
        return False
    match = _PAIRED_ESCAPES.match(data)
    return match is None or match.end() != len(data)


def _first_out_of_range(outside: bytes) -> str | None:
    """The first number literal outside the spec's range, in document order, or None."""
    shapes = outside.translate(_NUMBER_SHAPE)
    if not any(shape in shapes for shape in _WIDE_SHAPES):
        return None
    for match in _WIDE_NUMBER.finditer(outside):
        literal = match.group().decode("ascii")
        if any(mark in literal for mark in ".eE"):
            if math.isinf(float(literal)):
                return literal
        # A longer literal is out of range (JSON has no leading zeros); int() of it is slow
        # and refused past sys.get_int_max_str_digits().
        elif len(literal.lstrip("-")) > _INTEGER_DIGITS or not (
            JSON_INTEGER_MIN <= int(literal) <= JSON_INTEGER_MAX
        ):
            return literal
    return None


def _bounded_int(literal: str) -> int:
    # Only for documents holding a literal past int()'s digit limit: it is out of range (and
    # refused by json.number.range), so its value does not matter.
    return 0 if len(literal.lstrip("-")) > _INTEGER_DIGITS else int(literal)


def _parse(text: str) -> tuple[Any, list[str]]:
    """json.loads, also returning the duplicate keys in the order the objects close."""
    duplicates: list[str] = []

    def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) != len(pairs):  # only then are the keys compared one by one
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append(key)
                seen.add(key)
        return value

    # The cyclic garbage collector would walk every container built so far, again and again
    # (4x the parse time for millions of lists); a parsed document holds no cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text, object_pairs_hook=object_pairs), duplicates
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer literal past int()'s digit limit
        duplicates.clear()
        return json.loads(text, object_pairs_hook=object_pairs, parse_int=_bounded_int), duplicates
    finally:
        if collecting:
            gc.enable()


def decode_document(data: bytes, path: str) -> Any:
    """Parse the metadata document's bytes, enforcing json.encoding.* through json.keys.unique.

    Raises
    ------
    CheckpointError
        With the first violated ``json.*`` invariant.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(
            "json.encoding.utf8", detail=f"{path}: byte {exc.start}: {exc.reason}"
        ) from None
    # Judged on the bytes, so that the order of the two encoding checks is all that decides.
    if data.startswith(_BOM):
        raise CheckpointError("json.encoding.bom")
    if lexical_depth(data) > JSON_MAX_DEPTH:
        raise CheckpointError("json.depth", limit=JSON_MAX_DEPTH)
    try:
        value, duplicates = _parse(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            "json.syntax", detail=f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if _has_lone_surrogate(data):
        raise CheckpointError("json.syntax", detail=f"{path}: a \\u escape is a lone surrogate")
    # Parsed, so outside strings only numbers, literals and punctuation remain.
    outside = _outside_strings(data)
    nonfinite = _NONFINITE.search(outside) if b"N" in outside or b"I" in outside else None
    if nonfinite:
        raise CheckpointError("json.nonfinite", token=nonfinite.group().decode("ascii"))
    out_of_range = _first_out_of_range(outside)
    if out_of_range is not None:
        raise CheckpointError("json.number.range", number=out_of_range)
    if duplicates:
        raise CheckpointError("json.keys.unique", key=duplicates[0])
    return value
