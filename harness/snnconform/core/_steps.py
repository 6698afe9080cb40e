"""Shell steps of an implementation: probe (is the toolchain there?), setup, build, unit tests.

Each step runs with the repository root as working directory, in its own session so a timeout
kills everything it started, and its combined output goes to a log file whose tail is kept for
the report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

StepStatus = Literal["passed", "failed", "not_run", "not_configured"]


@dataclass(frozen=True)
class StepResult:
    status: StepStatus
    seconds: float = 0.0
    detail: str = ""
    output_tail: str = ""

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "seconds": round(self.seconds, 3)}


def _communicate(
    command: str, cwd: Path, timeout: float, merge_stderr: bool
) -> tuple[int | None, bytes, bytes]:
    """(exit status or None on timeout, stdout, stderr); a timeout kills the whole session."""
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err or b""
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        return None, out, err or b""


def run_step(command: str, cwd: Path, timeout: float, log: Path | None = None) -> StepResult:
    """Run ``command`` under /bin/sh; passed means exit status 0 within ``timeout``."""
    began = time.perf_counter()
    try:
        status, output, _ = _communicate(command, cwd, timeout, merge_stderr=True)
    except OSError as exc:
        return StepResult("failed", 0.0, f"cannot run `{command}`: {exc}")
    seconds = time.perf_counter() - began
    text = output.decode("utf-8", "replace")
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {command}\n{text}", "utf-8")
    tail = "\n".join(text.rstrip("\n").splitlines()[-25:])
    if status is None:
        return StepResult("failed", seconds, f"`{command}` timed out after {timeout:g} s", tail)
    if status != 0:
        return StepResult("failed", seconds, f"`{command}` exited with status {status}", tail)
    return StepResult("passed", seconds, "", tail)


def probe(command: str | None, cwd: Path, timeout: float = 60.0) -> tuple[bool, str]:
    """(available, first output line): no probe means the testee command is trusted to run."""
    if command is None:
        return True, ""
    result = run_step(command, cwd, timeout)
    first = result.output_tail.strip().splitlines()[:1]
    if result.status != "passed":
        return False, result.detail
    return True, first[0] if first else ""


def run_json(command: str, cwd: Path, timeout: float) -> tuple[dict[str, object] | None, str]:
    """Run a command whose standard output is one JSON object (a benchmark script)."""
    try:
        status, out, err = _communicate(command, cwd, timeout, merge_stderr=False)
    except OSError as exc:
        return None, f"cannot run `{command}`: {exc}"
    if status is None:
        return None, f"`{command}` timed out after {timeout:g} s"
    if status != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        return None, f"`{command}` exited with status {status}: {' | '.join(tail)}"
    try:
        value = json.loads(out)
    except ValueError as exc:
        return None, f"`{command}` did not print one JSON object ({exc})"
    if not isinstance(value, dict):
        return None, f"`{command}` printed JSON that is not an object"
    return value, ""
