"""Protocol messages: strict decoding, answer parsing, and the shipped JSON Schema."""

from __future__ import annotations

import pytest

from snnconform.core._protocol import (
    Hello,
    ProtocolError,
    Results,
    Run,
    SchemaValidator,
    Skipped,
    Stop,
    decode_line,
    parse_run_answer,
    parse_started,
)

HELLO = {"implementation": "x", "version": "1", "runtime": "r", "spec_version": 1, "protocol": 1,
         "capabilities": ["load"]}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"not json\n", "not JSON"),
        (b'{"a": NaN}\n', "NaN is not JSON"),
        (b'{"a": 1, "a": 2}\n', "duplicate key 'a'"),
        (b"[1, 2]\n", "not an object"),
        (b'{"a": "\xff"}\n', "not UTF-8"),
    ],
)
def test_decode_line_is_strict(line, words):
    with pytest.raises(ProtocolError, match=words):
        decode_line(line)


def test_floats_and_integers_stay_apart():
    value = decode_line(b'{"i": 1, "f": 1.0, "e": 1e0, "z": -0.0}\n')
    assert [type(value[k]) for k in "ifez"] == [int, float, float, float]


def test_parse_results_and_skipped():
    answer = parse_run_answer({"seq": 3, "id": "c", "results": [
        {"op": "load", "verdict": "accept", "state": {"n": 1}},
        {"op": "f", "verdict": "reject", "code": "x.y", "message": "m"}]})
    assert isinstance(answer, Results) and answer.results[1].code == "x.y"
    assert answer.results[1].comparable() == {"op": "f", "verdict": "reject", "code": "x.y"}
    assert isinstance(parse_run_answer({"seq": 1, "id": "c", "skipped": {"reason": "r"}}), Skipped)


def test_accepted_payload_is_compared_whole():
    answer = parse_run_answer({"seq": 1, "id": "c", "results": [
        {"op": "transfer_config", "verdict": "accept", "config": {"lr_head": 0.01}}]})
    assert isinstance(answer, Results)
    assert answer.results[0].comparable() == {
        "op": "transfer_config", "verdict": "accept", "config": {"lr_head": 0.01}}


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"id": "c", "results": []}, "missing member 'seq'"),
        ({"seq": True, "id": "c", "results": []}, "expected an integer"),
        ({"seq": 1, "id": "c"}, "exactly one of"),
        ({"seq": 1, "id": "c", "results": [], "skipped": {}}, "exactly one of"),
        ({"seq": 1, "id": "c", "results": []}, "empty"),
        ({"seq": 1, "id": "c", "results": [{"op": "a", "verdict": "maybe"}]}, "verdict"),
        ({"seq": 1, "id": "c", "results": [{"op": "a", "verdict": "accept", "code": "x"}]},
         "accepted operation has no code"),
        ({"seq": 1, "id": "c", "results": [{"op": "a", "verdict": "reject", "code": "x"},
                                          {"op": "b", "verdict": "accept", "state": {}}]},
         "must be the last"),
    ],
)
def test_parse_run_answer_names_the_problem(answer, words):
    with pytest.raises(ProtocolError, match=words):
        parse_run_answer(answer)


def test_parse_started_checks_types():
    assert parse_started(HELLO).capabilities == frozenset({"load"})
    with pytest.raises(ProtocolError, match="spec_version"):
        parse_started({**HELLO, "spec_version": "1"})


def test_schema_accepts_every_request_the_harness_sends():
    validator = SchemaValidator()
    assert validator.error(Hello().to_json(), "hello_request") is None
    assert validator.error(Run(0, "c", "/r", [{"op": "load", "base": "b"}]).to_json(),
                           "run_request") is None
    assert validator.error(Stop().to_json(), "stop_request") is None
    assert validator.error(HELLO, "hello_answer") is None
    assert validator.error({"stopped": True}, "stop_answer") is None


def test_schema_knows_the_timing_capability():
    validator = SchemaValidator()
    request = {**Run(0, "c", "/r", [{"op": "load", "base": "b"}]).to_json(), "timing": True}
    assert validator.error(request, "run_request") is None
    timed = {"seq": 0, "id": "c", "results": [
        {"op": "load", "verdict": "accept", "state": {}, "seconds": 0.25},
        {"op": "save", "verdict": "reject", "code": "x", "message": "m", "seconds": 0.0}]}
    assert validator.error(timed, "run_answer") is None
    timed["results"][0]["seconds"] = -1
    assert "minimum" in (validator.error(timed, "run_answer") or "")


@pytest.mark.parametrize(
    ("message", "kind", "words"),
    [
        ({**HELLO, "extra": 1}, "hello_answer", "Additional properties"),
        ({**HELLO, "capabilities": ["a", "a"]}, "hello_answer", "non-unique"),
        ({"seq": 1, "id": "c", "results": [{"op": "a", "verdict": "reject", "code": "x"}]},
         "run_answer", "'message' is a required property"),
        ({"seq": 1, "id": "c", "results": [{"op": "a", "verdict": "accept", "state": {},
                                            "code": "x"}]}, "run_answer", "Additional"),
        ({"seq": -1, "id": "c", "skipped": {"reason": "r"}}, "run_answer", "minimum"),
        ({"stopped": False}, "stop_answer", "True was expected"),
        ({"seq": 1, "id": "c", "results": [{"op": "a", "verdict": "accept"}]}, "run_answer",
         "is not valid under any of the given schemas"),
    ],
)
def test_schema_rejects_with_a_pointer(message, kind, words):
    error = SchemaValidator().error(message, kind)
    assert error is not None and words in error, error
