"""Subcommands that need no testee: compare, report, divergences, fixtures, usage errors."""

from __future__ import annotations

import copy
import json

import pytest

from snnconform.core._cli import main

DOC = {
    "status": "fail", "failed_checks": ["julia: 1 case(s) disagreed"], "spec_version": 1,
    "protocol_version": 1,
    "corpus": {"cases": 2, "valid": 1, "invalid_targeted": 1, "mixed": 0, "invariants": 1,
               "min_cases_per_invariant": 1},
    "implementations": {
        name: {"available": True, "version": "1", "runtime": "r", "cases": 2, "agreed": 2 - bad,
               "disagreed": bad, "crashed": 0, "timed_out": 0, "skipped": 0,
               "known_divergences": 0, "seconds": 0.1, "cases_per_second": 20.0,
               "build": {"status": "passed", "seconds": 1.0},
               "unit_tests": {"status": "passed", "seconds": 1.0}, "startup_seconds": 0.1}
        for name, bad in (("python", 0), ("julia", 1))
    },
    "matrix": {"toy.negative": {"python": {"cases": 1, "agreed": 1}, "julia": {"cases": 1, "agreed": 0}}},
    "disagreements": [{
        "implementation": "julia", "case": "victim-1", "kind": "disagreed",
        "summary": "vs expectation at /results/1/code: values differ", "pointer": "/results/1/code",
        "expected": '"toy.negative"', "got": '"toy.overflow"', "vs_reference": None,
        "signature": {"outcome": "answered", "verdict": "reject", "op_index": 1, "code": "toy.overflow"},
        "known_divergence": None, "covers": ["toy.negative"], "operations": ["add", "set"],
        "rerun": "snnconform run --impl julia --case victim-1"}],
    "python": {}, "environment": {"filtered": False}, "production_benchmark_claim": False,
}


def save(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_compare_reports_regressions_and_fixes(tmp_path, capsys):
    fixed = copy.deepcopy(DOC)
    fixed["disagreements"] = []
    fixed["status"] = "pass"
    old, new = save(tmp_path, "old.json", DOC), save(tmp_path, "new.json", fixed)
    assert main(["compare", old, new]) == 0
    assert "fixed: 1\n  julia victim-1: was disagreed" in capsys.readouterr().out
    assert main(["compare", new, old, "--json"]) == 1
    changes = json.loads(capsys.readouterr().out)
    assert changes["regressed"] == ["julia victim-1: vs expectation at /results/1/code: values differ"]


def test_compare_sees_a_changed_wrong_answer_and_a_broken_build(tmp_path, capsys):
    changed = copy.deepcopy(DOC)
    changed["disagreements"][0]["signature"]["code"] = "toy.other"
    changed["implementations"]["julia"]["build"]["status"] = "failed"
    assert main(["compare", save(tmp_path, "a", DOC), save(tmp_path, "b", changed)]) == 1
    out = capsys.readouterr().out
    assert "changed: 1" in out and "julia: build failed" in out


def test_report_renders_a_saved_run(tmp_path, capsys, toy):
    md = tmp_path / "report.md"
    assert toy.cli("report", "--from", save(tmp_path, "doc.json", DOC), "--markdown", str(md)) == 1
    out = capsys.readouterr().out
    assert "julia victim-1 [disagreed]" in out and "status: FAIL" in out
    text = md.read_text()
    assert "| `toy.negative` | ✅ 1/1 | ❌ 0/1 |" in text
    assert "rerun: `snnconform run --impl julia --case victim-1`" in text


def test_divergences_rewrite_from_a_saved_run(tmp_path, capsys, toy):
    toy.write()
    doc = save(tmp_path, "doc.json", DOC)
    assert toy.cli("divergences", "--rewrite", "--from", doc) == 0
    text = (toy.root / "known-divergences.toml").read_text()
    assert 'case = "victim-1"' in text
    assert 'got = { outcome = "answered", verdict = "reject", op_index = 1, code = "toy.overflow" }' in text
    capsys.readouterr()
    toy.divergences = text  # toy.cli rewrites the file from toy.divergences
    assert toy.cli("divergences", "--json") == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["scope"] == "case victim-1"


def test_divergences_refuses_a_filtered_run(tmp_path, toy):
    filtered = copy.deepcopy(DOC)
    filtered["environment"]["filtered"] = True
    assert toy.cli("divergences", "--rewrite", "--from", save(tmp_path, "f.json", filtered)) == 2


def test_fixtures_calls_the_domain_writer(tmp_path, capsys, toy):
    out = tmp_path / "corpus"
    assert toy.cli("fixtures", "--out", str(out)) == 0
    assert "min_cases_per_invariant: 1" in capsys.readouterr().out
    assert len((out / "cases.jsonl").read_text().splitlines()) == 6


@pytest.mark.parametrize(
    "args",
    [["run", "--impl", "nope"], ["run", "--jobs", "0"], ["report", "--from", "/nonexistent.json"]],
)
def test_usage_errors_exit_2(toy, capsys, args):
    toy.add("good")
    assert toy.cli(*args) == 2
    assert capsys.readouterr().err.startswith(f"snnconform {args[0]}: ")


def test_every_subcommand_has_help(capsys):
    for command in ("run", "fixtures", "report", "compare", "divergences", "impls"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
    assert "--shard K/N" in capsys.readouterr().out
