"""Hypothesis examples for a fuzz source: drawn in seeded batches, shrunk on demand.

``snnconform fuzz`` asks a domain's fuzz source for one case at a time and, when a case shows a
finding, to shrink it against a predicate that re-runs every implementation. Hypothesis draws
and shrinks structured values far better than hand-written code, but it wants to own the loop.
This module lets a source keep the loop: :class:`Batches` draws examples of a strategy a batch
at a time (one ``@given`` run per batch, seeded from the caller's random stream, so a seed
replays the same examples) and keeps, with each value, the *choice sequence* Hypothesis made
to build it; :func:`shrink` hands that sequence back to Hypothesis's shrinker with the
caller's predicate (through an in-memory example database), and returns the smallest value it
reaches.

Two details lean on Hypothesis's internals, pinned by the harness tests (a toy fuzz run must
shrink to its exact minimal case): the choice sequence is read from the build context while
the example runs, and the example is stored under the database's *secondary* key, because an
example under the primary key counts as already shrunk and is replayed without shrinking.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.database import InMemoryExampleDatabase, choices_to_bytes
from hypothesis.errors import NoSuchExample, Unsatisfiable

T = TypeVar("T")

_QUIET: dict[str, Any] = {
    "deadline": None, "suppress_health_check": list(HealthCheck), "verbosity": Verbosity.quiet,
}
_KEY = b"snnconform-fuzz"


@dataclass(frozen=True)
class Example(Generic[T]):
    """A drawn value and the choices Hypothesis made to build it (what shrinking starts from)."""

    value: T
    choices: tuple[Any, ...]


class Batches(Generic[T]):
    """Examples of ``strategy``, drawn ``size`` at a time; :meth:`next` hands them out."""

    def __init__(self, strategy: st.SearchStrategy[T], size: int = 100) -> None:
        self.strategy = strategy
        self.size = size
        self._queue: list[Example[T]] = []

    def next(self, rng: random.Random) -> Example[T]:
        """The next example; a new batch is drawn, seeded from ``rng``, when none is left."""
        while not self._queue:
            self._queue = draw_batch(self.strategy, self.size, rng.getrandbits(64))
            rng.shuffle(self._queue)  # a batch starts with Hypothesis's simplest examples
        return self._queue.pop()


def draw_batch(strategy: st.SearchStrategy[T], count: int, seed_value: int) -> list[Example[T]]:
    """Up to ``count`` examples of ``strategy``; the same ones for the same seed and versions."""
    found: list[Example[T]] = []

    @settings(max_examples=count, database=None, phases=[Phase.generate], **_QUIET)
    @seed(seed_value)
    @given(strategy)
    def collect(value: T) -> None:
        data = current_build_context().data
        found.append(Example(value, tuple(data.choices)))

    collect()
    return found


def shrink(strategy: st.SearchStrategy[T], example: Example[T], still_fails: Callable[[T], bool],
           max_examples: int = 10_000) -> T | None:
    """The smallest value of ``strategy`` that Hypothesis's shrinker reaches from ``example``
    while ``still_fails`` holds; None when the example itself no longer fails.

    ``still_fails`` should not raise: an exception would count as a different failure.
    """
    database = InMemoryExampleDatabase()
    database.save(_KEY + b".secondary", choices_to_bytes(example.choices))
    try:
        return find(
            strategy, still_fails, database_key=_KEY,
            settings=settings(database=database, phases=[Phase.reuse, Phase.shrink],
                              max_examples=max_examples, **_QUIET),
        )
    except (NoSuchExample, Unsatisfiable):
        return None
