"""The native fuzzers' glue (fuzz/): the input format both targets split, seeds from the
corpus, a finding kept as a regression case, and the atheris target on its seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snnconform.checkpoint._spec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "fuzz"))
import record  # noqa: E402
import seeds  # noqa: E402

FIXTURES = REPO_ROOT / "fixtures"


@pytest.mark.parametrize("document, archive", [(b"{}", b"PK"), (b"", b"xyz"), (b"{}", b"")])
def test_an_input_splits_back_into_its_pair(document: bytes, archive: bytes) -> None:
    assert seeds.split(seeds.encode(document, archive)) == (document, archive)


def test_any_input_splits_into_two_parts() -> None:
    assert seeds.split(b"\x01\x00") == (b"", b"")
    assert seeds.split(b"\xff\xff\xff\xff" + b"abc") == (b"abc"[: 0xFFFFFFFF % 4], b"abc"[0xFFFFFFFF % 4 :])


def test_the_seeds_are_the_pairs_the_corpus_loads(tmp_path: Path) -> None:
    assert seeds.main(["seeds", str(tmp_path)]) == 0
    written = {path.read_bytes() for path in tmp_path.iterdir()}
    pairs = seeds.pairs(FIXTURES)
    assert len(pairs) > 200 and written == {seeds.encode(*pair) for pair in pairs}


def test_a_finding_becomes_a_regression_case_with_the_references_expectation(tmp_path: Path) -> None:
    config = tmp_path / "conformance.toml"
    config.write_text(f"""
[harness]
fixtures = "{FIXTURES}"
regressions = "regressions"
[domain]
spec = "{REPO_ROOT / 'spec' / 'checkpoint.yaml'}"
load_spec = "snnconform.checkpoint._spec:load_spec"
reference = "snnconform.checkpoint._reference:execute_case"
""")
    document, archive = seeds.pairs(FIXTURES)[0]
    finding = tmp_path / "crash-1"
    finding.write_bytes(seeds.encode(document + b" ]", archive))  # trailing garbage
    case_id = record.record(finding, config)
    assert case_id.startswith("regression-json.syntax-")
    (line,) = [json.loads(raw) for raw in (tmp_path / "regressions" / "cases.jsonl").read_text().splitlines()]
    assert line["id"] == case_id and line["expect"]["code"] == "json.syntax"
    assert (FIXTURES / (line["ops"][0]["base"] + ".json")).resolve().read_bytes() == document + b" ]"


@pytest.mark.slow
def test_the_atheris_target_loads_every_seed_and_mutates_them(tmp_path: Path) -> None:
    seeds.main(["seeds", str(tmp_path / "seeds")])
    result = subprocess.run(  # the seeds (about 530 runs), then mutations of them
        [sys.executable, str(REPO_ROOT / "fuzz" / "python" / "load_checkpoint_fuzz.py"), "-runs=1500", "-seed=1",
         f"-artifact_prefix={tmp_path}/", str(tmp_path / "seeds")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "SNN_FUZZ_SCRATCH": str(tmp_path / "scratch")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "\nDone " in result.stderr and not list(tmp_path.glob("crash-*"))
