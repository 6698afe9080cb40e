"""The reference library and numpy behind the testee protocol, for the benchmark only.

    python benchmarks/large/driver.py reference|numpy

Speaks the subset of docs/protocol.md that ``testee.measure`` uses (``hello``, ``run`` with
``load`` and ``save`` ops and ``"timing": true``, ``stop``), so that ``sc_neurocore.transfer``
called directly and ``numpy.load``/``numpy.savez`` are measured exactly like the testees: a
fresh process per repeat, peak memory from outside. No observable state is computed.

``numpy``: ``load`` reads every member of the ``.npz`` into an array; ``save`` is
``numpy.savez`` (stored) or ``numpy.savez_compressed`` (deflate, zipfile's default level 6;
numpy has no level argument and does not fsync).
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


def _reference() -> tuple[Callable[[Path], Any], Callable[[Any, Path, str, int], None]]:
    from sc_neurocore.transfer import load_checkpoint, save_checkpoint

    takes_level = "level" in inspect.signature(save_checkpoint).parameters

    def save(checkpoint: Any, out: Path, compression: str, level: int) -> None:
        extra = {"level": level} if takes_level else {}
        save_checkpoint(checkpoint, out, compression=compression, **extra)

    return load_checkpoint, save


def _numpy() -> tuple[Callable[[Path], Any], Callable[[Any, Path, str, int], None]]:
    def load(base: Path) -> list[np.ndarray]:
        with np.load(base.with_name(base.name + ".npz"), allow_pickle=False) as archive:
            return [archive[name] for name in archive.files]

    def save(arrays: list[np.ndarray], out: Path, compression: str, level: int) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        writer = np.savez if compression == "stored" else np.savez_compressed
        writer(out.with_name(out.name + ".npz"), *arrays)

    return load, save


def _execute(ops: list[dict[str, Any]], root: Path, library: tuple[Callable[..., Any], Callable[..., None]]
             ) -> list[dict[str, Any]]:
    load, save = library
    current: Any = None
    results: list[dict[str, Any]] = []
    for op in ops:
        began = time.perf_counter()
        try:
            if op["op"] == "load":
                current = load(root / op["base"])
            elif op["op"] == "save":
                save(current, Path(op["out"]), op.get("compression", "deflate"), op.get("level", 1))
            else:
                raise ValueError(f"unsupported op {op['op']!r}")
        except Exception as exc:  # noqa: BLE001 - reported to the benchmark, which records it
            results.append({"op": op["op"], "verdict": "reject",
                            "code": getattr(exc, "code", type(exc).__name__), "message": str(exc)})
            break
        result: dict[str, Any] = {"op": op["op"], "verdict": "accept", "seconds": time.perf_counter() - began}
        if op["op"] == "save":
            result["saved"] = {"npz": {"size": Path(op["out"] + ".npz").stat().st_size}}
        results.append(result)
    return results


def main(argv: list[str]) -> int:
    name = argv[0]
    library = {"reference": _reference, "numpy": _numpy}[name]()
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "hello":
            answer: dict[str, Any] = {"implementation": name, "capabilities": ["load", "save", "timing"]}
        elif request["cmd"] == "run":
            case = request["case"]
            answer = {"seq": request["seq"], "id": case["id"],
                      "results": _execute(case["ops"], Path(case["root"]), library)}
        else:
            print(json.dumps({"stopped": True}), flush=True)
            return 0
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
