"""The protocol loop that serves an in-process executor as a testee."""

from __future__ import annotations

import io
import json

from snnconform.core._protocol import SchemaValidator
from snnconform.core._serve import serve


def converse(requests, execute):
    stdin = io.BytesIO("".join(json.dumps(r) + "\n" for r in requests).encode())
    stdout = io.StringIO()
    status = serve(stdin, stdout, execute, HELLO)
    return status, [json.loads(line) for line in stdout.getvalue().splitlines()]


HELLO = {"implementation": "toy", "version": "1", "runtime": "CPython", "spec_version": 1,
         "protocol": 1, "capabilities": ["set"]}
RUN = {"cmd": "run", "seq": 4, "case": {"id": "c", "root": "/r", "ops": [{"op": "set"}]}}


def test_serve_answers_hello_run_stop():
    status, answers = converse(
        [{"cmd": "hello", "protocol": 1}, RUN, {"cmd": "stop"}, RUN],
        lambda case, root: {"results": [{"op": "set", "verdict": "accept", "state": {"v": 1.0}}]},
    )
    assert status == 0 and len(answers) == 3  # nothing after stop
    validator = SchemaValidator()
    assert validator.error(answers[0], "hello_answer") is None
    assert answers[0]["capabilities"] == ["set"] and answers[0]["implementation"] == "toy"
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
    assert serve(stdin, stdout, lambda c, r: {}, HELLO) == 2 and stdout.getvalue() == ""
