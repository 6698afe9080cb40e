"""Strict reading of the metadata document: the spec's ``json.*`` invariants, in order.

Python's :func:`json.loads` is lenient in the ways the spec forbids (NaN literals, last duplicate
key wins, lone surrogate escapes, ``1e400`` becoming infinity, a RecursionError on deep input),
so its hooks only *record* what they see and the checks run afterwards in spec order. Recording
instead of raising keeps the order a contract: a syntax error anywhere beats a NaN earlier on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ._limits import JSON_INTEGER_MAX, JSON_INTEGER_MIN, JSON_MAX_DEPTH, SURROGATE
from .errors import CheckpointError


_BOM = "\ufeff"
_LEXICAL = re.compile(r'["\\\[\]{}]')


_INTEGER_DIGITS = len(str(JSON_INTEGER_MAX))


@dataclass
class _Findings:
    """What the parser hooks saw; judged after a successful parse, in spec order."""

    nonfinite: list[str] = field(default_factory=list)
    out_of_range: list[str] = field(default_factory=list)
    duplicate_keys: list[str] = field(default_factory=list)
    lone_surrogate: bool = False

    def parse_constant(self, token: str) -> float:
        self.nonfinite.append(token)
        return 0.0

    def parse_int(self, literal: str) -> int:
        # Compare lengths first: int() of a huge literal is slow and refused past 4300 digits.
        # 2^64 - 1 has 20 digits; JSON has no leading zeros, so a longer literal is out of range.
        if len(literal.lstrip("-")) > _INTEGER_DIGITS or not (
            JSON_INTEGER_MIN <= (value := int(literal)) <= JSON_INTEGER_MAX
        ):
            self.out_of_range.append(literal)
            return 0
        return value

    def parse_float(self, literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            self.out_of_range.append(literal)
        return value

    def object_pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, value in pairs:
            # Every pair, before a duplicate key drops one: json.syntax comes before keys.unique.
            self.lone_surrogate = self.lone_surrogate or _has_lone_surrogate(key) \
                or _has_lone_surrogate(value)
            if key in seen:
                self.duplicate_keys.append(key)
            seen.add(key)
        return dict(pairs)


def lexical_depth(text: str) -> int:
    """The spec's json.depth measure: bracket nesting outside strings, floored at zero."""
    depth = deepest = 0
    in_string = False
    skip = -1  # position of a character escaped by a backslash inside a string
    for match in _LEXICAL.finditer(text):
        position, char = match.start(), match.group()
        if position == skip:
            continue
        if in_string:
            if char == "\\":
                skip = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _has_lone_surrogate(value: Any) -> bool:
    # The input was valid UTF-8, so any surrogate here came from a \u escape that did not pair.
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    return False


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
    if text.startswith(_BOM):
        raise CheckpointError("json.encoding.bom")
    if lexical_depth(text) > JSON_MAX_DEPTH:
        raise CheckpointError("json.depth", limit=JSON_MAX_DEPTH)
    findings = _Findings()
    try:
        value = json.loads(
            text,
            parse_constant=findings.parse_constant,
            parse_int=findings.parse_int,
            parse_float=findings.parse_float,
            object_pairs_hook=findings.object_pairs,
        )
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            "json.syntax", detail=f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if findings.lone_surrogate or _has_lone_surrogate(value):
        raise CheckpointError("json.syntax", detail=f"{path}: a \\u escape is a lone surrogate")
    if findings.nonfinite:
        raise CheckpointError("json.nonfinite", token=findings.nonfinite[0])
    if findings.out_of_range:
        raise CheckpointError("json.number.range", number=findings.out_of_range[0])
    if findings.duplicate_keys:
        raise CheckpointError("json.keys.unique", key=findings.duplicate_keys[0])
    return value
