"""The toy domain's fuzz source: random counter programs, drawn and shrunk by Hypothesis.

A program is one to six ``set``/``add`` operations with values in [-150, 150], so the toy's
two limits (below 0, above 100) are both in reach. Shrinking is Hypothesis's, through
:mod:`snnconform.fuzzdraw`: a finding shrinks to the shortest, smallest program that still
shows it (``[set 38]`` for an implementation that moved the upper limit to 37).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from snnconform.fuzzdraw import Batches, Example, shrink

PROGRAMS = st.lists(st.tuples(st.sampled_from(["set", "add"]), st.integers(-150, 150)),
                    min_size=1, max_size=6)


@dataclass(frozen=True)
class ToyCase:
    pairs: tuple[tuple[str, int], ...]
    root: Path
    example: Example[Any] | None = None

    @property
    def ops(self) -> tuple[Mapping[str, Any], ...]:
        return tuple({"op": op, "value": value} for op, value in self.pairs)

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(op for op, _ in self.pairs)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.pairs).encode()).hexdigest()

    @property
    def id(self) -> str:
        return f"fuzz-{self.fingerprint[:12]}"

    @property
    def label(self) -> str:
        return "counter"

    @property
    def size(self) -> int:
        return len(json.dumps(self.pairs))

    @property
    def origin(self) -> Mapping[str, Any]:
        return {"source": "toyfuzz"}


class ToySource:
    def __init__(self) -> None:
        self.batches: Batches[list[tuple[str, int]]] = Batches(PROGRAMS, size=50)

    def draw(self, rng: random.Random, scratch: Path) -> ToyCase:
        example = self.batches.next(rng)
        return ToyCase(tuple(example.value), scratch, example)

    def shrink(self, case: ToyCase, still_fails: Callable[[ToyCase], bool]) -> ToyCase:
        assert case.example is not None
        smallest = shrink(PROGRAMS, case.example,
                          lambda pairs: still_fails(ToyCase(tuple(pairs), case.root)))
        return case if smallest is None else ToyCase(tuple(smallest), case.root)

    def write_regression(self, case: ToyCase, case_dir: Path, relative: str) -> list[dict[str, Any]]:
        case_dir.mkdir(parents=True)
        (case_dir / "program.toy").write_text(json.dumps(case.pairs) + "\n")  # for people
        return [dict(op) for op in case.ops]


def source(spec: Any, fixtures: Path) -> ToySource:
    return ToySource()


def raising_reference(case: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """A reference with a bug of its own: it divides by zero on any operation whose value lies
    in [40, 60] (the fuzzer must keep such a case, waiting for an expectation)."""
    import toydomain

    if any(40 <= op["value"] <= 60 for op in case["ops"]):
        raise ZeroDivisionError("division by zero")
    return toydomain.execute_case(case, root)
