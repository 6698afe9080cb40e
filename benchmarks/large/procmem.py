"""Resident memory of a process and its descendants, read from ``/proc`` (Linux only).

A testee is started through ``/bin/sh -c`` (and sometimes a wrapper script), so the process
that holds the weights is a descendant of the one we spawned: every figure here is summed over
the whole tree. The wrappers are a few MB that do not change during a measurement, so they cancel
out of "peak minus baseline".
"""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (via each task's ``children`` file)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = list((PROC / str(current) / "task").iterdir())
        except OSError:
            continue  # it exited meanwhile
        for task in tasks:
            try:
                pending.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def status_bytes(pid: int, field: str) -> int:
    """One ``kB`` field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``) in bytes; 0 if gone."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def rss(pid: int) -> int:
    """Current resident set size of the tree, in bytes."""
    return sum(status_bytes(p, "VmRSS") for p in tree(pid))


def peak(pid: int) -> int:
    """Peak resident set size (``VmHWM``) of the tree since start or :func:`reset_peak`, bytes."""
    return sum(status_bytes(p, "VmHWM") for p in tree(pid))


def reset_peak(pid: int) -> bool:
    """Set every ``VmHWM`` of the tree back to its current ``VmRSS`` (Linux ≥ 4.0, writing ``5``
    to ``clear_refs``), so that start-up transients do not count. False when not permitted."""
    done = True
    for p in tree(pid):
        try:
            (PROC / str(p) / "clear_refs").write_text("5")
        except OSError:
            done = False
    return done
