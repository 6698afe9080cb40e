"""`snnconform check` on real checkpoint pairs: a valid one and hostile ones, with --impl python."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sc_neurocore.transfer import SNNCheckpoint, save_checkpoint
from snnconform.checkpoint._check import inputs
from snnconform.checkpoint._fixturefiles import Npy, ZipMember, ZipModel
from snnconform.core._cli import main

CONFIG = str(Path(__file__).resolve().parents[2] / "conformance.toml")


def valid_pair(base: Path) -> SNNCheckpoint:
    checkpoint = SNNCheckpoint(
        weights=[np.arange(12.0).reshape(3, 4) / 7, np.full((2, 3), -0.5)],
        layer_names=["hidden", "output"], layer_sizes=[(4, 3), (3, 2)],
        neuron_types=["LIF", "LIF"], metadata={"task": "check"})
    save_checkpoint(checkpoint, base)
    return checkpoint


def edit_document(base: Path, **changes: Any) -> None:
    """Rewrite BASE.json with keys changed (None removes one)."""
    path = Path(f"{base}.json")
    document = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    path.write_text(json.dumps(document))


def hostile_pairs(folder: Path) -> dict[str, str]:
    """Hostile pairs in ``folder``: name -> the code every implementation must refuse it with."""
    valid_pair(folder / "truncated")
    data = Path(folder / "truncated.npz").read_bytes()
    Path(folder / "truncated.npz").write_bytes(data[: len(data) // 2])
    edit_document(folder / "truncated", archive_sha256=None)  # so the zip reader meets it

    # A member whose directory declares the real .npy size but whose stream inflates to 64 MiB.
    valid_pair(folder / "bomb")
    member = Npy.of(np.zeros((3, 4)))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = compressor.compress(bytes(64 << 20)) + compressor.flush()
    model = ZipModel([ZipMember(b"layer_0.npy", member, compressed=stream,
                                crc=zlib.crc32(member.render())),
                      ZipMember(b"layer_1.npy", Npy.of(np.zeros((2, 3))))])
    Path(folder / "bomb.npz").write_bytes(model.render())
    edit_document(folder / "bomb", archive_sha256=None)

    valid_pair(folder / "deep")
    text = Path(folder / "deep.json").read_text()
    nested = "[" * 100_000 + "]" * 100_000
    Path(folder / "deep.json").write_text(text.replace('"task": "check"', f'"task": {nested}'))
    return {"truncated": "archive.zip.structure", "bomb": "archive.member.integrity",
            "deep": "json.depth"}


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--config", CONFIG, "--impl", "python", "--json", "--quiet", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_a_valid_and_hostile_pairs_get_the_same_answer_from_every_implementation(tmp_path, capsys):
    mine = tmp_path / "mine"
    checkpoint = valid_pair(mine / "model")
    expected = hostile_pairs(mine / "hostile")
    before = snapshot(tmp_path)
    code, doc = check(capsys, str(mine / "model"), str(mine / "hostile"))
    assert snapshot(tmp_path) == before  # nothing was written beside the user's files
    assert code == 0 and doc["status"] == "pass"
    rows = {Path(row["input"]).name: row for row in doc["inputs"]}
    assert list(rows) == ["model", "bomb", "deep", "truncated"]
    model = rows["model"]
    assert model["agree"] and model["verdict"] == "accept"
    state = model["answers"]["python"]["results"][0]["state"]
    assert state["weight_sha256"] == checkpoint.weight_sha256()  # digests compared, and right
    assert state["layer_names"] == ["hidden", "output"] and state["total_params"] == 18
    for name, code_expected in expected.items():
        row = rows[name]
        assert row["agree"], row["problems"]
        assert {a["code"] for a in row["answers"].values()} == {code_expected}, name
    code, doc = check(capsys, str(mine), "--require-accept")
    assert code == 1 and doc["failed_checks"][0].startswith("--require-accept: 3 input(s) refused")


@pytest.mark.slow
def test_the_table_shows_each_verdict(tmp_path, capsys):
    valid_pair(tmp_path / "model")
    assert main(["check", "--config", CONFIG, "--impl", "python", "--quiet",
                 str(tmp_path / "model.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["input", "agree", "reference", "python"]
    assert lines[2].split() == [str(tmp_path / "model"), "yes", "accept", "accept"]


def test_arguments_name_pairs_files_or_folders(tmp_path):
    valid_pair(tmp_path / "a" / "one")
    valid_pair(tmp_path / "a" / "sub" / "two")
    (tmp_path / "a" / "lonely.json").write_text("{}")  # no pair: ignored inside a folder
    base = str(tmp_path / "a" / "one")
    found = inputs([base + ".npz", str(tmp_path / "a"), base])
    assert [item["id"] for item in found] == [base, str(tmp_path / "a" / "sub" / "two")]
    assert found[0]["root"] == str(tmp_path / "a")
    assert found[0]["ops"] == [{"op": "load", "base": "one"}]


@pytest.mark.parametrize("name, message", [
    ("missing", "missing: no such checkpoint pair (missing.json + .npz) or folder"),
    ("half", "half.json has no half.npz beside it: a checkpoint is a pair"),
    ("half.json", "half.json has no half.npz beside it: a checkpoint is a pair"),
    ("empty", "empty: no checkpoint pair (NAME.json beside NAME.npz) in this folder"),
])
def test_bad_arguments_get_one_line_and_exit_2(tmp_path, capsys, monkeypatch, name, message):
    (tmp_path / "half.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)  # the paths are the user's, relative to where they run the command
    assert main(["check", "--config", CONFIG, "--impl", "python", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] == f"snnconform check: {message}"
