"""The streaming load: every accepted dtype and order, chunk boundaries, the deflate ratio bound,
verdict order across the pass, and memory near the weights' own size."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from sc_neurocore.transfer import CheckpointError, load_checkpoint, save_checkpoint
from sc_neurocore.transfer import _zip


def _npy(array: np.ndarray, version: tuple[int, int] = (1, 0)) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def _write_pair(base: Path, members: list[tuple[str, bytes, int]], shapes: list[tuple[int, int]],
                digest: bool = True) -> None:
    """``members``: (name, .npy bytes, zip method) in file order; ``shapes``: per layer."""
    with zipfile.ZipFile(f"{base}.npz", "w") as archive:
        for name, data, method in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    sizes = [[cols, rows] for rows, cols in shapes]
    document = {
        "layer_names": [f"l{index}" for index in range(len(shapes))], "layer_sizes": sizes,
        "neuron_types": [], "frozen_layers": [], "n_layers": len(shapes),
        "total_params": sum(rows * cols for rows, cols in shapes), "metadata": {},
    }
    if digest:
        document["archive_sha256"] = hashlib.sha256(Path(f"{base}.npz").read_bytes()).hexdigest()
    Path(f"{base}.json").write_text(json.dumps(document))


def _code(base: Path) -> str | None:
    try:
        load_checkpoint(base)
    except CheckpointError as error:
        return error.code
    return None


DTYPES = ["<f8", ">f8", "<f4", ">f4", "<f2", "|i1", "<i2", ">i4", "<i8", "|u1", "<u2", ">u8"]


@pytest.mark.parametrize("descr", DTYPES)
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("fortran", [False, True])
def test_every_dtype_and_order_widens_exactly(
    tmp_path: Path, descr: str, method: int, fortran: bool
) -> None:
    rng = np.random.default_rng(len(descr))
    values = rng.integers(0, 100, size=(37, 53)).astype(descr)
    stored = np.asfortranarray(values) if fortran else values
    _write_pair(tmp_path / "m", [("layer_0.npy", _npy(stored), method)], [(37, 53)])
    (weight,) = load_checkpoint(tmp_path / "m").weights
    assert weight.dtype == np.float64 and weight.flags.c_contiguous
    assert np.array_equal(weight, values.astype(np.float64))


@pytest.mark.parametrize("descr", ["<f8", ">f4", "<i2"])
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("fortran", [False, True])
def test_members_across_many_read_chunks(
    tmp_path: Path, descr: str, method: int, fortran: bool
) -> None:
    # A header padded to an odd length puts the values off the read chunks' grid, so values
    # are split between reads; the layer spans several read chunks.
    rows, cols = 1501, 2801
    values = np.random.default_rng(5).standard_normal((rows, cols)).astype(descr)
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({rows}, {cols}), }}"
    text += " " * ((3 - 10 - len(text) - 1) % 8) + "\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
    assert len(data) % 8 == 3
    data += (values.T if fortran else values).tobytes()
    assert len(data) > 2 * _zip.READ_CHUNK
    small = np.arange(6, dtype="<f8").reshape(2, 3)
    # The second layer comes first in the file.
    _write_pair(tmp_path / "m", [("layer_1.npy", _npy(small), method), ("layer_0.npy", data, method)],
                [(rows, cols), (2, 3)])
    loaded = load_checkpoint(tmp_path / "m").weights
    assert np.array_equal(loaded[0], values.astype(np.float64))
    assert np.array_equal(loaded[1], small)


def _deflated_member(base: Path, declared: int) -> None:
    """One deflated member whose central directory declares ``declared`` bytes."""
    values = np.zeros((64, 64))
    _write_pair(base, [("layer_0.npy", _npy(values), zipfile.ZIP_DEFLATED)], [(64, 64)], digest=False)
    path = Path(f"{base}.npz")
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_a_declared_size_past_the_deflate_ratio_is_member_integrity(tmp_path: Path) -> None:
    _deflated_member(tmp_path / "m", 0)
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        compressed = archive.getinfo("layer_0.npy").compress_size
    bound = 1032 * compressed + 1024
    for declared in (bound, bound + 1, 0xFFFFFFFE):
        _deflated_member(tmp_path / "m", declared)
        assert _code(tmp_path / "m") == "archive.member.integrity"
    with pytest.raises(CheckpointError, match="more than"):
        load_checkpoint(tmp_path / "m")


def test_an_honest_bomb_inflates_within_the_bound(tmp_path: Path) -> None:
    # 16 MiB of zeros deflate ~1000:1; the declared size is the true one, so it loads.
    values = np.zeros((2048, 1024))
    _write_pair(tmp_path / "m", [("layer_0.npy", _npy(values), zipfile.ZIP_DEFLATED)], [(2048, 1024)])
    assert np.array_equal(load_checkpoint(tmp_path / "m").weights[0], values)


def test_order_across_the_pass(tmp_path: Path) -> None:
    good = _npy(np.ones((4, 4)))
    bad_magic = b"\x93NUMPX" + good[6:]
    # An .npy problem of layer 0 does not hide a digest mismatch found at the end of the pass.
    _write_pair(tmp_path / "m", [("layer_0.npy", bad_magic, zipfile.ZIP_STORED)], [(4, 4)])
    assert _code(tmp_path / "m") == "array.npy.magic"
    document = json.loads((tmp_path / "m.json").read_text())
    document["archive_sha256"] = "0" * 64
    (tmp_path / "m.json").write_text(json.dumps(document))
    assert _code(tmp_path / "m") == "archive.digest"
    # Member integrity of the last layer beats an .npy problem of the first.
    _write_pair(tmp_path / "m", [("layer_0.npy", bad_magic, zipfile.ZIP_STORED),
                                 ("layer_1.npy", good, zipfile.ZIP_DEFLATED)], [(4, 4), (4, 4)])
    data = bytearray((tmp_path / "m.npz").read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 16, zlib.crc32(good) ^ 1)  # layer_1's CRC-32
    (tmp_path / "m.npz").write_bytes(bytes(data))
    document = json.loads((tmp_path / "m.json").read_text())
    document["archive_sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (tmp_path / "m.json").write_text(json.dumps(document))
    assert _code(tmp_path / "m") == "archive.member.integrity"


def test_a_broken_zip_is_still_hashed_for_the_digest(tmp_path: Path) -> None:
    _write_pair(tmp_path / "m", [("layer_0.npy", _npy(np.ones((4, 4))), zipfile.ZIP_STORED)], [(4, 4)])
    (tmp_path / "m.npz").write_bytes(b"not a zip at all")
    assert _code(tmp_path / "m") == "archive.digest"
    document = json.loads((tmp_path / "m.json").read_text())
    document["archive_sha256"] = hashlib.sha256(b"not a zip at all").hexdigest()
    (tmp_path / "m.json").write_text(json.dumps(document))
    assert _code(tmp_path / "m") == "archive.zip.structure"


@pytest.mark.parametrize("compression", ["stored", "deflate"])
def test_peak_memory_of_a_load_is_near_the_weights(tmp_path: Path, compression: str) -> None:
    from sc_neurocore.transfer import SNNCheckpoint

    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((1024, 2048)), rng.standard_normal((512, 1024))]  # 20 MiB
    checkpoint = SNNCheckpoint(weights=weights, layer_names=["a", "b"],
                               layer_sizes=[(2048, 1024), (1024, 512)])
    save_checkpoint(checkpoint, tmp_path / "m", compression=compression)
    data = sum(weight.nbytes for weight in weights)
    tracemalloc.start()
    try:
        loaded = load_checkpoint(tmp_path / "m")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(np.array_equal(a, b) for a, b in zip(loaded.weights, weights))
    # The matrices themselves, one read buffer and a few inflate outputs.
    assert peak <= 1.0 * data + 4 * _zip.READ_CHUNK, (peak, data)
