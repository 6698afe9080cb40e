"""The pure parts of benchmarks/bench_large.py: medians, ratios, tables, sizes, and the /proc
memory reader and testee driver on real (tiny) child processes. No timed assertions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from large import data, limits, procmem, report, testee  # noqa: E402

MIB = 2**20


def test_summary_is_the_median_and_keeps_every_repeat():
    figure = report.summary([3.0, 1.0, 2.0], 4_000_000)
    assert figure == {"seconds": 2.0, "mb_per_second": 2.0, "repeats": [3.0, 1.0, 2.0]}


def test_impl_summary_medians_flags_wall_time_and_keeps_failures():
    figures = [{"seconds": s, "extra_rss_bytes": r, "timed_by": t}
               for s, r, t in ((1.0, 100, "testee"), (4.0, 300, "wall"), (2.0, 200, "testee"))]
    out = report.impl_summary(figures, None, 100)
    assert (out["seconds"], out["rss_ratio"], out["timed_by"], out["mb_per_second"]) == (2.0, 2.0, "wall", 0.0)
    assert out["repeats"] == figures
    partial = report.impl_summary(figures[:1], {"error": "timeout", "message": "m"}, 100)
    assert partial["error"] == "timeout" and partial["seconds"] == 1.0
    assert report.impl_summary([], {"error": "timeout", "message": "m"}, 100) == {"error": "timeout", "message": "m"}


@pytest.mark.parametrize("figure, text", [
    ({"mb_per_second": 574.4, "rss_ratio": 2.0, "timed_by": "testee"}, "574 ×2.00"),
    ({"mb_per_second": 12.34, "rss_ratio": 3.1, "timed_by": "wall"}, "12.3 ×3.10 †"),
    ({"mb_per_second": 1234.0}, "1,234"),
    ({"error": "timeout", "message": "no answer"}, "timeout"),
    (None, "–"),
])
def test_cell(figure, text):
    assert report.cell(figure) == text


def _fake_result() -> dict:
    def impl(mbps: float, rss: float) -> dict:
        return {"mb_per_second": mbps, "rss_ratio": rss, "timed_by": "testee"}

    limit = {"mb_per_second": 1000.0}
    return {
        "date": "2026-12-02 03:30 UTC", "baseline": {"source": "an older run", "mb_per_second": {"rust": 10.0}},
        "machine": {"cpu_model": "CPU", "cores": 2, "memory_bytes": 2**34, "kernel": "6.1", "numpy": "2",
                    "isal": None},
        "options": {"impls": ["numpy", "rust"], "level": 1, "deflaters": ["zlib"]},
        "memory_copy": {"mb_per_second": 5000.0}, "notes": ["a note"],
        "sizes": [{"label": "64 MiB", "repeats": 3, "limits": {
            "raw_write_fsync": {"mb_per_second": 800.0},
            "data": {"random": {"sha256": limit, "zlib_crc32": limit, "zlib_compress": {"mb_per_second": 20.0},
                                "zlib_decompress": {"mb_per_second": 200.0},
                                "zlib_decompress_fresh": {"mb_per_second": 125.0},
                                "isal_decompress": {"mb_per_second": 250.0},
                                "isal_decompress_fresh": {"mb_per_second": 125.0}}}},
            "cases": [
                {"data": "random", "compression": "stored", "raw_read": {"mb_per_second": 2000.0},
                 "fresh_read": {"mb_per_second": 1000.0},
                 "load": {"numpy": impl(800.0, 1.0), "rust": impl(1200.0, 1.1)},
                 "save": {"numpy": impl(500.0, 1.0), "rust": {"error": "timeout", "message": "m"}}},
                {"data": "random", "compression": "deflate", "raw_read": {"mb_per_second": 2000.0},
                 "load": {"numpy": impl(110.0, 1.0), "rust": impl(100.0, 1.5)},
                 "save": {"numpy": impl(15.0, 2.0), "rust": impl(150.0, 1.2)}},
            ]}],
    }


def test_target_ratios():
    result = _fake_result()
    rows = {row["target"]: row for row in report.target_ratios(result, ["numpy", "rust"])}
    assert rows["stored_load_vs_raw_read"]["ratios"] == {"numpy": 0.4, "rust": 0.6}
    assert rows["stored_load_vs_raw_read"]["met"] == {"numpy": False, "rust": True}
    assert rows["stored_load_vs_fresh_read"]["ratios"] == {"numpy": 0.8, "rust": 1.2}
    assert rows["deflated_load_vs_inflate"]["ratios"] == {"numpy": 0.88, "rust": 0.8}
    assert rows["stored_save_vs_raw_write"]["ratios"] == {"numpy": 0.62, "rust": None}
    assert rows["stored_save_vs_raw_write"]["met"] == {"numpy": True}
    assert rows["deflate_save_vs_baseline"]["ratios"] == {"numpy": None, "rust": 15.0}
    assert rows["load_rss"]["ratios"] == {"numpy": 1.0, "rust": 1.5}
    assert rows["load_rss"]["met"] == {"numpy": True, "rust": False}
    assert rows["save_rss"]["ratios"] == {"numpy": 2.0, "rust": 1.2}


def test_a_deflated_load_is_compared_with_the_inflate_it_uses():
    """Mojo inflates with ISA-L, Rust with zlib's algorithm: each is divided by its own."""
    result = _fake_result()
    deflated = result["sizes"][0]["cases"][1]
    deflated["load"]["mojo"] = deflated["load"]["rust"]
    rows = {row["target"]: row for row in report.target_ratios(result, ["rust", "mojo"])}
    # The target: one call into a new buffer, as the issue measured zlib.decompress.
    assert rows["deflated_load_vs_inflate"]["ratios"] == {"rust": 0.8, "mojo": 0.8}
    # The context: chunked inflate into a reused buffer.
    assert rows["deflated_load_vs_reused_inflate"]["ratios"] == {"rust": 0.5, "mojo": 0.4}


def test_markdown_tables():
    result = _fake_result()
    result["targets"] = report.target_ratios(result, ["numpy", "rust"])
    text = report.markdown(result)
    assert "| load | `numpy.load` | rust | raw read | read → new buffer | zlib inflate |" in text
    assert "| 64 MiB random, stored (n=3) | 800 ×1.00 | 1,200 ×1.10 | 2,000 | 1,000 | – |" in text
    assert "| 64 MiB random, deflated (n=3) | 15.0 ×2.00 | 150 ×1.20 | 800 | 20.0 |" in text
    assert "| 64 MiB random, stored (n=3) | 500 ×1.00 | timeout | 800 | – |" in text
    assert "| stored load ÷ raw read ≥ 0.5 | 64 MiB | 0.4 ✗ | 0.6 ✓ |" in text
    assert "| deflate save (random) ÷ baseline ≥ 10 | 64 MiB | – | 15 ✓ |" in text
    assert "Baseline for the deflate save: an older run." in text
    assert text.endswith("- a note\n")


def test_inflate_is_timed_on_the_streams_of_the_written_file(tmp_path):
    """The streams the limits inflate are the file's members, byte for byte once inflated."""
    layers = data.weights(MIB, "zeros")
    data.write_pair(tmp_path / "pair", layers, "deflate", 1)
    streams = limits.member_streams(tmp_path / "pair.npz")
    with zipfile.ZipFile(tmp_path / "pair.npz") as archive:
        members = [archive.read(info) for info in archive.infolist()]
    assert [zlib.decompress(stream, -15) for stream, _ in streams] == members
    assert [size for _, size in streams] == [len(member) for member in members]
    assert len(limits.decompress(streams, zlib, 2)) == len(limits.decompress_fresh(streams, zlib, 2)) == 2


def test_sizes_labels_and_chained_shapes():
    assert data.parse_size("64M") == 64 * MIB and data.parse_size("1.5G") == data.parse_size("1536M")
    with pytest.raises(ValueError):
        data.parse_size("100")  # not a whole number of float64s per layer
    assert data.label(64 * MIB) == "64 MiB" and data.label(1536 * MIB) == "1.5 GiB"
    for nbytes in (8 * MIB, 64 * MIB, 512 * MIB, 1536 * MIB):
        shapes = data.shapes(nbytes)
        assert sum(rows * cols * 8 for rows, cols in shapes) == nbytes
        assert all(shapes[i][0] == shapes[i + 1][1] for i in range(len(shapes) - 1))
    assert data.shapes(512 * MIB)[0] == (4096, 4096)


CHILD = """
import sys
def step(word):
    sys.stdout.write(word + "\\n"); sys.stdout.flush(); sys.stdin.readline()
step("up")
block = bytearray(b"x") * (64 << 20)
step("big")
del block
step("small")
"""


def test_rss_reader_on_a_real_child_process():
    """Through a shell wrapper, as testees are started: the tree's resident size rises and falls,
    the peak remembers the high point until it is reset."""
    child = subprocess.Popen(f"{sys.executable} -c '{CHILD}'; exit 0", shell=True, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None

    def step() -> str:
        word = child.stdout.readline().strip()
        return word

    try:
        assert step() == "up"
        assert len(procmem.tree(child.pid)) == 2  # the shell and python
        assert procmem.reset_peak(child.pid)
        baseline = procmem.rss(child.pid)
        child.stdin.write("\n"); child.stdin.flush()
        assert step() == "big"
        assert procmem.rss(child.pid) - baseline >= 60 * MIB
        child.stdin.write("\n"); child.stdin.flush()
        assert step() == "small"
        assert procmem.rss(child.pid) - baseline < 16 * MIB
        assert procmem.peak(child.pid) - baseline >= 60 * MIB
        assert procmem.reset_peak(child.pid)
        assert procmem.peak(child.pid) - baseline < 16 * MIB
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    assert procmem.rss(child.pid) == 0  # gone: nothing to read


def test_measure_a_real_load_and_save_through_the_driver(tmp_path):
    """The numpy driver loads and saves a tiny pair written by the reference, as a testee would."""
    layers = [np.arange(8.0).reshape(2, 4), np.ones((4, 2))]
    data.write_pair(tmp_path / "pair" / "checkpoint", layers, "stored", 1)
    command = f"{sys.executable} {ROOT / 'benchmarks' / 'large' / 'driver.py'} numpy"
    load = {"op": "load", "base": "checkpoint"}
    save = {"op": "save", "out": str(tmp_path / "out" / "x"), "compression": "deflate", "level": 1}
    loaded, saved_figure = testee.measure(command, ROOT, tmp_path / "pair", load, save, timeout=120)
    assert loaded["timed_by"] == saved_figure["timed_by"] == "testee"
    assert loaded["seconds"] > 0 and saved_figure["out_bytes"] == (tmp_path / "out" / "x.npz").stat().st_size
    with np.load(tmp_path / "out" / "x.npz") as saved:
        assert [saved[name].tolist() for name in saved.files] == [w.tolist() for w in layers]


HANGING = """
import sys, time
sys.stdout.write('{"capabilities": []}\\n'); sys.stdout.flush()
sys.stdin.readline()
time.sleep(600)
"""


def test_a_testee_that_does_not_answer_is_killed_and_recorded_as_timed_out(tmp_path):
    """It answers hello, then never answers the run request: killed at the deadline."""
    script = tmp_path / "hang.py"
    script.write_text(HANGING)
    with pytest.raises(testee.Failure) as raised:
        testee.measure(f"{sys.executable} {script}", ROOT, tmp_path, {"op": "load", "base": "x"}, None, timeout=3)
    assert raised.value.kind == "timeout"
    with testee.Process(f"{sys.executable} {script}", ROOT, time.monotonic() + 3) as process:
        process.ask({"cmd": "hello"})
        with pytest.raises(testee.Failure):
            process.ask({"cmd": "run"})
    assert process.popen.poll() is not None  # killed, not left running


def test_a_refusal_is_an_error_not_a_figure(tmp_path):
    command = f"{sys.executable} {ROOT / 'benchmarks' / 'large' / 'driver.py'} numpy"
    with pytest.raises(testee.Failure) as raised:
        testee.measure(command, ROOT, tmp_path, {"op": "load", "base": "missing"}, None, timeout=120)
    assert raised.value.kind == "error" and "FileNotFoundError" in str(raised.value)


def test_baseline_from_a_writers_benchmark_then_kept_from_the_previous_run(tmp_path):
    import bench_large

    writers = {"checkpoints": {"large": {"weights_mb": 67.109}},
               "writers": {"rust": {"large": {"deflate": {"mb_per_second": 14.6}}}, "julia": {"error": "x"}}}
    older = tmp_path / "bench_transfer.json"
    older.write_text(json.dumps({"benchmarks": {"writers": writers}}))
    baseline = bench_large._baseline(str(older), tmp_path / "none.json")
    assert baseline["mb_per_second"] == {"rust": 14.6} and "67.109 MB" in baseline["source"]
    previous = tmp_path / "large.json"
    previous.write_text(json.dumps({"baseline": baseline}))
    assert bench_large._baseline(None, previous) == baseline
    assert bench_large._baseline(str(previous), tmp_path / "none.json") == baseline
    assert bench_large._baseline(None, tmp_path / "none.json") is None


def test_an_incomplete_run_names_what_is_missing():
    import argparse

    import bench_large

    args = argparse.Namespace(sizes=[8 * MIB, 64 * MIB, 512 * MIB], cases=[("random", "stored")] * 2)
    whole, half = {"save": {"numpy": {}, "rust": {}}}, {"save": {"numpy": {}}}
    result = {"options": {"impls": ["numpy", "rust"]},
              "sizes": [{"bytes": 8 * MIB, "cases": [whole, whole]}, {"bytes": 64 * MIB, "cases": [whole, half]}]}
    assert bench_large._missing(result, args) == ["64 MiB (1 of 2 cases)", "512 MiB (0 of 2 cases)"]
    result["sizes"][1]["cases"][1] = whole
    result["sizes"].append({"bytes": 512 * MIB, "cases": [whole, whole]})
    assert bench_large._missing(result, args) == []
