"""A testee subprocess: JSON Lines over pipes, with timeouts and a stderr tail.

Reader threads move stdout lines into a queue and keep the last stderr lines, so a read can
time out without blocking and a crash report can say what the testee last complained about.
The process runs in its own session so that killing it also kills a shell wrapper's children.
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Mapping

# A protocol line is small; anything longer is garbage, not a reason to exhaust memory.
MAX_LINE = 64 * 1024 * 1024
STDERR_LINES = 30


class TesteeExited(Exception):
    """The testee closed standard output (it exited or is about to)."""


class TesteeTimeout(Exception):
    """No answer within the time allowed."""


class LineTooLong(Exception):
    """The testee wrote more than MAX_LINE bytes without a newline."""


_EOF = object()
_TOO_LONG = object()


class TesteeProcess:
    def __init__(self, command: str, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.command = command
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._lines: queue.Queue[object] = queue.Queue()
        self._proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self._proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # ----------------------------------------------------------------------------- readers

    def _read_stdout(self, stream: IO[bytes]) -> None:
        try:
            while True:
                line = stream.readline(MAX_LINE + 1)
                if not line:
                    break
                if len(line) > MAX_LINE:
                    self._lines.put(_TOO_LONG)
                    break
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put(_EOF)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        try:
            for raw in stream:
                text = raw.decode("utf-8", "replace").rstrip("\n")
                self._stderr.append(text if len(text) <= 500 else text[:500] + "…")
        except (OSError, ValueError):
            pass

    # ------------------------------------------------------------------------------ public

    @property
    def pid(self) -> int:
        return self._proc.pid

    def send(self, line: bytes) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(line)
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise TesteeExited("standard input is closed") from None

    def receive(self, timeout: float) -> bytes:
        """The next line from stdout (with its newline, if any)."""
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TesteeTimeout(f"no answer within {timeout:g} s") from None
        if item is _EOF:
            self._lines.put(_EOF)  # every later read sees the end too
            raise TesteeExited("standard output closed")
        if item is _TOO_LONG:
            raise LineTooLong(f"a line longer than {MAX_LINE} bytes")
        assert isinstance(item, bytes)
        return item

    def exit_status(self, wait: float = 0.0) -> int | None:
        """The exit status, waiting up to ``wait`` seconds; None while it runs."""
        try:
            return self._proc.wait(timeout=wait) if wait > 0 else self._proc.poll()
        except subprocess.TimeoutExpired:
            return None

    def stderr_tail(self, wait: float = 0.2) -> str:
        """The last lines the testee wrote to stderr (after letting the reader catch up)."""
        if self._proc.poll() is not None:
            self._threads[1].join(timeout=wait)
        return "\n".join(self._stderr)

    def close_stdin(self) -> None:
        stdin = self._proc.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except OSError:
                pass

    def kill(self) -> None:
        """Kill the whole process group and reap it."""
        # The group may outlive its leader (a shell's children), so signal it regardless.
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            if self._proc.poll() is None:
                self._proc.kill()
        self.close_stdin()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for thread in self._threads:
            thread.join(timeout=1)
