"""Boundary cases: every numeric limit of the spec has a recipe, the recipes read the limits
from the spec, and the committed corpus holds a case at and one past every limit on every
surface where the spec applies it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from snnconform.checkpoint._boundaries import RECIPES, boundaries, limit_surfaces, limits_without_recipe
from snnconform.checkpoint._spec import REPO_ROOT, load_spec

SPEC = load_spec()


def _boundary_lines() -> list[dict[str, Any]]:
    lines = (REPO_ROOT / "fixtures" / "cases.jsonl").read_text().splitlines()
    return [line for line in map(json.loads, lines) if line["class"] == "boundary"]


def test_every_limit_of_the_spec_has_a_recipe() -> None:
    assert limits_without_recipe(SPEC) == []
    assert sorted({name for names in RECIPES for name in names} - set(SPEC.limits)) == []


def test_a_new_limit_without_a_recipe_is_reported() -> None:
    grown = dataclasses.replace(SPEC, limits={**SPEC.limits, "metadata_max_keys": 1000})
    assert limits_without_recipe(grown) == ["metadata_max_keys"]


@pytest.mark.parametrize("limit", sorted(SPEC.limits))
def test_every_limit_is_applied_by_an_invariant(limit: str) -> None:
    # The surfaces a recipe must cover come from the invariants whose rules name the limit.
    assert limit_surfaces(SPEC, limit), f"no invariant's rule names limits.{limit}"


@pytest.mark.parametrize("limit", sorted(SPEC.limits))
def test_the_corpus_has_a_case_at_and_past_the_limit_on_every_surface(limit: str) -> None:
    lines = [line for line in _boundary_lines() if line["origin"]["limit"] == limit]
    for surface in sorted(limit_surfaces(SPEC, limit)):
        mine = [line for line in lines if line["origin"]["surface"] == surface]
        at = {line["expect"]["code"] for line in mine if line["origin"]["side"] == "at"}
        past = {line["expect"]["code"] for line in mine if line["origin"]["side"] == "past"}
        assert at and past, f"limits.{limit} on {surface}: at {at}, past {past}"
        # One step past is refused by the limit's rule; at the limit that rule lets it pass.
        assert None not in past and not at & past, (limit, surface, at, past)


def _moved(value: int | float) -> int | float:
    return value / 2 if isinstance(value, float) else value - 1


@pytest.mark.parametrize("limit", sorted(SPEC.limits))
def test_the_recipes_read_the_limit_from_the_spec(limit: str) -> None:
    moved = dataclasses.replace(SPEC, limits={**SPEC.limits, limit: _moved(SPEC.limits[limit])})

    def values(spec: Any) -> set[str]:
        return {f"{b.name}={b.value!r}" for b in boundaries(spec) if b.limit == limit}

    assert values(SPEC) != values(moved)


def test_boundary_names_are_unique() -> None:
    names = [boundary.name for boundary in boundaries(SPEC)]
    assert len(names) == len(set(names))


def test_the_layer_size_bounds_the_out_of_range_operator_reads_are_the_limits() -> None:
    extra = SPEC.invariant("checkpoint.layer_sizes.range").extra
    assert (extra["minimum"], extra["maximum"]) == (SPEC.limits["layer_features_min"], SPEC.limits["layer_features_max"])
