"""`snnconform merge`: per-implementation shards (one CI job each) give one full run's verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import toydomain

from snnconform.core._cli import main

pytestmark = pytest.mark.slow


def verdicts(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything the gate decides on, without timings, paths or the order of checks."""
    counted = ("available", "version", "cases", "agreed", "disagreed", "crashed", "timed_out",
               "skipped", "known_divergences")
    return {
        "status": doc["status"],
        "failed_checks": sorted(doc["failed_checks"]),
        "corpus": doc["corpus"],
        "implementations": {n: {k: e[k] for k in counted} for n, e in doc["implementations"].items()},
        "matrix": doc["matrix"],
        "disagreements": [{k: v for k, v in d.items() if k != "stderr"} for d in doc["disagreements"]],
    }


def shard(toy: Any, impl: str, folder: str) -> Path:
    config = toy.write()
    out = toy.root / folder
    main(["run", "--config", str(config), "--quiet", "--no-bench", "--impl", impl,
          "--results", str(out)])
    return out / "bench_transfer.json"


def merge(toy: Any, *paths: Path, out: str = "merged") -> tuple[int, dict[str, Any] | None]:
    code = main(["merge", "--config", str(toy.write()), *map(str, paths),
                 "--results", str(toy.root / out)])
    result = toy.root / out / "bench_transfer.json"
    return code, json.loads(result.read_text()) if result.exists() else None


def test_two_shards_merge_into_the_full_runs_verdicts(toy):
    toy.add("good").add("lie_code")
    full_code, full = toy.run()
    a, b = shard(toy, "lie_code", "shard-b"), shard(toy, "good", "shard-a")
    code, merged = merge(toy, a, b)
    assert merged is not None
    assert (code, verdicts(merged)) == (full_code, verdicts(full)) == (1, verdicts(full))
    assert list(merged) == list(full)
    assert list(merged["implementations"]) == ["good", "lie_code"]  # configured order, not shard order
    assert merged["environment"]["merged_from"] == [str(a), str(b)]
    for name in ("conformance.md", "conformance.html"):
        assert (toy.root / "merged" / name).read_text() != ""


def test_passing_shards_pass_and_a_failing_shard_fails_the_merge(toy, capsys):
    toy.add("good").add("chatty").add("crash")
    good, chatty, crash = (shard(toy, n, f"s-{n}") for n in ("good", "chatty", "crash"))
    toy.impls = toy.impls[:2]  # a configuration of the two that agree
    assert merge(toy, good, chatty, out="ok")[0] == 0
    toy.add("crash")
    code, merged = merge(toy, good, chatty, crash, out="bad")
    assert code == 1 and merged is not None and merged["status"] == "fail"
    assert merged["failed_checks"][0].startswith("crash: 1 case(s) crashed the testee, first victim-1")
    assert "status: FAIL" in capsys.readouterr().out


def test_a_missing_shard_fails_the_merge(toy):
    toy.add("good").add("chatty")
    code, merged = merge(toy, shard(toy, "good", "s-good"))
    assert code == 1 and merged is not None
    assert merged["failed_checks"] == [
        "chatty: no results were merged for it (its shard did not run or did not upload)"]


def test_shards_of_different_corpora_are_refused_in_one_line(toy, capsys):
    toy.add("good").add("chatty")
    first = shard(toy, "good", "s-good")
    path = toy.root / "fixtures" / "cases.jsonl"  # the same figures, one expectation changed
    cases = [json.loads(line) for line in path.read_text().splitlines()]
    cases[0] = toydomain.make_case("ok-1", [("set", 3), ("add", 3)], [])
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    second = shard(toy, "chatty", "s-chatty")
    capsys.readouterr()
    code, merged = merge(toy, first, second)
    err = capsys.readouterr().err
    assert code == 2 and merged is None
    assert err.startswith(f"snnconform merge: {second} is from another corpus than {first} "
                          "(corpus sha256 ")
    assert err.count("\n") == 1


def test_the_same_implementation_twice_is_refused(toy, capsys):
    toy.add("good")
    one = shard(toy, "good", "s-1")
    assert merge(toy, one, shard(toy, "good", "s-2"))[0] == 2
    assert "implementation 'good' is also in" in capsys.readouterr().err


def test_a_file_that_is_no_results_document_is_refused(toy, tmp_path, capsys):
    toy.add("good")
    bogus = tmp_path / "bogus.json"
    bogus.write_text("[1, 2]")
    assert merge(toy, bogus)[0] == 2
    assert capsys.readouterr().err == f"snnconform merge: {bogus}: not a snnconform results document\n"


def test_the_shards_suites_stay_in_the_merge(toy):
    """A shard's suites (here the fuzz pass) reach the merged document and report, per shard;
    a suite's failure fails the merge through the shard's failed checks."""
    from test_fuzz import fuzzable

    fuzzable(toy).add("good").add("sloppy", "limit_37")
    toy.tables = "[fuzz]\nseed = 5\ncases = 150\nseconds = 30\n\n"
    a, b = shard(toy, "good", "shard-a"), shard(toy, "sloppy", "shard-b")
    code, merged = merge(toy, a, b)
    assert merged is not None and code == 1
    assert merged["suites"] == ["fuzz"] and list(merged["fuzz"]["shards"]) == [str(a), str(b)]
    assert merged["fuzz"]["shards"][str(b)]["findings"] >= 1 and merged["fuzz"]["shards"][str(a)]["findings"] == 0
    assert any(check.startswith("fuzz: sloppy:") for check in merged["failed_checks"])
    report = (toy.root / "merged" / "conformance.md").read_text()
    assert f"*From {b}:*" in report
