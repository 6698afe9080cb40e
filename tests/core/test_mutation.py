"""The mutation self-test on the toy domain: a mutant the corpus kills, one it misses, a stale
patch, and an invariant without a mutant are each reported as such."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from snnconform.core._cli import main

HERE = Path(__file__).resolve().parent


def _patch(root: Path, name: str, invariant: str, old: str, new: str) -> None:
    """A mutant made the way a reviewer reads it: edit, diff, restore."""
    original = (root / "toydomain.py").read_text()
    (root / "mutated.py").write_text(original.replace(old, new, 1))
    done = subprocess.run(["diff", "-u", "--label", "a/toydomain.py", "--label", "b/toydomain.py",
                           "toydomain.py", "mutated.py"], cwd=root, capture_output=True, text=True)
    (root / "mutated.py").unlink()
    folder = root / "mutants" / "good"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.patch").write_text(f"Invariant: {invariant}\nMutation: {name}\n\n{done.stdout}")


def test_mutants_are_killed_survive_or_are_stale(toy) -> None:
    for module in ("toydomain.py", "miniatures.py"):
        shutil.copy(HERE / module, toy.root / module)  # the testee must live inside the repository
    toy.impls.append('[[implementation]]\nname = "good"\ntestee = "{python} miniatures.py good"\ninstall = "-"\n')
    config = toy.write()
    # As in a real checkout: the scratch copy (build/mutation/) lies inside a git work tree.
    subprocess.run(["git", "init", "-q"], cwd=toy.root, check=True)
    _patch(toy.root, "overflow-limit-moved", "toy.overflow", "new > 100", "new > 1000")
    _patch(toy.root, "docstring-only", "toy.negative", "a counter with two invariants", "a counter")
    _patch(toy.root, "stale", "toy.negative", "new < 0", "new < -1")
    stale = toy.root / "mutants" / "good" / "stale.patch"
    stale.write_text(stale.read_text().replace("new < 0", "new < 0 and True"))  # context that is not there

    assert main(["mutation", "--config", str(config), "--quiet"]) == 1
    document = json.loads((toy.root / "results" / "mutation.json").read_text())
    entry = document["implementations"]["good"]
    assert (entry["mutants"], entry["killed"]) == (3, 1)
    assert entry["survived"] == ["docstring-only"] and entry["stale"] == ["stale"]
    assert entry["uncovered_invariants"] == [] and entry["baseline_problem"] is None
    assert document["status"] == "fail"
    assert (toy.root / "toydomain.py").read_text() == (HERE / "toydomain.py").read_text()  # untouched


def test_a_scratch_testee_writes_no_bytecode_cache(tmp_path: Path) -> None:
    # A cached module is trusted when its source has the recorded size and modification second:
    # a mutant that only moves lines, applied within the second of the previous revert, ran the
    # unmutated module and survived. The testee must compile what is on disk.
    from snnconform.core._mutation import _in_scratch

    done = subprocess.run(_in_scratch("python3 -c 'import sys; print(sys.dont_write_bytecode)'", tmp_path),
                          shell=True, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
