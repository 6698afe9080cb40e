"""One hand-written violation per invariant, proving the reference reports that invariant's code.

These do not use the fixture generator, so a bug shared by the generator and the reference
cannot hide here. A test fails when an invariant of the spec has no violation in this table.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sc_neurocore.transfer import (
    CheckpointError,
    SNNCheckpoint,
    TransferConfig,
    apply_transfer_config,
    freeze_layers,
    load_checkpoint,
    unfreeze_layers,
)
from sc_neurocore.transfer.errors import MESSAGES
from snnconform.checkpoint._spec import load_spec

SPEC = load_spec()
W = [np.arange(6, dtype=np.float64).reshape(3, 2), np.ones((1, 3))]
ARGS: dict[str, Any] = {"weights": W, "layer_names": ["a", "b"], "layer_sizes": [(2, 3), (3, 1)]}


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"layer_names": ["a", "b"], "layer_sizes": [[2, 3], [3, 1]],
                           "neuron_types": ["LIF", "LIF"], "frozen_layers": ["a"], "n_layers": 2,
                           "total_params": 9, "metadata": {"task": "t"}}
    doc.update(changes)
    return {key: value for key, value in doc.items() if value is not DROP}


DROP = object()


def npy(matrix: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, matrix)
    return buffer.getvalue()


def members(*, data: dict[int, bytes] | None = None) -> list[tuple[str, bytes]]:
    found = [(f"layer_{i}.npy", npy(w)) for i, w in enumerate(W)]
    for index, payload in (data or {}).items():
        found[index] = (found[index][0], payload)
    return found


def archive(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, payload in entries:
            zf.writestr(name, payload)
    return buffer.getvalue()


def load(tmp: Path, doc: Any = None, npz: bytes | None = None, text: bytes | None = None) -> None:
    if text is None:
        text = json.dumps(document() if doc is None else doc).encode()
    (tmp / "c.json").write_bytes(text)
    (tmp / "c.npz").write_bytes(archive(members()) if npz is None else npz)
    load_checkpoint(tmp / "c")


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    size = struct.calcsize(fmt)
    return data[:offset] + struct.pack(fmt, value) + data[offset + size:]


def central(data: bytes, index: int = 0) -> int:
    """Offset of the index-th central directory header."""
    return [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)][index]


def header(text: str) -> bytes:
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + bytes(48)


def construct(**changes: Any) -> None:
    SNNCheckpoint(**{**ARGS, **changes})


def checkpoint() -> SNNCheckpoint:
    return SNNCheckpoint(**ARGS)


Violation = Callable[[Path], object]

VIOLATIONS: dict[str, list[Violation]] = {
    "json.file.present": [lambda t: load_checkpoint(t / "nothing")],
    "json.encoding.utf8": [lambda t: load(t, text=b'{"layer_names": ["\xc0\xaf"]}')],
    "json.encoding.bom": [lambda t: load(t, text=b"\xef\xbb\xbf" + json.dumps(document()).encode())],
    "json.depth": [lambda t: load(t, text=b'{"a": ' + b"[" * 64 + b"]" * 64 + b"}"),
                   lambda t: load(t, text=b"[" * 65 + b'"]]]]' + b"]" * 65)],
    "json.syntax": [lambda t: load(t, text=b'{"a": 1,}'),
                    lambda t: load(t, text=b'{"a": "\\ud800"}'),
                    # the lone surrogate is in a value that a later duplicate key replaces
                    lambda t: load(t, text=b'{"a": "\\ud800", "a": 1}'),
                    lambda t: load(t, text=b'{"a": NaN, "b": }')],
    "json.nonfinite": [lambda t: load(t, text=b'{"a": -Infinity, "b": 1e400}')],
    "json.number.range": [lambda t: load(t, text=b'{"a": 18446744073709551616}'),
                          lambda t: load(t, text=b'{"a": 1e400, "a": 1}'),
                          lambda t: load(t, text=b'{"a": ' + b"9" * 5000 + b"}")],
    "json.keys.unique": [lambda t: load(t, text=b'{"a": 1, "\\u0061": 2}')],
    "schema.root.type": [lambda t: load(t, doc=[1, 2])],
    "schema.keys.required": [lambda t: load(t, doc=document(frozen_layers=DROP, extra=1))],
    "schema.keys.known": [lambda t: load(t, doc=document(archive_sha1="00"))],
    "schema.layer_names.type": [lambda t: load(t, doc=document(layer_names=["a", 2])),
                                lambda t: construct(layer_names="ab")],
    "schema.layer_sizes.type": [lambda t: load(t, doc=document(layer_sizes=[[2, 3], [3.0, 1]])),
                                lambda t: construct(layer_sizes=[(2, 3), (True, 1)])],
    "schema.neuron_types.type": [lambda t: load(t, doc=document(neuron_types=[None, "LIF"])),
                                 lambda t: construct(neuron_types=["LIF", "\udc80"])],
    "schema.frozen_layers.type": [lambda t: load(t, doc=document(frozen_layers="a")),
                                  lambda t: construct(frozen_layers=[b"a"])],
    "schema.n_layers.type": [lambda t: load(t, doc=document(n_layers=2.0))],
    "schema.total_params.type": [lambda t: load(t, text=json.dumps(document()).replace("9,", "9e0,").encode())],
    "schema.metadata.type": [lambda t: load(t, doc=document(metadata=[])),
                             lambda t: construct(metadata={"x": {1, 2}}),
                             lambda t: construct(metadata={"x": math.nan}),
                             lambda t: construct(metadata={1: "x"}),
                             lambda t: construct(metadata={"x": 2**64})],
    "schema.archive_sha256.type": [lambda t: load(t, doc=document(archive_sha256="AB" * 32))],
    "schema.weights.type": [lambda t: construct(weights=[W[0], "w"]),
                            lambda t: construct(weights=[W[0], np.ones((1, 3), dtype=bool)]),
                            lambda t: construct(weights=[W[0], [[1.0, True, 2.0]]])],
    "checkpoint.layer_names.nonempty": [lambda t: load(t, doc=document(layer_names=["a", ""]))],
    "checkpoint.layer_names.unique": [lambda t: load(t, doc=document(layer_names=["a", "a"]))],
    "checkpoint.layer_sizes.count": [lambda t: construct(layer_sizes=[(2, 3)])],
    "checkpoint.layer_sizes.range": [lambda t: load(t, doc=document(layer_sizes=[[2, 3], [0, 1]])),
                                     lambda t: construct(layer_sizes=[(2, 3), (3, 2**31)])],
    "checkpoint.neuron_types.count": [lambda t: construct(neuron_types=["LIF"])],
    "checkpoint.frozen_layers.references": [lambda t: load(t, doc=document(frozen_layers=["A"]))],
    "checkpoint.weights.count": [lambda t: construct(weights=W[:1])],
    "checkpoint.n_layers.consistent": [lambda t: load(t, doc=document(n_layers=3))],
    "checkpoint.total_params.consistent": [lambda t: load(t, doc=document(total_params=10))],
    "archive.file.present": [lambda t: (t / "c.json").write_text(json.dumps(document()))
                             and load_checkpoint(t / "c")],
    "archive.digest": [lambda t: load(t, doc=document(archive_sha256="0" * 64))],
    "archive.zip.structure": [lambda t: load(t, npz=b"PK\x05\x06" + bytes(17)),
                              lambda t: load(t, npz=archive(members())[:-1]),
                              lambda t: load(t, npz=b"\x00" * 64)],
    "archive.members.duplicate": [lambda t: load(t, npz=archive(members() + members()[:1]))],
    "archive.members.unexpected": [lambda t: load(t, npz=archive(members() + [("layer_2.npy", b"")]))],
    "archive.members.missing": [lambda t: load(t, npz=archive(members()[1:]))],
    "archive.member.method": [lambda t: load(t, npz=patch(archive(members()), central(archive(members())) + 10, "<H", 12))],
    "archive.member.integrity": [lambda t: load(t, npz=patch(archive(members()), central(archive(members()), 1) + 16, "<I", 0)),
                                 lambda t: load(t, npz=archive(members(data={0: b"x"}), zipfile.ZIP_STORED).replace(b"x", b"y"))],
    "array.npy.magic": [lambda t: load(t, npz=archive(members(data={1: b"\x93NUMPY\x04\x00"})))],
    "array.npy.header": [lambda t: load(t, npz=archive(members(data={0: header("{'descr': '<f8', 'shape': (3, 2), }")}))),
                         lambda t: load(t, npz=archive(members(data={0: header("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), 'x': 1}")}))),
                         lambda t: load(t, npz=archive(members(data={0: header("{'descr': '<f8', 'fortran_order': False, 'shape': (3*1, 2)}")})))],
    "array.dtype.pickle": [lambda t: load(t, npz=archive(members(data={1: header("{'descr': '|O', 'fortran_order': False, 'shape': (1, 3), }")})))],
    "array.dtype": [lambda t: load(t, npz=archive(members(data={0: npy(W[0].astype(np.complex128))})))],
    "array.shape.rank": [lambda t: load(t, npz=archive(members(data={0: npy(W[0].ravel())}))),
                         lambda t: construct(weights=[W[0], np.ones(3)])],
    "array.shape.match": [lambda t: load(t, npz=archive(members(data={0: npy(W[0].T.copy())}))),
                          lambda t: construct(weights=[W[0].T, W[1]])],
    "array.data.length": [lambda t: load(t, npz=archive(members(data={0: npy(W[0]) + b"\x00"}))),
                          lambda t: load(t, npz=archive(members(data={0: npy(W[0])[:-8]})))],
    "array.finite": [lambda t: load(t, npz=archive(members(data={1: npy(np.array([[1.0, np.inf, 0.0]]))}))),
                     lambda t: construct(weights=[W[0], np.array([[1.0, 2.0, np.nan]])])],
    "transfer.freeze_until.type": [lambda t: TransferConfig(freeze_until=True)],
    "transfer.freeze_until.range": [lambda t: TransferConfig(freeze_until=-2)],
    "transfer.learning_rate.type": [lambda t: TransferConfig(lr_backbone=-1.0, lr_head="0.1")],  # type: ignore[arg-type]
    "transfer.learning_rate.range": [lambda t: TransferConfig(lr_head=math.inf),
                                     lambda t: TransferConfig(lr_backbone=-5e-324),
                                     lambda t: TransferConfig(lr_head=10**400)],
    "transfer.selector.missing": [lambda t: freeze_layers(checkpoint()),
                                  lambda t: unfreeze_layers(checkpoint(), all_layers=False)],
    "transfer.layer_names.type": [lambda t: freeze_layers(checkpoint(), layer_names="a")],
    "transfer.layer_index.type": [lambda t: freeze_layers(checkpoint(), until_index=True)],  # type: ignore[arg-type]
    "transfer.all_layers.type": [lambda t: unfreeze_layers(checkpoint(), ["a"], all_layers=1)],  # type: ignore[arg-type]
    "transfer.layer_names.references": [lambda t: unfreeze_layers(checkpoint(), ["ghost"]),
                                        lambda t: apply_transfer_config(checkpoint(), TransferConfig("c"))],
    "transfer.layer_index.range": [lambda t: freeze_layers(checkpoint(), until_index=2),
                                   lambda t: apply_transfer_config(checkpoint(), TransferConfig(5))],
}


def test_every_invariant_of_the_spec_has_a_violation_here() -> None:
    assert list(VIOLATIONS) == SPEC.invariant_ids


def test_the_reference_limits_and_dtypes_are_the_spec_s() -> None:
    from sc_neurocore.transfer import _limits

    limits = SPEC.document["limits"]
    # Each spec limit has the reference constant of the same name, upper-cased.
    assert limits == {name: getattr(_limits, name.upper()) for name in limits}
    assert {key: type(value) for key, value in limits.items()} == {
        name: type(getattr(_limits, name.upper())) for name in limits}
    assert list(SPEC.document["npy"]["accepted_dtypes"]) == list(_limits.ACCEPTED_DTYPES)


def test_every_invariant_has_a_message_and_the_reference_uses_the_spec_text() -> None:
    assert {inv.id: inv.message for inv in SPEC.invariants} == MESSAGES


@pytest.mark.parametrize(
    ("code", "violation"),
    [(code, violation) for code, violations in VIOLATIONS.items() for violation in violations],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_reference_reports_the_violated_invariant(tmp_path: Path, code: str, violation: Violation) -> None:
    with pytest.raises(CheckpointError) as caught:
        violation(tmp_path)
    assert caught.value.code == code
    assert f"[{code}]" in str(caught.value)


def test_the_digest_of_a_matching_archive_is_accepted(tmp_path: Path) -> None:
    npz = archive(members())
    load(tmp_path, doc=document(archive_sha256=hashlib.sha256(npz).hexdigest()), npz=npz)


def test_a_declared_size_is_never_trusted_for_allocation(tmp_path: Path) -> None:
    # A 2**40-element shape with a few bytes of data: refused by length, not by MemoryError.
    npz = archive(members(data={0: header("{'descr': '<f8', 'fortran_order': False, 'shape': (1048576, 1048576), }")}))
    doc = document(layer_sizes=[[1048576, 1048576], [3, 1]], total_params=1048576**2 + 3)
    with pytest.raises(CheckpointError) as caught:
        load(tmp_path, doc=doc, npz=npz)
    assert caught.value.code == "array.data.length"


def test_a_zip_bomb_directory_is_refused_without_inflating_past_the_declared_size(tmp_path: Path) -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = bomb.compress(bytes(50_000_000)) + bomb.flush()
    npz = bytearray(archive(members(), zipfile.ZIP_STORED))
    # Replace layer_0's data by the bomb, declaring a small uncompressed size.
    with zipfile.ZipFile(io.BytesIO(bytes(npz))) as zf:
        info = zf.getinfo("layer_0.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    rebuilt = bytes(npz[:start]) + stream + bytes(npz[start + info.compress_size:])
    shift = len(stream) - info.compress_size
    cd = central(rebuilt)
    rebuilt = patch(rebuilt, cd + 10, "<H", 8)
    rebuilt = patch(rebuilt, cd + 20, "<I", len(stream))
    second = central(rebuilt, 1)
    rebuilt = patch(rebuilt, second + 42, "<I", struct.unpack_from("<I", rebuilt, second + 42)[0] + shift)
    end = rebuilt.rindex(b"PK\x05\x06")
    rebuilt = patch(rebuilt, end + 16, "<I", struct.unpack_from("<I", rebuilt, end + 16)[0] + shift)
    with pytest.raises(CheckpointError) as caught:
        load(tmp_path, npz=rebuilt)
    assert caught.value.code == "archive.member.integrity"
    assert "more than the declared" in str(caught.value)
