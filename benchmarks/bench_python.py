"""Time the Python reference through its public API; prints one JSON object on stdout.

    python benchmarks/bench_python.py [--repeats 5] [--scale 1.0] [--baseline-rev 19bca61]
        [--large 64,512] [--large-repeats 3]

Figures, each the median of ``--repeats`` timed batches (the checkpoint of the issue's snippet:
64->32->10 LIF layers):
- ``checkpoint_roundtrip``: save_checkpoint then load_checkpoint of the pair, on disk, durable;
- ``roundtrip_vs_baseline``: the same batch by the reference of ``--baseline-rev`` (its ``src``
  from ``git archive``) and by the working tree's, each in its own child process, batches
  alternating between the two so that both see the same disk state; both medians and their
  ratio (``ratio`` = current / baseline). Without that revision (no git, a shallow clone) it
  says why instead;
- ``apply_transfer_config``: apply_transfer_config(freeze_until=0) on a loaded checkpoint;
- ``json_scan``: the metadata document's checks on 50 MB documents: one of nested brackets
  (refused for its depth) and the depth scan of one of brackets and numbers.
With ``--large``, checkpoints of that many MiB of random float64 (two layers) are saved and
loaded, stored and deflated, each in a fresh process that reports its wall time and its peak
extra memory (VmHWM less VmRSS before the operation), next to numpy.savez / numpy.load and a
raw read of the same file. These are figures for one machine, not a production claim.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sc_neurocore.transfer import (
    SNNCheckpoint,
    TransferConfig,
    apply_transfer_config,
    load_checkpoint,
    save_checkpoint,
)
from sc_neurocore.transfer import _json


def _checkpoint() -> SNNCheckpoint:
    return SNNCheckpoint(
        weights=[np.ones((32, 64), dtype=np.float64), np.ones((10, 32), dtype=np.float64)],
        layer_names=["hidden", "output"],
        layer_sizes=[(64, 32), (32, 10)],
        neuron_types=["LIF", "LIF"],
        metadata={"task": "mnist"},
    )


def _measure(batch: Callable[[], None], calls: int, repeats: int) -> dict[str, float | int]:
    batch()  # warm-up: imports, caches, the first file creation
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(calls):
            batch()
        timings.append(time.perf_counter() - began)
    seconds = statistics.median(timings)
    return {"calls": calls, "seconds": round(seconds, 6),
            "calls_per_second": round(calls / seconds, 1) if seconds > 0 else 0.0}


def _json_scan(repeats: int) -> dict[str, float]:
    size = 50_000_000
    deep = b"[" * (size // 2) + b"]" * (size // 2)
    mixed = "[1," * (size // 6) + "1" + "]" * (size // 6)

    def judged() -> None:
        try:
            _json.decode_document(deep, "deep.json")
        except ValueError:
            pass

    figures = {}
    for name, run in (("deep_50mb_judged_seconds", judged),
                      ("numbers_50mb_depth_seconds", lambda: _json.lexical_depth(mixed))):
        timings = []
        for _ in range(repeats):
            began = time.perf_counter()
            run()
            timings.append(time.perf_counter() - began)
        figures[name] = round(statistics.median(timings), 3)
    return figures


# ----------------------------------------------------------------------------- versus a baseline

ROOT = Path(__file__).resolve().parent.parent


def _roundtrip_child(base: str) -> None:
    """Serve round-trip batches: reads a call count per line, answers the batch's seconds.
    The first line says which copy of the reference was imported (PYTHONPATH decides)."""
    import sc_neurocore.transfer

    print(sc_neurocore.transfer.__file__, flush=True)
    checkpoint = _checkpoint()
    for line in sys.stdin:
        began = time.perf_counter()
        for _ in range(int(line)):
            save_checkpoint(checkpoint, base)
            load_checkpoint(base)
        print(time.perf_counter() - began, flush=True)


def _baseline_source(rev: str, folder: Path) -> Path:
    """``rev``'s ``src`` extracted into ``folder``; raises with the reason when unavailable."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
    with tempfile.TemporaryFile() as tar:
        tar.write(archive.stdout)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as members:
            members.extractall(folder, filter="data")
    return folder / "src"


def _versus_baseline(rev: str, calls: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="snn-bench-baseline-") as folder:
        try:
            sources = {"baseline": _baseline_source(rev, Path(folder)), "current": ROOT / "src"}
        except (OSError, RuntimeError, tarfile.TarError) as exc:
            return {"revision": rev, "error": str(exc)}
        children = {}
        for name, source in sources.items():
            env = {**os.environ, "PYTHONPATH": str(source)}
            children[name] = subprocess.Popen(
                [sys.executable, __file__, "--roundtrip-child", str(Path(folder) / name)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            return _alternate(rev, children, sources, calls, repeats)
        finally:
            for child in children.values():
                child.communicate()


def _alternate(rev: str, children: dict[str, subprocess.Popen[str]], sources: dict[str, Path],
               calls: int, repeats: int) -> dict[str, Any]:
    def batch(name: str, count: int) -> float:
        child = children[name]
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(f"{count}\n")
        child.stdin.flush()
        return float(child.stdout.readline())

    for name, child in children.items():
        assert child.stdout is not None
        imported = Path(child.stdout.readline().strip())
        if not imported.is_relative_to(sources[name]):
            return {"revision": rev, "error": f"the {name} child imported {imported}, not {sources[name]}"}
        batch(name, 1)  # warm-up: imports, caches, the first files
    timings: dict[str, list[float]] = {name: [] for name in children}
    for repeat in range(repeats):
        order = list(children) if repeat % 2 == 0 else list(reversed(children))
        for name in order:
            timings[name].append(batch(name, calls))
    rates = {name: round(calls / statistics.median(seconds), 1) for name, seconds in timings.items()}
    return {"revision": rev, "calls": calls, "repeats": repeats,
            "baseline_calls_per_second": rates["baseline"], "current_calls_per_second": rates["current"],
            "ratio": round(rates["current"] / rates["baseline"], 2)}


# ----------------------------------------------------------------------------- large checkpoints


def _memory(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field + ":"))


def _child(operation: str, path: str, compression: str) -> None:
    """One operation in this fresh process; prints seconds and peak extra bytes."""
    data = np.load(path + ".source.npy", mmap_mode="r") if operation.startswith("save") else None
    weights = None
    if data is not None:
        half = data.shape[0] // 2
        weights = [np.array(data[:half]), np.array(data[half:])]  # in memory, not mapped
    before = _memory("VmRSS")
    began = time.perf_counter()
    if operation == "save":
        layers = weights or []
        checkpoint = SNNCheckpoint(weights=layers, layer_names=["a", "b"], layer_sizes=[
            (w.shape[1], w.shape[0]) for w in layers])
        extra = {"level": 1} if "level" in inspect.signature(save_checkpoint).parameters else {}
        save_checkpoint(checkpoint, path, compression=compression, **extra)
    elif operation == "savez":
        (np.savez if compression == "stored" else np.savez_compressed)(
            path + ".numpy.npz", layer_0=weights[0], layer_1=weights[1])  # type: ignore[index]
    elif operation == "load":
        load_checkpoint(path)
    elif operation == "numpy.load":
        with np.load(path + ".npz") as archive:
            [archive[name] for name in archive.files]
    elif operation == "read":
        with open(path + ".npz", "rb", buffering=0) as handle:
            handle.readinto(bytearray(os.fstat(handle.fileno()).st_size))
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "extra": _memory("VmHWM") - before}))


def _large(mib: int, repeats: int) -> dict[str, Any]:
    nbytes = mib << 20
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="snn-bench-large-", dir="/tmp") as folder:
        path = str(Path(folder) / "model")
        rows = nbytes // 8 // 4096
        np.save(path + ".source.npy", np.random.default_rng(0).standard_normal((rows, 4096)))
        for compression in ("stored", "deflate"):
            for operation in ("save", "savez", "load", "numpy.load", "read"):
                runs = []
                for _ in range(repeats):
                    out = subprocess.run([sys.executable, __file__, "--child", operation, path, compression],
                                         check=True, capture_output=True, text=True).stdout
                    runs.append(json.loads(out))
                seconds = statistics.median(run["seconds"] for run in runs)
                extra = statistics.median(run["extra"] for run in runs)
                figures[f"{compression} {operation}"] = {
                    "MB/s": round(nbytes / seconds / 1e6, 1), "peak_extra_x_data": round(extra / nbytes, 2)}
            os.remove(path + ".npz")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the calls per batch")
    parser.add_argument("--large", default="", help="comma-separated sizes in MiB, e.g. 64,512")
    parser.add_argument("--large-repeats", type=int, default=3, help="fresh processes per large figure")
    parser.add_argument("--baseline-rev", default="19bca61",
                        help="git revision whose reference the round trip is compared with")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--roundtrip-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    if args.roundtrip_child:
        _roundtrip_child(args.roundtrip_child)
        return 0
    with tempfile.TemporaryDirectory(prefix="snn-bench-") as folder:
        base = str(Path(folder) / "model_v1")
        checkpoint = _checkpoint()

        def roundtrip() -> None:
            save_checkpoint(checkpoint, base)
            load_checkpoint(base)

        save_checkpoint(checkpoint, base)
        loaded = load_checkpoint(base)
        config = TransferConfig(freeze_until=0, lr_backbone=0.0, lr_head=0.01)

        def transfer() -> None:
            apply_transfer_config(loaded, config)

        result: dict[str, Any] = {
            "checkpoint_roundtrip": _measure(roundtrip, max(1, int(50 * args.scale)), args.repeats),
            "roundtrip_vs_baseline": _versus_baseline(args.baseline_rev, max(1, int(50 * args.scale)),
                                                      2 * args.repeats + 1),
            "apply_transfer_config": _measure(transfer, max(1, int(2000 * args.scale)), args.repeats),
            "json_scan": _json_scan(max(1, args.repeats // 3)),
        }
    for mib in filter(None, args.large.split(",")):
        result[f"large_{mib}MiB"] = _large(int(mib), args.large_repeats)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
