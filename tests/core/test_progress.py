"""Progress output: a redrawn bar on a terminal, plain periodic lines in a log."""

from __future__ import annotations

import io

from snnconform.core._progress import ProgressBar


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal():
    stream = FakeTty()
    bar = ProgressBar(4, stream)
    bar("python")
    bar("python")
    bar.note("rust: not available")
    bar.close()
    text = stream.getvalue()
    assert "\r[###############---------------] 2/4 python" in text
    assert "\r\x1b[Krust: not available\n" in text and text.endswith("\n")


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(3, stream)
    bar.drop(1)
    bar("python")
    bar("python")  # the last step always prints a line
    assert stream.getvalue().startswith("snnconform: 2/2 (python)")
    assert "\r" not in stream.getvalue()


def test_quiet_prints_nothing():
    stream = FakeTty()
    bar = ProgressBar(1, stream, enabled=False)
    bar("python")
    bar.note("x")
    bar.close()
    assert stream.getvalue() == ""
