"""Time every testee's writer side by side; prints one JSON object.

    python benchmarks/bench_writers.py [--repeats 5] [--impl NAME ...] [--large-mib 64]

Two checkpoints: the README's 2-layer example (64→32→10) and a large one of ``--large-mib`` MiB
of random float64 weights (two square layers). Each implementation with a ``save`` capability
loads the pair and saves it, stored and deflated, through the protocol, into a temporary folder;
a save's time is the median of (load + save) minus the median of the load alone, over
``--repeats`` runs in one testee process. ``numpy.savez`` / ``numpy.savez_compressed`` of the same
arrays and a raw write of the same bytes (with fsync, as the writers do) are timed in the same run
as yardsticks. Smoke figures for one machine, not a production benchmark claim.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sc_neurocore.transfer import SNNCheckpoint, save_checkpoint
from snnconform.core._config import find_config, load_config

COMPRESSIONS = ("stored", "deflate")


def _checkpoints(large_mib: int) -> dict[str, SNNCheckpoint]:
    rng = np.random.default_rng(20261201)
    side = int((large_mib * 2**20 / 8 / 2) ** 0.5)
    return {
        "small": SNNCheckpoint(weights=[rng.standard_normal((32, 64)), rng.standard_normal((10, 32))],
                               layer_names=["hidden", "output"], layer_sizes=[(64, 32), (32, 10)],
                               neuron_types=["LIF", "LIF"], metadata={"task": "mnist"}),
        "large": SNNCheckpoint(weights=[rng.standard_normal((side, side)) for _ in range(2)],
                               layer_names=["a", "b"], layer_sizes=[(side, side)] * 2),
    }


class _Testee:
    def __init__(self, command: str, root: Path) -> None:
        self.process = subprocess.Popen(command, shell=True, cwd=root, text=True, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.seq = 0
        self.hello = self.ask({"cmd": "hello", "protocol": 1})

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the testee closed its output")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, root: Path, ops: list[dict[str, Any]]) -> float:
        self.seq += 1
        began = time.perf_counter()
        answer = self.ask({"cmd": "run", "seq": self.seq, "case": {"id": "bench", "root": str(root), "ops": ops}})
        seconds = time.perf_counter() - began
        if [r.get("verdict") for r in answer.get("results", [])] != ["accept"] * len(ops):
            raise RuntimeError(f"not accepted: {json.dumps(answer)[:300]}")
        return seconds

    def close(self) -> None:
        try:
            self.ask({"cmd": "stop"})
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()


def _median(repeats: int, action: Callable[[], float]) -> float:
    return statistics.median(action() for _ in range(repeats))


def _writer_figures(testee: _Testee, folder: Path, megabytes: float, repeats: int) -> dict[str, Any]:
    load = [{"op": "load", "base": "source"}]
    loading = _median(repeats, lambda: testee.run(folder, load))
    figures: dict[str, Any] = {"load_seconds": round(loading, 5)}
    for compression in COMPRESSIONS:
        ops = load + [{"op": "save", "out": str(folder / "out" / compression), "compression": compression}]
        seconds = max(_median(repeats, lambda: testee.run(folder, ops)) - loading, 1e-9)
        figures[compression] = {"seconds": round(seconds, 5), "mb_per_second": round(megabytes / seconds, 1)}
    return figures


def _yardsticks(checkpoint: SNNCheckpoint, folder: Path, megabytes: float, repeats: int) -> dict[str, Any]:
    arrays = {f"layer_{i}": w for i, w in enumerate(checkpoint.weights)}
    data = b"".join(np.ascontiguousarray(w).tobytes() for w in checkpoint.weights)

    def timed(action: Callable[[], None]) -> float:
        began = time.perf_counter()
        action()
        return time.perf_counter() - began

    def raw_write() -> None:
        with open(folder / "raw.bin", "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    out: dict[str, Any] = {}
    for name, action in (("numpy.savez", lambda: np.savez(folder / "n.npz", **arrays)),
                         ("numpy.savez_compressed", lambda: np.savez_compressed(folder / "c.npz", **arrays)),
                         ("raw_write_fsync", raw_write)):
        seconds = _median(repeats, lambda: timed(action))
        out[name] = {"seconds": round(seconds, 5), "mb_per_second": round(megabytes / seconds, 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large-mib", type=int, default=64)
    parser.add_argument("--impl", action="append", default=[], help="only these (repeatable)")
    args = parser.parse_args(argv)
    config = load_config(find_config())
    result: dict[str, Any] = {"repeats": args.repeats, "checkpoints": {}, "yardsticks": {}, "writers": {}}
    with tempfile.TemporaryDirectory(prefix="snnconform-bench-writers-") as scratch:
        folders: dict[str, Path] = {}
        for label, checkpoint in _checkpoints(args.large_mib).items():
            folders[label] = Path(scratch) / label
            save_checkpoint(checkpoint, folders[label] / "source", compression="stored")
            megabytes = sum(w.nbytes for w in checkpoint.weights) / 1e6
            result["checkpoints"][label] = {"layers": checkpoint.n_layers, "weights_mb": round(megabytes, 3)}
            result["yardsticks"][label] = _yardsticks(checkpoint, folders[label], megabytes, args.repeats)
        for impl in config.implementations:
            if args.impl and impl.name not in args.impl:
                continue
            try:
                testee = _Testee(config.expand(impl.testee), config.root)
            except (OSError, RuntimeError, ValueError) as exc:
                result["writers"][impl.name] = {"error": f"did not start: {exc}"}
                continue
            try:
                if "save" not in testee.hello.get("capabilities", []):
                    result["writers"][impl.name] = {"error": "no save capability"}
                    continue
                result["writers"][impl.name] = {
                    label: _writer_figures(testee, folders[label],
                                           result["checkpoints"][label]["weights_mb"], args.repeats)
                    for label in folders
                }
            except (OSError, RuntimeError, ValueError) as exc:
                result["writers"][impl.name] = {"error": str(exc)[:300]}
            finally:
                testee.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
