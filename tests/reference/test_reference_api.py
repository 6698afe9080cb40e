"""The public API of sc_neurocore.transfer: the documented snippet, round trips, old files."""

from __future__ import annotations

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
