"""The Python reference testee: the protocol loop in-process, and the real one as a subprocess."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from snnconform._protocol import SchemaValidator
from snnconform.testee import serve

ROOT = Path(__file__).resolve().parents[2]


def converse(requests, execute):
    stdin = io.BytesIO("".join(json.dumps(r) + "\n" for r in requests).encode())
    stdout = io.StringIO()
    status = serve(stdin, stdout, execute, 1, ("set",))
    return status, [json.loads(line) for line in stdout.getvalue().splitlines()]


RUN = {"cmd": "run", "seq": 4, "case": {"id": "c", "root": "/r", "ops": [{"op": "set"}]}}


def test_serve_answers_hello_run_stop():
    status, answers = converse(
        [{"cmd": "hello", "protocol": 1}, RUN, {"cmd": "stop"}, RUN],
        lambda case, root: {"results": [{"op": "set", "verdict": "accept", "state": {"v": 1.0}}]},
    )
    assert status == 0 and len(answers) == 3  # nothing after stop
    validator = SchemaValidator()
    assert validator.error(answers[0], "hello_answer") is None
    assert answers[0]["capabilities"] == ["set"] and answers[0]["implementation"] == "python"
    assert answers[1] == {"seq": 4, "id": "c", "results": [
        {"op": "set", "verdict": "accept", "state": {"v": 1.0}}]}
    assert answers[2] == {"stopped": True}


def test_an_exception_in_the_reference_is_errored_not_a_verdict():
    def explode(case, root):
        raise KeyError("weights")

    _, answers = converse([RUN], explode)
    assert answers[0]["errored"]["message"] == "KeyError: 'weights'"
    assert "explode" in answers[0]["errored"]["context"]


def test_an_unsendable_answer_is_errored():
    _, answers = converse([RUN], lambda case, root: {"results": [{"x": float("nan")}]})
    assert answers[0]["errored"]["message"].startswith("ValueError")


def test_garbage_request_exits_2():
    stdin, stdout = io.BytesIO(b"nope\n"), io.StringIO()
    assert serve(stdin, stdout, lambda c, r: {}, 1, ()) == 2 and stdout.getvalue() == ""


@pytest.mark.slow
def test_real_testee_matches_the_in_process_reference(tmp_path):
    """The subprocess testee and the in-process reference give the same answers."""
    pytest.importorskip("sc_neurocore.transfer")
    from snnconform._cases import case_from_json
    from snnconform._diff import compare_results, without_messages
    from snnconform._reference import execute_case
    from snnconform._session import TesteeSession

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "harness"), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    weights = {"$array": {"shape": [1, 2], "data": [1.0, {"$float": "NaN"}]}}
    ops_list = [
        [{"op": "construct", "state": {"weights": [{"$array": {"shape": [1, 2], "data": [1.0, 2.0]}}],
                                       "layer_names": ["a"], "layer_sizes": [[2, 1]]}},
         {"op": "apply_transfer_config", "config": {"freeze_until": 0}},
         {"op": "freeze_layers", "args": {"layer_names": ["zz"]}}],
        [{"op": "construct", "state": {"weights": [weights], "layer_names": ["a"],
                                       "layer_sizes": [[2, 1]]}}],
        [{"op": "load", "base": "cases/missing/checkpoint"}],
    ]
    codes = ["transfer.layer_names.references", "array.finite", "json.file.present"]
    session = TesteeSession(f"{sys.executable} -m snnconform.testee", ROOT, spec_version=None,
                            timeout=30, startup_timeout=60, validator=SchemaValidator(), env=env)
    try:
        for index, ops in enumerate(ops_list):
            reference = execute_case({"id": f"c{index}", "ops": ops}, tmp_path)["results"]
            expect = without_messages(reference)
            last = expect[-1]
            case = case_from_json({
                "id": f"c{index}", "class": "valid", "ops": ops, "covers": [],
                "expect": {"verdict": last["verdict"], "code": last.get("code"),
                           "op_index": len(expect) - 1 if last["verdict"] == "reject" else None,
                           "results": expect}}, "test")
            outcome = session.run_case(case, tmp_path)
            assert outcome.kind == "answered", outcome
            got = [r.comparable() for r in outcome.answer.results]
            assert compare_results(expect, got) is None
            assert got[-1]["code"] == codes[index]
    finally:
        session.stop()
    assert session.stop_problem is None
    assert session.started is not None and session.started.implementation == "python"
