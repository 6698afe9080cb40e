"""Time the Python reference through its public API; prints one JSON object on stdout.

    python benchmarks/bench_python.py [--repeats 5] [--scale 1.0]

Two figures, each the median of ``--repeats`` timed batches (the checkpoint of the issue's
snippet: 64->32->10 LIF layers):
- ``checkpoint_roundtrip``: save_checkpoint then load_checkpoint of the pair;
- ``apply_transfer_config``: apply_transfer_config(freeze_until=0) on a loaded checkpoint.
These are smoke figures for regressions on one machine, not a production benchmark claim.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from sc_neurocore.transfer import (
    SNNCheckpoint,
    TransferConfig,
    apply_transfer_config,
    load_checkpoint,
    save_checkpoint,
)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the calls per batch")
    args = parser.parse_args(argv)
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

        result = {
            "checkpoint_roundtrip": _measure(roundtrip, max(1, int(50 * args.scale)), args.repeats),
            "apply_transfer_config": _measure(transfer, max(1, int(2000 * args.scale)), args.repeats),
        }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
