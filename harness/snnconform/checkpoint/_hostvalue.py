"""The protocol's host-value encoding (docs/protocol.md): JSON <-> in-memory Python values.

Plain JSON stands for itself; an object with exactly one ``$``-key is a tag for what JSON cannot
hold (non-finite floats, arrays, tuples, sets, bytes, non-string keys, opaque objects), so that
constructor inputs the spec refuses can still travel in a fixture.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class Opaque:
    """A value with no JSON meaning (decoded from ``{"$object": description}``)."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return f"<opaque {self.description}>"


def _is_tag(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith("$")


def decode(value: Any) -> Any:
    """A host-encoded JSON value as the Python value it stands for."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if not _is_tag(value):
        return {key: decode(item) for key, item in value.items()}
    ((tag, body),) = value.items()
    if tag == "$float":
        return _NONFINITE[body]
    if tag == "$array":
        data = [decode(item) for item in body["data"]]
        return np.array(data, dtype=np.float64).reshape(body["shape"])
    if tag == "$tuple":
        return tuple(decode(item) for item in body)
    if tag == "$set":
        return {decode(item) for item in body}
    if tag == "$bytes":
        return bytes.fromhex(body)
    if tag == "$map":
        return {decode(key): decode(item) for key, item in body}
    if tag == "$object":
        return Opaque(body)
    raise ValueError(f"unknown host-value tag {tag!r}")


def encode(value: Any) -> Any:
    """A Python value in the host-value encoding (the inverse of :func:`decode`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return {"$array": {"shape": list(value.shape), "data": [encode(float(x)) for x in value.ravel()]}}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(item) for item in sorted(value, key=repr)]}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, Opaque):
        return {"$object": value.description}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and not _is_tag(value):
            return {key: encode(item) for key, item in value.items()}
        return {"$map": [[encode(key), encode(item)] for key, item in value.items()]}
    raise TypeError(f"no host-value encoding for {type(value).__name__}")


def encode_op(op: dict[str, Any]) -> dict[str, Any]:
    """A protocol operation with its argument values host-encoded."""
    return {key: value if key in ("op", "base") else encode(value) for key, value in op.items()}
