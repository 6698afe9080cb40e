"""Large checkpoints: every implementation's load and save next to numpy and the machine's limits.

    python benchmarks/bench_large.py [--sizes 64M,512M,1536M] [--repeats 3] [--big-repeats 1]
        [--impl NAME ...] [--cases random:stored,...] [--tmp DIR] [--out benchmarks/results]
        [--timeout 600] [--baseline FILE | REV:FILE]

For each size of float64 weight data and each case (data kind x compression), the Python
reference writes the pair into a temporary folder (removed at the end, also on failure or
Ctrl-C). Then each implementation (numpy and the reference library through
``benchmarks/large/driver.py``, the testees of conformance.toml) loads it and loads+saves it,
one fresh process per repeat, timed by the testee (``"timing": true``) and with peak memory read
from /proc. The machine's limits are measured on the same bytes in the same run. Writes
``large.json`` (every repeat) and ``large.md`` (the tables) into ``--out``; see
docs/benchmarks.md. Run by ``make bench``, not by ``make test``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from large import data, limits, report, testee
from snnconform.core._config import Config, find_config, load_config

DEFAULT_IMPLS = ["numpy", "reference", "python", "rust", "julia", "mojo"]
DRIVER = Path(__file__).resolve().parent / "large" / "driver.py"
DEFAULT_CASES = "random:stored,random:deflate,zeros:deflate"
BIG = 2**30  # sizes from here on use --big-repeats


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="64M,512M,1536M", help="comma-separated: 64M, 1.5G, ...")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--big-repeats", type=int, default=1, help="repeats for sizes of 1 GiB and more")
    parser.add_argument("--impl", action="append", default=[],
                        help=f"only these (repeatable); default {' '.join(DEFAULT_IMPLS)}")
    parser.add_argument("--cases", default=DEFAULT_CASES, help="comma-separated DATA:COMPRESSION")
    parser.add_argument("--level", type=int, default=1, help="deflate level of the saves")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per measured process")
    parser.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: the system's)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite OUT/large.md from OUT/large.json (after changing the tables)")
    parser.add_argument("--baseline", default=None,
                        help="deflate-save baseline: a large.json, a bench_transfer.json, or REV:PATH "
                             "in git (default: the baseline of the previous OUT/large.json)")
    args = parser.parse_args(argv)
    try:
        args.sizes = [data.parse_size(s) for s in args.sizes.split(",")]
        args.cases = [tuple(c.split(":")) for c in args.cases.split(",")]
    except ValueError as exc:
        parser.error(str(exc))
    if any(len(c) != 2 or c[0] not in data.DATA_KINDS or c[1] not in data.COMPRESSIONS for c in args.cases):
        parser.error(f"--cases: DATA in {data.DATA_KINDS}, COMPRESSION in {data.COMPRESSIONS}")
    return args


def _commands(config: Config, names: list[str]) -> dict[str, str]:
    drivers = {name: f"{shlex.quote(sys.executable)} {shlex.quote(str(DRIVER))} {name}"
               for name in ("numpy", "reference")}
    testees = {impl.name: config.expand(impl.testee) for impl in config.implementations}
    unknown = [n for n in names if n not in drivers and n not in testees]
    if unknown:
        raise SystemExit(f"--impl: unknown {', '.join(unknown)}; known: {', '.join([*drivers, *testees])}")
    return {n: drivers.get(n) or testees[n] for n in names}


def _baseline(spec: str | None, previous: Path) -> dict[str, Any] | None:
    """Today's deflate-save MB/s per implementation, the yardstick of the 10x target."""
    if spec is None:
        return json.loads(previous.read_text()).get("baseline") if previous.exists() else None
    if Path(spec).exists():
        document = json.loads(Path(spec).read_text())
    else:
        document = json.loads(subprocess.run(["git", "show", spec], check=True, capture_output=True).stdout)
    if "baseline" in document:
        kept: dict[str, Any] | None = document["baseline"]
        return kept
    writers = document["benchmarks"]["writers"]
    megabytes = writers["checkpoints"]["large"]["weights_mb"]
    return {"source": f"benchmarks/bench_writers.py in {spec} ({megabytes:g} MB of random float64, "
                      "2 layers, medians of load+save minus load)",
            "mb_per_second": {name: figures["large"]["deflate"]["mb_per_second"]
                              for name, figures in writers["writers"].items() if "large" in figures}}


def _machine() -> dict[str, Any]:
    def first(path: str, key: str) -> str:
        with open(path) as handle:
            return next((line.split(":", 1)[1].strip() for line in handle if line.startswith(key)), "")
    try:
        from importlib.metadata import version
        isal: str | None = version("isal")
    except Exception:  # noqa: BLE001 - not installed
        isal = None
    return {"cores": os.cpu_count(), "memory_bytes": int(first("/proc/meminfo", "MemTotal").split()[0]) * 1024,
            "cpu_model": first("/proc/cpuinfo", "model name") or platform.processor(),
            "kernel": platform.release(), "python": platform.python_version(), "numpy": np.__version__,
            "isal": isal}


def _data_limits(layers: list[np.ndarray], nbytes: int, repeats: int) -> dict[str, Any]:
    figures = {"sha256": report.summary(limits.sha256(layers, repeats), nbytes)}
    for name, module in limits.deflaters().items():
        figures[f"{name}_crc32"] = report.summary(limits.crc32(layers, module, repeats), nbytes)
        seconds, stream = limits.compress(layers, module, 1, repeats)
        figures[f"{name}_compress"] = report.summary(seconds, nbytes)
        figures[f"{name}_compress"]["out_bytes"] = sum(len(piece) for piece in stream)
        del stream
    return figures


def _inflate_limits(npz: Path, nbytes: int, repeats: int) -> dict[str, Any]:
    """Each inflate on the deflate streams of the written file, as a loader meets them."""
    streams = limits.member_streams(npz)
    figures = {}
    for name, module in limits.deflaters().items():
        figures[f"{name}_decompress"] = report.summary(limits.decompress(streams, module, repeats), nbytes)
        figures[f"{name}_decompress_fresh"] = report.summary(limits.decompress_fresh(streams, module, repeats),
                                                             nbytes)
    return figures


def _progress(text: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def _generate(size: dict[str, Any], cases: list[tuple[str, str]], folder: Path, args: argparse.Namespace
              ) -> list[dict[str, Any]]:
    """Write each case's pair, measuring the data-dependent limits while the weights are at hand."""
    nbytes, repeats, made = size["bytes"], size["repeats"], []
    for kind in dict.fromkeys(k for k, _ in cases):
        layers = data.weights(nbytes, kind)
        _progress(f"{size['label']} {kind}: limits")
        size["limits"]["data"][kind] = _data_limits(layers, nbytes, repeats)
        if "raw_write_fsync" not in size["limits"]:
            size["limits"]["raw_write_fsync"] = report.summary(limits.raw_write_fsync(folder, layers, repeats), nbytes)
        for compression in (c for k, c in cases if k == kind):
            base = f"{kind}-{compression}/checkpoint"  # in the size's scratch folder
            _progress(f"{size['label']} {kind} {compression}: writing the pair")
            level = data.write_pair(folder / base, layers, compression, args.level)
            npz = folder / f"{base}.npz"
            if compression == "deflate":
                size["limits"]["data"][kind].update(_inflate_limits(npz, nbytes, repeats))
            made.append({"data": kind, "compression": compression, "generator_level": level,
                         "npz_bytes": npz.stat().st_size, "base": base,
                         "raw_read": report.summary(limits.raw_read(npz, repeats), npz.stat().st_size),
                         "fresh_read": report.summary(limits.fresh_read(npz, repeats), npz.stat().st_size),
                         "load": {}, "save": {}})
        del layers
    return made


def _too_big(name: str, size: dict[str, Any], done: list[dict[str, Any]]) -> dict[str, str] | None:
    """Refuse a run that the previous size says would exhaust memory (there is no swap to absorb
    it, and the kernel's OOM killer may pick another process than the testee)."""
    ratios = [case[op][name]["rss_ratio"] for case in (done[-1]["cases"] if done else [])
              for op in ("load", "save") if "rss_ratio" in case[op].get(name, {})]
    with open("/proc/meminfo") as handle:
        available = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:"))
    need = max(ratios, default=0.0) * size["bytes"]
    if need <= 0.8 * available:
        return None
    return {"error": "skipped", "message": f"would need about {need / 2**30:.1f} GiB (×{max(ratios):.2f} of the "
                                           f"data at the previous size), {available / 2**30:.1f} GiB available"}


def _measure(case: dict[str, Any], size: dict[str, Any], done: list[dict[str, Any]], commands: dict[str, str],
             root: Path, folder: Path, args: argparse.Namespace) -> None:
    """Every implementation's load and load+save of one case: ``repeats`` fresh processes each,
    taken in rounds whose order rotates, so that no implementation always runs right after the
    same one (on a VM, memory freed by the previous process is faster to fault in than new)."""
    pair = folder / case["base"]
    load = {"op": "load", "base": pair.name}
    out = folder / "out"
    save = {"op": "save", "out": str(out / "checkpoint"), "compression": case["compression"], "level": args.level}
    names = list(commands)
    figures: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in names}
    failures = {name: _too_big(name, size, done) for name in names}
    for round_ in range(size["repeats"]):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            if failures[name]:
                continue  # a timeout or a refusal repeats itself: recorded once
            try:
                figures[name].append(testee.measure(commands[name], root, pair.parent, load, save, args.timeout))
            except (testee.Failure, OSError, ValueError, KeyError) as exc:
                failures[name] = {"error": getattr(exc, "kind", "error"), "message": str(exc)[:400]}
            finally:
                shutil.rmtree(out, ignore_errors=True)
                limits.settle_disk()
    for name in names:
        for index, op in enumerate(("load", "save")):
            case[op][name] = report.impl_summary([f[index] for f in figures[name]], failures[name], size["bytes"])
        _progress(f"{size['label']} {case['data']} {case['compression']} {name}: "
                  f"load {report.cell(case['load'][name])}, save {report.cell(case['save'][name])}")


def _one_size(nbytes: int, result: dict[str, Any], commands: dict[str, str], root: Path, scratch: Path,
              args: argparse.Namespace) -> None:
    """Generate, then measure case by case, rewriting the results after each case."""
    done = list(result["sizes"])
    size: dict[str, Any] = {"label": data.label(nbytes), "bytes": nbytes, "shapes": data.shapes(nbytes),
                            "repeats": args.big_repeats if nbytes >= BIG else args.repeats,
                            "limits": {"data": {}}, "cases": []}
    result["sizes"].append(size)
    folder = scratch / str(nbytes)
    folder.mkdir()
    try:
        size["cases"] = _generate(size, args.cases, folder, args)
        for case in size["cases"]:
            _measure(case, size, done, commands, root, folder, args)
            _write(result, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _notes(args: argparse.Namespace) -> list[str]:
    notes = [f"Sizes of 1 GiB and more: median of {args.big_repeats} (--big-repeats); "
             f"smaller: median of {args.repeats}."]
    missing = [f"{k} {c}" for k in data.DATA_KINDS for c in data.COMPRESSIONS if (k, c) not in args.cases]
    if missing:
        notes.append(f"Not run: {', '.join(missing)} (a stored member moves the same bytes whatever "
                     "their values; `--cases` adds it).")
    notes.append("numpy.savez[_compressed] does not fsync and has no level (zipfile's default, 6); "
                 "the testees' saves fsync and use the level above.")
    return notes


def _missing(result: dict[str, Any], args: argparse.Namespace) -> list[str]:
    measured = {size["bytes"]: sum(len(case["save"]) == len(result["options"]["impls"]) for case in size["cases"])
                for size in result["sizes"]}
    return [f"{data.label(n)} ({measured.get(n, 0)} of {len(args.cases)} cases)" for n in args.sizes
            if measured.get(n, 0) < len(args.cases)]


def _write(result: dict[str, Any], args: argparse.Namespace) -> str:
    """Both files, with the targets of what is measured so far; called after every case, so that
    an interrupted run still leaves what it measured and says what is missing."""
    missing = _missing(result, args)
    notes = [f"Run incomplete, not measured: {', '.join(missing)}."] if missing else []
    snapshot = {**result, "notes": result["notes"] + notes,
                "targets": report.target_ratios(result, result["options"]["impls"])}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "large.json").write_text(json.dumps(snapshot, indent=1) + "\n")
    text = report.markdown(snapshot)
    (args.out / "large.md").write_text(text)
    return text


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: scratch and testees go


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.render:
        text = report.markdown(json.loads((args.out / "large.json").read_text()))
        (args.out / "large.md").write_text(text)
        print(text)
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    config = load_config(find_config())
    names = args.impl or DEFAULT_IMPLS
    commands = _commands(config, names)
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(), "command": ["benchmarks/bench_large.py", *(argv or sys.argv[1:])],
        "options": {"impls": names, "repeats": args.repeats, "big_repeats": args.big_repeats,
                    "level": args.level, "timeout": args.timeout, "layers": data.LAYERS,
                    "deflaters": list(limits.deflaters()), "cases": [":".join(c) for c in args.cases]},
        "baseline": _baseline(args.baseline, args.out / "large.json"), "notes": _notes(args),
        "sizes": [],
    }
    limits.pin_allocator()
    _progress("1 GiB memory copy")
    result["memory_copy"] = report.summary(limits.memory_copy(args.repeats), limits.COPY_BYTES)
    scratch = Path(tempfile.mkdtemp(prefix="snn-bench-large-", dir=args.tmp))
    try:
        for nbytes in args.sizes:
            _one_size(nbytes, result, commands, config.root, scratch, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(_write(result, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
