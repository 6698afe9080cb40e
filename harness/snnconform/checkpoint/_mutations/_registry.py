"""The operator registry and the helpers every operator uses (targets, choices)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from .._casemodel import CaseModel, Draft

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
        if stage not in STAGES:
            raise ValueError(f"operator {function.__name__}: unknown stage {stage!r}; one of {STAGES}")
        OPERATORS[function.__name__] = Operator(
            function, stage, frozenset(surfaces.split()), requires or (lambda params: lambda draft: True)
        )
        return function

    return register


def layers(minimum: int) -> Callable[[Params], Requirement]:
    return lambda params: lambda draft: len(draft.layer_names) >= minimum


def pick(draw: Draw, items: list[Any] | range) -> Any:
    return draw(st.sampled_from(list(items)))


def pick_layer(case: CaseModel, draw: Draw, candidates: list[int] | range | None = None) -> int:
    """The layer an operator acts on: the case's ``layer_hint`` when it is a candidate, else a
    drawn one; recorded in ``case.picked_layers``."""
    choices = list(range(case.n_layers) if candidates is None else candidates)
    index = case.layer_hint if case.layer_hint in choices else pick(draw, choices)
    assert index is not None
    case.picked_layers.append(index)
    return int(index)


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
        key = pick(draw, range(len(container))) if part == "*" else part
        container = container[key]
    last = parts[-1]
    return container, (pick(draw, range(len(container))) if last == "*" else last)
