"""Time every configured testee on the whole corpus, side by side; prints one JSON object.

    python benchmarks/bench_testees.py [--repeats 5] [--impl NAME ...]

For each implementation of conformance.toml, ``--repeats`` fresh processes each answer
``hello`` (start-up: from spawn to the answer) and then every case of fixtures/cases.jsonl in
order (throughput). Figures are medians over the repeats, with the ratio of each throughput to
the Python reference's, all from the same run on the same machine. Verdicts are not judged here
(``snnconform run`` does that): a testee that fails to answer is reported, not timed.
Smoke figures for comparing implementations on one machine, not a production benchmark claim.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from snnconform.core._config import find_config, load_config

REFERENCE = "python"


def _ask(process: subprocess.Popen[str], request: dict[str, Any]) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(request) + "\n")
    process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("the testee closed its output")
    answer: dict[str, Any] = json.loads(line)
    return answer


def _one_pass(command: str, root: Path, cases: list[dict[str, Any]], fixtures: Path) -> tuple[float, float]:
    """(start-up seconds, seconds for all cases) of one fresh testee process."""
    began = time.perf_counter()
    process = subprocess.Popen(command, shell=True, cwd=root, text=True, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        _ask(process, {"cmd": "hello", "protocol": 1})
        started = time.perf_counter()
        for seq, case in enumerate(cases):
            request = {"id": case["id"], "root": str(fixtures), "ops": case["ops"]}
            answer = _ask(process, {"cmd": "run", "seq": seq, "case": request})
            if answer.get("seq") != seq:
                raise RuntimeError(f"answer out of order at case {case['id']}")
        finished = time.perf_counter()
        _ask(process, {"cmd": "stop"})
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    return started - began, finished - started


def _measure(command: str, root: Path, cases: list[dict[str, Any]], fixtures: Path,
             repeats: int) -> dict[str, Any]:
    passes = [_one_pass(command, root, cases, fixtures) for _ in range(repeats)]
    seconds = statistics.median(total for _, total in passes)
    return {
        "repeats": repeats,
        "cases": len(cases),
        "startup_seconds": round(statistics.median(start for start, _ in passes), 4),
        "seconds": round(seconds, 4),
        "cases_per_second": round(len(cases) / seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--impl", action="append", default=[], help="only these (repeatable)")
    args = parser.parse_args(argv)
    config = load_config(find_config())
    cases = [json.loads(line) for line in (config.fixtures / "cases.jsonl").read_text().splitlines()]
    results: dict[str, Any] = {}
    for impl in config.implementations:
        if args.impl and impl.name not in args.impl:
            continue
        command = config.expand(impl.testee)
        try:
            results[impl.name] = _measure(command, config.root, cases, config.fixtures.resolve(),
                                          args.repeats)
        except (OSError, RuntimeError, ValueError) as exc:
            results[impl.name] = {"error": f"{type(exc).__name__}: {exc}"}
    reference = results.get(REFERENCE, {}).get("cases_per_second")
    for figures in results.values():
        if reference and "cases_per_second" in figures:
            figures["ratio_to_python"] = round(figures["cases_per_second"] / reference, 2)
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
