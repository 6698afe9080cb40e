"""Operators on the zip archive: torn pairs, structure, member names, methods, integrity."""

from __future__ import annotations

import copy
import hashlib
import pickle
import zlib
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .._casemodel import CaseModel
from .._fixturefiles import Npy, ZipMember
from ._registry import Draw, Params, layers, operator, pick, pick_layer

# ----------------------------------------------------------------------------- archive


@operator("archive", "load", requires=lambda params: lambda draft: draft.with_digest)
def torn_pair(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    if params["how"] == "wrong_digest":
        case.digest = draw(st.binary(min_size=32, max_size=32)).hex()
        return
    # The document of another save: same layers, different weights (or one more layer).
    other = copy.deepcopy(case.archive)
    if other.members:
        payload = other.members[0].payload
        assert isinstance(payload, Npy)
        payload.data = bytes([payload.data[0] ^ 0x01]) + payload.data[1:]
    else:
        other.members.append(ZipMember(b"layer_0.npy", Npy.of(np.zeros((1, 1)))))
    case.digest = hashlib.sha256(other.render()).hexdigest()


_NOT_ZIP = [b"\x1f\x8b\x08\x00" + b"\x00" * 30, b'{"layer_names": []}', b"\x93NUMPY\x01\x00" + b" " * 40]


def _zip_break(how: str, by: int | None, case: CaseModel, draw: Draw) -> None:
    archive = case.archive
    if how == "not_zip":
        data = pick(draw, _NOT_ZIP) + draw(st.binary(max_size=40)).replace(b"PK", b"pk")
        case.archive_edits.append(lambda _: data)
    elif how == "empty_file":
        case.archive_edits.append(lambda _: b"")
    elif how == "truncate_tail":
        cut = draw(st.integers(1, 22))
        case.archive_edits.append(lambda data: data[:-cut])
    elif how == "bad_cd_offset":
        archive.cd_offset_delta = draw(st.integers(1, 64))
    elif how == "bad_entry_count":
        archive.entry_count_delta = 1 if not archive.members else pick(draw, [1, -1])
    elif how == "bad_local_signature":
        pick(draw, archive.members).local_signature = b"PK\x03\x05"
    elif how == "local_name_mismatch":
        member = pick(draw, archive.members)
        member.local_name = member.name.replace(b"layer", b"lay3r")
    elif how == "data_past_directory":
        last = archive.members[-1]
        last.compressed_size = len(last.stream()) + (by or draw(st.integers(1, 16)))
    elif how == "trailing_bytes":
        # Bytes after the end record that its comment length does not cover: no end record
        # ends exactly at the end of the file.
        tail = draw(st.binary(min_size=1, max_size=16))
        case.archive_edits.append(lambda data: data + tail)
    elif how == "multi_disk":
        archive.disk_number = draw(st.integers(1, 3))
    elif how == "overlapping_entries":
        archive.extend_first_entry_by_next = True
    elif how == "same_local_header":
        archive.repeat_entry = draw(st.integers(0, len(archive.members) - 1))
    else:
        raise ValueError(f"unknown corrupt_zip how {how!r}")


_ZIP_NEEDS = {"bad_local_signature": 1, "local_name_mismatch": 1, "data_past_directory": 1,
              "overlapping_entries": 2, "same_local_header": 1}


@operator("archive", "load", requires=lambda params: layers(_ZIP_NEEDS.get(params["how"], 0))(params))
def corrupt_zip(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    _zip_break(params["how"], params.get("by"), case, draw)


@operator("archive", "load", requires=layers(1))
def duplicate_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    members = case.archive.members
    twin = copy.deepcopy(pick(draw, members))
    members.insert(draw(st.integers(0, len(members))), twin)


def _member_name(template: str, case: CaseModel, draw: Draw, encoding: str) -> bytes:
    index = pick(draw, range(case.n_layers)) if "{i}" in template else 0
    return template.format(n=case.n_layers, i=index).encode(encoding)


def _templates(params: Params) -> list[str]:
    name = params["name"]
    return name if isinstance(name, list) else [name]


@operator("archive", "load",
          requires=lambda params: layers(1 if any("{i}" in n for n in _templates(params)) else 0)(params))
def add_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    # Several names add several members; "encoding: latin-1" writes bytes that are not UTF-8.
    for template in _templates(params):
        name = _member_name(template, case, draw, params.get("encoding", "utf-8"))
        payload: Npy | bytes = (
            Npy.of(np.zeros((1, 1))) if name.endswith(b".npy") else pickle.dumps({"payload": [1.0]})
        )
        members = case.archive.members
        members.insert(draw(st.integers(0, len(members))), ZipMember(name, payload))


@operator("archive", "load", requires=layers(1))
def rename_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    index = pick_layer(case, draw)
    case.member(index).name = params["name"].format(i=index).encode()


@operator("archive", "load", requires=layers(1))
def drop_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.archive.members.remove(case.member(pick_layer(case, draw)))


@operator("archive", "load", requires=layers(1))
def set_method(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    member = case.member(pick_layer(case, draw))
    member.compressed = member.stream()
    member.method = params["method"]


@operator("archive", "load", requires=layers(1))
def set_flag(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    case.member(pick_layer(case, draw)).flags |= 1 << params["bit"]


@operator("archive", "load", requires=layers(1))
def corrupt_member(case: CaseModel, params: Params, invariant: dict[str, Any], draw: Draw) -> None:
    member = case.member(pick_layer(case, draw))
    how = params["how"]
    member.method = {"stored_size_mismatch": 0, "deflate_garbage": 8, "deflate_trailing": 8,
                     "declared_size_zip64": 8, "unterminated_deflate": 8, "short_stream": 8}.get(how, member.method)
    content, stream = member.content(), member.stream()
    if how == "crc":
        member.crc = zlib.crc32(content) ^ (1 << draw(st.integers(0, 31)))
    elif how == "flip_data_byte":
        position = draw(st.integers(0, len(stream) - 1))
        member.compressed = stream[:position] + bytes([stream[position] ^ 0x5A]) + stream[position + 1 :]
    elif how == "declared_size_larger":
        member.uncompressed_size = len(content) + draw(st.integers(1, 64))
    elif how == "declared_size_smaller":
        member.uncompressed_size = len(content) - draw(st.integers(1, len(content)))
    elif how == "stored_size_mismatch":
        member.uncompressed_size = len(content) + draw(st.integers(1, 64))
    elif how == "deflate_garbage":
        member.compressed = draw(st.binary(min_size=len(stream), max_size=len(stream)))
    elif how == "deflate_trailing":
        member.compressed = stream + draw(st.binary(min_size=1, max_size=8))
    elif how == "short_stream":
        # The stream (and its CRC) stops short of the declared size that the .npy header agrees
        # with: only comparing the inflated size with the declared one finds it.
        short = content[: -draw(st.integers(1, min(8, len(content) - 1)))]
        member.compressed, member.crc = zlib.compress(short, 6, -15), zlib.crc32(short)
    elif how == "unterminated_deflate":
        # Every byte inflates, but the stream has no final block: it does not end.
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        member.compressed = compressor.compress(content) + compressor.flush(zlib.Z_SYNC_FLUSH)
    elif how == "declared_size_zip64":
        # Sizes a 64-bit reader overflows on (declared + 1 as its inflate cap), in a zip64 extra.
        case.archive.zip64 = True
        member.numpy_style = True  # the local header too carries the sizes in a zip64 extra field
        member.uncompressed_size = pick(draw, [2**63 - 1, 2**63, 2**64 - 1])
    else:
        raise ValueError(f"unknown corrupt_member how {how!r}")
