"""`snnconform run` end to end on the toy corpus: outputs, selection, divergences, reference."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.slow

# The agreed keys, plus "benchmarks" (the other [benchmarks] entries' output, e.g. testee timings).
TOP = ["status", "failed_checks", "spec_version", "protocol_version", "corpus", "implementations",
       "matrix", "disagreements", "python", "benchmarks", "environment", "production_benchmark_claim"]
IMPL = ["available", "version", "runtime", "cases", "agreed", "disagreed", "crashed", "timed_out",
        "skipped", "known_divergences", "seconds", "cases_per_second", "build", "unit_tests",
        "startup_seconds"]


def test_document_has_exactly_the_agreed_keys(toy):
    _, doc = toy.add("good").run()
    assert list(doc) == TOP
    assert list(doc["implementations"]["good"]) == IMPL
    assert list(doc["corpus"]) == ["cases", "valid", "invalid_targeted", "mixed", "invariants",
                                   "min_cases_per_invariant"]
    assert doc["corpus"]["cases"] == 6 and doc["production_benchmark_claim"] is False
    assert (toy.root / "results" / "conformance.md").read_text().startswith("# Conformance report")


def test_junit_has_one_testcase_per_case_and_implementation(toy, tmp_path):
    junit = tmp_path / "junit.xml"
    toy.add("good").add("crash").add("lie_code").run("--junit", str(junit))
    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    assert {n: len(s.findall("testcase")) for n, s in suites.items()} == {
        "good": 6, "crash": 6, "lie_code": 6}
    assert suites["crash"].get("errors") == "1" and suites["lie_code"].get("failures") == "1"
    failure = suites["lie_code"].find("testcase[@name='victim-1']/failure")
    assert failure is not None and "snnconform run --impl lie_code --case victim-1" in failure.text


def test_selection_runs_only_matching_cases(toy, capsys):
    config = toy.add("lie_code").write()
    from snnconform.core._cli import main

    assert main(["run", "--config", str(config), "--quiet", "--json", "--case", "ok-*"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["implementations"]["lie_code"]["cases"] == 3
    assert not (toy.root / "results").exists()  # a filtered run leaves the saved results alone
    assert main(["run", "--config", str(config), "--quiet", "--json", "--invariant", "toy.neg*",
                 "--shard", "2/2"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [d["case"] for d in doc["disagreements"]] == ["victim-1"]


def test_no_cases_selected_fails(toy):
    code, doc = toy.add("good").run("--case", "no-such-*")
    assert code == 1 and doc["failed_checks"][0].startswith("no cases selected")


def test_known_divergence_life_cycle(toy):
    code, _ = toy.add("lie_code").run()
    assert code == 1
    assert toy.cli("divergences", "--rewrite", "--from", str(toy.root / "results/bench_transfer.json")) == 0
    toy.divergences = (toy.root / "known-divergences.toml").read_text()
    code, doc = toy.run()
    assert code == 0, doc["failed_checks"]
    assert doc["implementations"]["lie_code"]["known_divergences"] == 1
    toy.impls = []
    toy.add("lie_code", "good")  # the implementation got fixed: the list must follow
    code, doc = toy.run()
    assert code == 1
    assert any("now agrees but known-divergences.toml lists it" in c for c in doc["failed_checks"])


def test_reference_that_contradicts_the_corpus_fails_the_gate(toy):
    path = toy.root / "fixtures" / "cases.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines()]
    cases[2]["expect"]["code"] = cases[2]["expect"]["results"][1]["code"] = "toy.overflow"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    code, doc = toy.add("good").run()
    assert code == 1
    assert any(c.startswith("reference: case reject-1 disagrees with the corpus at /results/1/code")
               for c in doc["failed_checks"])
    [entry] = doc["disagreements"]
    assert entry["case"] == "reject-1" and entry["vs_reference"] is None  # agrees with reference


def test_build_and_unit_tests_run_first_and_are_recorded(toy, tmp_path):
    marker = tmp_path / "toolchain-installed"
    toy.add("good", setup=f"touch {marker}", probe=f"test -f {marker} && echo toycc 1.0",
            build="echo compiling", unit_tests="echo 3 passed")
    code, doc = toy.run("--build")
    assert code == 0, doc["failed_checks"]
    entry = doc["implementations"]["good"]
    assert entry["build"]["status"] == "passed" and entry["unit_tests"]["status"] == "passed"
    assert doc["environment"]["tools"]["good"] == "python"  # the testee's own runtime string
    assert (toy.root / "build/snnconform/good/build.log").read_text() == "$ echo compiling\ncompiling\n"


@pytest.mark.parametrize("step", ["build", "unit_tests"])
def test_failed_build_or_unit_tests_fail_the_gate_and_skip_the_cases(toy, step):
    commands = {"build": "echo compiling", "unit_tests": "echo ok"}
    commands[step] = "echo 'error[E0308]: mismatched types' && exit 2"
    toy.add("good", **commands)
    code, doc = toy.run("--build")
    assert code == 1
    entry = doc["implementations"]["good"]
    assert entry[step]["status"] == "failed" and entry["agreed"] == 0 and entry["skipped"] == 6
    [check] = doc["failed_checks"]
    assert check.startswith(f"good: {step.replace('_', ' ')} failed: `echo 'error[E0308]")
    assert "exited with status 2" in check
