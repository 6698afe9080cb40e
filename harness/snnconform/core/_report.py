"""The results document (benchmarks/results/bench_transfer.json) and the gate's verdict.

The document is the single source for every human-facing rendering (terminal, Markdown) and
for ``compare`` and ``divergences --rewrite``, so those work on a saved run.
"""

from __future__ import annotations

import json
import os
from importlib import metadata
import platform
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from snnconform import __version__
from snnconform.core._cases import Case
from snnconform.core._judge import Judgment
from snnconform.core._protocol import PROTOCOL_VERSION
from snnconform.core._runner import ImplementationRun, SuiteResult

# How judgments count in the document's per-implementation figures.
_BUCKET = {
    "agreed": "agreed",
    "disagreed": "disagreed",
    "known": "known_divergences",
    "crashed": "crashed",
    "malformed": "crashed",
    "errored": "crashed",
    "timed_out": "timed_out",
    "skipped": "skipped",
    "not_run": "skipped",
}
_FAILURE_WORDS = {
    "disagreed": "disagreed",
    "crashed": "crashed the testee",
    "malformed": "got a malformed answer",
    "errored": "errored inside the testee",
    "timed_out": "timed out",
    "skipped": "were skipped without a declared divergence",
}
MAX_LISTED = 5


@dataclass
class Extras:
    """What the run adds beyond the suite: context the document records."""

    spec_version: int | None = None
    invariants: Sequence[str] = ()
    corpus: Mapping[str, Any] = field(default_factory=dict)
    excluded: Sequence[str] = ()
    filtered: bool = False
    divergence_problems: Sequence[str] = ()
    benchmarks: Mapping[str, Any] = field(default_factory=dict)
    benchmark_problems: Sequence[str] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    corpus_sha256: str | None = None  # of cases.jsonl: `merge` refuses shards of other corpora
    # The domain's suites (core/_suites.py): name -> summary (with its Markdown), and problems.
    suites: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    suite_problems: Sequence[str] = ()


# An answer longer than this (as JSON) is not kept in the document: the rerun command shows it.
MAX_ANSWER_CHARS = 20_000


def rerun_command(implementation: str, case_id: str) -> str:
    return f"snnconform run --impl {shlex.quote(implementation)} --case {shlex.quote(case_id)}"


def corpus_summary(cases: Sequence[Case], invariants: Sequence[str]) -> dict[str, Any]:
    """The corpus figures computed from the cases (used when corpus.json is absent)."""
    classes = Counter(case.klass for case in cases)
    per = Counter(c for case in cases for c in case.covers)
    ids = list(invariants) or sorted(per)
    return {
        "cases": len(cases),
        "valid": classes.get("valid", 0),
        "invalid_targeted": classes.get("targeted", 0),
        "mixed": classes.get("mixed", 0),
        "invariants": len(ids),
        "min_cases_per_invariant": min((per.get(i, 0) for i in ids), default=0),
    }


def _implementation_entry(run: ImplementationRun, judgments: Sequence[Judgment]) -> dict[str, Any]:
    counts = Counter(_BUCKET[j.status] for j in judgments)
    answered = sum(1 for o in run.outcomes.values() if o.kind != "not_run")
    return {
        "available": run.available,
        "version": run.started.version if run.started else None,
        "runtime": run.started.runtime if run.started else None,
        "cases": len(judgments),
        **{k: counts.get(k, 0) for k in ("agreed", "disagreed", "crashed", "timed_out", "skipped",
                                         "known_divergences")},
        "seconds": round(run.seconds, 4),
        "cases_per_second": round(answered / run.seconds, 2) if run.seconds > 0 else 0.0,
        "build": run.build.to_json(),
        "unit_tests": run.unit_tests.to_json(),
        "startup_seconds": round(run.startup_seconds, 4) if run.startup_seconds is not None else None,
    }


def _answer(j: Judgment) -> list[dict[str, Any]] | str | None:
    """The implementation's whole answer, messages included, for the reports' side-by-side
    view; a placeholder when it is too long to keep, None when there was no answer."""
    if j.outcome.answer is None:
        return None
    results = []
    for result in j.outcome.answer.results:
        entry = {"op": result.op, "verdict": result.verdict}
        if result.code is not None:
            entry["code"] = result.code
        if result.message is not None:
            entry["message"] = result.message
        results.append({**entry, **result.payload})
    size = len(json.dumps(results, ensure_ascii=False, default=repr))
    if size > MAX_ANSWER_CHARS:
        return f"({size} characters, not kept: rerun the case to see it)"
    return results


def _disagreement(j: Judgment) -> dict[str, Any]:
    difference = j.vs_expect or j.vs_reference
    entry: dict[str, Any] = {
        "implementation": j.implementation,
        "case": j.case.id,
        "kind": j.status,
        "summary": j.headline(),
        "pointer": difference.pointer if difference else None,
        "expected": difference.to_json()["expected"] if difference else None,
        "got": difference.to_json()["got"] if difference else None,
        "vs_reference": j.vs_reference.describe() if j.vs_reference else None,
        "signature": dict(j.signature),
        "known_divergence": j.reason or None,
        "covers": list(j.case.covers),
        "operations": sorted(j.case.operations),
        "rerun": rerun_command(j.implementation, j.case.id),
        "answer": _answer(j),
    }
    if j.outcome.stderr:
        entry["stderr"] = j.outcome.stderr
    return entry


def _gate(suite: SuiteResult, extras: Extras, judgments: Sequence[Judgment]) -> list[str]:
    checks: list[str] = []
    if not suite.cases:
        checks.append("no cases selected: check --case/--invariant/--shard patterns")
    for run in suite.runs:
        if run.problem:
            checks.append(f"{run.impl.name}: {run.problem.splitlines()[0]} (cases not run)")
        for problem in run.stop_problems:
            checks.append(f"{run.impl.name}: testee {problem}")
        mine = [j for j in judgments if j.implementation == run.impl.name and j.failing]
        by_status: dict[str, list[Judgment]] = {}
        for j in mine:
            by_status.setdefault(j.status, []).append(j)
        for status, items in by_status.items():
            first = items[0]
            checks.append(
                f"{run.impl.name}: {len(items)} case(s) {_FAILURE_WORDS[status]}, first "
                f"{first.case.id}: {first.headline().splitlines()[0]}"
            )
    problems = list(extras.divergence_problems) + list(suite.problems) + list(extras.benchmark_problems)
    problems += list(extras.suite_problems)
    checks.extend(problems[:MAX_LISTED * 4])
    if len(problems) > MAX_LISTED * 4:
        checks.append(f"... and {len(problems) - MAX_LISTED * 4} more problems")
    return checks


def environment(suite: SuiteResult, extras: Extras) -> dict[str, Any]:
    try:  # the version only: the core imports no library of the domain
        numpy_version: str | None = metadata.version("numpy")
    except metadata.PackageNotFoundError:
        numpy_version = None
    return {
        "os": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy_version,
        "harness": __version__,
        "tools": {run.impl.name: (run.started.runtime if run.started else None) or run.toolchain
                  or None for run in suite.runs},
        "excluded": list(extras.excluded),
        "options": dict(extras.options),
        "filtered": extras.filtered,
        "corpus_sha256": extras.corpus_sha256,
        "wall_seconds": round(suite.seconds, 3),
    }


def build_document(suite: SuiteResult, judgments: Sequence[Judgment], extras: Extras) -> dict[str, Any]:
    """bench_transfer.json: the keys the issue fixes, in its order."""
    implementations = {
        run.impl.name: _implementation_entry(
            run, [j for j in judgments if j.implementation == run.impl.name]
        )
        for run in suite.runs
    }
    covered = {c for case in suite.cases for c in case.covers}
    invariants = list(extras.invariants) or sorted(covered)
    matrix: dict[str, dict[str, dict[str, int]]] = {
        inv: {run.impl.name: {"cases": 0, "agreed": 0} for run in suite.runs} for inv in invariants
    }
    for j in judgments:
        for inv in j.case.covers:
            cell = matrix.setdefault(inv, {}).setdefault(j.implementation, {"cases": 0, "agreed": 0})
            cell["cases"] += 1
            cell["agreed"] += j.status == "agreed"
    failed = _gate(suite, extras, judgments)
    listed = [j for j in judgments if j.failing or j.status == "known"]
    return {
        "status": "fail" if failed else "pass",
        "failed_checks": failed,
        "spec_version": extras.spec_version,
        "protocol_version": PROTOCOL_VERSION,
        "corpus": dict(extras.corpus),
        "implementations": implementations,
        "matrix": matrix,
        "disagreements": [_disagreement(j) for j in listed],
        "python": dict(extras.benchmarks.get("python", {})),
        "benchmarks": {name: value for name, value in extras.benchmarks.items() if name != "python"},
        # Only with suites configured: a suite's figures go under its own name.
        **({"suites": list(extras.suites)} if extras.suites else {}),
        **{name: dict(summary) for name, summary in extras.suites.items()},
        "environment": environment(suite, extras),
        "production_benchmark_claim": False,
    }


def exit_code(document: Mapping[str, Any]) -> int:
    return 0 if document.get("status") == "pass" else 1
