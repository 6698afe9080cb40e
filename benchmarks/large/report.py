"""Medians, the issue's target ratios and the Markdown tables (pure functions, no I/O).

MB/s is 10^6 bytes of float64 weight data per second (for the raw file read: bytes of the file).
"×RSS" is the peak extra resident memory of the measured process over its idle baseline,
divided by the weight data's size.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable, Iterable

# (key, title, threshold, at_least): the targets of issue 15 that one run can check.
TARGETS = (
    ("stored_load_vs_raw_read", "stored load ÷ raw read", 0.5, True),
    ("stored_load_vs_fresh_read", "(context) stored load ÷ read into a new buffer", 0.5, True),
    ("deflated_load_vs_inflate", "deflated load (random) ÷ its inflate alone", 0.8, True),
    ("deflated_load_vs_inflate_zeros", "deflated load (zeros) ÷ its inflate alone", 0.8, True),
    ("deflated_load_vs_reused_inflate", "(context) deflated load (random) ÷ its inflate into a reused buffer",
     0.8, True),
    ("deflated_load_vs_reused_inflate_zeros",
     "(context) deflated load (zeros) ÷ its inflate into a reused buffer", 0.8, True),
    ("stored_save_vs_raw_write", "stored save ÷ raw write+fsync", 0.5, True),
    ("deflate_save_vs_baseline", "deflate save (random) ÷ baseline", 10.0, True),
    ("load_rss", "load peak RSS ÷ data (worst case)", 1.25, False),
    ("save_rss", "save peak RSS ÷ data (worst case)", 1.25, False),
)
NUMPY = "numpy"
# The inflate each loader uses, the denominator of its "÷ its inflate alone" target (the issue:
# "the speed of the chosen inflate alone", which it measured as one `zlib.decompress` call: each
# member's stream inflated in one call into a new buffer of its size, as a load's matrix is new
# memory). Rust's zlib-rs implements zlib's algorithm and has no Python binding to time here, so
# zlib stands in for it.
INFLATE_OF = {"numpy": "zlib", "reference": "isal", "python": "isal", "rust": "zlib", "julia": "zlib",
              "mojo": "isal"}


def summary(seconds: list[float], nbytes: int) -> dict[str, Any]:
    """Median seconds and MB/s of ``nbytes`` over the repeats, which are kept."""
    median = statistics.median(seconds)
    return {"seconds": round(median, 5), "mb_per_second": round(nbytes / median / 1e6, 1),
            "repeats": [round(s, 5) for s in seconds]}


def impl_summary(figures: list[dict[str, Any]], failure: dict[str, str] | None,
                 data_bytes: int) -> dict[str, Any]:
    """One implementation on one case: medians of its repeats, or why there is no figure."""
    if not figures:
        return dict(failure or {"error": "error", "message": "no repeat ran"})
    out = summary([f["seconds"] for f in figures], data_bytes)
    out["rss_ratio"] = round(statistics.median(f["extra_rss_bytes"] for f in figures) / data_bytes, 3)
    out["timed_by"] = "wall" if any(f["timed_by"] == "wall" for f in figures) else "testee"
    out["repeats"] = figures
    if failure:
        out.update(failure)
    return out


def rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def cell(figure: dict[str, Any] | None, with_rss: bool = True) -> str:
    """``574 ×2.0`` (MB/s, peak RSS ÷ data); ``†`` marks a wall-clock time; failures by kind."""
    if not figure:
        return "–"
    if "mb_per_second" not in figure:
        return str(figure.get("error", "error"))
    text = rate(figure["mb_per_second"])
    if with_rss and "rss_ratio" in figure:
        text += f" ×{figure['rss_ratio']:.2f}"
    if figure.get("timed_by") == "wall":
        text += " †"
    if figure.get("error"):
        text += f" ({figure['error']})"
    return text


def _speed(figure: dict[str, Any] | None) -> float | None:
    return figure.get("mb_per_second") if figure else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def _ratio_for(key: str, impl: str, size: dict[str, Any], baseline: dict[str, float]) -> float | None:
    cases = {(c["data"], c["compression"]): c for c in size["cases"]}
    stored = cases.get(("random", "stored"))
    kind = "zeros" if key.endswith("_zeros") else "random"
    deflated = cases.get((kind, "deflate"))
    limits = size["limits"]
    if key == "stored_load_vs_raw_read" and stored:
        return _ratio(_speed(stored["load"].get(impl)), _speed(stored["raw_read"]))
    if key == "stored_load_vs_fresh_read" and stored:
        return _ratio(_speed(stored["load"].get(impl)), _speed(stored.get("fresh_read")))
    if key.startswith(("deflated_load_vs_inflate", "deflated_load_vs_reused_inflate")) and deflated:
        limit = "decompress" if "reused" in key else "decompress_fresh"
        inflate = limits["data"].get(kind, {}).get(f"{INFLATE_OF.get(impl, 'zlib')}_{limit}")
        return _ratio(_speed(deflated["load"].get(impl)), _speed(inflate))
    if key == "stored_save_vs_raw_write" and stored:
        return _ratio(_speed(stored["save"].get(impl)), _speed(limits.get("raw_write_fsync")))
    if key == "deflate_save_vs_baseline" and deflated:
        # the reference library is what the Python testee's baseline figure measured
        return _ratio(_speed(deflated["save"].get(impl)),
                      baseline.get(impl, baseline.get("python") if impl == "reference" else None))
    if key in ("load_rss", "save_rss"):
        op = key.removesuffix("_rss")
        found = [c[op][impl]["rss_ratio"] for c in size["cases"] if "rss_ratio" in c[op].get(impl, {})]
        return round(max(found), 2) if found else None
    return None


def target_ratios(result: dict[str, Any], impls: list[str]) -> list[dict[str, Any]]:
    """One row per target and size: each implementation's ratio (None: nothing to compare)."""
    baseline = (result.get("baseline") or {}).get("mb_per_second", {})
    rows = []
    for size in result["sizes"]:
        for key, title, threshold, at_least in TARGETS:
            ratios = {impl: _ratio_for(key, impl, size, baseline) for impl in impls}
            met = {impl: (r >= threshold if at_least else r <= threshold)
                   for impl, r in ratios.items() if r is not None}
            rows.append({"target": key, "title": title, "size": size["label"], "threshold": threshold,
                         "at_least": at_least, "ratios": ratios, "met": met})
    return rows


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _case_title(size: dict[str, Any], case: dict[str, Any]) -> str:
    kind = "stored" if case["compression"] == "stored" else "deflated"
    return f"{size['label']} {case['data']}, {kind} (n={size['repeats']})"


def _side_table(result: dict[str, Any], impls: list[str], op: str,
                limit_columns: list[tuple[str, Callable[[dict[str, Any], dict[str, Any]], Any]]]) -> list[str]:
    names = {"load": "`numpy.load`", "save": "`numpy.savez[_compressed]`"}
    header = [op] + [names[op] if i == NUMPY else i for i in impls] + [title for title, _ in limit_columns]
    rows = []
    for size in result["sizes"]:
        for case in size["cases"]:
            rows.append([_case_title(size, case)] + [cell(case[op].get(i)) for i in impls]
                        + [cell(pick(size, case), with_rss=False) for _, pick in limit_columns])
    return _table(header, rows)


def _deflate_limit(name: str, step: str) -> Callable[[dict[str, Any], dict[str, Any]], Any]:
    def pick(size: dict[str, Any], case: dict[str, Any]) -> Any:
        if case["compression"] != "deflate":
            return None
        return size["limits"]["data"].get(case["data"], {}).get(f"{name}_{step}")
    return pick


def _limits_table(result: dict[str, Any], deflaters: list[str]) -> list[str]:
    steps = [("sha256", "SHA-256")]
    for name in deflaters:
        steps += [(f"{name}_crc32", f"{name} CRC-32"), (f"{name}_compress", f"{name} L1 deflate"),
                  (f"{name}_decompress", f"{name} inflate"),
                  (f"{name}_decompress_fresh", f"{name} inflate → new buffer")]
    header = ["bytes"] + [title for _, title in steps] + ["raw write+fsync"]
    rows = []
    for size in result["sizes"]:
        for kind, figures in size["limits"]["data"].items():
            rows.append([f"{size['label']} {kind}"] + [cell(figures.get(key), False) for key, _ in steps]
                        + [cell(size["limits"].get("raw_write_fsync"), False)])
    return _table(header, rows)


def _targets_table(rows: list[dict[str, Any]], impls: list[str]) -> list[str]:
    body = []
    for row in rows:
        cells = []
        for impl in impls:
            ratio = row["ratios"].get(impl)
            cells.append("–" if ratio is None else f"{ratio:g} {'✓' if row['met'][impl] else '✗'}")
        sign = "≥" if row["at_least"] else "≤"
        body.append([f"{row['title']} {sign} {row['threshold']:g}", row["size"]] + cells)
    return _table(["target", "size"] + impls, body)


def markdown(result: dict[str, Any]) -> str:
    """The committed summary: load, save, the machine's limits and the targets, one run."""
    impls = result["options"]["impls"]
    deflaters = result["options"]["deflaters"]
    machine = result["machine"]
    lines = [
        "# Large checkpoints: load and save side by side (issue 15)", "",
        f"One run of `make bench` on {result['date']}: {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['memory_bytes'] / 2**30:.0f} GiB, Linux {machine['kernel']}; numpy {machine['numpy']}, "
        f"isal {machine['isal'] or 'not installed'}. Full figures: `large.json`; how to read them: "
        "`docs/benchmarks.md`.", "",
        "Cells: MB/s of float64 weight data (median of n fresh processes), then ×peak extra RSS ÷ "
        "data. † = wall time of the whole request (that testee has no `timing` capability), "
        "`timeout`/`error`/`skipped` = no figure (the reason is in large.json). Saves are `level` "
        f"{result['options']['level']}; a save's ×RSS is the peak of its load+save request over the "
        "idle process, so it includes the checkpoint being saved.", "",
        f"Memory copy of 1 GiB: {cell(result['memory_copy'], False)} MB/s.", "", "## Load", "",
    ]
    load_limits = [("raw read", lambda size, case: case["raw_read"]),
                   ("read → new buffer", lambda size, case: case.get("fresh_read"))]
    load_limits += [(f"{n} inflate", _deflate_limit(n, "decompress")) for n in deflaters]
    lines += _side_table(result, impls, "load", load_limits)
    save_limits = [("raw write+fsync", lambda size, case: size["limits"]["raw_write_fsync"])]
    save_limits += [(f"{n} L1 deflate", _deflate_limit(n, "compress")) for n in deflaters]
    lines += ["", "## Save", ""] + _side_table(result, impls, "save", save_limits)
    lines += ["", "## The machine's limits on the same bytes (MB/s)", "", *_limits_table(result, deflaters)]
    baseline = result.get("baseline")
    lines += ["", "## Targets (ratios of medians from this run)", ""]
    lines.append(f"Baseline for the deflate save: {baseline['source']}." if baseline
                 else "No baseline given: the deflate save row has no ratio.")
    lines += ["", *_targets_table(result["targets"], impls)]
    lines += ["", *(f"- {note}" for note in result.get("notes", []))]
    failures = list(_failures(result))
    if failures:
        lines += ["", "## Cells without a figure", "", *failures]
    return "\n".join(lines).rstrip() + "\n"


def _failures(result: dict[str, Any]) -> Iterable[str]:
    """Why each ``error``/``timeout``/``skipped`` cell has no figure (a load's reason stands for
    the save of the same process too)."""
    for size in result["sizes"]:
        for case in size["cases"]:
            for impl, figure in case["load"].items():
                if figure.get("error"):
                    message = figure.get("message", "").replace("|", "\\|")
                    yield f"- {_case_title(size, case)}, {impl}: {figure['error']}: {message}"
