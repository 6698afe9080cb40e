"""The CI workflow (.github/workflows/conformance.yml), exercised here.

GitHub cannot run in a test, but what the workflow runs can: its `run:` steps are Makefile
targets, so this test runs those exact scripts with the repository's Makefile on a toy
repository, moves each shard's upload to where the merge job downloads it (as the artifact
actions would), and checks the job summaries and the merged gate. `make workflow-check`
validates the file against GitHub's schema and audits it with zizmor.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from snnconform.core._config import load_config

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "conformance.yml"
HERE = Path(__file__).resolve().parent


def jobs() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text())["jobs"])


def step(job: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if str(s.get(key, "")).startswith(value))


def expand(text: str, impl: str) -> str:
    """The workflow's expressions this test can evaluate: the matrix value."""
    return text.replace("${{ matrix.impl }}", impl)


def run_step(script: str, root: Path, env: dict[str, str]) -> int:
    """A `run:` script under bash, with `make` the repository's Makefile in the toy repo."""
    prelude = (f'make() {{ command make --no-print-directory -f {REPO / "Makefile"} INSTALLED= '
               f'SNNCONFORM={Path(sys.executable).parent / "snnconform"} "$@"; }}\n')
    full_env = {**os.environ, **env, "PYTHONPATH": str(HERE)}
    return subprocess.run(["bash", "-e", "-c", prelude + script], cwd=root, env=full_env,
                          capture_output=True, text=True, timeout=300).returncode


def test_every_configured_implementation_has_a_job_and_every_action_a_commit():
    names = [impl.name for impl in load_config(REPO / "conformance.toml").implementations]
    assert jobs()["shard"]["strategy"]["matrix"]["impl"] == names
    uses = re.findall(r"uses: (\S+)(.*)", WORKFLOW.read_text())
    assert uses and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", ref) and re.match(r" # v\d", comment)
                        for ref, comment in uses), uses


def test_the_workflow_steps_shard_merge_and_gate(toy, tmp_path):
    toy.add("good").add("lie_code").write()
    shard_job, gate_job = jobs()["shard"], jobs()["gate"]
    upload = step(shard_job, "name", "Upload the shard's results")["with"]
    download = step(gate_job, "uses", "actions/download-artifact")["with"]
    assert download["pattern"] == "results-*"
    codes, summaries = {}, {}
    for impl in ("good", "lie_code"):
        summaries[impl] = tmp_path / f"summary-{impl}.md"
        env = {key: expand(value, impl) for key, value in shard_job["env"].items()}
        codes[impl] = run_step(step(shard_job, "id", "shard")["run"], toy.root,
                               {**env, "GITHUB_STEP_SUMMARY": str(summaries[impl])})
        # upload-artifact, then download-artifact into <path>/<artifact name>/
        artifact = toy.root / download["path"] / expand(upload["name"], impl)
        shutil.move(toy.root / expand(upload["path"], impl), artifact)
        assert {p.name for p in artifact.iterdir()} == {
            "bench_transfer.json", "conformance.md", "conformance.html", "junit.xml"}
    assert codes["good"] == 0 and codes["lie_code"] != 0
    assert summaries["good"].read_text().startswith("# Conformance report\n\nStatus: **PASS**")
    assert summaries["lie_code"].read_text().startswith("# Conformance report\n\nStatus: **FAIL**")
    gate_summary = tmp_path / "summary-gate.md"
    code = run_step(step(gate_job, "id", "merge")["run"], toy.root,
                    {"GITHUB_STEP_SUMMARY": str(gate_summary)})
    merged = toy.root / step(gate_job, "name", "Upload the merged report")["with"]["path"]
    doc = json.loads((merged / "bench_transfer.json").read_text())
    assert code != 0 and doc["status"] == "fail" and list(doc["implementations"]) == ["good", "lie_code"]
    assert [d["case"] for d in doc["disagreements"]] == ["victim-1"]
    assert "| `toy.negative` | ✅ 2/2 | ❌ 1/2 |" in gate_summary.read_text()
    assert (merged / "conformance.html").is_file()
