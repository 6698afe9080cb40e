"""Live differential fuzzing (``snnconform fuzz``): find disagreements the corpus lacks.

The loop is generic. The domain supplies a *fuzz source* (``conformance.toml [domain]
fuzz_source``, a factory ``(spec, corpus folder) -> FuzzSource``) that draws cases, shrinks one
against a predicate, and writes one as files. Here every drawn case goes to a long-lived testee
of every selected implementation at once (sent to all, then collected, while the in-process
reference computes the yardstick), and the answers are compared with the reference's exactly as
``run`` compares them (verdict, failing operation, code, state; messages never). A
disagreement, crash, hang, malformed line, ``errored`` or ``skipped`` answer, or a reference
that raises, is a *finding*: its signature (who failed how) is what shrinking must keep, so the
minimal case shows the same bug, not another. Each new finding is shrunk and written to the
regression corpus (``[harness] regressions``, see :mod:`._regressions`), whose cases every
later ``run`` executes. ``--jobs N`` runs N lanes, each with its own testees, source and
random stream; lane ``i`` of seed ``S`` draws the same cases on every run.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from snnconform.core import _regressions
from snnconform.core._cases import Case, Expectation, summarize
from snnconform.core._config import Config, Implementation
from snnconform.core._diff import Difference, compare_results, without_messages
from snnconform.core._divergences import Divergence, apply_divergences
from snnconform.core._judge import judge
from snnconform.core._protocol import SchemaValidator, encode_case
from snnconform.core._session import MAX_START_FAILURES, Outcome, StartError, TesteeSession

Reference = Callable[[Mapping[str, Any], Path], Mapping[str, Any]]
REFERENCE = "reference"
MAX_SHRUNK = 25  # new findings shrunk and written per run; later ones are only counted


class FuzzCase(Protocol):
    """A drawn case: sendable to a testee, plus what the report and the regression need."""

    @property
    def id(self) -> str: ...

    @property
    def root(self) -> Path: ...  # the folder its operations' paths are relative to

    @property
    def ops(self) -> tuple[Mapping[str, Any], ...]: ...

    @property
    def operations(self) -> frozenset[str]: ...

    @property
    def label(self) -> str: ...  # what kind of case; names a regression nobody refused

    @property
    def fingerprint(self) -> str: ...  # hex digest of its content: names and dedups regressions

    @property
    def size(self) -> int: ...  # how big (bytes of files and operations): shows what shrinking did

    @property
    def origin(self) -> Mapping[str, Any]: ...  # JSON: how it was made, kept in the regression


class FuzzSource(Protocol):
    """What the domain's ``fuzz_source`` factory returns (one per lane)."""

    def draw(self, random: random.Random, scratch: Path) -> FuzzCase:
        """A new case, its files written under ``scratch`` (reused from case to case)."""
        ...

    def shrink(self, case: FuzzCase, still_fails: Callable[[FuzzCase], bool]) -> FuzzCase:
        """A smaller case for which ``still_fails`` holds (``case`` itself at worst)."""
        ...

    def write_regression(self, case: FuzzCase, case_dir: Path, relative: str) -> list[dict[str, Any]]:
        """Write the case's files into ``case_dir``; return its operations, whose paths are
        ``relative`` (``case_dir`` as seen from the corpus folder) based."""
        ...

    # Optional: ``corpus_case(case) -> str | None``, the id of the corpus case ``case`` is
    # (a finding that shrinks to an unchanged corpus case is not written again).


SourceFactory = Callable[[Any, Path], FuzzSource]


@dataclass(frozen=True)
class FuzzOptions:
    seed: int
    seconds: float | None = None
    cases: int | None = None
    jobs: int = 1
    timeout: float = 10.0
    write: bool = True
    shrink: bool = True  # False: only report findings (the gate's pass, which has a time budget)
    shrink_seconds: float = 120.0
    validate_protocol: bool = False


# ------------------------------------------------------------------------------ judging


@dataclass(frozen=True, order=True)
class Problem:
    """One way a case failed, as coarse as "the same bug" allows: who failed, how, and for a
    wrong answer what it answered (its code, or "accept" and the code it missed, or where its
    state differs), not what the reference said: a limit moved in a testee is one finding
    whatever the reference answered around it. The signature of a case is the set of its
    problems; shrinking keeps it, so the minimal case shows the same bug, not another."""

    implementation: str
    kind: str  # disagreed, crashed, timed_out, malformed, errored, skipped, raised
    got: str = ""

    def describe(self) -> str:
        what = self.got if self.kind == "disagreed" else self.kind.replace("_", " ")
        if self.kind == "raised":
            what = f"raised {self.got}"
        return f"{self.implementation}: {what}"


Signature = frozenset[Problem]


@dataclass(frozen=True)
class Evaluation:
    problems: Signature
    details: Mapping[str, str]  # per implementation: the difference or outcome, for people
    reference: tuple[Mapping[str, Any], ...] | None  # the yardstick's results
    executions: int  # testee answers awaited


def _summary(results: Sequence[Mapping[str, Any]]) -> str:
    verdict, index, code = summarize(results)
    if verdict == "accept":
        return "accept"
    return f"reject {results[index or 0].get('op')} {code}"


def _state_path(difference: Difference, results: Sequence[Mapping[str, Any]]) -> str:
    """Where two answers with the same verdict differ, stable while shrinking: the operation's
    name and the first two keys of its result (``load state/metadata``), not indexes."""
    parts = difference.pointer.strip("/").split("/")
    op = ""
    if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(results):
        op = str(results[int(parts[1])].get("op"))
    return f"{op} {'/'.join(parts[2:4])}".strip()


def _problem(name: str, outcome: Outcome, expected: list[dict[str, Any]],
             order: Mapping[str, int]) -> tuple[Problem | None, str]:
    """The problem of one answer (None when it agrees) and a line that says it to people.

    A wrong verdict or code is named by the check in question: the earlier of the two
    rejections (by operation, then by the spec's order of ``order``). When the reference's
    comes first the testee *misses* that check, whatever it answered instead; when the
    testee's comes first (or the reference accepts) it *refuses* with a check the reference
    did not apply there. A dropped check and a moved limit are then one finding each, not
    one per code that happened to come next."""
    if outcome.kind != "answered" or outcome.answer is None:
        return Problem(name, outcome.kind), outcome.detail
    got = [r.comparable() for r in outcome.answer.results]
    difference = compare_results(expected, got)
    if difference is None:
        return None, ""
    detail = (f"answered {_summary(got)} where the reference says {_summary(expected)} "
              f"({difference.describe()})")
    (_, index, code), (_, want_index, want_code) = summarize(got), summarize(expected)
    if (index, code) == (want_index, want_code):
        return Problem(name, "disagreed", f"state differs at {_state_path(difference, got)}"), detail

    def rank(op_index: int | None, rejection: str | None) -> tuple[float, float]:
        if op_index is None:
            return math.inf, math.inf
        return op_index, order.get(rejection or "", len(order))

    if rank(index, code) < rank(want_index, want_code):
        return Problem(name, "disagreed", f"refuses with {code}"), detail
    return Problem(name, "disagreed", f"misses {want_code}"), detail


# ------------------------------------------------------------------------------ findings


@dataclass
class Finding:
    problems: tuple[Problem, ...]
    case_id: str  # the drawn case that showed it first
    details: Mapping[str, str] = field(default_factory=dict)  # of the (shrunk) case, for people
    occurrences: int = 1
    status: str = "new"  # new, shrinking, written, pending, not_written, known, corpus
    regression: str | None = None
    original_size: int = 0
    shrunk_size: int | None = None
    shrink_checks: int = 0
    shrink_seconds: float = 0.0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "problems": [p.describe() for p in self.problems], "details": dict(self.details),
            "case": self.case_id,
            "occurrences": self.occurrences, "status": self.status, "regression": self.regression,
            "original_size": self.original_size, "shrunk_size": self.shrunk_size,
            "shrink_checks": self.shrink_checks, "shrink_seconds": round(self.shrink_seconds, 2),
            "note": self.note,
        }


@dataclass
class FuzzReport:
    seed: int
    jobs: int
    implementations: list[str]
    cases: int = 0
    executions: int = 0
    seconds: float = 0.0  # drawing and judging, shrinking excluded
    shrink_seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the run itself: testees that died, …
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "jobs": self.jobs, "implementations": self.implementations,
            "cases": self.cases, "executions": self.executions,
            "seconds": round(self.seconds, 2), "shrink_seconds": round(self.shrink_seconds, 2),
            "cases_per_second": round(self.cases / self.seconds, 1) if self.seconds else 0.0,
            "executions_per_second": round(self.executions / self.seconds, 1) if self.seconds else 0.0,
            "findings": len(self.findings),
            "finding_details": [f.to_json() for f in self.findings],
            "problems": list(self.problems), "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------ one lane


class _Lane:
    """One worker: a session per implementation, a source and a random stream of its own."""

    def __init__(self, fuzzer: _Fuzzer, index: int) -> None:
        self.fuzzer = fuzzer
        self.index = index
        self.random = random.Random(f"{fuzzer.options.seed}/{index}")
        self.scratch = fuzzer.scratch / f"lane-{index}"
        self.scratch.mkdir(parents=True)
        self.source = fuzzer.factory(fuzzer.spec, fuzzer.config.fixtures.resolve())
        validator = SchemaValidator() if fuzzer.options.validate_protocol else None
        self.sessions = {
            impl.name: TesteeSession(
                fuzzer.config.expand(impl.testee), fuzzer.config.root, spec_version=fuzzer.spec_version,
                timeout=fuzzer.options.timeout, startup_timeout=impl.startup_timeout,
                validator=validator,
            )
            for impl in fuzzer.impls
        }
        self.dead: set[str] = set()

    def start(self) -> None:
        for name, session in self.sessions.items():
            try:
                session.start()
            except StartError as exc:
                self.dead.add(name)
                tail = exc.stderr.strip().splitlines()[-1:] if exc.stderr else []
                self.fuzzer.problem(f"{name}: testee failed to start: {exc}"
                                    + (f"; stderr ends: {tail[0][:200]}" if tail else ""))

    def stop(self) -> None:
        for session in self.sessions.values():
            session.stop()

    def evaluate(self, case: Any, root: Path) -> Evaluation:
        """Send ``case`` to every live testee, compute the reference meanwhile, then judge."""
        return self.finish(self.begin(case, root))

    def begin(self, case: Any, root: Path) -> _Pending:
        """Send ``case`` to every live testee that offers its operations; returns at once."""
        sent: list[tuple[str, TesteeSession, Outcome | None]] = []
        encoded = encode_case(case.id, str(root), case.ops)
        operations = case.operations
        for name, session in self.sessions.items():
            if name in self.dead:
                continue
            if session.started is not None and operations - session.started.capabilities:
                continue  # an operation it does not offer: not asked, not a finding
            sent.append((name, session, session.submit(case, root, encoded)))
        return _Pending(case, root, sent)

    def finish(self, pending: _Pending) -> Evaluation:
        """Compute the reference's answer, collect the testees' and judge them."""
        case, root = pending.case, pending.root
        expected: list[dict[str, Any]] | None = None
        problems: set[Problem] = set()
        details: dict[str, str] = {}
        try:
            raw = self.fuzzer.reference({"id": case.id, "ops": list(case.ops)}, root)
            expected = without_messages(list(raw["results"]))
        except Exception as exc:  # noqa: BLE001 - a reference that raises is a finding
            problems.add(Problem(REFERENCE, "raised", type(exc).__name__))
            details[REFERENCE] = traceback.format_exception_only(exc)[-1].strip()
        canonical = _canonical(expected) if expected is not None else ""
        for name, session, early in pending.sent:
            outcome = early if early is not None else session.collect()
            if session.start_failures >= MAX_START_FAILURES:
                self.dead.add(name)
                self.fuzzer.problem(f"{name}: testee failed to restart {MAX_START_FAILURES} times "
                                    "in a row; left out of the rest of the run")
            if expected is None or (outcome.answer is not None and outcome.kind == "answered"
                                    and _canonical([r.comparable() for r in outcome.answer.results])
                                    == canonical):
                continue  # no yardstick (the reference's failure is the finding), or agreed
            problem, detail = _problem(name, outcome, expected, self.fuzzer.order)
            if problem is not None and not self.fuzzer.known(name, case, outcome, expected):
                problems.add(problem)
                details[name] = detail
        reference = tuple(expected) if expected is not None else None
        return Evaluation(frozenset(problems), details, reference, len(pending.sent))

    def run(self) -> None:
        """Draw and judge until the budget is spent. Pipelined: while the testees work on
        one case, the next is drawn (into the other of two scratch slots) and the reference
        computes the first's answer."""
        fuzzer = self.fuzzer
        pending: _Pending | None = None
        slot = 0
        try:
            while True:
                with fuzzer.shrinking:
                    pass  # wait while another lane shrinks
                following = None
                if fuzzer.claim():
                    slot ^= 1
                    following = self.source.draw(self.random, self.scratch / f"slot-{slot}")
                if pending is not None:
                    current, pending = pending, None
                    evaluation = self.finish(current)
                    fuzzer.counted(evaluation.executions)
                    if evaluation.problems:
                        fuzzer.found(self, current.case, evaluation)
                if following is None:
                    return
                pending = self.begin(following, following.root)
        except Exception as exc:  # noqa: BLE001 - a harness or source bug ends the run, reported
            last = traceback.format_exception_only(exc)[-1].strip()
            fuzzer.problem(f"lane {self.index} stopped: {last}")
            fuzzer.halt()
            for session in self.sessions.values():
                if session.waiting:
                    session.collect()  # so that stop() gets the answer to stop, not to a run


@dataclass(frozen=True)
class _Pending:
    """A case sent to the testees whose answers are not collected yet."""

    case: Any
    root: Path
    sent: list[tuple[str, TesteeSession, Outcome | None]]


def _canonical(results: Sequence[Mapping[str, Any]]) -> str:
    """An encoding equal for two result lists exactly when the protocol calls them equal
    (floats by their exact repr, so -0.0 and 1.0 stay apart from 0.0 and 1; booleans are not
    numbers; keys sorted): the fast path before the first-difference walk of ``_diff``."""
    return json.dumps(results, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------------------ the run


class _Fuzzer:
    def __init__(self, config: Config, impls: Sequence[Implementation], spec: Any,
                 spec_version: int | None, reference: Reference, factory: SourceFactory,
                 options: FuzzOptions, divergences: Sequence[Divergence], stream: TextIO | None,
                 scratch: Path, invariants: Sequence[str] = ()) -> None:
        self.config, self.impls, self.spec, self.spec_version = config, impls, spec, spec_version
        self.order = {invariant: rank for rank, invariant in enumerate(invariants)}
        self.reference, self.factory, self.options = reference, factory, options
        self.divergences = divergences
        self.stream = stream
        self.scratch = scratch
        self.report = FuzzReport(options.seed, options.jobs, [impl.name for impl in impls])
        self.lock = threading.Lock()
        # Held while a lane shrinks: the other lanes wait, so the time budget and cases/s count
        # fuzzing only, and a shrink has the machine to itself.
        self.shrinking = threading.Lock()
        self.by_signature: dict[Signature, Finding] = {}
        self.known_regressions: dict[Signature, str] = {}
        self._halted = False
        self._drawn = 0
        self._began = self._last_line = time.monotonic()
        self._shrinking = 0.0

    # -------------------------------------------------------------------- shared state

    def problem(self, text: str) -> None:
        with self.lock:
            if text not in self.report.problems:
                self.report.problems.append(text)
        self.say(text)

    def say(self, text: str) -> None:
        if self.stream is not None:
            prefix = "\r\x1b[K" if self.stream.isatty() else ""
            self.stream.write(f"{prefix}fuzz: {text}\n")
            self.stream.flush()

    def halt(self) -> None:
        self._halted = True

    def elapsed(self) -> float:
        return time.monotonic() - self._began - self._shrinking

    def claim(self) -> bool:
        """Whether the budget allows one more case (then counted as drawn)."""
        options = self.options
        with self.lock:
            if self._halted or (options.cases is not None and self._drawn >= options.cases) \
                    or (options.seconds is not None and self.elapsed() >= options.seconds):
                return False
            self._drawn += 1
            return True

    def counted(self, executions: int) -> None:
        with self.lock:
            self.report.cases += 1
            self.report.executions += executions
            now = time.monotonic()
            tty = self.stream is not None and self.stream.isatty()
            if self.stream is not None and now - self._last_line >= (1.0 if tty else 10.0):
                self._last_line = now
                report, seconds = self.report, max(self.elapsed(), 1e-9)
                line = (f"{report.cases} cases, {report.cases / seconds:.0f} cases/s, "
                        f"{report.executions / seconds:.0f} answers/s, "
                        f"{len(report.findings)} finding(s), {seconds:.0f} s")
                self.stream.write(f"\rfuzz: {line}\x1b[K" if tty else f"fuzz: {line}\n")
                self.stream.flush()

    def known(self, name: str, case: Any, outcome: Outcome, expected: list[dict[str, Any]]) -> bool:
        """Whether known-divergences.toml expects this failure (judged as ``run`` would)."""
        if not self.divergences:
            return False
        verdict, index, code = summarize(expected)
        as_case = Case(case.id, "fuzz", tuple(case.ops), Expectation(verdict, index, code, tuple(expected)),
                       (code,) if code else (), {})
        judged, _ = apply_divergences([judge(name, as_case, outcome, expected)], self.divergences)
        return judged[0].status == "known"

    # -------------------------------------------------------------------- findings

    def found(self, lane: _Lane, case: FuzzCase, evaluation: Evaluation) -> None:
        signature = evaluation.problems
        with self.lock:
            finding = self.by_signature.get(signature)
            if finding is not None:
                finding.occurrences += 1
                return
            finding = Finding(tuple(sorted(signature)), case.id, evaluation.details,
                              original_size=case.size)
            self.by_signature[signature] = finding
            self.report.findings.append(finding)
            known = self.known_regressions.get(signature)
            shrink = known is None and len(self.report.findings) <= MAX_SHRUNK and self.options.shrink
        self.say(f"finding in {case.id}: " + "; ".join(p.describe() for p in finding.problems))
        if known is not None:
            finding.status, finding.regression = "known", known
            finding.note = f"already in the regression corpus as {known}"
            return
        if not shrink:
            finding.status = "not_written"
            finding.note = (f"more than {MAX_SHRUNK} new findings" if self.options.shrink
                            else "not shrunk in this pass")
            return
        self._shrink(lane, case, finding, signature)

    def _shrink(self, lane: _Lane, case: FuzzCase, finding: Finding, signature: Signature) -> None:
        with self.shrinking:
            self._shrink_alone(lane, case, finding, signature)

    def _shrink_alone(self, lane: _Lane, case: FuzzCase, finding: Finding, signature: Signature) -> None:
        began = time.monotonic()
        deadline = began + self.options.shrink_seconds
        finding.status = "shrinking"

        def still_fails(candidate: FuzzCase) -> bool:
            if time.monotonic() > deadline:
                return False
            finding.shrink_checks += 1
            return lane.evaluate(candidate, candidate.root).problems == signature

        try:
            smallest = lane.source.shrink(case, still_fails)
        except Exception as exc:  # noqa: BLE001 - keep the unshrunk case rather than lose it
            finding.note = f"shrinking raised {traceback.format_exception_only(exc)[-1].strip()}"
            smallest = case
        final = lane.evaluate(smallest, smallest.root)
        if smallest is not case and final.problems != signature:
            finding.note = "the shrunk case no longer reproduces (flaky?); kept the drawn case"
            smallest, final = case, lane.evaluate(case, case.root)
        finding.details = final.details or finding.details
        finding.shrunk_size = smallest.size
        finding.shrink_seconds = time.monotonic() - began
        with self.lock:
            self._shrinking += finding.shrink_seconds
            self.report.shrink_seconds += finding.shrink_seconds
        corpus_case = getattr(lane.source, "corpus_case", lambda case: None)(smallest)
        if corpus_case is not None:  # shrunk to a corpus case: the corpus run shows it already
            finding.status, finding.regression = "corpus", corpus_case
            finding.note = f"the corpus's own case {corpus_case} shows it"
        elif self.options.write and self.config.regressions is not None:
            self._write(lane, smallest, finding)
        else:
            finding.status = "not_written"
        self.say(f"  shrunk {finding.original_size} -> {finding.shrunk_size} in "
                 f"{finding.shrink_checks} checks, {finding.shrink_seconds:.1f} s"
                 + (f"; written as {finding.regression}" if finding.regression else ""))

    def _write(self, lane: _Lane, case: FuzzCase, finding: Finding) -> None:
        assert self.config.regressions is not None
        evaluation = lane.evaluate(case, case.root)
        first = (summarize(evaluation.reference)[2] if evaluation.reference is not None
                 else next((p.got for p in finding.problems if p.kind == "raised"), None))
        name = f"regression-{first or case.label}-{case.fingerprint[:8]}"
        case_dir = self.config.regressions / "cases" / name
        relative = Path(os.path.relpath(case_dir.resolve(), self.config.fixtures.resolve()))
        origin = {**case.origin, "found_by": "snnconform fuzz", "seed": self.options.seed,
                  "problems": [p.describe() for p in finding.problems]}
        with self.lock:
            if case_dir.exists():
                shutil.rmtree(case_dir)
            ops = lane.source.write_regression(case, case_dir, relative.as_posix())
            error = _regressions.add_case(self.config, name, ops, origin, self.reference)
        finding.regression = name
        finding.status = "pending" if error else "written"
        if error:
            finding.note = f"the reference raises ({error}): waits in pending.jsonl"

    def learn_regressions(self, lane: _Lane) -> None:
        """Which failures the regression corpus already holds (so they are not written again)."""
        entries = [(case.id, case.ops) for case in _regressions.regression_cases(self.config)]
        entries += [(str(e["id"]), tuple(e["ops"])) for e in _regressions.pending_entries(self.config)]
        root = self.config.fixtures.resolve()
        for case_id, ops in entries:
            sendable = _Sendable(case_id, tuple(ops))
            problems = lane.evaluate(sendable, root).problems
            if problems:
                self.known_regressions.setdefault(problems, case_id)


@dataclass(frozen=True)
class _Sendable:
    id: str
    ops: tuple[Mapping[str, Any], ...]

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(str(op.get("op")) for op in self.ops)


def _scratch_root() -> Path:
    """A fresh folder for the drawn cases' files, in memory (/dev/shm) where possible."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and shm.stat().st_mode & 0o002 else None
    return Path(tempfile.mkdtemp(prefix="snnconform-fuzz-", dir=base))


def run_fuzz(config: Config, impls: Sequence[Implementation], *, spec: Any, spec_version: int | None,
             reference: Reference, factory: SourceFactory, options: FuzzOptions,
             invariants: Sequence[str] = (), divergences: Sequence[Divergence] = (),
             stream: TextIO | None = sys.stderr) -> FuzzReport:
    """Fuzz ``impls`` until the time or case budget is spent; every finding is in the report.
    ``invariants`` are the spec's invariant IDs in order (they name disagreements)."""
    scratch = _scratch_root()
    fuzzer = _Fuzzer(config, impls, spec, spec_version, reference, factory, options, divergences,
                     stream, scratch, invariants)
    lanes: list[_Lane] = []
    try:
        lanes = [_Lane(fuzzer, index) for index in range(options.jobs)]
        threads = [threading.Thread(target=lane.start) for lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        fuzzer.learn_regressions(lanes[0])
        fuzzer._began = fuzzer._last_line = time.monotonic()
        threads = [threading.Thread(target=lane.run, name=f"fuzz-lane-{lane.index}") for lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        fuzzer.report.seconds = fuzzer.elapsed()
        if stream is not None and stream.isatty():
            stream.write("\n")
    finally:
        for lane in lanes:
            lane.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    for lane in lanes:
        for name, session in lane.sessions.items():
            if session.stop_problem:
                fuzzer.report.problems.append(f"{name}: testee {session.stop_problem}")
    return fuzzer.report


# ------------------------------------------------------------------------------ rendering


def render(report: FuzzReport) -> str:
    """The summary printed at the end of ``snnconform fuzz``."""
    figures = report.to_json()
    lines = [
        f"fuzz: {report.cases} cases in {figures['seconds']} s ({figures['cases_per_second']} cases/s, "
        f"{figures['executions_per_second']} answers/s) on {', '.join(report.implementations)}; "
        f"seed {report.seed}, {report.jobs} job(s)",
    ]
    if report.shrink_seconds:
        lines.append(f"shrinking took {report.shrink_seconds:.1f} s more")
    for finding in report.findings:
        where = f" -> {finding.regression}" if finding.regression else ""
        lines.append(f"FINDING ({finding.status}, seen {finding.occurrences}x, first in {finding.case_id})"
                     f"{where}")
        lines += [f"  {problem.implementation}: {finding.details.get(problem.implementation) or problem.describe()}"
                  for problem in finding.problems]
        if finding.shrunk_size is not None:
            lines.append(f"  shrunk from {finding.original_size} to {finding.shrunk_size} "
                         f"in {finding.shrink_checks} checks")
        if finding.note:
            lines.append(f"  {finding.note}")
        if finding.regression and finding.status in ("written", "known", "corpus"):
            lines.append(f"  rerun: snnconform run --case {finding.regression}")
    lines += [f"problem: {problem}" for problem in report.problems]
    lines += [f"note: {note}" for note in report.notes]
    lines.append("no finding" if report.passed else
                 f"{len(report.findings)} finding(s), {len(report.problems)} problem(s)")
    return "\n".join(lines)


def markdown(report: FuzzReport) -> list[str]:
    """The results document's Markdown section for the fuzz pass of a full run."""
    figures = report.to_json()
    lines = ["## Fuzz pass", "",
             f"{report.cases} cases (seed {report.seed}) on {', '.join(report.implementations)}: "
             f"{figures['cases_per_second']} cases/s, {figures['executions_per_second']} answers/s, "
             f"{len(report.findings)} finding(s)."]
    for finding in report.findings:
        lines.append(f"- {'; '.join(p.describe() for p in finding.problems)} "
                     f"(first in `{finding.case_id}`"
                     + (f", regression `{finding.regression}`" if finding.regression else "") + ")")
    return lines
