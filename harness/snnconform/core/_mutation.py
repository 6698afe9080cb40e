"""The mutation self-test: the gate proves it can fail (``snnconform mutation``, ``make mutation``).

Each implementation's mutants are small patch files under version control,
``mutants/<implementation>/<name>.patch``, reviewed like code. A mutant removes or weakens
exactly one invariant check, moves a limit by one, or swaps the order of two checks; its header
names what it breaks::

    Invariant: json.depth
    Mutation: the depth limit moves from 64 to 65

    --- a/src/sc_neurocore/transfer/_limits.py
    +++ b/src/sc_neurocore/transfer/_limits.py
    ...

For each implementation the harness copies the repository once into a scratch folder (without
``.git``, ``.venv`` and the results), then for each mutant: applies the patch (a patch that no
longer applies is reported as ``stale``, never skipped), runs the implementation's ``build``
there, runs the corpus (with the regression cases) against the scratch testee, and reverts the
patch. The mutant is ``killed`` when the corpus run finds any disagreement, and ``survived``
otherwise. The cases covering the mutant's invariants run first and the rest only when they
agree: the verdict is the whole corpus's, most mutants just fall sooner. Every
invariant of the spec must have at least one mutant per implementation.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from snnconform.core._cases import Case
from snnconform.core._config import Config, Implementation
from snnconform.core._runner import RunOptions, run_suite

_HEADER = re.compile(r"^(Invariant|Mutation):\s*(.+)$", re.MULTILINE)
# Never copied into the scratch folder: history, environments, results and other scratch.
_NOT_COPIED = (".git", ".venv", "build", ".pytest_cache", ".mypy_cache", ".hypothesis", "__pycache__")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: Path
    invariants: tuple[str, ...]
    description: str


@dataclass
class Tally:
    mutants: int = 0
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    build_failed: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # spec invariants without any mutant
    baseline_problem: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        scored = len(self.killed) + len(self.survived)
        return {
            "mutants": self.mutants, "killed": len(self.killed), "survived": sorted(self.survived),
            "stale": sorted(self.stale), "build_failed": sorted(self.build_failed),
            "uncovered_invariants": self.uncovered, "baseline_problem": self.baseline_problem,
            "score": round(len(self.killed) / scored, 4) if scored else None,
            "seconds": round(self.seconds, 1),
        }

    @property
    def perfect(self) -> bool:
        return self.mutants > 0 and not (self.survived or self.stale or self.build_failed or self.uncovered
                                         or self.baseline_problem)


def read_mutants(folder: Path, patterns: Sequence[str] = ("*",)) -> list[Mutant]:
    """The patches of one implementation, in name order, with their headers."""
    mutants = []
    for path in sorted(folder.glob("*.patch")):
        if not any(fnmatch.fnmatchcase(path.stem, pattern) for pattern in patterns):
            continue
        header = dict(_HEADER.findall(path.read_text("utf-8").split("\n---", 1)[0]))
        invariants = tuple(i.strip() for i in header.get("Invariant", "").split(",") if i.strip())
        mutants.append(Mutant(path.stem, path, invariants, header.get("Mutation", "")))
    return mutants


def _scratch_copy(root: Path, scratch: Path) -> None:
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(root, scratch, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_COPIED))


def _git_apply(patch: Path, cwd: Path, *flags: str) -> bool:
    # The scratch folder may lie inside the repository (build/ is ignored): inside a work tree,
    # git apply takes paths from the top and "skips" the patch, exiting 0. Stop git's search
    # for a repository at the scratch folder, and treat any skipped patch as not applied.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(cwd.resolve().parent)}
    done = subprocess.run(["git", "apply", "--verbose", *flags, str(patch.resolve())], cwd=cwd,
                          capture_output=True, text=True, env=env)
    return done.returncode == 0 and "Skipped patch" not in done.stderr + done.stdout


def _in_scratch(command: str, scratch: Path) -> str:
    # The harness's own Python packages must come from the scratch copy for the Python testee.
    # No bytecode cache there: Python trusts a cached module whose source has the recorded size
    # and modification second, and a mutant that moves lines keeps the size; applied within the
    # second of the previous revert, it ran the unmutated code and "survived".
    paths = f"{scratch / 'src'}:{scratch / 'harness'}"
    return (f"cd {shlex.quote(str(scratch))} && PYTHONDONTWRITEBYTECODE=1 "
            f"PYTHONPATH={shlex.quote(paths)} {command}")


def _killed(config: Config, impl: Implementation, cases: Sequence[Case], timeout: float,
            spec_version: int) -> bool:
    """True when the corpus finds the mutant: any case not agreed (crashes and hangs count)."""
    suite = run_suite(config, [impl], cases, RunOptions(timeout=timeout), reference=None,
                      spec_version=spec_version)
    return any(judgment.status != "agreed" for judgment in suite.judgments) or bool(suite.runs[0].problem)


def _targeted_first(cases: Sequence[Case], mutant: Mutant) -> tuple[list[Case], list[Case]]:
    """(the cases covering one of the mutant's invariants, the others)."""
    aimed = set(mutant.invariants)
    targeted = [case for case in cases if aimed.intersection(case.covers)]
    return targeted, [case for case in cases if not aimed.intersection(case.covers)]


def _build(config: Config, impl: Implementation) -> bool:
    if not impl.build:
        return True
    done = subprocess.run(config.expand(impl.build), shell=True, cwd=config.root, capture_output=True,
                          text=True, timeout=impl.build_timeout)
    return done.returncode == 0


def _baseline(config: Config, impl: Implementation, cases: Sequence[Case], timeout: float,
              spec_version: int) -> str | None:
    """The unmutated scratch copy must build and agree everywhere, or no mutant means anything."""
    if not _build(config, impl):
        return "the unmutated copy does not build"
    if _killed(config, impl, cases, timeout, spec_version):
        return "the unmutated copy already disagrees with the corpus"
    return None


def mutate_implementation(config: Config, impl: Implementation, cases: Sequence[Case],
                          invariants: Sequence[str], spec_version: int, patterns: Sequence[str] = ("*",),
                          note: Callable[[str], None] = print, timeout: float = 10.0) -> Tally:
    """Run every mutant of ``impl``; see the module's docstring."""
    began = time.perf_counter()
    tally = Tally()
    mutants = read_mutants(config.root / "mutants" / impl.name, patterns)
    covered = {inv for mutant in mutants for inv in mutant.invariants}
    tally.uncovered = [inv for inv in invariants if inv not in covered] if list(patterns) == ["*"] else []
    tally.mutants = len(mutants)
    scratch = config.logs.parent / "mutation" / impl.name
    _scratch_copy(config.root, scratch)
    (scratch / ".venv").symlink_to(config.root / ".venv")  # toolchains installed in the venv
    build = impl.mutation_build or impl.build
    scratch_impl = replace(impl, testee=_in_scratch(impl.testee, scratch),
                           build=_in_scratch(build, scratch) if build else None)
    problem = _baseline(config, scratch_impl, cases, timeout, spec_version)
    if problem:
        tally.baseline_problem = problem
        return tally
    for index, mutant in enumerate(mutants, 1):
        if not _git_apply(mutant.path, scratch, "--check"):
            tally.stale.append(mutant.name)
            note(f"{impl.name} [{index}/{len(mutants)}] {mutant.name}: STALE (the patch no longer applies)")
            continue
        _git_apply(mutant.path, scratch)
        try:
            if not _build(config, scratch_impl):
                tally.build_failed.append(mutant.name)
                verdict = "BUILD FAILED"
            elif any(_killed(config, scratch_impl, part, timeout, spec_version)
                     for part in _targeted_first(cases, mutant) if part):
                tally.killed.append(mutant.name)
                verdict = "killed"
            else:
                tally.survived.append(mutant.name)
                verdict = "SURVIVED"
        finally:
            _git_apply(mutant.path, scratch, "-R")
        note(f"{impl.name} [{index}/{len(mutants)}] {mutant.name} ({', '.join(mutant.invariants)}): {verdict}")
    tally.seconds = time.perf_counter() - began
    return tally


RESULTS_NAME = "mutation.json"


def record(results_dir: Path, spec_version: int, tallies: dict[str, Tally]) -> dict[str, Any]:
    """Update ``mutation.json`` with these implementations' results (others are kept)."""
    path = results_dir / RESULTS_NAME
    try:
        document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        document = {}
    if document.get("spec_version") != spec_version:
        document = {}  # results of another spec say nothing about this one
    entries = dict(document.get("implementations", {}))
    entries.update({name: tally.as_dict() for name, tally in tallies.items()})
    perfect = all(entry["mutants"] and entry["score"] == 1.0 and not (
        entry["stale"] or entry["build_failed"] or entry["uncovered_invariants"] or entry["baseline_problem"])
        for entry in entries.values())
    document = {"spec_version": spec_version, "status": "pass" if perfect else "fail",
                "implementations": dict(sorted(entries.items()))}
    results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    return document


def markdown(document: dict[str, Any]) -> list[str]:
    """The report's section for a saved mutation.json."""
    lines = ["## Mutation self-test", "",
             f"`make mutation` (spec_version {document.get('spec_version')}): each mutant removes or "
             "weakens one check, moves a limit by one or swaps two checks; the corpus must kill it.", "",
             "| implementation | mutants | killed | survived | stale | build failed | invariants without a mutant |",
             "|---|---|---|---|---|---|---|"]
    for name, entry in document.get("implementations", {}).items():
        survived = ", ".join(f"`{m}`" for m in entry["survived"]) or "0"
        lines.append(f"| {name} | {entry['mutants']} | {entry['killed']} | {survived} | "
                     f"{len(entry['stale'])} | {len(entry['build_failed'])} | {len(entry['uncovered_invariants'])} |")
    return lines + [""]
