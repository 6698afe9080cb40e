"""``snnconform check``: every implementation on the user's own inputs, side by side.

``run`` asks "do the implementations agree on our corpus?"; ``check`` asks it of files the
user brings. The domain turns the arguments into inputs (cases without an expectation, see
:func:`snnconform.core._domain.check_inputs`); each implementation's testee answers every
input in its own long-lived session, and the in-process reference is the yardstick, as in
``run``. Whole answers are compared with the protocol's equality (state included, messages
excluded). A crash or hang is that input's failure only: the session restarts the testee and
goes on with the next input. Nothing here knows what an input means or writes anywhere.
"""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from snnconform.core._cases import summarize
from snnconform.core._config import Config, Implementation
from snnconform.core._diff import Difference, compare_results, without_messages
from snnconform.core._domain import CheckInput
from snnconform.core._session import MAX_START_FAILURES, Outcome, StartError, TesteeSession
from snnconform.core._steps import probe

REFERENCE = "reference"  # the column of the in-process reference executor
Reference = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Answer:
    """What one implementation (or the reference) made of one input."""

    kind: str  # "answered", or how it failed: crashed, timed_out, malformed, errored, skipped, not_run
    results: tuple[Mapping[str, Any], ...] = ()  # as answered, messages included
    detail: str = ""
    stderr: str = ""

    @property
    def comparable(self) -> list[dict[str, Any]]:
        return without_messages(self.results)

    @property
    def summary(self) -> tuple[str, int | None, str | None]:
        """(verdict, failing operation index, code)."""
        return summarize(self.comparable)

    def cell(self) -> str:
        """The table cell: ``accept``, ``reject CODE`` or how it failed."""
        if self.kind != "answered":
            return self.kind.replace("_", " ")
        verdict, index, code = self.summary
        if verdict == "accept":
            return "accept"
        return f"reject {code}" + (f" (op {index})" if index else "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.kind}
        if self.kind == "answered":
            verdict, index, code = self.summary
            out.update(verdict=verdict, op_index=index, code=code, results=list(self.results))
        else:
            out.update(detail=self.detail, stderr=self.stderr)
        return out


@dataclass(frozen=True)
class Row:
    """One input: every column's answer and how each differs from the yardstick."""

    input: CheckInput
    answers: Mapping[str, Answer]  # the reference (if configured) first, then implementations
    yardstick: str | None  # the column the others are compared with
    differences: Mapping[str, Difference]

    @property
    def problems(self) -> list[str]:
        """One line per failure: an answer that differs, or a column that did not answer."""
        lines = []
        for name, answer in self.answers.items():
            if answer.kind == "not_run":
                lines.append(f"{name} not run (see its implementation line)")
            elif answer.kind != "answered":
                lines.append(f"{name} {answer.kind.replace('_', ' ')}: {answer.detail}")
            elif name in self.differences:
                lines.append(f"{name} vs {self.yardstick} {self.differences[name].describe()}")
        return lines

    @property
    def agree(self) -> bool:
        return not self.problems

    @property
    def refused(self) -> bool:
        """Any column that answered rejected an operation."""
        return any(a.kind == "answered" and a.summary[0] == "reject" for a in self.answers.values())


@dataclass
class ImplementationStatus:
    """Whether an implementation took part, and why not."""

    impl: Implementation
    available: bool = False
    toolchain: str = ""
    problem: str = ""  # why it answered nothing
    version: str = ""
    runtime: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    statuses: list[ImplementationStatus]
    rows: list[Row]
    failed_checks: list[str]
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.failed_checks


# ------------------------------------------------------------------------------- running


def _answer(outcome: Outcome) -> Answer:
    if outcome.kind != "answered" or outcome.answer is None:
        return Answer(outcome.kind, detail=outcome.detail, stderr=outcome.stderr)
    results = tuple(
        {**r.comparable(), **({"message": r.message} if r.message is not None else {})}
        for r in outcome.answer.results
    )
    return Answer("answered", results)


def _run_testee(
    config: Config, status: ImplementationStatus, inputs: Sequence[CheckInput], timeout: float,
    spec_version: int | None, progress: Progress,
) -> list[Answer]:
    """Every input through one session; a crash or hang costs that input only."""
    impl = status.impl
    session = TesteeSession(config.expand(impl.testee), config.root, spec_version=spec_version,
                            timeout=timeout, startup_timeout=impl.startup_timeout)
    try:
        try:
            started = session.start()
        except StartError as exc:
            last = exc.stderr.strip().splitlines()[-1:] if exc.stderr else []
            status.problem = f"testee failed to start: {exc}" + (f"; stderr ends: {last[0][:200]}" if last else "")
            for _ in inputs:
                progress(impl.name)
            return [Answer("not_run", detail=status.problem, stderr=exc.stderr) for _ in inputs]
        status.version, status.runtime = started.version, started.runtime
        answers = []
        for item in inputs:
            if session.start_failures >= MAX_START_FAILURES:
                answers.append(Answer("crashed", detail=f"not sent: the testee failed to restart "
                                                        f"{MAX_START_FAILURES} times in a row"))
            else:
                answers.append(_answer(session.run_case(item, item.root)))
            progress(impl.name)
        return answers
    finally:
        session.stop()
        if session.stop_problem:
            status.notes.append(f"testee {session.stop_problem}")


def _reference_answer(reference: Reference, item: CheckInput, timeout: float) -> Answer:
    """The reference's answer, in a daemon thread so that a hang is reported, not endured."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["raw"] = reference({"id": item.id, "ops": list(item.ops)}, item.root)
        except Exception as exc:  # noqa: BLE001 - any failure of the reference is reported
            box["error"] = traceback.format_exception_only(exc)[-1].strip()

    thread = threading.Thread(target=work, name=f"reference {item.id}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return Answer("timed_out", detail=f"the reference gave no answer within {timeout:g} s")
    if "error" in box:
        return Answer("errored", detail=f"the reference raised {box['error']}")
    raw = box.get("raw")
    results = raw.get("results") if isinstance(raw, Mapping) else None
    if not isinstance(results, list) or not all(isinstance(r, Mapping) for r in results):
        return Answer("malformed", detail="the reference did not return {'results': [...]}")
    return Answer("answered", tuple(results))


def _row(item: CheckInput, answers: dict[str, Answer]) -> Row:
    """Compare every answer with the yardstick: the reference, else the first that answered."""
    answered = [name for name, answer in answers.items() if answer.kind == "answered"]
    yardstick = REFERENCE if REFERENCE in answered else (answered[0] if answered else None)
    differences: dict[str, Difference] = {}
    if yardstick is not None:
        expected = answers[yardstick].comparable
        for name in answered:
            difference = compare_results(expected, answers[name].comparable)
            if difference is not None:
                differences[name] = difference
    return Row(item, answers, yardstick, differences)


def run_check(
    config: Config,
    implementations: Sequence[Implementation],
    inputs: Sequence[CheckInput],
    *,
    timeout: float,
    reference: Reference | None,
    spec_version: int | None,
    named: bool,
    require_accept: bool = False,
    progress: Progress = lambda name: None,
) -> CheckResult:
    """Check ``inputs`` on every available implementation of ``implementations``.

    ``named``: the user named the implementations (``--impl``), so one that is unavailable
    fails the check; otherwise it is left out with a note.
    """
    began = time.perf_counter()
    statuses = [ImplementationStatus(impl) for impl in implementations]
    for status in statuses:
        command = config.expand(status.impl.probe) if status.impl.probe else None
        status.available, status.toolchain = probe(command, config.root)
        if not status.available:
            status.problem = f"not available ({status.toolchain}): {status.impl.install}"
    running = [s for s in statuses if s.available]
    columns: dict[str, list[Answer]] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
        futures = [pool.submit(_run_testee, config, s, inputs, timeout, spec_version, progress)
                   for s in running]
        if reference is not None:
            columns[REFERENCE] = []
            for item in inputs:
                columns[REFERENCE].append(_reference_answer(reference, item, timeout))
                progress(REFERENCE)
        for status, future in zip(running, futures):
            columns[status.impl.name] = future.result()
    rows = [_row(item, {name: column[i] for name, column in columns.items()})
            for i, item in enumerate(inputs)]
    return CheckResult(statuses, rows, _failed_checks(statuses, rows, named, require_accept),
                       time.perf_counter() - began)


def _failed_checks(statuses: Sequence[ImplementationStatus], rows: Sequence[Row], named: bool,
                   require_accept: bool) -> list[str]:
    checks = []
    if not any(s.available for s in statuses):
        checks.append("no implementation available to check with")
    checks += [f"{s.impl.name}: {s.problem.splitlines()[0]}" for s in statuses
               if s.problem and (s.available or named)]
    failing = [row.input.id for row in rows if not row.agree]
    if failing:
        checks.append(f"{len(failing)} input(s) where the implementations disagree or failed: "
                      + ", ".join(failing[:5]) + (" …" if len(failing) > 5 else ""))
    refused = [row.input.id for row in rows if row.refused]
    if require_accept and refused:
        checks.append(f"--require-accept: {len(refused)} input(s) refused: "
                      + ", ".join(refused[:5]) + (" …" if len(refused) > 5 else ""))
    return checks


# ----------------------------------------------------------------------------- rendering


def check_document(result: CheckResult) -> dict[str, Any]:
    """The ``--json`` output: status, failed checks, implementations, one entry per input."""
    rows = []
    for row in result.rows:
        answers = {}
        for name, answer in row.answers.items():
            entry = answer.to_json()
            if name in row.differences:
                entry["difference"] = row.differences[name].to_json()
            answers[name] = entry
        yard = row.answers[row.yardstick].summary if row.yardstick else (None, None, None)
        rows.append({"input": row.input.id, "root": str(row.input.root), "agree": row.agree,
                     "yardstick": row.yardstick, "verdict": yard[0], "op_index": yard[1],
                     "code": yard[2], "answers": answers, "problems": row.problems})
    return {
        "status": "pass" if result.passed else "fail",
        "failed_checks": result.failed_checks,
        "implementations": {
            s.impl.name: {"available": s.available, "toolchain": s.toolchain,
                          "version": s.version, "runtime": s.runtime, "problem": s.problem,
                          "notes": s.notes}
            for s in result.statuses
        },
        "inputs": rows,
        "seconds": round(result.seconds, 3),
    }


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(*rows)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def render_check(result: CheckResult) -> str:
    """The terminal table: one row per input, then what went wrong, then the status."""
    names = list(result.rows[0].answers) if result.rows else []
    table = [["input", "agree", *names]] + [
        [row.input.id, "yes" if row.agree else "NO", *(row.answers[n].cell() for n in names)]
        for row in result.rows
    ]
    lines = _table(table)
    problems = [(row.input.id, line) for row in result.rows for line in row.problems]
    if problems:
        lines += ["", "differences and failures:"]
        lines += [f"  {name}: {line}" for name, line in problems]
    notes = [f"  {s.impl.name}: {note}" for s in result.statuses for note in s.notes]
    notes += [f"  {s.impl.name}: {s.problem.splitlines()[0]}" for s in result.statuses
              if s.problem and f"{s.impl.name}: {s.problem.splitlines()[0]}" not in result.failed_checks]
    if notes:
        lines += ["", "implementations:", *notes]
    if result.failed_checks:
        lines += ["", "failed checks:", *(f"  - {check}" for check in result.failed_checks)]
    lines += ["", f"status: {'PASS' if result.passed else 'FAIL'}"]
    return "\n".join(lines)
