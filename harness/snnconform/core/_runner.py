"""Run a selection of cases on a selection of implementations and judge every answer.

Per implementation: probe the toolchain (or, with ``--build``, set up, build and unit-test it
first), then send its cases to ``jobs`` long-lived testees in parallel. The reference answers
come from the domain's in-process executor. Nothing here knows what a case means.
"""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from snnconform.core._cases import Case
from snnconform.core._config import Config, Implementation
from snnconform.core._diff import compare_results, without_messages
from snnconform.core._judge import Judgment, judge
from snnconform.core._protocol import SchemaValidator, Started
from snnconform.core._session import MAX_START_FAILURES, Outcome, StartError, TesteeSession
from snnconform.core._steps import StepResult, probe, run_step

Reference = Callable[[Mapping[str, Any], Path], Mapping[str, Any]]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    timeout: float
    jobs: int = 1
    build: bool = False
    validate_protocol: bool = False


@dataclass
class ImplementationRun:
    """Everything the harness learnt about one implementation in one run."""

    impl: Implementation
    available: bool = False
    toolchain: str = ""
    problem: str = ""  # why its cases were not run
    setup: StepResult = field(default_factory=lambda: StepResult("not_run"))
    build: StepResult = field(default_factory=lambda: StepResult("not_run"))
    unit_tests: StepResult = field(default_factory=lambda: StepResult("not_run"))
    started: Started | None = None
    startup_seconds: float | None = None
    stop_problems: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def runnable(self) -> bool:
        return self.available and not self.problem


@dataclass
class SuiteResult:
    cases: list[Case]
    runs: list[ImplementationRun]
    judgments: list[Judgment]
    problems: list[str]
    reference: dict[str, list[Mapping[str, Any]] | None]
    seconds: float


def _prepare(config: Config, impl: Implementation, build: bool) -> ImplementationRun:
    run = ImplementationRun(impl)
    logs = config.logs / impl.name

    def step(name: str, command: str | None) -> StepResult:
        if command is None:
            return StepResult("not_configured")
        return run_step(config.expand(command), config.root, impl.build_timeout, logs / f"{name}.log")

    if build:
        run.setup = step("setup", impl.setup)
    run.available, run.toolchain = probe(
        config.expand(impl.probe) if impl.probe else None, config.root
    )
    if run.setup.status == "failed":
        run.problem = _failed("setup", run.setup)
        return run
    if not run.available:
        run.problem = f"not available ({run.toolchain}): {impl.install}"
        return run
    if build:
        for name in ("build", "unit_tests"):
            result = step(name, getattr(impl, name))
            setattr(run, name, result)
            if result.status == "failed":
                run.problem = _failed(name.replace("_", " "), result)
                return run
    return run


def _failed(step: str, result: StepResult) -> str:
    """First line for the gate (with the last output line), then the output tail."""
    lines = result.output_tail.strip().splitlines()
    last = f"; last output: {lines[-1].strip()[:200]}" if lines else ""
    return f"{step} failed: {result.detail}{last}\n{result.output_tail}"


def _chunks(cases: Sequence[Case], n: int) -> list[list[Case]]:
    n = max(1, min(n, len(cases)))
    return [list(cases[i::n]) for i in range(n)]


def _run_unit(
    config: Config,
    run: ImplementationRun,
    cases: Sequence[Case],
    options: RunOptions,
    spec_version: int | None,
    lock: threading.Lock,
    progress: Progress,
) -> None:
    session = TesteeSession(
        config.expand(run.impl.testee),
        config.root,
        spec_version=spec_version,
        timeout=options.timeout,
        startup_timeout=run.impl.startup_timeout,
        validator=SchemaValidator() if options.validate_protocol else None,
    )
    root = config.fixtures.resolve()
    try:
        try:
            started = session.start()
        except StartError as exc:
            detail = f"testee failed to start: {exc}"
            if exc.stderr:
                detail += f"; stderr ends: {exc.stderr.splitlines()[-1][:200]}\n{exc.stderr}"
            with lock:
                run.problem = run.problem or detail
                for case in cases:
                    run.outcomes[case.id] = Outcome("not_run", detail)
                    progress(run.impl.name)
            return
        with lock:
            run.started = run.started or started
            if session.startup_seconds is not None and run.startup_seconds is None:
                run.startup_seconds = session.startup_seconds
        for case in cases:
            if session.start_failures >= MAX_START_FAILURES:
                outcome = Outcome("crashed", f"not sent: the testee failed to restart "
                                  f"{MAX_START_FAILURES} times in a row")
            else:
                outcome = session.run_case(case, root)
            with lock:
                run.outcomes[case.id] = outcome
                run.seconds += outcome.seconds
                progress(run.impl.name)
    finally:
        session.stop()
        if session.stop_problem:
            with lock:
                run.stop_problems.append(session.stop_problem)


def reference_answers(
    reference: Reference | None, cases: Sequence[Case], root: Path, progress: Progress
) -> tuple[dict[str, list[Mapping[str, Any]] | None], list[str]]:
    """The reference's results per case, and every way it failed or contradicted the corpus."""
    answers: dict[str, list[Mapping[str, Any]] | None] = {}
    problems: list[str] = []
    for case in cases:
        answer: list[Mapping[str, Any]] | None = None
        if reference is not None:
            try:
                raw = reference(_case_json(case), root)
                answer = list(raw["results"])
            except Exception as exc:  # noqa: BLE001 - any failure of the reference is reported
                last = traceback.format_exception_only(exc)[-1].strip()
                problems.append(f"reference: case {case.id} raised {last}")
            else:
                difference = compare_results(case.expect.results, without_messages(answer))
                if difference is not None:
                    problems.append(
                        f"reference: case {case.id} disagrees with the corpus "
                        f"{difference.describe()} (regenerate the corpus or fix the reference)"
                    )
        answers[case.id] = answer
        progress("reference")
    return answers, problems


def _case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "class": case.klass,
        "ops": list(case.ops),
        "expect": {
            "verdict": case.expect.verdict,
            "op_index": case.expect.op_index,
            "code": case.expect.code,
            "results": list(case.expect.results),
        },
        "covers": list(case.covers),
        "origin": dict(case.origin),
    }


def run_suite(
    config: Config,
    implementations: Sequence[Implementation],
    cases: Sequence[Case],
    options: RunOptions,
    *,
    reference: Reference | None,
    spec_version: int | None,
    progress: Progress = lambda name: None,
    on_prepared: Callable[[ImplementationRun], None] = lambda run: None,
) -> SuiteResult:
    began = time.perf_counter()
    runs = []
    for impl in implementations:
        prepared = _prepare(config, impl, options.build)
        on_prepared(prepared)
        runs.append(prepared)
    answers, problems = reference_answers(reference, cases, config.fixtures.resolve(), progress)
    lock = threading.Lock()
    units = [(run, chunk) for run in runs if run.runnable for chunk in _chunks(cases, options.jobs)]
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = [
            pool.submit(_run_unit, config, run, chunk, options, spec_version, lock, progress)
            for run, chunk in units
        ]
        for future in futures:
            future.result()
    judgments: list[Judgment] = []
    for run in runs:
        for case in cases:
            outcome = run.outcomes.get(case.id) or Outcome("not_run", run.problem)
            judgments.append(judge(run.impl.name, case, outcome, answers.get(case.id)))
    return SuiteResult(list(cases), runs, judgments, problems, answers, time.perf_counter() - began)
