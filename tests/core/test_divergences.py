"""known-divergences.toml: matching, expected wrong answers, rot detection, rewriting."""

from __future__ import annotations

import pytest
import toydomain

from snnconform.core._cases import case_from_json
from snnconform.core._divergences import (
    DivergenceError,
    apply_divergences,
    load_divergences,
    rewrite_entries,
    unused_entries,
    write_divergences,
)
from snnconform.core._judge import judge
from snnconform.core._protocol import OpResult, Results
from snnconform.core._session import Outcome

VICTIM = case_from_json(toydomain.make_case("victim-1", [("set", 1), ("add", -5)], ["toy.negative"]), "t")


def answered(code: str | None) -> Outcome:
    results = (OpResult("set", "accept", payload={"state": {"value": 1, "half": 0.5}}),
               OpResult("add", "reject", code=code, message="m") if code else
               OpResult("add", "accept", payload={"state": {"value": 0, "half": 0.0}}))
    return Outcome("answered", answer=Results(1, "victim-1", results))


def write(tmp_path, text):
    path = tmp_path / "known-divergences.toml"
    path.write_text(text)
    return load_divergences(path)


ENTRY = ('[[divergence]]\nimplementation = "julia"\ninvariant = "toy.neg*"\nreason = "r"\n'
         'got = { verdict = "reject", code = "toy.overflow" }\n')


def test_expected_wrong_answer_is_known(tmp_path):
    entries = write(tmp_path, ENTRY)
    [j], problems = apply_divergences([judge("julia", VICTIM, answered("toy.overflow"), None)], entries)
    assert j.status == "known" and j.reason == "r" and problems == []


def test_other_implementations_are_not_excused(tmp_path):
    entries = write(tmp_path, ENTRY)
    [j], _ = apply_divergences([judge("rust", VICTIM, answered("toy.overflow"), None)], entries)
    assert j.status == "disagreed"


def test_fixed_divergence_fails_the_gate(tmp_path):
    entries = write(tmp_path, ENTRY)
    [j], problems = apply_divergences([judge("julia", VICTIM, answered("toy.negative"), None)], entries)
    assert j.status == "agreed"
    assert problems == ["julia: case victim-1 now agrees but known-divergences.toml lists it "
                        "(invariant toy.neg*: r); remove the entry"]


def test_changed_divergence_fails_the_gate(tmp_path):
    entries = write(tmp_path, ENTRY)
    [j], problems = apply_divergences([judge("julia", VICTIM, answered(None), None)], entries)
    assert j.status == "disagreed" and len(problems) == 1
    assert 'expected {outcome = "answered", verdict = "reject", code = "toy.overflow"}' in problems[0]
    assert 'got {outcome = "answered", verdict = "accept"}' in problems[0]


def test_stale_entries_are_reported(tmp_path):
    entries = write(tmp_path, ENTRY.replace("toy.neg*", "toy.nothing"))
    judgments = [judge("julia", VICTIM, answered("toy.negative"), None)]
    assert unused_entries(judgments, entries, ["julia"]) == [
        "julia: known-divergences.toml entry for invariant toy.nothing matches no case; remove it"]
    assert unused_entries(judgments, entries, []) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[divergence]]\nimplementation = "j"\nreason = "r"\ngot = {code = "x"}\n', "exactly one of"),
        ('[[divergence]]\nimplementation = "j"\ncase = "c"\ninvariant = "i"\nreason = "r"\n', "exactly one"),
        ('[[divergence]]\nimplementation = "j"\ncase = "c"\nreason = ""\ngot = {code = "x"}\n', "'reason'"),
        ('[[divergence]]\nimplementation = "j"\ncase = "c"\nreason = "r"\n', "'got'"),
        ('[[divergence]]\nimplementation = "j"\ncase = "c"\nreason = "r"\ngot = {colour = 1}\n', "unknown keys"),
        ('[[divergence]]\nimplementation = "j"\ncase = "c"\nreason = "r"\ngot = {outcome = "meh"}\n', "outcome"),
        ("[[divergence]\n", "known-divergences.toml"),
    ],
)
def test_malformed_entries(tmp_path, text, words):
    with pytest.raises(DivergenceError, match=words):
        write(tmp_path, text)


def test_rewrite_keeps_still_valid_entries_and_adds_new_ones(tmp_path):
    old = write(tmp_path, ENTRY + '\n[[divergence]]\nimplementation = "julia"\ncase = "gone"\n'
                'reason = "fixed since"\ngot = { outcome = "crashed" }\n')
    failures = [
        {"implementation": "julia", "case": "victim-1", "covers": ["toy.negative"],
         "operations": ["add", "set"], "summary": "s",
         "signature": {"outcome": "answered", "verdict": "reject", "op_index": 1, "code": "toy.overflow"}},
        {"implementation": "mojo", "case": "ok-1", "covers": [], "operations": ["set"],
         "summary": "vs expectation at /results/0/state/half: ...",
         "signature": {"outcome": "timed_out"}},
    ]
    entries = rewrite_entries(failures, old)
    assert entries[0] == old[0]
    assert entries[1].case == "ok-1" and entries[1].got == {"outcome": "timed_out"}
    assert entries[1].reason.startswith("NEW, explain before committing: vs expectation")
    path = tmp_path / "known-divergences.toml"
    write_divergences(path, entries)
    assert load_divergences(path) == sorted(entries, key=lambda d: (d.implementation, d.scope))
