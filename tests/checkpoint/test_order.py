"""Order cases: every pair of invariants that one input can violate together has a case whose
expected code is the earlier one, and the skip oracle that decides "together" is sound."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from snnconform.checkpoint._generator import combos
from snnconform.checkpoint._order import attempt_pairs, first_rejection, later_outcome, order_candidates
from snnconform.checkpoint._spec import REPO_ROOT, load_spec

SPEC = load_spec()
FIXTURES = REPO_ROOT / "fixtures"
ORDER = {invariant.id: invariant.order for invariant in SPEC.invariants}


def _lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / "cases.jsonl").read_text().splitlines()]


def _order_lines(across: bool = False) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The order cases by (operation, earlier, later): one per pair, or (``across``) the cases
    with the later violation on layer 0 and the earlier one on layer 1."""
    return {(line["origin"]["operation"], *line["covers"]): line for line in _lines()
            if line["class"] == "order" and ("layers" in line["origin"]) == across}


def test_every_co_violable_pair_has_an_order_case() -> None:
    """Each candidate pair (same operation, both with a mutation on it) has a case, or the
    corpus records that every pairing of their mutations was tried and none could violate both
    (gated: the later check is unreachable once the earlier is skipped; conflicting)."""
    summary = json.loads((FIXTURES / "corpus.json").read_text())["order_pairs"]
    cases = _order_lines()
    unpinned = {(entry["operation"], entry["earlier"], entry["later"]): (kind, entry)
                for kind in ("gated", "conflicting") for entry in summary[kind]}
    candidates = order_candidates(SPEC, combos)
    for candidate in candidates:
        if candidate.key in cases:
            continue
        assert candidate.key in unpinned, f"{candidate.key} has no order case"
        kind, entry = unpinned[candidate.key]
        tried = len(attempt_pairs(candidate, combos))
        assert entry["attempts"] == tried == sum(entry["outcomes"].values()), candidate.key
        assert "pinned" not in entry["outcomes"]
        assert kind == "conflicting" or entry["outcomes"].get("conflicting", 0) == 0
    assert summary["candidates"] == len(candidates) == len(cases) + len(unpinned)
    assert summary["pinned"] == len(cases)


@pytest.mark.parametrize("key", [
    ("load", "json.nonfinite", "json.number.range"),
    ("load", "checkpoint.n_layers.consistent", "checkpoint.total_params.consistent"),
    ("construct", "checkpoint.layer_sizes.count", "checkpoint.weights.count"),
    ("load", "archive.members.unexpected", "archive.members.missing"),
    ("load", "array.dtype", "array.shape.rank"),
    ("apply_transfer_config", "transfer.learning_rate.type", "transfer.learning_rate.range"),
])
def test_same_phase_pairs_are_pinned(key: tuple[str, str, str]) -> None:
    assert key in _order_lines()


def test_an_order_case_expects_the_earlier_invariant() -> None:
    for (operation, earlier, later), line in _order_lines().items():
        assert ORDER[earlier] < ORDER[later], line["id"]
        assert line["expect"]["code"] == earlier and line["expect"]["verdict"] == "reject"
        assert line["origin"]["mutations"][0]["invariant"] == earlier


def test_per_layer_pairs_have_cases_across_layers() -> None:
    """Per-layer pairs also have a case with the later violation on the earlier layer: an
    implementation that judges every check of layer 0 before layer 1 answers the later code."""
    summary = json.loads((FIXTURES / "corpus.json").read_text())["order_pairs"]["across_layers"]
    across = _order_lines(across=True)
    assert summary["pinned"] == len(across) > 0
    for key in [("load", "archive.member.method", "archive.member.integrity"),
                ("load", "array.npy.magic", "array.npy.header"), ("load", "array.npy.header", "array.dtype")]:
        assert key in across, key
    for line in across.values():
        assert line["expect"]["code"] == line["covers"][0]


def test_every_order_case_still_violates_its_later_invariant() -> None:
    """The committed cases, re-judged: with the earlier check skipped, the reference goes on to
    report the later invariant, so an implementation checking them the other way round fails."""
    for (_, earlier, later), line in _order_lines().items():
        index = line["expect"]["op_index"]
        assert later_outcome(line["ops"], FIXTURES, earlier, later, ORDER, index) == "pinned", line["id"]


def test_the_skip_oracle_is_the_reference_when_nothing_is_skipped() -> None:
    for line in _lines()[::5]:
        found = first_rejection(line["ops"], FIXTURES, set())
        expected = line["expect"]
        assert found == (None if expected["verdict"] == "accept" else (expected["op_index"], expected["code"]))


def test_skipping_a_check_goes_on_to_the_next_one(tmp_path: Path) -> None:
    document = {"layer_names": [], "layer_sizes": [], "neuron_types": [], "frozen_layers": [],
                "n_layers": 0, "total_params": 0, "metadata": {}}
    text = json.dumps(document).replace('"metadata": {}', '"metadata": {"a": NaN, "b": 1e400}')
    (tmp_path / "c.json").write_text(text)
    ops = [{"op": "load", "base": "c"}]
    assert first_rejection(ops, tmp_path, set()) == (0, "json.nonfinite")
    assert first_rejection(ops, tmp_path, {"json.nonfinite"}) == (0, "json.number.range")
    # Nothing after json.number.range fails here but the missing archive.
    assert first_rejection(ops, tmp_path, {"json.nonfinite", "json.number.range"}) == (0, "archive.file.present")
    assert later_outcome(ops, tmp_path, "json.nonfinite", "json.number.range", ORDER, 0) == "pinned"
    assert later_outcome(ops, tmp_path, "json.nonfinite", "json.keys.unique", ORDER, 0) == "conflicting"
