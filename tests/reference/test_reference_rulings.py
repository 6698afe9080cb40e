"""The reference on the inputs of issue 12's "Already found" list and the spec rulings made for
them: each answers with the spec's code, never with a non-coded exception.

Files are built by hand here (not by the fixture generator), so a bug shared by the generator's
writers and the reference cannot hide.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sc_neurocore.transfer import (
    CheckpointError,
    SNNCheckpoint,
    TransferConfig,
    apply_transfer_config,
    load_checkpoint,
)
from sc_neurocore.transfer._limits import WEIGHT_MAX_DEPTH

MATRIX = np.arange(6, dtype="<f8").reshape(2, 3)
DOCUMENT = {"layer_names": ["a"], "layer_sizes": [[3, 2]], "neuron_types": [], "frozen_layers": [],
            "n_layers": 1, "total_params": 6, "metadata": {}}


def npy(header: str, data: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy member with this header text (a "\\n" is appended) and data."""
    encoded = (header + "\n").encode("utf-8" if version == (3, 0) else "latin-1")
    length = struct.pack("<H" if version == (1, 0) else "<I", len(encoded))
    return b"\x93NUMPY" + bytes(version) + length + encoded + data


def plain_npy() -> bytes:
    return npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", MATRIX.tobytes())


def zip_file(entries: list[dict[str, Any]]) -> bytes:
    """A zip of deflated members; an entry may override its central CRC-32, its central size
    (then written in a zip64 extra field), or point its central entry at another's header."""
    out, central, offsets = bytearray(), bytearray(), []
    for entry in entries:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        stream = compressor.compress(entry["data"]) + compressor.flush()
        crc, name = zlib.crc32(entry["data"]), entry["name"]
        offsets.append(len(out))
        out += b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 33, crc, len(stream),
                                           len(entry["data"]), len(name), 0) + name + stream
        entry["local"] = (crc, len(stream), len(entry["data"]))
    for index, entry in enumerate(entries):
        crc, csize, usize = entry["local"]
        crc = entry.get("crc", crc)
        offset = offsets[entry.get("header_of", index)]
        extra = b""
        if "zip64_usize" in entry:
            extra = struct.pack("<HHQ", 1, 8, entry["zip64_usize"])
            usize = 0xFFFFFFFF
        central += b"PK\x01\x02" + struct.pack(
            "<HHHHHHIIIHHHHHII", 45, 45, 0, 8, 0, 33, crc, csize, usize, len(entry["name"]),
            len(extra), 0, 0, 0, 0, offset) + entry["name"] + extra
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), len(central),
                                      len(out), 0)
    return bytes(out + central + end)


def load_code(tmp_path: Path, archive: bytes, document: dict[str, Any] | None = None) -> str | None:
    (tmp_path / "c.json").write_text(json.dumps(document or DOCUMENT))
    (tmp_path / "c.npz").write_bytes(archive)
    try:
        load_checkpoint(tmp_path / "c")
    except CheckpointError as error:
        return error.code
    return None


def construct_code(weight: Any, sizes: tuple[int, int] = (1, 1)) -> str | None:
    try:
        SNNCheckpoint(weights=[weight], layer_names=["a"], layer_sizes=[sizes])
    except CheckpointError as error:
        return error.code
    return None


def wrapped(levels: int) -> Any:
    value: Any = 1.0
    for _ in range(levels):
        value = [value]
    return value


# ----------------------------------------------------------------------------- host-value weights


@pytest.mark.parametrize("levels", [3, 31, WEIGHT_MAX_DEPTH])
def test_a_number_in_up_to_32_lists_is_an_array_of_that_rank(levels: int) -> None:
    assert construct_code(wrapped(levels)) == "array.shape.rank"


@pytest.mark.parametrize("levels", [WEIGHT_MAX_DEPTH + 1, 40, 64, 65, 100_000])
def test_a_number_in_more_lists_is_refused_as_a_weight_type(levels: int) -> None:
    assert construct_code(wrapped(levels)) == "schema.weights.type"


@pytest.mark.parametrize("leaf, code", [
    (2**64 - 1, None), (-(2**63), None), (np.int64(-3), None), (np.float32(0.5), None),
    (math.inf, "array.finite"), (2**64, "schema.weights.type"), (-(2**63) - 1, "schema.weights.type"),
    (True, "schema.weights.type"), (np.bool_(False), "schema.weights.type"), ("1", "schema.weights.type"),
    (None, "schema.weights.type"), (1j, "schema.weights.type"), (np.array(1.0), "schema.weights.type"),
    (np.array([1.0]), "schema.weights.type"),
])
def test_a_leaf_is_an_int_in_the_metadata_range_or_a_float(leaf: Any, code: str | None) -> None:
    assert construct_code([[leaf]]) == code


def test_an_integer_leaf_rounds_to_the_nearest_float64_ties_to_even() -> None:
    checkpoint = SNNCheckpoint(weights=[[[2**53 + 1, 2**53 + 3, 2**64 - 1]]], layer_names=["a"],
                               layer_sizes=[(3, 1)])
    assert checkpoint.weights[0].tolist() == [[2.0**53, 2.0**53 + 4, 2.0**64]]


# ----------------------------------------------------------------------------- zip


@pytest.mark.parametrize("declared", [2**32, 2**63 - 1, 2**63, 2**64 - 1])
def test_a_zip64_size_far_beyond_the_data_is_a_member_integrity_error(tmp_path: Path, declared: int) -> None:
    archive = zip_file([{"name": b"layer_0.npy", "data": plain_npy(), "zip64_usize": declared}])
    assert load_code(tmp_path, archive) == "archive.member.integrity"


def test_the_zip64_size_itself_loads(tmp_path: Path) -> None:
    archive = zip_file([{"name": b"layer_0.npy", "data": plain_npy(), "zip64_usize": len(plain_npy())}])
    assert load_code(tmp_path, archive) is None


def test_two_central_entries_for_one_local_header_overlap(tmp_path: Path) -> None:
    first = {"name": b"layer_0.npy", "data": plain_npy()}
    twin = {"name": b"layer_0.npy", "data": plain_npy(), "header_of": 0, "crc": 0x12345678}
    assert load_code(tmp_path, zip_file([first, twin])) == "archive.zip.structure"


def test_member_names_compare_as_bytes(tmp_path: Path) -> None:
    # Lossy UTF-8 decoding makes these two names the same text; as bytes they differ.
    entries = [{"name": b"layer_0.npy", "data": plain_npy()},
               {"name": b"layer_\xff.npy", "data": plain_npy()},
               {"name": b"layer_\xfe.npy", "data": plain_npy()}]
    assert load_code(tmp_path, zip_file(entries)) == "archive.members.unexpected"


# ----------------------------------------------------------------------------- .npy headers


def _member(payload: bytes) -> bytes:
    return zip_file([{"name": b"layer_0.npy", "data": payload}])


@pytest.mark.parametrize("dimension, code", [
    ("999999999999999999", "array.shape.match"), ("1000000000000000000", "array.npy.header"),
    ("18446744073709551616", "array.npy.header"), ("9" * 400, "array.npy.header"),
])
def test_a_dimension_has_at_most_18_digits(tmp_path: Path, dimension: str, code: str) -> None:
    payload = npy(f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({dimension}, 3), }}", MATRIX.tobytes())
    assert load_code(tmp_path, _member(payload)) == code


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_spaces_may_precede_the_opening_brace(tmp_path: Path, version: tuple[int, int]) -> None:
    payload = npy("   {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", MATRIX.tobytes(), version)
    assert load_code(tmp_path, _member(payload)) is None


def test_a_tab_before_the_opening_brace_is_malformed(tmp_path: Path) -> None:
    payload = npy("\t{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", MATRIX.tobytes())
    assert load_code(tmp_path, _member(payload)) == "array.npy.header"


@pytest.mark.parametrize("descr, version, code", [
    ("\u00e9O", (3, 0), "array.dtype.pickle"),  # "O" is the second character, not the second byte
    ("\u00e9f", (3, 0), "array.dtype"),
    ("O", (1, 0), "array.dtype"), ("", (1, 0), "array.dtype"), ("|O", (1, 0), "array.dtype.pickle"),
])
def test_the_pickle_check_reads_the_second_decoded_character(
        tmp_path: Path, descr: str, version: tuple[int, int], code: str) -> None:
    payload = npy(f"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 3), }}", MATRIX.tobytes(), version)
    assert load_code(tmp_path, _member(payload)) == code


@pytest.mark.parametrize("version, length", [((1, 0), 0xFFFF), ((2, 0), 0x10000), ((3, 0), 0x10000)])
def test_a_header_may_be_as_long_as_its_length_field_says(tmp_path: Path, version: tuple[int, int], length: int) -> None:
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
    payload = npy(text + " " * (length - len(text) - 1), MATRIX.tobytes(), version)
    assert load_code(tmp_path, _member(payload)) is None


# ----------------------------------------------------------------------------- learning rates


@pytest.mark.parametrize("rate, reported", [
    (2**53 + 1, 2.0**53), (2**1024 - 2**970 - 1, 1.7976931348623157e308), (5e-324, 5e-324)])
def test_an_integer_rate_becomes_the_nearest_float64(rate: int, reported: float) -> None:
    checkpoint = SNNCheckpoint(weights=[MATRIX], layer_names=["a"], layer_sizes=[(3, 2)])
    _, rates = apply_transfer_config(checkpoint, TransferConfig(lr_head=rate))
    assert rates == [reported]


def test_an_integer_rate_rounding_to_infinity_is_out_of_range() -> None:
    with pytest.raises(CheckpointError) as caught:
        TransferConfig(lr_head=2**1024 - 2**970)
    assert caught.value.code == "transfer.learning_rate.range"
