"""``snnconform fuzz`` on the toy domain: a planted bug is found, shrunk to its minimal case,
recorded in the regression corpus, and run by every later ``snnconform run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ToyRepo

from snnconform.core._cli import main
from snnconform.core._config import ConfigError, load_config

pytestmark = pytest.mark.slow


def fuzzable(toy: ToyRepo) -> ToyRepo:
    toy.harness = 'regressions = "fixtures/regressions"\n'
    toy.domain = 'fuzz_source = "toyfuzz:source"\n'
    return toy


def fuzz(toy: ToyRepo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["fuzz", "--config", str(toy.write()), "--json", "--quiet", *args])
    return code, json.loads(capsys.readouterr().out)


def regressions(toy: ToyRepo) -> list[dict[str, Any]]:
    path = toy.root / "fixtures" / "regressions" / "cases.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_a_moved_limit_is_found_and_shrunk_to_the_minimal_case(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    fuzzable(toy).add("good").add("sloppy", "limit_37")
    code, report = fuzz(toy, capsys, "--seed", "1", "--cases", "300")
    assert code == 1 and report["cases"] == 300
    finding = next(f for f in report["finding_details"] if f["problems"] == ["sloppy: refuses with toy.overflow"])
    assert finding["status"] == "written" and finding["occurrences"] > 1
    line = next(line for line in regressions(toy) if line["id"] == finding["regression"])
    # The one minimal program: one operation, the smallest value above the moved limit.
    assert line["ops"] == [{"op": "set", "value": 38}]
    assert line["id"].startswith("regression-counter-")  # the reference accepts: named by kind
    assert line["expect"]["results"] == [{"op": "set", "verdict": "accept",
                                          "state": {"value": 38, "half": 19.0}}]
    assert line["class"] == "regression" and line["origin"]["problems"] == ["sloppy: refuses with toy.overflow"]
    assert all(p.startswith("sloppy") for f in report["finding_details"] for p in f["problems"])


def test_every_later_run_executes_the_regression_cases(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str], failures: Any) -> None:
    fuzzable(toy).add("good").add("sloppy", "limit_37")
    fuzz(toy, capsys, "--seed", "1", "--cases", "300")
    written = {line["id"] for line in regressions(toy)}
    code, doc = toy.run()
    assert code == 1 and doc["implementations"]["good"]["agreed"] == doc["implementations"]["good"]["cases"]
    assert written <= set(failures(doc, "sloppy"))  # each regression shows the bug again
    assert doc["implementations"]["good"]["cases"] == 6 + len(written)


def test_a_second_run_knows_what_the_regression_corpus_holds(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    fuzzable(toy).add("sloppy", "limit_37")
    fuzz(toy, capsys, "--seed", "1", "--cases", "300")
    before = regressions(toy)
    code, report = fuzz(toy, capsys, "--seed", "1", "--cases", "300")
    assert code == 1 and regressions(toy) == before
    assert {f["status"] for f in report["finding_details"]} == {"known"}


def test_a_crash_is_a_finding_shrunk_across_restarts(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    fuzzable(toy).add("crashy", "crash_13")
    code, report = fuzz(toy, capsys, "--seed", "2", "--cases", "400")
    assert code == 1
    (finding,) = report["finding_details"]
    assert finding["problems"] == ["crashy: crashed"]
    (line,) = regressions(toy)
    assert line["ops"] == [{"op": "set", "value": 13}]


def test_no_finding_exits_0_and_writes_nothing(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    fuzzable(toy).add("good").add("chatty")
    code, report = fuzz(toy, capsys, "--seed", "3", "--cases", "200")
    assert code == 0 and report["findings"] == 0 and report["executions"] == 400
    assert not (toy.root / "fixtures" / "regressions").exists()


def test_no_write_reports_without_recording(toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    fuzzable(toy).add("sloppy", "limit_37")
    code, report = fuzz(toy, capsys, "--seed", "1", "--cases", "100", "--no-write", "--jobs", "2")
    assert code == 1 and report["jobs"] == 2 and report["findings"] >= 1
    assert {f["status"] for f in report["finding_details"]} == {"not_written"}
    assert not regressions(toy)


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0"], "--seconds must be positive"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--cases", "0"], "--cases must be at least 1"),
    (["--impl", "nope"], "no implementation named 'nope'"),
])
def test_bad_arguments_exit_2(toy: ToyRepo, capsys: pytest.CaptureFixture[str], args: list[str],
                              message: str) -> None:
    fuzzable(toy).add("good")
    assert main(["fuzz", "--config", str(toy.write()), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_domain_without_a_fuzz_source_is_a_configuration_error(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    toy.add("good")
    assert main(["fuzz", "--config", str(toy.write()), "--cases", "5"]) == 2
    assert "has no fuzz_source" in capsys.readouterr().err


def test_a_full_run_ends_with_the_configured_fuzz_pass(toy: ToyRepo) -> None:
    fuzzable(toy).add("good").add("sloppy", "limit_37")
    toy.tables = "[fuzz]\nseed = 5\ncases = 150\nseconds = 30\n\n"
    code, doc = toy.run()
    assert code == 1 and doc["fuzz"]["cases"] == 150 and doc["fuzz"]["findings"] >= 1
    assert "fuzz" in doc["suites"] and doc["fuzz"]["cases_per_second"] > 0
    assert any(check.startswith("fuzz: sloppy: refuses with toy.overflow") and "--seed 5 --cases 150" in check
               for check in doc["failed_checks"])
    assert not (toy.root / "fixtures" / "regressions").exists()  # the gate records nothing
    code, doc = toy.run("--no-fuzz")
    assert "fuzz" not in doc


def test_the_fuzz_pass_of_agreeing_implementations_passes(toy: ToyRepo) -> None:
    fuzzable(toy).add("good")
    toy.tables = "[fuzz]\nseed = 5\ncases = 100\n\n"
    code, doc = toy.run()
    assert code == 0 and doc["fuzz"]["findings"] == 0 and doc["fuzz"]["cases"] == 100


def test_fuzz_settings_are_checked(toy: ToyRepo) -> None:
    toy.add("good")
    toy.tables = "[fuzz]\nseed = 1\nsecond = 4\n\n"
    with pytest.raises(ConfigError, match="unknown keys"):
        load_config(toy.write())
    toy.tables = "[fuzz]\njobs = 0\n\n"
    with pytest.raises(ConfigError, match="at least 1"):
        load_config(toy.write())


def test_a_reference_that_raises_leaves_the_case_pending(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fuzzable(toy).add("good")
    toy.domain += 'reference = "toyfuzz:raising_reference"\n'
    config = toy.write()
    text = config.read_text().replace('reference = "toydomain:execute_case"\n', "", 1)
    config.write_text(text)
    code = main(["fuzz", "--config", str(config), "--json", "--quiet", "--seed", "1", "--cases", "200"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (finding,) = report["finding_details"]
    assert finding["problems"] == ["reference: raised ZeroDivisionError"]
    assert finding["status"] == "pending"
    pending = [json.loads(line) for line in
               (toy.root / "fixtures" / "regressions" / "pending.jsonl").read_text().splitlines()]
    assert [entry["ops"] for entry in pending] == [[{"op": "set", "value": 40}]]
    assert main(["run", "--config", str(config), "--quiet", "--no-bench", "--results",
                 str(tmp_path)]) == 1
    doc = json.loads((tmp_path / "bench_transfer.json").read_text())
    assert any("has no expectation: the reference raised ZeroDivisionError" in check
               for check in doc["failed_checks"])


def test_fixtures_keeps_the_regressions_and_gives_pending_ones_their_expectation(
        toy: ToyRepo, capsys: pytest.CaptureFixture[str]) -> None:
    fuzzable(toy).add("good")
    config = toy.write()
    raising = config.read_text().replace('reference = "toydomain:execute_case"',
                                         'reference = "toyfuzz:raising_reference"')
    config.write_text(raising)
    main(["fuzz", "--config", str(config), "--quiet", "--seed", "1", "--cases", "200"])
    folder = toy.root / "fixtures" / "regressions"
    assert (folder / "pending.jsonl").is_file() and not (folder / "cases.jsonl").exists()
    config = toy.write()  # the reference fixed
    capsys.readouterr()
    assert main(["fixtures", "--config", str(config)]) == 0
    assert "regressions: 1 case(s), 1 expectation(s) changed, 0 pending" in capsys.readouterr().out
    (line,) = regressions(toy)
    assert line["ops"] == [{"op": "set", "value": 40}] and line["expect"]["verdict"] == "accept"
    assert not (folder / "pending.jsonl").exists() and (folder / "cases").is_dir()
