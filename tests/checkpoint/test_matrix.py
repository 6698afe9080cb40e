"""The producer × consumer matrix on a small corpus: it passes for the reference, and it fails
for a writer whose documents are not canonical (the gate can fail)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from snnconform.checkpoint._spec import REPO_ROOT
from snnconform.core._cli import main

HERE = Path(__file__).resolve().parent


def _small_corpus(out: Path) -> None:
    """Three accepted cases and two construct-invalid ones, copied from the committed corpus."""
    lines = [json.loads(line) for line in (REPO_ROOT / "fixtures" / "cases.jsonl").read_text().splitlines()]
    accepted = [c for c in lines if c["expect"]["verdict"] == "accept"][:3]
    refused = [c for c in lines if c["expect"]["op_index"] == 0 and c["ops"][0]["op"] == "construct"][:2]
    (out / "cases").mkdir(parents=True)
    for case in accepted + refused:
        source = REPO_ROOT / "fixtures" / "cases" / case["id"]
        if source.is_dir():
            shutil.copytree(source, out / "cases" / case["id"])
    (out / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in accepted + refused))


def _config(tmp: Path, *testees: tuple[str, str]) -> Path:
    _small_corpus(tmp / "fixtures")
    tables = "".join(f'[[implementation]]\nname = "{name}"\ntestee = "{command}"\ninstall = "-"\n\n'
                     for name, command in testees)
    config = tmp / "conformance.toml"
    config.write_text(f"""
[harness]
fixtures = "fixtures"
results = "results"
[domain]
spec = "{REPO_ROOT / 'spec' / 'checkpoint.yaml'}"
load_spec = "snnconform.checkpoint._spec:load_spec"
reference = "snnconform.checkpoint._reference:execute_case"
[domain.suites]
producer_consumer = "snnconform.checkpoint._matrix:producer_consumer"

{tables}""")
    (tmp / "known-divergences.toml").write_text("")
    return config


@pytest.mark.slow
def test_the_reference_writes_what_every_reader_loads(tmp_path: Path) -> None:
    config = _config(tmp_path, ("python", f"{sys.executable} -m snnconform.checkpoint.testee"))
    assert main(["run", "--config", str(config), "--quiet", "--no-bench"]) == 0
    matrix = json.loads((tmp_path / "results" / "bench_transfer.json").read_text())["producer_consumer"]
    assert matrix["cells"] == {"python": {"python": {"agreed": 6, "total": 6}, "numpy": {"agreed": 6, "total": 6}}}
    assert matrix["refusals"] == {"python": {"agreed": 2, "total": 2}}
    assert matrix["stored_identical"] == {"python": {"agreed": 3, "total": 3}}


@pytest.mark.slow
def test_a_writer_with_non_canonical_documents_fails_the_gate(tmp_path: Path) -> None:
    config = _config(tmp_path, ("python", f"{sys.executable} -m snnconform.checkpoint.testee"),
                     ("sloppy", f"{sys.executable} {HERE / 'sloppy_writer.py'}"))
    assert main(["run", "--config", str(config), "--quiet", "--no-bench"]) == 1
    document = json.loads((tmp_path / "results" / "bench_transfer.json").read_text())
    matrix = document["producer_consumer"]
    assert matrix["canonical_json"]["sloppy"] == {"agreed": 0, "total": 6}
    assert matrix["canonical_json"]["python"] == {"agreed": 6, "total": 6}
    assert matrix["cells"]["sloppy"]["numpy"] == {"agreed": 6, "total": 6}  # readable, just not canonical
    assert any("sloppy canonical .json bytes 0/6" in check for check in document["failed_checks"])
