"""save_checkpoint: levels, parallel deflate, streamed members, durability (fsync count)."""

from __future__ import annotations

import os
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sc_neurocore.transfer import SNNCheckpoint, load_checkpoint, save_checkpoint
from sc_neurocore.transfer import _zip


def _checkpoint(rows: int = 32, cols: int = 64, seed: int = 0) -> SNNCheckpoint:
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((rows, cols)), np.round(rng.standard_normal((10, rows)), 2)]
    return SNNCheckpoint(weights=weights, layer_names=["hidden", "output"],
                         layer_sizes=[(cols, rows), (rows, 10)])


def _same(loaded: SNNCheckpoint, saved: SNNCheckpoint) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(loaded.weights, saved.weights, strict=True))


@pytest.mark.parametrize("level", range(1, 10))
def test_every_level_writes_a_standard_zip(tmp_path: Path, level: int) -> None:
    checkpoint = _checkpoint()
    save_checkpoint(checkpoint, tmp_path / "m", level=level)
    assert _same(load_checkpoint(tmp_path / "m"), checkpoint)
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        assert archive.testzip() is None
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    with np.load(tmp_path / "m.npz") as arrays:
        assert np.array_equal(arrays["layer_0"], checkpoint.weights[0])


def test_higher_levels_compress_compressible_weights_more(tmp_path: Path) -> None:
    checkpoint = _checkpoint(256, 512)
    checkpoint.weights[0] = np.round(checkpoint.weights[0], 1)
    sizes = {}
    for level in (1, 9):
        save_checkpoint(checkpoint, tmp_path / f"l{level}", level=level)
        sizes[level] = (tmp_path / f"l{level}.npz").stat().st_size
    assert sizes[9] < sizes[1]


@pytest.mark.parametrize("level", [0, 10, -1, True, 1.0, "1", None, 2**64])
def test_a_bad_level_is_refused_before_anything_is_written(tmp_path: Path, level: object) -> None:
    with pytest.raises(ValueError, match="level"):
        save_checkpoint(_checkpoint(), tmp_path / "sub" / "m", level=level)  # type: ignore[arg-type]
    assert not (tmp_path / "sub").exists()


def test_parallel_deflate_writes_the_same_bytes_as_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Several deflate chunks per member (the first layer is 5 chunks and a bit).
    checkpoint = _checkpoint(1024, 2600)
    assert checkpoint.weights[0].nbytes > 5 * _zip.DEFLATE_CHUNK
    save_checkpoint(checkpoint, tmp_path / "parallel")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    save_checkpoint(checkpoint, tmp_path / "serial")
    for suffix in (".npz", ".json"):
        assert (tmp_path / f"parallel{suffix}").read_bytes() == (tmp_path / f"serial{suffix}").read_bytes()
    assert _same(load_checkpoint(tmp_path / "parallel"), checkpoint)
    result = subprocess.run(["unzip", "-tq", str(tmp_path / "parallel.npz")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stored_archives_do_not_depend_on_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = _checkpoint(1024, 1100)
    save_checkpoint(checkpoint, tmp_path / "parallel", compression="stored")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    save_checkpoint(checkpoint, tmp_path / "serial", compression="stored")
    assert (tmp_path / "parallel.npz").read_bytes() == (tmp_path / "serial.npz").read_bytes()
    with np.load(tmp_path / "parallel.npz") as arrays:
        assert np.array_equal(arrays["layer_0"], checkpoint.weights[0])


def test_one_fsync_per_file_and_one_of_the_folder_in_the_torn_pair_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    fsync, replace = os.fsync, os.replace

    def counting_fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        events.append("fsync folder" if os.path.isdir(target) else f"fsync {Path(target).suffix}")
        fsync(fd)

    def recording_replace(source: str, destination: os.PathLike[str] | str) -> None:
        events.append(f"rename {Path(destination).suffix}")
        replace(source, destination)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    save_checkpoint(_checkpoint(), tmp_path / "m")
    assert events == ["fsync .tmp", "fsync .tmp", "rename .npz", "rename .json", "fsync folder"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]


def test_a_failure_while_writing_the_document_leaves_the_old_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _checkpoint(seed=1)
    save_checkpoint(old, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def failing(fd: int, data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_zip, "write_all", failing)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(_checkpoint(seed=2), tmp_path / "m")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("zip64_needed", [False, True])
def test_a_member_near_the_zip64_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zip64_needed: bool
) -> None:
    # With the 32-bit maximum lowered to just above the first member's size, its local header
    # reserves room for a zip64 extra field: unused (the stream moves up by 20 bytes) when the
    # compressed size stays below, used when random weights grow past it.
    checkpoint = _checkpoint(64, 128)
    # Random mantissas and exponents (finite: the top two bits are clear): incompressible.
    bits = np.random.default_rng(3).integers(0, 2**62, size=(64, 128), dtype=np.uint64)
    checkpoint.weights[0] = bits.view(np.float64)
    size = 128 + checkpoint.weights[0].nbytes
    save_checkpoint(checkpoint, tmp_path / "plain")
    with zipfile.ZipFile(tmp_path / "plain.npz") as archive:
        compressed = archive.getinfo("layer_0.npy").compress_size
    assert compressed > size
    monkeypatch.setattr(_zip, "_U32_MAX", compressed if zip64_needed else compressed + 1)
    save_checkpoint(checkpoint, tmp_path / "near")
    data = (tmp_path / "near.npz").read_bytes()
    extra_length = int.from_bytes(data[28:30], "little")
    assert extra_length == (20 if zip64_needed else 0)
    assert _same(load_checkpoint(tmp_path / "near"), checkpoint)


def test_replaced_files_are_released_and_no_descriptor_is_left_open(tmp_path: Path) -> None:
    # The files a save replaces are held across the rename and closed by a kept thread.
    save_checkpoint(_checkpoint(seed=1), tmp_path / "m")
    old_archive = os.stat(tmp_path / "m.npz")
    before = set(os.listdir("/proc/self/fd"))
    save_checkpoint(_checkpoint(seed=2), tmp_path / "m")
    deadline = time.monotonic() + 5
    while set(os.listdir("/proc/self/fd")) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert set(os.listdir("/proc/self/fd")) == before
    assert os.stat(tmp_path / "m.npz").st_ino != old_archive.st_ino
    assert _same(load_checkpoint(tmp_path / "m"), _checkpoint(seed=2))


def test_a_save_over_a_folder_of_the_archive_name_fails_and_leaves_no_descriptor(tmp_path: Path) -> None:
    (tmp_path / "m.npz").mkdir()
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(IsADirectoryError):
        save_checkpoint(_checkpoint(), tmp_path / "m")
    deadline = time.monotonic() + 5
    while set(os.listdir("/proc/self/fd")) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert set(os.listdir("/proc/self/fd")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
