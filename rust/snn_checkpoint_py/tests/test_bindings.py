"""The Rust bindings (rust/snn_checkpoint_py) agree with the Python reference.

Files are written with the reference's ``save_checkpoint`` and then broken in one place; both
implementations must report the same invariant code. The bindings are built by
``maturin develop --release -m rust/snn_checkpoint_py/Cargo.toml`` (the rust-inprocess build step
of conformance.toml), which runs these tests as that implementation's unit tests.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sc_neurocore import transfer as ref

import snn_checkpoint_rs as rs


def _reference_code(call: Callable[[], object]) -> str | None:
    try:
        call()
    except ref.CheckpointError as error:
        return str(error.code)
    return None


def _rust_code(call: Callable[[], object]) -> str | None:
    try:
        call()
    except rs.CheckpointError as error:
        return str(error.code)
    return None


def _observe(cp: ref.SNNCheckpoint) -> dict[str, Any]:
    return {
        "n_layers": cp.n_layers,
        "total_params": cp.total_params,
        "layer_names": list(cp.layer_names),
        "layer_sizes": [list(pair) for pair in cp.layer_sizes],
        "neuron_types": list(cp.neuron_types),
        "frozen_layers": list(cp.frozen_layers),
        "metadata": cp.metadata,
        "weight_sha256": cp.weight_sha256(),
    }


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A valid two-layer pair written by the reference."""
    rng = np.random.default_rng(7)
    checkpoint = ref.SNNCheckpoint(
        weights=[rng.standard_normal((4, 3)), rng.standard_normal((2, 4))],
        layer_names=["hidden", "output"],
        layer_sizes=[(3, 4), (4, 2)],
        neuron_types=["LIF", "LIF"],
        metadata={"task": "mnist", "lr": 0.001, "epochs": 3, "nested": [1, {"a": None}]},
        frozen_layers=["hidden"],
    )
    path = tmp_path / "model.v1"
    ref.save_checkpoint(checkpoint, path)
    return path


def _json_path(base: Path) -> Path:
    return Path(str(base) + ".json")


def _npz_path(base: Path) -> Path:
    return Path(str(base) + ".npz")


def _edit_document(base: Path, edit: Callable[[dict[str, Any]], None], *, drop_digest: bool = True) -> None:
    document = json.loads(_json_path(base).read_text())
    if drop_digest:
        document.pop("archive_sha256", None)
    edit(document)
    _json_path(base).write_text(json.dumps(document))


def _rewrite_archive(base: Path, members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _npz_path(base).write_bytes(buffer.getvalue())
    _edit_document(base, lambda d: None)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_valid_pair_loads_to_the_same_state(base: Path) -> None:
    expected = _observe(ref.load_checkpoint(base))
    loaded = rs.load_checkpoint(base)
    assert loaded.state() == expected
    assert loaded.n_layers == 2 and loaded.total_params == 20
    assert loaded.weight_sha256 == expected["weight_sha256"]
    assert np.array_equal(np.array(loaded.weights[1]), ref.load_checkpoint(base).weights[1])


BREAKS: dict[str, Callable[[Path], None]] = {
    "no_json": lambda b: _json_path(b).unlink(),
    "bom": lambda b: _json_path(b).write_bytes(b"\xef\xbb\xbf" + _json_path(b).read_bytes()),
    "syntax": lambda b: _json_path(b).write_text(_json_path(b).read_text()[:-3]),
    "nan_beats_duplicate": lambda b: _json_path(b).write_text(
        _json_path(b).read_text().replace('"task"', '"x": NaN, "x": 1, "task"')
    ),
    "unknown_key": lambda b: _edit_document(b, lambda d: d.update(version=2), drop_digest=False),
    "total_params": lambda b: _edit_document(b, lambda d: d.update(total_params=21)),
    "torn_pair": lambda b: _edit_document(b, lambda d: d.update(archive_sha256="0" * 64), drop_digest=False),
    "no_npz": lambda b: _npz_path(b).unlink(),
    "not_zip": lambda b: _npz_path(b).write_bytes(b"not a zip"),
    "extra_member": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.zeros((4, 3))), "layer_1.npy": _npy(np.zeros((2, 4))), "extra.npy": b""}
    ),
    "pickled": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.zeros((4, 3))), "layer_1.npy": _npy(np.full((2, 4), None, dtype=object))}
    ),
    "complex": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.zeros((4, 3), dtype=np.complex128)), "layer_1.npy": _npy(np.zeros((2, 4)))}
    ),
    "transposed_is_fine": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.ones((3, 4)).T), "layer_1.npy": _npy(np.arange(8, dtype=">i2").reshape(2, 4))}
    ),
    "wrong_shape": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.zeros((3, 4))), "layer_1.npy": _npy(np.zeros((2, 4)))}
    ),
    "trailing_data": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.zeros((4, 3))) + b"\0", "layer_1.npy": _npy(np.zeros((2, 4)))}
    ),
    "uint64_overflow": lambda b: _json_path(b).write_text(
        _json_path(b).read_text().replace('"task"', '"x": 18446744073709551616, "task"')
    ),
    "int64_underflow": lambda b: _json_path(b).write_text(
        _json_path(b).read_text().replace('"task"', '"x": [-9223372036854775809], "task"')
    ),
    "n_layers_beyond_int64": lambda b: _edit_document(b, lambda d: d.update(n_layers=2**64 - 1)),
    "total_params_beyond_int64": lambda b: _edit_document(b, lambda d: d.update(total_params=2**63)),
    "layer_size_beyond_int64": lambda b: _edit_document(b, lambda d: d.update(layer_sizes=[[2**64 - 1, 4], [4, 2]])),
    "infinite": lambda b: _rewrite_archive(
        b, {"layer_0.npy": _npy(np.full((4, 3), np.inf, dtype="<f4")), "layer_1.npy": _npy(np.zeros((2, 4)))}
    ),
}


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_load_codes_match_the_reference(base: Path, how: str) -> None:
    BREAKS[how](base)
    expected = _reference_code(lambda: ref.load_checkpoint(base))
    assert _rust_code(lambda: rs.load_checkpoint(base)) == expected
    if how == "transposed_is_fine":
        assert expected is None
        assert rs.load_checkpoint(base).state() == _observe(ref.load_checkpoint(base))
    else:
        assert expected is not None


def test_integers_across_the_64_bit_range_load_exactly(base: Path) -> None:
    metadata = {"seed": 2**64 - 1, "t_ns": 1764547200123456789, "neg": -(2**63), "a": [2**63]}
    _edit_document(base, lambda d: d.update(metadata=metadata))
    loaded = rs.load_checkpoint(base)
    assert loaded.metadata == metadata
    assert loaded.state()["metadata"] == metadata
    assert rs.validate(**GOOD, metadata=metadata).state()["metadata"] == metadata


def test_exception_type_code_and_message(base: Path) -> None:
    assert issubclass(rs.CheckpointError, ValueError)
    _json_path(base).unlink()
    with pytest.raises(ValueError) as info:
        rs.load_checkpoint(base)
    assert isinstance(info.value, rs.CheckpointError)
    assert info.value.code == "json.file.present"
    assert "model.v1.json" in str(info.value)


GOOD: dict[str, Any] = {
    "weights": [np.zeros((2, 3))],
    "layer_names": ["a"],
    "layer_sizes": [(3, 2)],
}

CONSTRUCTS: dict[str, dict[str, Any]] = {
    "valid": {},
    "tuple_names": {"layer_names": ("a",)},
    "bare_string_names": {"layer_names": "a"},
    "bool_size": {"layer_sizes": [(3, True)]},
    "zero_size": {"layer_sizes": [(0, 2)]},
    "set_frozen": {"frozen_layers": {"a"}},
    "nan_metadata": {"metadata": {"x": float("nan")}},
    "bytes_metadata": {"metadata": {"x": b"\x00"}},
    "int_key_metadata": {"metadata": {1: "x"}},
    "uint64_max_metadata": {"metadata": {"x": 2**64 - 1, "y": [-(2**63)]}},
    "big_int_metadata": {"metadata": {"x": 2**64}},
    "below_int64_metadata": {"metadata": {"x": {"y": -(2**63) - 1}}},
    "huge_int_metadata": {"metadata": {"x": [10**30, -(10**48)]}},
    "tuple_metadata": {"metadata": {"x": (1,)}},
    "bool_weights": {"weights": [np.zeros((2, 3), dtype=bool)]},
    "string_weights": {"weights": [[["a", "b", "c"], ["d", "e", "f"]]]},
    "nested_list_weights": {"weights": [[[1, 2, 3], [4, 5, 6]]]},
    "scalar_weight": {"weights": [1.0]},
    "ragged_weights": {"weights": [[[1, 2, 3], [4, 5]]]},
    "flat_weights": {"weights": [np.zeros(6)]},
    "transposed_weights": {"weights": [np.zeros((3, 2))]},
    "nan_weight": {"weights": [np.array([[0.0, 0.0, 0.0], [0.0, np.nan, 0.0]])]},
    "two_weights": {"weights": [np.zeros((2, 3)), np.zeros((2, 3))]},
    "dangling_frozen": {"frozen_layers": ["b"]},
    "neuron_types_count": {"neuron_types": ["LIF", "LIF"]},
    "first_in_spec_order": {"layer_names": [""], "metadata": {"x": {1}}},
    # numpy scalars count as the numbers they hold in weights and layer sizes, not in metadata
    "numpy_scalar_weights": {"weights": [[[np.int64(1), np.float32(0.5), np.uint8(3)], [np.float16(1), 2, 3.0]]]},
    "numpy_bool_weight": {"weights": [[[np.bool_(True), 0.0, 0.0], [0.0, 0.0, 0.0]]]},
    "numpy_int_sizes": {"layer_sizes": [(np.int64(3), np.uint16(2))]},
    "numpy_int_metadata": {"metadata": {"x": np.int64(1)}},
    "numpy_float32_metadata": {"metadata": {"x": np.float32(0.5)}},
    "numpy_float64_metadata": {"metadata": {"x": np.float64(0.5)}},
    "array_in_sequence_weights": {"weights": [[np.zeros(3), np.zeros(3)]]},
    "zero_d_array_weights": {"weights": [[[np.array(1.0)] * 3] * 2]},
    # limits.weight_max_depth = 32: a number in 32 lists is rank 32, in 33 it is refused
    "weight_depth_32": {"weights": [functools.reduce(lambda x, _: [x], range(32), 1.0)]},
    "weight_depth_33": {"weights": [functools.reduce(lambda x, _: [x], range(33), 1.0)]},
    "weight_depth_64": {"weights": [functools.reduce(lambda x, _: [x], range(64), 1.0)]},
}


@pytest.mark.parametrize("how", sorted(CONSTRUCTS))
def test_validate_codes_match_the_constructor(how: str) -> None:
    values = {**GOOD, **CONSTRUCTS[how]}
    expected = _reference_code(lambda: ref.SNNCheckpoint(**values))
    assert _rust_code(lambda: rs.validate(**values)) == expected
    if expected is None:
        assert rs.validate(**values).state() == _observe(ref.SNNCheckpoint(**values))


TRANSFERS: list[dict[str, Any]] = [
    {},
    {"freeze_until": 1, "lr_backbone": 0, "lr_head": 0.5},
    {"freeze_until": "hidden"},
    {"freeze_until": "nope"},
    {"freeze_until": 2},
    {"freeze_until": -2},
    {"freeze_until": True},
    {"lr_head": float("inf")},
    {"lr_backbone": "fast"},
    {"freeze_until": 2.0, "lr_head": -1},
]


@pytest.mark.parametrize("config", TRANSFERS, ids=[json.dumps(c) for c in TRANSFERS])
def test_apply_transfer_config_matches_the_reference(base: Path, config: dict[str, Any]) -> None:
    reference = ref.load_checkpoint(base)
    ours = rs.load_checkpoint(base)
    rates: list[list[float]] = []

    def run_reference() -> None:
        _, r = ref.apply_transfer_config(reference, ref.TransferConfig(**config))
        rates.append(r)

    expected = _reference_code(run_reference)
    assert _rust_code(lambda: rates.append(rs.apply_transfer_config(ours, **config))) == expected
    if expected is None:
        assert rates[0] == rates[1]
        assert ours.frozen_layers == reference.frozen_layers


def test_freeze_and_unfreeze_match_the_reference(base: Path) -> None:
    reference, ours = ref.load_checkpoint(base), rs.load_checkpoint(base)
    ref.unfreeze_layers(reference, all_layers=True)
    ours.unfreeze_layers(all_layers=True)
    assert ours.frozen_layers == reference.frozen_layers == []
    ref.freeze_layers(reference, ["output"], until_index=0)
    ours.freeze_layers(["output"], until_index=0)
    assert ours.frozen_layers == reference.frozen_layers == ["hidden", "output"]
    for kwargs in ({}, {"layer_names": "output"}, {"until_index": True}, {"layer_names": ["x"]}, {"until_index": 2}):
        expected = _reference_code(lambda: ref.freeze_layers(reference, **kwargs))
        assert expected is not None
        assert _rust_code(lambda: ours.freeze_layers(**kwargs)) == expected
    assert ours.frozen_layers == reference.frozen_layers


def _case(base: Path) -> dict[str, Any]:
    return {
        "id": "bindings-1",
        "root": str(base.parent),
        "ops": [
            {"op": "load", "base": base.name},
            {"op": "apply_transfer_config", "config": {"freeze_until": 0, "lr_head": 1}},
            {"op": "transfer_config", "config": {"lr_backbone": {"$float": "NaN"}}},
        ],
    }


def test_run_case_answers_like_the_reference(base: Path) -> None:
    from snnconform.checkpoint._reference import execute_case

    case = _case(base)
    answer = json.loads(rs.run_case(json.dumps(case)))
    expected = execute_case(case, Path(case["root"]))
    assert answer["id"] == "bindings-1"
    strip = [{k: v for k, v in r.items() if k != "message"} for r in answer["results"]]
    assert strip == [{k: v for k, v in r.items() if k != "message"} for r in expected["results"]]
    assert strip[-1]["code"] == "transfer.learning_rate.range"
    assert "errored" in json.loads(rs.run_case('{"id": "x", "root": "/", "ops": [{"op": "nope"}]}'))


def test_in_process_testee_speaks_the_protocol(base: Path) -> None:
    requests = [
        {"cmd": "hello", "protocol": 1},
        {"cmd": "run", "seq": 3, "case": _case(base)},
        {"cmd": "stop"},
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "snn_checkpoint_rs.testee"],
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    hello, run, stop = (json.loads(line) for line in proc.stdout.splitlines())
    assert hello["implementation"] == "rust-inprocess"
    assert hello["spec_version"] == rs.SPEC_VERSION == 2
    assert run["seq"] == 3 and [r["verdict"] for r in run["results"]] == ["accept", "accept", "reject"]
    assert stop == {"stopped": True}


def test_digest_is_over_little_endian_row_major_float64(base: Path) -> None:
    weights = ref.load_checkpoint(base).weights
    expected = [hashlib.sha256(np.ascontiguousarray(w, dtype="<f8").tobytes()).hexdigest() for w in weights]
    assert rs.load_checkpoint(base).weight_sha256 == expected


def test_saved_pairs_are_the_reference_writer_s_bytes(base: Path, tmp_path: Path) -> None:
    checkpoint = rs.load_checkpoint(base)
    reference = ref.load_checkpoint(base)
    for compression in ("stored", "deflate"):
        ours, theirs = tmp_path / "rs" / compression / "m.v1", tmp_path / "ref" / compression / "m.v1"
        rs.save_checkpoint(checkpoint, ours, compression=compression)
        ref.save_checkpoint(reference, theirs, compression=compression)
        # The documents differ at most in the archive_sha256 line (deflate bytes may differ).
        ours_lines, theirs_lines = (_json_path(p).read_text("ascii").splitlines() for p in (ours, theirs))
        assert ours_lines[:-2] + ours_lines[-1:] == theirs_lines[:-2] + theirs_lines[-1:]
        if compression == "stored":
            assert _npz_path(ours).read_bytes() == _npz_path(theirs).read_bytes()
            assert _json_path(ours).read_bytes() == _json_path(theirs).read_bytes()
        assert _observe(ref.load_checkpoint(ours)) == _observe(reference)
        with np.load(_npz_path(ours), allow_pickle=False) as archive:
            assert all(np.array_equal(archive[f"layer_{i}"], w) for i, w in enumerate(reference.weights))
        assert sorted(p.name for p in ours.parent.iterdir()) == ["m.v1.json", "m.v1.npz"]
    rs.save_checkpoint(checkpoint, tmp_path / "default")
    with zipfile.ZipFile(_npz_path(tmp_path / "default")) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    rs.save_checkpoint(checkpoint, tmp_path / "nine", level=9)
    assert _observe(ref.load_checkpoint(tmp_path / "nine")) == _observe(reference)


def test_deflated_members_of_several_blocks_read_back_at_every_level(tmp_path: Path) -> None:
    # 3 MiB and 1.5 MiB layers: several 1 MiB blocks, compressed in parallel (ISA-L), one stream.
    rng = np.random.default_rng(15)
    weights = [rng.standard_normal((512, 768)), np.zeros((384, 512))]
    weights[1][100:200] = rng.standard_normal((100, 512))
    checkpoint = rs.validate(weights, ["a", "b"], [(768, 512), (512, 384)])
    for level in (1, 6, 9):
        base = tmp_path / f"level{level}"
        rs.save_checkpoint(checkpoint, base, level=level)
        with zipfile.ZipFile(_npz_path(base)) as archive:
            assert archive.testzip() is None
            assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
            assert archive.getinfo("layer_1.npy").compress_size < 1 << 20
        with np.load(_npz_path(base), allow_pickle=False) as archive:
            assert all(np.array_equal(archive[f"layer_{i}"], w) for i, w in enumerate(weights))
        loaded = ref.load_checkpoint(base)
        assert all(np.array_equal(a, w) for a, w in zip(loaded.weights, weights, strict=True))


def test_save_refuses_a_bad_compression_and_reports_file_system_failures(base: Path, tmp_path: Path) -> None:
    checkpoint = rs.load_checkpoint(base)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(ValueError, match="compression must be 'deflate' or 'stored', not 'zstd'"):
        rs.save_checkpoint(checkpoint, folder / "m", compression="zstd")
    for level in (0, 10, True, 1.0, "1", None):
        with pytest.raises(ValueError, match="level must be an integer from 1 to 9"):
            rs.save_checkpoint(checkpoint, folder / "m", level=level)
    (folder / "file").write_bytes(b"")
    with pytest.raises(OSError):
        rs.save_checkpoint(checkpoint, folder / "file" / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["file"]


def test_the_in_process_testee_saves(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "saved" / "checkpoint"
    case = {"id": "s", "root": str(base.parent), "ops": [
        {"op": "load", "base": base.name}, {"op": "save", "out": str(out), "compression": "stored"}]}
    saved = json.loads(rs.run_case(json.dumps(case)))["results"][1]["saved"]
    npz = _npz_path(out).read_bytes()
    assert saved["npz"] == {"sha256": hashlib.sha256(npz).hexdigest(), "size": len(npz)}
    hello = json.loads(rs.handle_line('{"cmd": "hello", "protocol": 1}')[0])
    assert "save" in hello["capabilities"]
