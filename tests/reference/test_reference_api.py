"""The public API of sc_neurocore.transfer: the documented snippet, round trips, old files."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sc_neurocore.transfer import (
    CheckpointError,
    SNNCheckpoint,
    TransferConfig,
    apply_transfer_config,
    freeze_layers,
    load_checkpoint,
    save_checkpoint,
    unfreeze_layers,
)
from sc_neurocore.transfer import _fields
from snnconform.checkpoint._strategies import drafts


def test_the_documented_snippet_runs_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    checkpoint = SNNCheckpoint(
        weights=[np.ones((32, 64), dtype=np.float64), np.ones((10, 32), dtype=np.float64)],
        layer_names=["hidden", "output"], layer_sizes=[(64, 32), (32, 10)],
        neuron_types=["LIF", "LIF"], metadata={"task": "mnist"})
    save_checkpoint(checkpoint, "model_v1")
    checkpoint = load_checkpoint("model_v1")
    freeze_layers(checkpoint, layer_names=["hidden"])
    checkpoint, learning_rates = apply_transfer_config(
        checkpoint, TransferConfig(freeze_until=0, lr_backbone=0.0, lr_head=0.01))
    assert learning_rates == [0.0, 0.01]
    assert sorted(os.listdir(tmp_path)) == ["model_v1.json", "model_v1.npz"]


def _checkpoint_from(draft: Any) -> SNNCheckpoint:
    return SNNCheckpoint(
        weights=[np.asarray(w, dtype=np.float64) for w in draft.weights],
        layer_names=draft.layer_names,
        layer_sizes=draft.layer_sizes,
        neuron_types=draft.neuron_types,
        metadata=draft.metadata,
        frozen_layers=draft.frozen_layers,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draft=drafts())
def test_save_then_load_gives_back_the_same_checkpoint(tmp_path: Path, draft: Any) -> None:
    original = _checkpoint_from(draft)
    base = tmp_path / "nested" / "dir" / "model.v1"
    save_checkpoint(original, base)
    loaded = load_checkpoint(base)
    assert loaded.layer_names == original.layer_names
    assert loaded.layer_sizes == original.layer_sizes
    assert loaded.neuron_types == original.neuron_types
    assert loaded.frozen_layers == sorted(set(draft.frozen_layers))
    assert loaded.metadata == original.metadata
    assert loaded.weight_sha256() == original.weight_sha256()
    for got, want in zip(loaded.weights, original.weights):
        assert got.dtype == np.float64 and np.array_equal(got, want)


def _release_writer(checkpoint: SNNCheckpoint, base: Path) -> None:
    """What the original release wrote: savez_compressed, indent=2 JSON, no archive digest."""
    np.savez_compressed(f"{base}.npz", **{f"layer_{i}": w for i, w in enumerate(checkpoint.weights)})
    document = {
        "layer_names": checkpoint.layer_names,
        "layer_sizes": [list(pair) for pair in checkpoint.layer_sizes],
        "neuron_types": checkpoint.neuron_types,
        "frozen_layers": checkpoint.frozen_layers,
        "n_layers": checkpoint.n_layers,
        "total_params": checkpoint.total_params,
        "metadata": checkpoint.metadata,
    }
    Path(f"{base}.json").write_text(json.dumps(document, indent=2))


def test_files_written_by_the_original_release_still_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    weights = [rng.standard_normal((5, 3)), rng.standard_normal((3, 4)).T]  # the 2nd is Fortran-ordered
    checkpoint = SNNCheckpoint(weights, ["in", "out"], [(3, 5), (3, 4)], ["LIF", "IF"],
                               {"task": "nmnist", "épocas": 3}, ["in"])
    _release_writer(checkpoint, tmp_path / "old")
    with zipfile.ZipFile(tmp_path / "old.npz") as archive:
        assert [info.compress_type for info in archive.infolist()] == [zipfile.ZIP_DEFLATED] * 2
    loaded = load_checkpoint(tmp_path / "old")
    assert loaded.weight_sha256() == checkpoint.weight_sha256()
    assert loaded.metadata == {"task": "nmnist", "épocas": 3}


def test_widened_dtypes_from_plain_np_savez_load_as_float64(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", layer_0=np.arange(6, dtype=">i2").reshape(2, 3),
             layer_1=np.full((1, 2), 0.5, dtype="<f2"))
    document = {"layer_names": ["a", "b"], "layer_sizes": [[3, 2], [2, 1]], "neuron_types": [],
                "frozen_layers": [], "n_layers": 2, "total_params": 8, "metadata": {}}
    (tmp_path / "w.json").write_text(json.dumps(document))
    loaded = load_checkpoint(tmp_path / "w")
    assert loaded.weights[0].dtype == np.float64
    assert loaded.weights[0].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert loaded.weights[1].tolist() == [[0.5, 0.5]]


def test_a_torn_pair_is_refused_not_loaded(tmp_path: Path) -> None:
    first = SNNCheckpoint([np.zeros((2, 2))], ["a"], [(2, 2)])
    second = SNNCheckpoint([np.ones((2, 2))], ["a"], [(2, 2)])
    save_checkpoint(first, tmp_path / "m")
    document = (tmp_path / "m.json").read_bytes()
    save_checkpoint(second, tmp_path / "m")
    (tmp_path / "m.json").write_bytes(document)  # the crash between the two renames
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(tmp_path / "m")
    assert caught.value.code == "archive.digest"


def test_save_refuses_a_checkpoint_spoiled_after_construction_and_writes_nothing(tmp_path: Path) -> None:
    checkpoint = SNNCheckpoint([np.zeros((2, 2))], ["a"], [(2, 2)])
    checkpoint.weights[0][0, 0] = np.nan
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(checkpoint, tmp_path / "m")
    assert caught.value.code == "array.finite"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("order", ["C", "F"])
def test_the_first_non_finite_weight_is_named_in_row_major_order_past_the_first_piece(order: str) -> None:
    # check_finite judges a matrix in pieces of rows: a position in a later piece, a later bad
    # value in an earlier column, and a Fortran-ordered matrix are all reported row-major.
    weights = np.zeros((3000, 100), order=order)
    weights[2999, 0] = np.nan
    weights[1700, 99] = np.inf
    with pytest.raises(CheckpointError) as caught:
        SNNCheckpoint([weights], ["a"], [(100, 3000)])
    assert caught.value.code == "array.finite"
    assert caught.value.fields["position"] == (1700, 99)


@pytest.mark.parametrize("shape", [(), (70_000,), (2, 3, 40_000), (1, 1, 1)])
def test_array_finite_names_the_position_at_any_rank(shape: tuple[int, ...]) -> None:
    # The corpus generator judges each invariant of an order case on its own, ranks other than
    # 2 included: the pieces must not assume a matrix.
    weights = np.zeros(shape)
    weights[(-1,) * len(shape)] = np.inf
    with pytest.raises(CheckpointError) as caught:
        _fields.check_finite(["a"], [weights])
    assert caught.value.fields["position"] == tuple(n - 1 for n in shape)


def test_the_error_is_a_value_error_with_code_and_the_release_message() -> None:
    with pytest.raises(ValueError, match="Checkpoint layer_names must be unique") as caught:
        SNNCheckpoint([np.zeros((1, 1))] * 2, ["x", "x"], [(1, 1), (1, 1)])
    assert isinstance(caught.value, CheckpointError)
    assert caught.value.code == "checkpoint.layer_names.unique"
    assert "[checkpoint.layer_names.unique]" in str(caught.value)


def test_constructor_normalizes_weights_and_frozen_layers() -> None:
    transposed_ints = np.arange(4, dtype=np.int32).reshape(2, 2).T
    checkpoint = SNNCheckpoint([transposed_ints, [[1.5]]], ["b", "a"], [(2, 2), (1, 1)],
                               frozen_layers=["b", "a", "b"])
    assert checkpoint.frozen_layers == ["a", "b"]
    assert all(w.dtype == np.float64 and w.flags.c_contiguous for w in checkpoint.weights)
    assert checkpoint.n_layers == 2 and checkpoint.total_params == 5


@given(until=st.integers(-1, 2), head=st.floats(0, 1), backbone=st.floats(0, 1))
def test_learning_rates_follow_the_frozen_set(until: int, head: float, backbone: float) -> None:
    checkpoint = SNNCheckpoint([np.zeros((1, 1))] * 3, ["a", "b", "c"], [(1, 1)] * 3, frozen_layers=["c"])
    _, rates = apply_transfer_config(checkpoint, TransferConfig(until, backbone, head))
    frozen = set(["a", "b", "c"][: until + 1]) | {"c"}
    assert checkpoint.frozen_layers == sorted(frozen)
    assert rates == [backbone if name in frozen else head for name in ["a", "b", "c"]]


def test_freeze_and_unfreeze_change_nothing_when_they_refuse() -> None:
    checkpoint = SNNCheckpoint([np.zeros((1, 1))] * 2, ["a", "b"], [(1, 1)] * 2, frozen_layers=["a"])
    with pytest.raises(CheckpointError):
        freeze_layers(checkpoint, layer_names=["b", "ghost"])
    with pytest.raises(CheckpointError):
        unfreeze_layers(checkpoint, layer_names=["a", "ghost"])
    assert checkpoint.frozen_layers == ["a"]
    unfreeze_layers(checkpoint, all_layers=True)
    assert checkpoint.frozen_layers == []


# Spec 2: metadata integers over int64 ∪ uint64, exactly.
SIXTY_FOUR_BIT = {"seed": 2**64 - 1, "t_ns": 1764547200123456789, "neg": -(2**63)}
IN_RANGE = [-(2**63), 2**63 - 1, 2**63, 2**64 - 1]
OUT_OF_RANGE = [-(2**63) - 1, 2**64, -(2**127), 10**30]


def _one_layer(metadata: dict[str, Any]) -> SNNCheckpoint:
    return SNNCheckpoint(weights=[np.ones((1, 2))], layer_names=["a"], layer_sizes=[(2, 1)],
                         metadata=metadata)


def test_64_bit_metadata_integers_round_trip_exactly(tmp_path: Path) -> None:
    metadata = {**SIXTY_FOUR_BIT, "nested": {"values": IN_RANGE}}
    save_checkpoint(_one_layer(metadata), tmp_path / "c")
    assert b'"seed": 18446744073709551615' in (tmp_path / "c.json").read_bytes()
    loaded = load_checkpoint(tmp_path / "c")
    assert loaded.metadata == metadata
    assert all(type(v) is int for v in loaded.metadata["nested"]["values"])
    save_checkpoint(loaded, tmp_path / "d")
    assert load_checkpoint(tmp_path / "d").metadata == metadata


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_integers_beyond_64_bits_are_refused_in_documents_and_in_memory(tmp_path: Path, value: int) -> None:
    save_checkpoint(_one_layer({}), tmp_path / "c")
    text = (tmp_path / "c.json").read_text().replace('"metadata": {}', f'"metadata": {{"x": [{value}]}}')
    (tmp_path / "c.json").write_text(text)
    with pytest.raises(CheckpointError) as loading:
        load_checkpoint(tmp_path / "c")
    with pytest.raises(CheckpointError) as constructing:
        _one_layer({"x": {"y": value}})
    assert (loading.value.code, constructing.value.code) == ("json.number.range", "schema.metadata.type")


# The writer (spec: save.writer).
def _expected_stored_archive(matrices: list[np.ndarray[Any, Any]]) -> bytes:
    """The spec's stored layout, built from its words with struct, not with the writer's code."""
    import struct
    import zlib

    from numpy.lib import format as npy_format

    local, central = b"", b""
    for index, matrix in enumerate(matrices):
        buffer = io.BytesIO()
        npy_format.write_array(buffer, np.ascontiguousarray(matrix, dtype="<f8"), version=(1, 0))
        data, name = buffer.getvalue(), f"layer_{index}.npy".encode()
        crc, offset = zlib.crc32(data), len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                             len(name), 0) + name + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, len(data),
                               len(data), len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(matrices), len(matrices), len(central), len(local), 0)
    return local + central + end


def test_stored_archives_are_the_spec_s_bytes_exactly(tmp_path: Path) -> None:
    weights = [np.arange(6.0).reshape(2, 3), np.full((1, 2), -0.0)]
    checkpoint = SNNCheckpoint(weights=weights, layer_names=["a", "b"], layer_sizes=[(3, 2), (2, 1)],
                               metadata={"lr": 1e-05, "big": 1e16, "x": 0.1, "int": 123.0, "s": "é\x7f"})
    save_checkpoint(checkpoint, tmp_path / "c", compression="stored")
    archive = (tmp_path / "c.npz").read_bytes()
    assert archive == _expected_stored_archive(weights)
    text = (tmp_path / "c.json").read_text("ascii")
    assert '"lr": 1e-05,\n    "big": 1e+16,\n    "x": 0.1,\n    "int": 123.0,\n    "s": "\\u00e9\\u007f"' in text
    save_checkpoint(checkpoint, tmp_path / "again", compression="stored")
    assert (tmp_path / "again.npz").read_bytes() == archive  # no clock, no randomness


def test_deflated_archives_load_in_numpy_and_here_with_the_same_weights(tmp_path: Path) -> None:
    weights = [np.random.default_rng(1).standard_normal((5, 7))]
    save_checkpoint(SNNCheckpoint(weights=weights, layer_names=["a"], layer_sizes=[(7, 5)]), tmp_path / "c")
    with zipfile.ZipFile(tmp_path / "c.npz") as archive:
        assert [info.compress_type for info in archive.infolist()] == [zipfile.ZIP_DEFLATED]
    with np.load(tmp_path / "c.npz", allow_pickle=False) as loaded:
        assert np.array_equal(loaded["layer_0"], weights[0])
    assert np.array_equal(load_checkpoint(tmp_path / "c").weights[0], weights[0])


def test_a_failed_save_leaves_no_temporary_file_and_the_previous_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sc_neurocore.transfer.checkpoint as module

    save_checkpoint(_one_layer({"v": 1}), tmp_path / "c")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other = SNNCheckpoint(weights=[np.zeros((1, 2))], layer_names=["a"], layer_sizes=[(2, 1)])
    with pytest.raises(ValueError, match="compression"):
        save_checkpoint(other, tmp_path / "c", compression="zstd")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before

    renames: list[str] = []
    real_replace = os.replace

    def failing_replace(source: str, target: Path) -> None:
        renames.append(str(target))
        if len(renames) == fail_at:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(module.os, "replace", failing_replace)
    fail_at = 1  # the archive's rename fails: the previous pair stays whole
    with pytest.raises(OSError):
        save_checkpoint(other, tmp_path / "c")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    renames.clear()
    fail_at = 2  # the document's rename fails: new archive, old document, caught by the digest
    with pytest.raises(OSError):
        save_checkpoint(other, tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.npz"]
    with pytest.raises(CheckpointError) as torn:
        load_checkpoint(tmp_path / "c")
    assert torn.value.code == "archive.digest"


def test_saved_files_get_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        save_checkpoint(_one_layer({}), tmp_path / "c")
    finally:
        os.umask(mask)
    assert {(tmp_path / name).stat().st_mode & 0o777 for name in ("c.json", "c.npz")} == {0o644}
