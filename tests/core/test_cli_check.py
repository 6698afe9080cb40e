"""`snnconform check` on the toy domain: one row per input, failures confined to their row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import MINIATURES, ToyRepo

from snnconform.core._check import Answer, _reference_answer
from snnconform.core._domain import CheckInput

HERE = Path(__file__).resolve().parent

INPUTS = {
    "ok-1": [["set", 2], ["add", 3]],
    "victim-1": [["set", 1], ["add", -5]],
    "ok-3": [["set", 10]],
}


def write_inputs(folder: Path, inputs: dict[str, Any] = INPUTS) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, ops in inputs.items():
        (folder / f"{name}.toy").write_text(json.dumps(ops))
        paths.append(str(folder / f"{name}.toy"))
    return paths


def check(toy: ToyRepo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = toy.cli("check", "--json", "--quiet", *args)
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


@pytest.mark.slow
def test_a_lying_a_crashing_and_a_hanging_testee_fail_only_their_row(toy, capsys, tmp_path):
    toy.add("good").add("lie_code").add("crash").add("hang")
    paths = write_inputs(tmp_path / "mine")
    began = time.monotonic()
    code, doc = check(toy, capsys, *paths, "--timeout", "1")
    assert code == 1 and doc["status"] == "fail"
    assert time.monotonic() - began < 30
    rows = {row["input"]: row for row in doc["inputs"]}
    assert list(rows) == ["ok-1", "victim-1", "ok-3"]
    # The rows after the victim agree: the crashed and the hung testee were restarted.
    assert rows["ok-1"]["agree"] and rows["ok-3"]["agree"]
    assert {a["outcome"] for a in rows["ok-3"]["answers"].values()} == {"answered"}
    victim = rows["victim-1"]
    answers = victim["answers"]
    assert not victim["agree"] and victim["yardstick"] == "reference"
    assert (victim["verdict"], victim["op_index"], victim["code"]) == ("reject", 1, "toy.negative")
    assert answers["good"]["code"] == "toy.negative" and "difference" not in answers["good"]
    assert answers["lie_code"]["code"] == "toy.overflow"
    assert answers["lie_code"]["difference"]["pointer"] == "/results/1/code"
    assert answers["crash"]["outcome"] == "crashed"
    assert "segmentation fault (pretend)" in answers["crash"]["stderr"]
    assert answers["hang"]["outcome"] == "timed_out"
    assert [p.split(" ")[0] for p in victim["problems"]] == ["lie_code", "crash", "hang"]
    assert doc["failed_checks"] == [
        "1 input(s) where the implementations disagree or failed: victim-1"]


@pytest.mark.slow
def test_the_table_names_each_verdict_and_who_failed(toy, capsys, tmp_path):
    toy.add("good").add("crash")
    paths = write_inputs(tmp_path / "mine")
    assert toy.cli("check", "--quiet", *paths) == 1
    out = capsys.readouterr().out.splitlines()
    header = out[0].split()
    assert header == ["input", "agree", "reference", "good", "crash"]
    victim = next(line for line in out if line.startswith("victim-1"))
    assert victim.split()[:2] == ["victim-1", "NO"]
    assert "reject toy.negative (op 1)" in victim and victim.rstrip().endswith("crashed")
    assert next(line for line in out if line.startswith("ok-3")).split() == [
        "ok-3", "yes", "accept", "accept", "accept"]
    assert any(line.startswith("  victim-1: crash crashed: testee exited with status 3")
               for line in out)
    assert out[-1] == "status: FAIL"


@pytest.mark.slow
def test_agreement_passes_whatever_the_verdict_unless_acceptance_is_required(toy, capsys, tmp_path):
    toy.add("good").add("chatty")  # chatty words its messages differently: they never count
    paths = write_inputs(tmp_path / "mine", {"ok-1": INPUTS["ok-1"], "reject-1": [["set", 5], ["add", -10]]})
    code, doc = check(toy, capsys, *paths)
    assert code == 0 and doc["status"] == "pass" and doc["failed_checks"] == []
    assert [(r["input"], r["verdict"], r["agree"]) for r in doc["inputs"]] == [
        ("ok-1", "accept", True), ("reject-1", "reject", True)]
    code, doc = check(toy, capsys, *paths, "--require-accept")
    assert code == 1
    assert doc["failed_checks"] == ["--require-accept: 1 input(s) refused: reject-1"]


@pytest.mark.slow
def test_a_different_state_is_a_disagreement(toy, capsys, tmp_path):
    toy.add("good").add("lie_state")  # the integer 1 reported as the float 1.0
    write_inputs(tmp_path / "mine")
    code, doc = check(toy, capsys, str(tmp_path / "mine"), "--impl", "lie_state")  # a folder
    assert code == 1 and [r["input"] for r in doc["inputs"]] == ["ok-1", "ok-3", "victim-1"]
    victim = next(r for r in doc["inputs"] if r["input"] == "victim-1")
    assert victim["answers"]["lie_state"]["difference"]["pointer"] == "/results/0/state/value"
    assert list(doc["implementations"]) == ["lie_state"]  # --impl chose it alone


@pytest.mark.slow
def test_an_unavailable_implementation_is_left_out_unless_named(toy, capsys, tmp_path):
    probe = f"{{python}} {MINIATURES} probe_missing"
    toy.add("good").add("absent", "good", probe=probe)
    paths = write_inputs(tmp_path / "mine", {"ok-1": INPUTS["ok-1"]})
    code, doc = check(toy, capsys, *paths)
    assert code == 0 and list(doc["inputs"][0]["answers"]) == ["reference", "good"]
    assert doc["implementations"]["absent"]["available"] is False
    code, doc = check(toy, capsys, *paths, "--impl", "absent", "--impl", "good")
    assert code == 1 and doc["failed_checks"][0].startswith("absent: not available")


@pytest.mark.slow
def test_a_testee_that_does_not_start_fails_every_row(toy, capsys, tmp_path):
    toy.add("good").add("no_start")
    code, doc = check(toy, capsys, *write_inputs(tmp_path / "mine"))
    assert code == 1
    assert {r["answers"]["no_start"]["outcome"] for r in doc["inputs"]} == {"not_run"}
    assert doc["failed_checks"][0].startswith("no_start: testee failed to start")
    assert "libtoy.so" in doc["implementations"]["no_start"]["problem"]


@pytest.mark.parametrize("args, message", [
    (["--impl", "nope"], "no implementation named 'nope'"),
    (["missing.toy"], "missing.toy: no such toy file or folder"),
])
def test_bad_arguments_get_one_line_and_exit_2(toy, capsys, tmp_path, args, message):
    toy.add("good")
    paths = write_inputs(tmp_path / "mine", {"ok-1": INPUTS["ok-1"]})
    assert toy.cli("check", *paths, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("snnconform check: ") and message in err[0]


def test_a_domain_without_check_inputs_is_a_configuration_error(toy, capsys, tmp_path):
    config = toy.add("good").write()
    config.write_text(config.read_text().replace('check_inputs = "toydomain:check_inputs"\n', ""))
    from snnconform.core._cli import main

    assert main(["check", "--config", str(config), *write_inputs(tmp_path / "mine")]) == 2
    assert "[domain] has no check_inputs" in capsys.readouterr().err


def test_a_hanging_or_raising_reference_is_reported_for_its_input():
    item = CheckInput("x", Path("/"), ({"op": "set", "value": 1},))

    def sleepy(case: Any, root: Any) -> Any:
        time.sleep(5)

    def broken(case: Any, root: Any) -> Any:
        raise KeyError("boom")

    assert _reference_answer(sleepy, item, 0.2).kind == "timed_out"
    raised = _reference_answer(broken, item, 1.0)
    assert raised.kind == "errored" and "KeyError: 'boom'" in raised.detail
    assert _reference_answer(lambda c, r: {"results": "no"}, item, 1.0).kind == "malformed"
    assert Answer("answered", ({"op": "set", "verdict": "accept"},)).cell() == "accept"


PROGRAM = """
import json, sys
from snnconform.core._cli import main
code = main(["check", "--config", sys.argv[1], "--quiet", *sys.argv[2:]])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.slow
def test_check_runs_on_the_core_alone(toy, tmp_path):
    config = toy.add("good").write()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(config),
                           *write_inputs(tmp_path / "mine")],
                          capture_output=True, text=True, env=env, cwd=toy.root, timeout=120,
                          check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0
    domain = ("snnconform.checkpoint", "sc_neurocore", "numpy", "hypothesis", "yaml")
    assert [m for m in result["modules"]
            if any(m == d or m.startswith(d + ".") for d in domain)] == []
    assert "snnconform.core._check" in result["modules"]
