"""Progress on stderr: a bar on a terminal, plain periodic lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

BAR_WIDTH = 30
PLAIN_EVERY = 10.0  # seconds between plain progress lines


class ProgressBar:
    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._lock = threading.Lock()
        self._began = time.monotonic()
        self._last_plain = self._began
        self._current = ""

    def __call__(self, name: str) -> None:
        with self._lock:
            self.done += 1
            self._current = name
            if not self.enabled:
                return
            now = time.monotonic()
            if self.tty:
                self._draw(now)
            elif now - self._last_plain >= PLAIN_EVERY or self.done == self.total:
                self._last_plain = now
                self.stream.write(f"snnconform: {self.done}/{self.total} ({self._current}) "
                                  f"{now - self._began:.0f} s\n")
                self.stream.flush()

    def _draw(self, now: float) -> None:
        filled = BAR_WIDTH * min(self.done, self.total) // self.total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {self._current:<12.12} "
                          f"{now - self._began:5.0f} s")
        self.stream.flush()

    def drop(self, count: int) -> None:
        """Forget ``count`` steps that will not happen (an implementation that is not run)."""
        with self._lock:
            self.total = max(self.total - count, 1)

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A line that must not be overwritten by the bar."""
        if not self.enabled:
            return
        with self._lock:
            prefix = "\r\x1b[K" if self.tty else ""
            self.stream.write(f"{prefix}{text}\n")
            self.stream.flush()
