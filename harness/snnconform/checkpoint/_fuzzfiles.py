"""Reading valid checkpoint files back into editable models, for the fuzzer's mutators.

The generator builds files from models (:mod:`._fixturefiles`); the fuzzer starts from the
corpus's files, so it needs the way back: an ``.npz`` as a :class:`ZipModel` whose members are
:class:`Npy` payloads, and a zip's central directory as a list of raw records that can be
duplicated, reordered or edited field by field, with the end records kept consistent (or not,
as the mutation says). Every reader returns None for bytes it cannot read, so a mutation that
meets an already broken file is a no-op rather than an error.
"""

from __future__ import annotations

import ast
import io
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

from ._fixturefiles import Npy, ZipMember, ZipModel

_MAGIC = b"\x93NUMPY"


def parse_npy(content: bytes) -> Npy | None:
    """An ``.npy`` payload as an :class:`Npy` (header as parsed), or None."""
    if len(content) < 10 or not content.startswith(_MAGIC):
        return None
    version = (content[6], content[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        return None
    width = 2 if version[0] == 1 else 4
    (length,) = struct.unpack("<H" if width == 2 else "<I", content[8 : 8 + width])
    start = 8 + width
    raw = content[start : start + length]
    try:
        text = raw.decode("utf-8" if version == (3, 0) else "latin-1")
        header = ast.literal_eval(text.strip())
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(descr, str) or not isinstance(fortran, bool):
        return None
    # Keep the header as written (spaces before "{", its own padding) so it renders back the same.
    stripped = text.lstrip(" ")
    newline = "\n" if stripped.endswith("\n") else ""
    body = stripped[: len(stripped) - len(newline)].rstrip(" ")
    return Npy(descr, fortran, shape, content[start + length :], version, header_text=body,
               newline=newline, leading_spaces=len(text) - len(stripped), header_length=len(raw))


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    return info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def parse_npz(data: bytes) -> ZipModel | None:
    """A readable zip as a :class:`ZipModel` (members in directory order), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = []
            zip64 = False
            for info in archive.infolist():
                if info.compress_type not in (0, 8) or info.file_size > 1 << 24:
                    return None
                content = archive.read(info)
                local = data[info.header_offset : info.header_offset + 30]
                numpy_style = len(local) == 30 and local[18:26] == b"\xff" * 8
                zip64 = zip64 or info.extra[:2] == b"\x01\x00"
                payload: Npy | bytes = parse_npy(content) or content
                members.append(ZipMember(_raw_name(info), payload, method=info.compress_type,
                                         numpy_style=numpy_style))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            struct.error, RuntimeError, KeyError, MemoryError):
        return None
    directory = CentralDirectory.parse(data)  # zip64 end records, even with no member
    return ZipModel(members, zip64=zip64 or (directory is not None and directory.zip64))


# --------------------------------------------------------------------- central directory

_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes before name, extra, comment
_EOCD = struct.Struct("<4sHHHHIIH")  # 22 bytes
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_LOCATOR = struct.Struct("<4sIQI")  # 20 bytes

#: Names of a central record's fixed fields, in order (for mutations that set one).
CENTRAL_FIELDS = ("signature", "made_by", "needed", "flags", "method", "time", "date", "crc",
                  "compressed_size", "uncompressed_size", "name_length", "extra_length",
                  "comment_length", "disk_start", "internal_attributes", "external_attributes",
                  "local_offset")
_CENTRAL_WIDTHS = (32, 16, 16, 16, 16, 16, 16, 32, 32, 32, 16, 16, 16, 16, 16, 32, 32)


@dataclass
class CentralDirectory:
    """A zip split into what precedes its central directory, the records, and the end."""

    head: bytes
    records: list[bytes]
    zip64: bool

    @classmethod
    def parse(cls, data: bytes) -> CentralDirectory | None:
        if len(data) < _EOCD.size or data[-_EOCD.size : -_EOCD.size + 4] != b"PK\x05\x06":
            return None  # a comment or a broken end: leave such files to the byte mutators
        _, _, _, _, count, size, offset, _ = _EOCD.unpack(data[-_EOCD.size :])
        zip64 = count == 0xFFFF or size == 0xFFFFFFFF or offset == 0xFFFFFFFF
        if zip64:
            locator = data[-_EOCD.size - _LOCATOR.size : -_EOCD.size]
            if len(locator) != _LOCATOR.size or locator[:4] != b"PK\x06\x07":
                return None
            record_at = _LOCATOR.unpack(locator)[2]
            record = data[record_at : record_at + _ZIP64_EOCD.size]
            if len(record) != _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
                return None
            count, size, offset = _ZIP64_EOCD.unpack(record)[7:10]
        records = []
        position = offset
        for _ in range(count):
            fixed = data[position : position + _CENTRAL.size]
            if len(fixed) != _CENTRAL.size or fixed[:4] != b"PK\x01\x02":
                return None
            fields = _CENTRAL.unpack(fixed)
            length = _CENTRAL.size + fields[10] + fields[11] + fields[12]
            records.append(data[position : position + length])
            position += length
        return cls(data[:offset], records, zip64)

    def render(self) -> bytes:
        """The zip with these records and end records that agree with them."""
        central = b"".join(self.records)
        offset, count = len(self.head), len(self.records)
        if not self.zip64:
            end = _EOCD.pack(b"PK\x05\x06", 0, 0, count, count, len(central), offset, 0)
            return self.head + central + end
        record_at = offset + len(central)
        record = _ZIP64_EOCD.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), offset)
        locator = _LOCATOR.pack(b"PK\x06\x07", 0, record_at, 1)
        end = _EOCD.pack(b"PK\x05\x06", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        return self.head + central + record + locator + end


def set_central_field(record: bytes, field: int, value: int) -> bytes:
    """``record`` with fixed field number ``field`` (:data:`CENTRAL_FIELDS`) set to ``value``
    (masked to the field's width; the name and extra lengths are left alone)."""
    fields: list[Any] = list(_CENTRAL.unpack(record[: _CENTRAL.size]))
    if field in (0, 10, 11, 12):
        return record
    width = _CENTRAL_WIDTHS[field]
    fields[field] = value & ((1 << width) - 1)
    return _CENTRAL.pack(*fields) + record[_CENTRAL.size :]


def set_zip64_extra(record: bytes, slot: int, value: int) -> bytes:
    """``record`` with 64-bit slot ``slot`` of its zip64 extra field (0 uncompressed size,
    1 compressed size, 2 local offset, as numpy and :class:`ZipModel` write them) set to
    ``value``; a record without that slot is returned unchanged."""
    fields = _CENTRAL.unpack(record[: _CENTRAL.size])
    start = _CENTRAL.size + fields[10]
    extra = record[start : start + fields[11]]
    if extra[:2] != b"\x01\x00" or len(extra) < 4 + 8 * (slot + 1):
        return record
    at = start + 4 + 8 * slot
    return record[:at] + struct.pack("<Q", value % (1 << 64)) + record[at + 8 :]
