"""Boundary cases derived from the spec's numeric limits: the value at a limit (accepted) and
one step past it (refused), on every surface and in every place where the limit applies.

Each recipe reads its limits from ``spec.limits``, so moving a limit in the spec moves the
cases; an implementation whose own copy of the limit is off by one fails them. The recipes
are keyed by the limit names they cover (``RECIPES``), which a test checks against the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._casemodel import CaseModel, Draft
from ._spec import Spec

# Where a metadata value sits: at the root of the metadata object, nested in objects, in arrays.
PLACES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "root": lambda value: {"value": value},
    "nested": lambda value: {"nested": {"inner": {"value": value}}},
    "array": lambda value: {"values": [0, [value], 1]},
    # What real checkpoints carry: a 64-bit seed, a time.time_ns() stamp, a signed 64-bit hash.
    "real_world": lambda value: {"seed": value, "t_ns": 1764547200123456789, "neg": -(2**63)},
}


@dataclass(frozen=True)
class Boundary:
    """One boundary case: which limit, the value, where it goes, and the code it must give."""

    name: str  # readable, part of the case id
    limit: str
    value: int
    surface: str  # "load" (in the document) or "construct" (in memory)
    place: str  # a key of PLACES, or a top-level document field
    code: str | None  # None: accepted

    def apply(self, case: CaseModel) -> None:
        if self.place in PLACES:
            metadata = PLACES[self.place](self.value)
            case.state["metadata"] = metadata
            if isinstance(case.document, dict):
                case.document["metadata"] = metadata
        else:
            assert isinstance(case.document, dict)
            case.document[self.place] = [[self.value, 1]] * len(case.document["layer_sizes"]) \
                if self.place == "layer_sizes" else self.value


def integer_range(spec: Spec) -> Iterator[Boundary]:
    """Metadata integers: both ends of [json_integer_min, json_integer_max] and one past them,
    plus the int64/uint64 seam inside the range, where a 64-bit implementation overflows."""
    low, high = spec.limits["json_integer_min"], spec.limits["json_integer_max"]
    values = [
        ("min", "json_integer_min", low, True), ("below-min", "json_integer_min", low - 1, False),
        ("max", "json_integer_max", high, True), ("above-max", "json_integer_max", high + 1, False),
        ("int64-max", "json_integer_max", 2**63 - 1, True), ("uint64-min", "json_integer_max", 2**63, True),
    ]
    codes = {"load": "json.number.range", "construct": "schema.metadata.type"}
    for name, limit, value, valid in values:
        for surface, code in codes.items():
            for place in ("root", "nested", "array"):
                yield Boundary(f"{name}-{surface}-{place}", limit, value, surface, place,
                               None if valid else code)
    for surface in codes:
        yield Boundary(f"real-world-{surface}", "json_integer_max", high, surface, "real_world", None)
    # Counts and sizes in the integer range but far beyond their own rules: judged on the exact
    # value, never wrapped into range.
    narrower = {"n_layers": "checkpoint.n_layers.consistent",
                "total_params": "checkpoint.total_params.consistent",
                "layer_sizes": "checkpoint.layer_sizes.range"}
    for field, code in narrower.items():
        for name, value in (("min", low), ("uint64-min", 2**63), ("max", high)):
            yield Boundary(f"{field}-{name}", "json_integer_max" if value > 0 else "json_integer_min",
                           value, "load", field, code)


RECIPES: dict[tuple[str, ...], Callable[[Spec], Iterator[Boundary]]] = {
    ("json_integer_min", "json_integer_max"): integer_range,
}


def boundaries(spec: Spec) -> Iterator[Boundary]:
    for recipe in RECIPES.values():
        yield from recipe(spec)


def boundary_case(boundary: Boundary, draft: Draft) -> CaseModel:
    case = CaseModel.from_draft(draft, boundary.surface)
    boundary.apply(case)
    return case
