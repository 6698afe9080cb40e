"""One conversation with one testee: hello, a run per case, stop; restart after a failure.

Every way a testee can fail is recorded as an :class:`Outcome` of its own kind (crashed,
timed_out, malformed, errored, skipped) with the testee's stderr tail; only ``answered``
outcomes carry results for the diff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Protocol

from snnconform.core._process import LineTooLong, TesteeExited, TesteeProcess, TesteeTimeout
from snnconform.core._protocol import (
    PROTOCOL_VERSION,
    Errored,
    Hello,
    MessageKind,
    ProtocolError,
    Results,
    Run,
    SchemaValidator,
    Skipped,
    Started,
    Stop,
    decode_line,
    encode,
    encode_run,
    parse_run_answer,
    parse_started,
    parse_stopped,
)

OutcomeKind = Literal[
    "answered", "skipped", "errored", "crashed", "timed_out", "malformed", "not_run"
]


class Sendable(Protocol):
    """What a run request needs of a case: a corpus :class:`~snnconform.core._cases.Case`
    or a ``snnconform check`` input."""

    @property
    def id(self) -> str: ...

    @property
    def ops(self) -> tuple[Mapping[str, Any], ...]: ...

    @property
    def operations(self) -> frozenset[str]: ...


# A testee that cannot be restarted this many times in a row is given up for the run.
MAX_START_FAILURES = 3


@dataclass(frozen=True)
class Outcome:
    """What happened when one case was sent to one testee."""

    kind: OutcomeKind
    detail: str = ""
    answer: Results | None = None
    stderr: str = ""
    seconds: float = 0.0


class StartError(Exception):
    """The testee could not be started or did not complete a valid hello."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class TesteeSession:
    """Owns at most one live testee process for one implementation."""

    def __init__(
        self,
        command: str,
        cwd: Path,
        *,
        spec_version: int | None,
        timeout: float,
        startup_timeout: float,
        validator: SchemaValidator | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.spec_version = spec_version
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self.validator = validator
        self.env = env
        self.started: Started | None = None
        self.startup_seconds: float | None = None
        self.start_failures = 0
        self.stop_problem: str | None = None
        self._process: TesteeProcess | None = None
        self._seq = 0
        self._pending: tuple[int, str, float] | None = None  # (seq, case id, sent at)

    # ------------------------------------------------------------------------- life cycle

    def _check(self, message: Mapping[str, object], kind: MessageKind) -> None:
        if self.validator is not None:
            error = self.validator.error(message, kind)
            if error is not None:
                raise ProtocolError(f"schema: {error}")

    def start(self) -> Started:
        """Start the testee and shake hands; raises StartError with the stderr tail."""
        began = time.perf_counter()
        try:
            process = TesteeProcess(self.command, self.cwd, self.env)
        except OSError as exc:
            self.start_failures += 1
            raise StartError(f"cannot start `{self.command}`: {exc}") from None
        try:
            hello = Hello().to_json()
            self._check(hello, "hello_request")
            process.send(encode(hello))
            obj = decode_line(process.receive(self.startup_timeout))
            self._check(obj, "hello_answer")
            started = parse_started(obj)
        except (TesteeExited, TesteeTimeout, LineTooLong, ProtocolError) as exc:
            process.kill()
            self.start_failures += 1
            status = process.exit_status()
            how = f"exited with status {status}" if isinstance(exc, TesteeExited) else str(exc)
            raise StartError(f"testee did not complete hello: {how}", process.stderr_tail()) from None
        if started.protocol != PROTOCOL_VERSION or (
            self.spec_version is not None and started.spec_version != self.spec_version
        ):
            process.kill()
            self.start_failures += 1
            raise StartError(
                f"incompatible testee: speaks protocol {started.protocol} and spec_version "
                f"{started.spec_version}; the harness needs protocol {PROTOCOL_VERSION} and "
                f"spec_version {self.spec_version}"
            )
        self._process = process
        self.started = started
        self.start_failures = 0
        if self.startup_seconds is None:
            self.startup_seconds = time.perf_counter() - began
        return started

    def _discard(self) -> str:
        """Kill the process after a failure; returns its stderr tail."""
        process, self._process = self._process, None
        if process is None:
            return ""
        process.kill()
        return process.stderr_tail()

    def stop(self) -> None:
        """Ask the testee to stop; a testee that does not exit 0 is noted in stop_problem."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            request = Stop().to_json()
            self._check(request, "stop_request")
            process.send(encode(request))
            obj = decode_line(process.receive(self.timeout))
            self._check(obj, "stop_answer")
            parse_stopped(obj)
            status = process.exit_status(wait=self.timeout)
            if status != 0:
                self.stop_problem = (
                    "did not exit within the timeout after stop"
                    if status is None
                    else f"exited with status {status} after stop (must be 0)"
                )
        except (TesteeExited, TesteeTimeout, LineTooLong, ProtocolError) as exc:
            self.stop_problem = f"bad answer to stop: {exc}"
        finally:
            process.kill()

    # ------------------------------------------------------------------------------- cases

    @property
    def waiting(self) -> bool:
        """A case was submitted and its answer not collected yet."""
        return self._pending is not None

    def run_case(self, case: Sendable, root: Path) -> Outcome:
        """Send one case and wait for its answer (or its failure)."""
        early = self.submit(case, root)
        return early if early is not None else self.collect()

    def submit(self, case: Sendable, root: Path, encoded: bytes | None = None) -> Outcome | None:
        """Send one case without waiting; :meth:`collect` then waits for the answer.

        Splitting the two lets a caller send one case to several testees before waiting for
        any of them (``snnconform fuzz``), and ``encoded`` (the request's ``case`` object from
        :func:`~snnconform.core._protocol.encode_case`) spares encoding it once per testee.
        Returns the outcome at once when nothing was sent (the testee could not be
        restarted, or lacks an operation of the case).
        """
        began = time.perf_counter()
        if self._process is None:
            try:
                self.start()
            except StartError as exc:
                return Outcome("crashed", f"could not (re)start the testee: {exc}", stderr=exc.stderr)
        assert self._process is not None and self.started is not None
        missing = case.operations - self.started.capabilities
        if missing:
            return Outcome("skipped", f"testee lacks operation(s) {', '.join(sorted(missing))}")
        self._seq += 1
        if encoded is None or self.validator is not None:
            request = Run(self._seq, case.id, str(root), case.ops).to_json()
            self._check(request, "run_request")
            line = encode(request)
        else:
            line = encode_run(self._seq, encoded)
        self._pending = (self._seq, case.id, began)
        try:
            self._process.send(line)
        except TesteeExited:
            pass  # collect() reads the end of the output and reports the crash
        return None

    def collect(self) -> Outcome:
        """The answer to the case :meth:`submit` sent (exactly once per submitted case)."""
        assert self._process is not None and self._pending is not None
        (seq, case_id, began), self._pending = self._pending, None
        try:
            line = self._process.receive(self.timeout)
        except TesteeTimeout as exc:
            return Outcome("timed_out", str(exc), stderr=self._discard(), seconds=self.timeout)
        except TesteeExited:
            status = self._process.exit_status(wait=1.0)
            return Outcome(
                "crashed",
                f"testee exited with status {status} before answering",
                stderr=self._discard(),
                seconds=time.perf_counter() - began,
            )
        except LineTooLong as exc:
            return Outcome("malformed", str(exc), stderr=self._discard())
        seconds = time.perf_counter() - began
        try:
            obj = decode_line(line)
            self._check(obj, "run_answer")
            answer = parse_run_answer(obj)
            if answer.seq != seq:
                raise ProtocolError(
                    f"answered seq {answer.seq} (case {answer.case_id!r}) to request seq {seq}: "
                    "out of order"
                )
            if answer.case_id != case_id:
                raise ProtocolError(f"answered for case {answer.case_id!r}, not {case_id!r}")
        except ProtocolError as exc:
            # The stream can no longer be trusted to line up with requests: start afresh.
            return Outcome("malformed", str(exc), stderr=self._discard(), seconds=seconds)
        if isinstance(answer, Skipped):
            return Outcome("skipped", f"testee skipped it: {answer.reason}", seconds=seconds)
        if isinstance(answer, Errored):
            detail = f"testee errored: {answer.message}"
            if answer.context is not None:
                detail += f" (context: {str(answer.context)[:500]})"
            return Outcome("errored", detail, stderr=self._process.stderr_tail(0), seconds=seconds)
        return Outcome("answered", answer=answer, seconds=seconds)
