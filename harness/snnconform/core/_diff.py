"""Compare JSON values the way the protocol defines equality, and report the first difference.

Integers and strings compare exactly, floats bit for bit (so ``-0.0`` differs from ``0.0`` and a
float never equals an integer: ``1.0`` is not ``1``), booleans are not numbers, objects compare
without regard to key order. Like toml-test's CompareJSON, the answer is the first difference
with its JSON-pointer path, not a wall of text.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

_MISSING: Any = object()


@dataclass(frozen=True)
class Difference:
    """The first place where ``got`` differs from ``expected``."""

    pointer: str
    expected: Any
    got: Any
    reason: str

    def describe(self) -> str:
        return (
            f"at {self.pointer or '/'}: {self.reason}: expected {render(self.expected)}, "
            f"got {render(self.got)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer or "/",
            "reason": self.reason,
            "expected": render(self.expected),
            "got": render(self.got),
        }


def render(value: Any, limit: int = 120) -> str:
    """A value as compact JSON for a message (floats keep their exact repr)."""
    if value is _MISSING:
        return "(absent)"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


_JSON_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "float"),
    (str, "string"), ((list, tuple), "array"), (dict, "object"),
)


def _kind(value: Any) -> str:
    """The JSON kind of a decoded value (bool before int: bool is an int in Python)."""
    return next((name for types, name in _JSON_KINDS if isinstance(value, types)), type(value).__name__)


def _float_bits(value: float) -> bytes:
    return struct.pack("<d", value)


def first_difference(expected: Any, got: Any, pointer: str = "") -> Difference | None:
    """The first difference in document order of ``expected`` (then ``got``'s extra keys)."""
    kind_e, kind_g = _kind(expected), _kind(got)
    if kind_e != kind_g:
        return Difference(pointer, expected, got, f"{kind_e} vs {kind_g}")
    if kind_e == "float":
        if _float_bits(expected) != _float_bits(got):
            return Difference(pointer, expected, got, "float bits differ")
        return None
    if kind_e == "array":
        for index, (a, b) in enumerate(zip(expected, got)):
            found = first_difference(a, b, f"{pointer}/{index}")
            if found is not None:
                return found
        if len(expected) != len(got):
            index = min(len(expected), len(got))
            return Difference(
                f"{pointer}/{index}",
                expected[index] if index < len(expected) else _MISSING,
                got[index] if index < len(got) else _MISSING,
                f"array length {len(expected)} vs {len(got)}",
            )
        return None
    if kind_e == "object":
        for key, value in expected.items():
            child = f"{pointer}/{_escape(key)}"
            if key not in got:
                return Difference(child, value, _MISSING, "missing key")
            found = first_difference(value, got[key], child)
            if found is not None:
                return found
        for key, value in got.items():
            if key not in expected:
                return Difference(f"{pointer}/{_escape(key)}", _MISSING, value, "unexpected key")
        return None
    if expected != got:
        return Difference(pointer, expected, got, "values differ")
    return None


def compare_results(
    expected: Sequence[Mapping[str, Any]], got: Sequence[Mapping[str, Any]]
) -> Difference | None:
    """Compare two result lists (messages already stripped), pointers under ``/results``."""
    return first_difference({"results": list(expected)}, {"results": list(got)})


def without_messages(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Results as the corpus writes them: ``message`` removed, everything else kept."""
    return [{k: v for k, v in result.items() if k != "message"} for result in results]
