"""The harness against misbehaving fake testees: each failure is recorded as what it is,
never as agreement, the cases after it still run, and the gate fails with a precise report."""

from __future__ import annotations

import pytest
from conftest import MINIATURES

pytestmark = pytest.mark.slow

CASES = 6  # toydomain.CASES


def test_good_testee_passes(toy, failures):
    code, doc = toy.add("good").run()
    assert code == 0, doc["failed_checks"]
    entry = doc["implementations"]["good"]
    assert (entry["cases"], entry["agreed"], entry["disagreed"]) == (CASES, CASES, 0)
    assert doc["status"] == "pass" and doc["disagreements"] == []
    assert entry["version"] == "0.0.1" and entry["startup_seconds"] is not None
    assert doc["matrix"]["toy.negative"]["good"] == {"cases": 2, "agreed": 2}


def test_messages_and_stderr_noise_do_not_matter(toy):
    code, doc = toy.add("chatty").run()
    assert code == 0, doc["failed_checks"]


@pytest.mark.parametrize(
    ("miniature", "kind", "bucket", "words"),
    [
        ("crash", "crashed", "crashed", "exited with status 3"),
        ("hang", "timed_out", "timed_out", "no answer within 1 s"),
        ("garbage", "malformed", "crashed", "not JSON"),
        ("wrong_seq", "malformed", "crashed", "out of order"),
        ("errored", "errored", "crashed", "IndexError"),
        ("skips", "skipped", "skipped", "out of scope"),
    ],
)
def test_testee_failures_are_recorded_and_recovered(toy, failures, miniature, kind, bucket, words):
    code, doc = toy.add(miniature).run(timeout=1.0)
    assert code == 1
    found = failures(doc, miniature)
    assert list(found) == ["victim-1"], found  # the cases after the victim still agree
    assert found["victim-1"]["kind"] == kind
    assert words in found["victim-1"]["summary"]
    assert found["victim-1"]["rerun"] == f"snnconform run --impl {miniature} --case victim-1"
    entry = doc["implementations"][miniature]
    assert entry[bucket] == 1 and entry["agreed"] == CASES - 1
    assert any(check.startswith(f"{miniature}: 1 case(s)") for check in doc["failed_checks"])


def test_crash_keeps_the_stderr_tail(toy, failures):
    _, doc = toy.add("crash").run()
    assert "segmentation fault (pretend)" in failures(doc, "crash")["victim-1"]["stderr"]


def test_out_of_order_answer_is_malformed(toy, failures):
    code, doc = toy.add("out_of_order").run()
    assert code == 1
    victim = failures(doc, "out_of_order")["victim-1"]
    assert victim["kind"] == "malformed"
    assert "case 'reject-1'" in victim["summary"] and "out of order" in victim["summary"]


@pytest.mark.parametrize(
    ("miniature", "pointer", "expected", "got"),
    [
        ("lie_verdict", "/results/1/verdict", '"reject"', '"accept"'),
        ("lie_code", "/results/1/code", '"toy.negative"', '"toy.overflow"'),
        ("lie_state", "/results/0/state/value", "1", "1.0"),
    ],
)
def test_lies_are_disagreements_with_the_first_difference(toy, failures, miniature, pointer,
                                                          expected, got):
    code, doc = toy.add(miniature).run()
    assert code == 1
    victim = failures(doc, miniature)["victim-1"]
    assert victim["kind"] == "disagreed"
    assert (victim["pointer"], victim["expected"], victim["got"]) == (pointer, expected, got)
    assert victim["vs_reference"] is not None  # the reference disagrees with the lie too
    assert doc["implementations"][miniature]["disagreed"] == 1


def test_negative_zero_is_not_zero(toy, failures):
    code, doc = toy.add("negative_zero").run()
    assert code == 1
    case = failures(doc, "negative_zero")["ok-2"]
    assert (case["pointer"], case["expected"], case["got"]) == ("/results/0/state/half", "0.0", "-0.0")
    assert "float bits differ" in case["summary"]


def test_testee_that_cannot_start(toy):
    code, doc = toy.add("no_start").run()
    assert code == 1
    entry = doc["implementations"]["no_start"]
    assert entry["agreed"] == 0 and entry["skipped"] == CASES
    [check] = [c for c in doc["failed_checks"] if c.startswith("no_start:")]
    assert "failed to start" in check and "status 1" in check
    assert check.endswith("stderr ends: no_start: error while loading shared libraries: libtoy.so "
                          "(cases not run)")


def test_incompatible_protocol_is_not_run(toy):
    code, doc = toy.add("bad_hello").run()
    assert code == 1
    assert doc["implementations"]["bad_hello"]["agreed"] == 0
    assert any("speaks protocol 2" in c for c in doc["failed_checks"])


def test_missing_capability_is_skipped_and_fails_unless_declared(toy, failures):
    code, doc = toy.add("no_caps").run()
    assert code == 1
    skipped = failures(doc, "no_caps")
    assert sorted(skipped) == ["ok-1", "ok-2", "overflow-1", "reject-1", "victim-1"]
    assert all(d["kind"] == "skipped" for d in skipped.values())
    toy.divergences = ('[[divergence]]\nimplementation = "no_caps"\noperation = "add"\n'
                       'reason = "this toy only sets"\n')
    code, doc = toy.run()
    assert code == 0, doc["failed_checks"]
    assert doc["implementations"]["no_caps"]["known_divergences"] == 5


def test_bad_exit_after_stop_fails_the_gate(toy):
    code, doc = toy.add("bad_stop").run()
    assert code == 1
    assert any("status 4 after stop" in c for c in doc["failed_checks"])


def test_missing_toolchain_fails_unless_excluded(toy):
    toy.add("good").add("toycc", "good", probe=f"{{python}} {MINIATURES} probe_missing")
    code, doc = toy.run()
    assert code == 1
    entry = doc["implementations"]["toycc"]
    assert entry["available"] is False and entry["skipped"] == CASES
    [check] = [c for c in doc["failed_checks"] if c.startswith("toycc:")]
    assert "not available" in check and "apt-get install toycc" in check
    code, doc = toy.run("--exclude", "toycc")
    assert code == 0, doc["failed_checks"]
    assert "toycc" not in doc["implementations"]


def test_validate_protocol_catches_what_parsing_tolerates(toy):
    code, doc = toy.add("no_message").run()
    assert code == 0, doc["failed_checks"]  # messages are for people: not compared
    code, doc = toy.run("--validate-protocol")
    assert code == 1
    assert doc["implementations"]["no_message"]["crashed"] == 3  # the three rejections
    assert any("'message' is a required property" in d["summary"] for d in doc["disagreements"])


def test_parallel_jobs_give_the_same_verdicts(toy, failures):
    code, doc = toy.add("good").add("lie_code").run("--jobs", "3")
    assert code == 1
    assert list(failures(doc, "lie_code")) == ["victim-1"]
    assert doc["implementations"]["good"]["agreed"] == CASES


def test_broken_testee_report_is_precise(toy, capsys):
    """The one place a rendered report is pinned: what a reader sees for a lying testee."""
    code, _ = toy.add("lie_code").run()
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "disagreements (1):\n"
        "  lie_code victim-1 [disagreed]: vs expectation at /results/1/code: values differ: "
        'expected "toy.negative", got "toy.overflow"\n'
        "    rerun: snnconform run --impl lie_code --case victim-1\n"
        "\n"
        "failed checks:\n"
        "  - lie_code: 1 case(s) disagreed, first victim-1: vs expectation at /results/1/code: "
        'values differ: expected "toy.negative", got "toy.overflow"\n'
        "\n"
        "status: FAIL\n"
    ) in out
