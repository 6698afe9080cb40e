"""Byte-exact writers for fixture files: the metadata document, ``.npy`` members, the zip.

The generator needs files the Python writer would never produce (duplicate keys, raw NaN
tokens, lying zip directories, hand-made ``.npy`` headers), so each file is described by a small
mutable model that mutation operators edit, and rendered to bytes only at the end. Rendering a
model that nobody mutated gives exactly what ``save_checkpoint`` / numpy would write (tests pin
this), with fixed timestamps so the corpus is reproducible.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------- JSON document


@dataclass(frozen=True)
class Raw:
    """Text spliced into the document verbatim (NaN tokens, huge literals, broken syntax)."""

    text: str


@dataclass
class Pairs:
    """A JSON object as an ordered list of (key, value): keys may repeat or be written raw."""

    items: list[tuple[str | Raw, Any]]


def dump_json(value: Any, indent: int | None = 2, ensure_ascii: bool = True, level: int = 0) -> str:
    """json.dumps(indent=2, ensure_ascii=True) for plain values, plus :class:`Raw` and :class:`Pairs`."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        value = Pairs(list(value.items()))
    if isinstance(value, (Pairs, list)):
        items = value.items if isinstance(value, Pairs) else value
        opener, closer = ("{", "}") if isinstance(value, Pairs) else ("[", "]")
        if not items:
            return opener + closer
        rendered = []
        for item in items:
            if isinstance(value, Pairs):
                key, member = item
                key_text = key.text if isinstance(key, Raw) else json.dumps(key, ensure_ascii=ensure_ascii)
                separator = ": " if indent is not None else ":"
                rendered.append(key_text + separator + dump_json(member, indent, ensure_ascii, level + 1))
            else:
                rendered.append(dump_json(item, indent, ensure_ascii, level + 1))
        if indent is None:
            return opener + ",".join(rendered) + closer
        inner = "\n" + " " * (indent * (level + 1))
        return opener + inner + ("," + inner).join(rendered) + "\n" + " " * (indent * level) + closer
    return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False)


# ----------------------------------------------------------------------------- .npy member


def npy_header_text(descr: str, fortran_order: bool, shape: tuple[int, ...]) -> str:
    """The header dict exactly as numpy writes it (before padding)."""
    return f"{{'descr': {descr!r}, 'fortran_order': {fortran_order}, 'shape': {shape!r}, }}"


@dataclass
class Npy:
    """One ``.npy`` payload; every field may be edited by a mutation before rendering."""

    descr: str
    fortran_order: bool
    shape: tuple[int, ...]
    data: bytes
    version: tuple[int, int] = (1, 0)
    header_text: str | None = None  # overrides the dict rendered from descr/order/shape
    header_length_delta: int = 0
    magic: bytes = b"\x93NUMPY"
    newline: str = "\n"
    leading_spaces: int = 0  # spaces before the "{" (the grammar allows them)
    header_length: int | None = None  # pad the header to exactly this many bytes, not to 64
    length_field: int | None = None  # the header length field's value, if not the true length

    @classmethod
    def of(cls, matrix: np.ndarray[Any, Any], version: tuple[int, int] = (1, 0)) -> Npy:
        """The payload numpy's ``write_array`` produces for ``matrix``."""
        fortran = bool(matrix.flags.f_contiguous and not matrix.flags.c_contiguous)
        data = matrix.tobytes(order="F" if fortran else "C")
        return cls(matrix.dtype.str, fortran, tuple(matrix.shape), data, version)

    def render(self) -> bytes:
        text = self.header_text or npy_header_text(self.descr, self.fortran_order, self.shape)
        text = " " * self.leading_spaces + text
        encoding = "utf-8" if self.version == (3, 0) else "latin-1"
        length_format = "<H" if self.version[0] == 1 else "<I"
        prefix = len(self.magic) + 2 + struct.calcsize(length_format)
        # numpy pads with spaces so that the data starts at a multiple of 64 bytes.
        unpadded = prefix + len(text.encode(encoding)) + len(self.newline)
        padding = -unpadded % 64 if self.header_length is None else self.header_length - unpadded + prefix
        text += " " * padding + self.newline
        header = text.encode(encoding)
        declared = len(header) if self.length_field is None else self.length_field
        length = struct.pack(length_format, declared + self.header_length_delta)
        return self.magic + bytes(self.version) + length + header + self.data


# ----------------------------------------------------------------------------- zip archive

_FIXED_DOS_TIME, _FIXED_DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00


@dataclass
class ZipMember:
    """One archive member. ``None`` overrides mean "what a correct writer would put there"."""

    name: bytes
    payload: Npy | bytes
    method: int = 8
    numpy_style: bool = True  # zip64 local header with placeholder sizes, as numpy writes
    flags: int = 0
    crc: int | None = None
    compressed: bytes | None = None
    compressed_size: int | None = None
    uncompressed_size: int | None = None
    local_name: bytes | None = None
    local_signature: bytes = b"PK\x03\x04"
    central_offset: int | None = None  # the central entry's local header offset, if not the true one

    def content(self) -> bytes:
        return self.payload.render() if isinstance(self.payload, Npy) else self.payload

    def stream(self) -> bytes:
        if self.compressed is not None:
            return self.compressed
        if self.method == 8:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            return compressor.compress(self.content()) + compressor.flush()
        return self.content()


@dataclass
class ZipModel:
    """An archive as a list of members plus end-record overrides."""

    members: list[ZipMember] = field(default_factory=list)
    disk_number: int = 0
    entry_count_delta: int = 0
    cd_offset_delta: int = 0
    extend_first_entry_by_next: bool = False  # makes entry 0's data overlap entry 1
    # A second central entry for this member's local header, its CRC-32 flipped.
    repeat_entry: int | None = None
    zip64: bool = False  # zip64 central extras and end records, as for archives over 4 GiB

    def render(self) -> bytes:
        out = bytearray()
        central = bytearray()
        records = []
        for member in self.members:
            content = member.content()
            stream = member.stream()
            crc = zlib.crc32(content) if member.crc is None else member.crc
            usize = len(content) if member.uncompressed_size is None else member.uncompressed_size
            csize = len(stream) if member.compressed_size is None else member.compressed_size
            offset = len(out)
            local_name = member.name if member.local_name is None else member.local_name
            if member.numpy_style:
                extra = struct.pack("<HHQQ", 1, 16, usize, csize)
                local_sizes = (0xFFFFFFFF, 0xFFFFFFFF)
                version = 45
            else:
                extra, local_sizes, version = b"", (csize, usize), 20
            out += member.local_signature + struct.pack(
                "<HHHHHIIIHH", version, member.flags, member.method, _FIXED_DOS_TIME,
                _FIXED_DOS_DATE, crc, *local_sizes, len(local_name), len(extra),
            )
            out += local_name + extra + stream
            central_offset = offset if member.central_offset is None else member.central_offset
            records.append((member, crc, csize, usize, central_offset, len(out) - offset))
        if self.extend_first_entry_by_next and len(records) >= 2:
            first = records[0]
            records[0] = (*first[:2], first[2] + records[1][5], *first[3:])
        if self.repeat_entry is not None:
            twin = records[self.repeat_entry]
            records.insert(self.repeat_entry + 1, (twin[0], twin[1] ^ 0x00000001, *twin[2:]))
        cd_offset = len(out)
        for member, crc, csize, usize, offset, _ in records:
            extra = b""
            if self.zip64:
                # Sizes and offset live in the zip64 extra field; the 32-bit fields say so.
                extra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset)
                csize = usize = offset = 0xFFFFFFFF
            central += b"PK\x01\x02" + struct.pack(
                "<HHHHHHIIIHHHHHII", 45 if self.zip64 else 20, 45 if self.zip64 else 20,
                member.flags, member.method, _FIXED_DOS_TIME, _FIXED_DOS_DATE, crc, csize, usize,
                len(member.name), len(extra), 0, 0, 0, 0o600 << 16, offset,
            )
            central += member.name + extra
        count = len(records) + self.entry_count_delta
        directory_offset = cd_offset + self.cd_offset_delta
        if not self.zip64:
            end = b"PK\x05\x06" + struct.pack(
                "<HHHHIIH", self.disk_number, 0, count, count, len(central), directory_offset, 0
            )
            return bytes(out + central + end)
        # A zip64 end record and its locator; the classic end record only points to them.
        record_offset = len(out) + len(central)
        record = b"PK\x06\x06" + struct.pack(
            "<QHHIIQQQQ", 44, 45, 45, self.disk_number, 0, count, count, len(central),
            directory_offset,
        )
        locator = b"PK\x06\x07" + struct.pack("<IQI", 0, record_offset, 1)
        end = b"PK\x05\x06" + struct.pack(
            "<HHHHIIH", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0
        )
        return bytes(out + central + record + locator + end)
