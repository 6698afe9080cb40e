"""One measured testee process per repeat: ``hello``, a timed load, a timed load+save, stop.

A fresh process per repeat, so that its ``VmHWM`` (the kernel's peak resident set size) belongs
to that measurement. The peak is reset after ``hello`` (start-up transients do not count) and
the idle resident size at that point is the baseline; each request's figure is the peak during
that request (reset again before the second) minus the baseline. A process that does not answer
within the deadline is killed (its whole process group) and recorded as timed out, never
waited for.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from . import procmem


class Failure(Exception):
    """A measurement that produced no figure: ``kind`` is ``"timeout"`` or ``"error"``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Process:
    """A testee speaking docs/protocol.md, in its own process group, with a hard deadline."""

    def __init__(self, command: str, cwd: Path, deadline: float) -> None:
        self.deadline = deadline
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self.popen = subprocess.Popen(command, shell=True, cwd=cwd, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self.stderr,
                                      start_new_session=True)
        self.pending = b""

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        try:
            self.popen.stdin.write(json.dumps(request).encode() + b"\n")
            self.popen.stdin.flush()
        except BrokenPipeError:
            raise Failure("error", f"the testee exited: {self.stderr_tail()}") from None
        fd = self.popen.stdout.fileno()
        while b"\n" not in self.pending:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise Failure("timeout", f"no answer to {request['cmd']} before the case timeout")
            if select.select([fd], [], [], remaining)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise Failure("error", f"the testee closed its output: {self.stderr_tail()}")
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace").strip()[-300:]

    def close(self) -> None:
        try:
            if self.popen.poll() is None:
                assert self.popen.stdin is not None
                self.popen.stdin.write(b'{"cmd": "stop"}\n')
                self.popen.stdin.close()
                self.popen.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            self.kill()
            self.stderr.close()

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)  # our own session: the testee's whole tree
        self.popen.wait()


def _accepted(answer: dict[str, Any], ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = answer.get("results", [])
    if len(results) != len(ops) or any(r.get("verdict") != "accept" for r in results):
        raise Failure("error", f"not accepted: {json.dumps(answer)[:300]}")
    return results


def measure(command: str, cwd: Path, root: Path, load: dict[str, Any], save: dict[str, Any] | None,
            timeout: float) -> list[dict[str, Any]]:
    """Figures of ``[load]`` then (with ``save``) of the save in ``[load, save]``, one process.

    With the ``timing`` capability each figure is the op's own ``seconds``. Without it, the
    request's wall time (for the save: minus the load-only request's), marked ``"timed_by":
    "wall"``. Both memory figures are over the idle baseline, so the save's includes the
    checkpoint it holds while saving.
    """
    deadline = time.monotonic() + timeout
    figures: list[dict[str, Any]] = []
    with Process(command, cwd, deadline) as process:
        hello = process.ask({"cmd": "hello", "protocol": 1})
        timed = "timing" in hello.get("capabilities", [])
        procmem.reset_peak(process.pid)
        baseline = procmem.rss(process.pid)
        for seq, ops in enumerate([[load], [load, save]] if save else [[load]]):
            case = {"id": "bench-large", "root": str(root), "ops": ops}
            procmem.reset_peak(process.pid)
            began = time.perf_counter()
            answer = process.ask({"cmd": "run", "seq": seq, "timing": True, "case": case})
            wall = time.perf_counter() - began
            result = _accepted(answer, ops)[-1]
            own = timed and "seconds" in result
            figure = {"seconds": result["seconds"] if own else wall - sum(f["wall_seconds"] for f in figures),
                      "wall_seconds": wall, "timed_by": "testee" if own else "wall",
                      "extra_rss_bytes": procmem.peak(process.pid) - baseline,
                      "runtime": hello.get("runtime", "")}
            if "saved" in result:
                figure["out_bytes"] = result["saved"]["npz"]["size"]
            figures.append(figure)
    return figures
