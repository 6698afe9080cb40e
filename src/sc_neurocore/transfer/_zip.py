"""A zip reader driven by the central directory: the spec's ``archive.*`` structure rules.

:mod:`zipfile` is lenient where the spec is strict (duplicate names, overlapping entries, data
running into the directory), so the directory is parsed here. Local headers are trusted only for
their signature, name and the lengths that locate the data: numpy writes zip64 local headers with
placeholder sizes (0xFFFFFFFF) and the real ones in the central directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import struct
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

from isal import isal_zlib

from ._limits import ZIP_U16_MAX, ZIP_U32_MAX
from .errors import CheckpointError

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_MAX_COMMENT = ZIP_U16_MAX
_U16_MAX, _U32_MAX = ZIP_U16_MAX, ZIP_U32_MAX
_ZIP64_EXTRA_ID = 0x0001
STORED, DEFLATED = 0, 8
# The archive's bytes as the directory parser sees them: in memory or mapped.
Buffer = bytes | mmap.mmap
ENCRYPTION_FLAGS = 0x0001 | 0x0040


@dataclass(frozen=True)
class Member:
    """One entry of the central directory, located and bounds-checked."""

    name: bytes
    flags: int
    method: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    header_offset: int
    data_offset: int

    @property
    def display_name(self) -> str:
        return self.name.decode("utf-8", "backslashreplace")


def _broken(detail: str) -> CheckpointError:
    return CheckpointError("archive.zip.structure", detail=detail)


def _find_end_record(data: Buffer) -> int:
    """Offset of the last end record whose comment ends exactly at the end of the file."""
    lowest = max(0, len(data) - 22 - _MAX_COMMENT)
    position = data.rfind(_EOCD, lowest)
    while position >= 0:
        if position + 22 <= len(data):
            (comment_length,) = struct.unpack_from("<H", data, position + 20)
            if position + 22 + comment_length == len(data):
                return position
        position = data.rfind(_EOCD, lowest, position)
    raise _broken("no end-of-central-directory record")


def _directory_bounds(data: Buffer) -> tuple[int, int, int, int]:
    """(entry count, directory offset, directory size, where the end records begin)."""
    end = _find_end_record(data)
    disk, cd_disk, disk_entries, entries, cd_size, cd_offset = struct.unpack_from(
        "<HHHHII", data, end + 4
    )
    records_start = end
    if _U16_MAX in (disk, cd_disk, disk_entries, entries) or _U32_MAX in (cd_size, cd_offset):
        locator = end - 20
        if locator < 0 or data[locator : locator + 4] != _ZIP64_LOCATOR:
            raise _broken("end record needs zip64 values but has no zip64 locator")
        locator_disk, record, total_disks = struct.unpack_from("<IQI", data, locator + 4)
        if locator_disk != 0 or total_disks != 1:
            raise _broken("multi-disk archives are not supported")
        if record + 56 > locator or data[record : record + 4] != _ZIP64_EOCD:
            raise _broken("zip64 end record is missing or out of place")
        disk, cd_disk, disk_entries, entries, cd_size, cd_offset = struct.unpack_from(
            "<IIQQQQ", data, record + 16
        )
        records_start = record
    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise _broken("multi-disk archives are not supported")
    if cd_offset + cd_size > records_start:
        raise _broken(
            f"central directory ({cd_size} bytes at {cd_offset}) runs past its end record"
        )
    return entries, cd_offset, cd_size, records_start


def _zip64_values(extra: bytes, needed: list[str]) -> dict[str, int]:
    """The 64-bit values a zip64 extra field supplies for fields marked 0xFFFFFFFF."""
    found: dict[str, int] = {}
    position = 0
    while position < len(extra):
        if position + 4 > len(extra):
            raise _broken("truncated extra field")
        header_id, size = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4 : position + 4 + size]
        if len(body) != size:
            raise _broken("truncated extra field")
        if header_id == _ZIP64_EXTRA_ID and not found:
            if len(body) < 8 * len(needed):
                raise _broken("zip64 extra field is too short")
            found = dict(zip(needed, struct.unpack_from(f"<{len(needed)}Q", body)))
        position += 4 + size
    if needed and len(found) != len(needed):
        raise _broken("sizes marked 0xFFFFFFFF but no zip64 extra field")
    return found


def read_directory(data: Buffer) -> list[Member]:
    """Parse and bounds-check the central directory and every local header.

    Raises
    ------
    CheckpointError
        ``archive.zip.structure`` for anything that breaks the spec's structure rules.
    """
    if len(data) < 22:
        raise _broken(f"{len(data)} bytes is too short for a zip file")
    entries, cd_offset, cd_size, _ = _directory_bounds(data)
    cd_end = cd_offset + cd_size
    members: list[Member] = []
    position = cd_offset
    for index in range(entries):
        if position + 46 > cd_end or data[position : position + 4] != _CENTRAL:
            raise _broken(f"central directory entry {index} is missing or truncated")
        (flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len, disk) = (
            struct.unpack_from("<HHHHIIIHHHH", data, position + 8)
        )
        (offset,) = struct.unpack_from("<I", data, position + 42)
        name_start = position + 46
        position = name_start + name_len + extra_len + comment_len
        if position > cd_end:
            raise _broken(f"central directory entry {index} runs past the directory")
        if disk != 0:
            raise _broken("multi-disk archives are not supported")
        name = data[name_start : name_start + name_len]
        extra = data[name_start + name_len : name_start + name_len + extra_len]
        needed = [
            field
            for field, value in (("usize", usize), ("csize", csize), ("offset", offset))
            if value == _U32_MAX
        ]
        wide = _zip64_values(extra, needed)
        usize, csize = wide.get("usize", usize), wide.get("csize", csize)
        offset = wide.get("offset", offset)
        members.append(
            _locate(data, name, flags, method, crc, csize, usize, offset, cd_offset)
        )
    if position != cd_end:
        raise _broken(f"central directory holds {position - cd_offset} bytes, declares {cd_size}")
    _check_no_overlap(members)
    return members


def _locate(
    data: Buffer,
    name: bytes,
    flags: int,
    method: int,
    crc: int,
    csize: int,
    usize: int,
    offset: int,
    cd_offset: int,
) -> Member:
    shown = name.decode("utf-8", "backslashreplace")
    if offset + 30 > cd_offset or data[offset : offset + 4] != _LOCAL:
        raise _broken(f"member {shown!r}: no local header at offset {offset}")
    local_name_len, local_extra_len = struct.unpack_from("<HH", data, offset + 26)
    if data[offset + 30 : offset + 30 + local_name_len] != name:
        raise _broken(f"member {shown!r}: local header names a different file")
    data_offset = offset + 30 + local_name_len + local_extra_len
    if data_offset + csize > cd_offset:
        raise _broken(f"member {shown!r}: data runs into the central directory")
    return Member(name, flags, method, crc, csize, usize, offset, data_offset)


def _check_no_overlap(members: list[Member]) -> None:
    # Sorted by start only: two entries for one local header start together and overlap, and
    # the members themselves are never compared (they have no order).
    spans = sorted(members, key=lambda m: (m.header_offset, m.data_offset + m.compressed_size))
    for first, second in zip(spans, spans[1:]):
        if second.header_offset < first.data_offset + first.compressed_size:
            raise _broken(f"members {first.display_name!r} and {second.display_name!r} overlap")


# Deflate makes at most 1032 bytes per compressed byte (258 per 2-bit code); with the slack for
# a tiny stream's block headers, a larger declared size cannot be true (member_integrity).
_DEFLATE_MAX_RATIO, _DEFLATE_SLACK = 1032, 1024
# Bytes per read; the two read buffers are the loader's memory beside the matrices.
READ_CHUNK = 1 << 20
# At most this much inflated output per call: a piece that stays in the CPU's cache while it is
# checksummed and copied into the matrix, and a buffer the allocator reuses (a larger one is a
# fresh mapping, faulted in page by page, on every call).
INFLATE_CHUNK = 1 << 20
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)  # its stub calls it an instance


class Sink(Protocol):
    """Where a member's uncompressed bytes go (the .npy decoder)."""

    def write(self, data: bytes | memoryview) -> None: ...
    def direct(self, limit: int) -> memoryview | None: ...
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


class MemberReader:
    """One member's bytes as they stream past: its sizes, deflate stream and CRC-32 judged as
    archive.member_integrity says, its uncompressed bytes handed to ``sink``.

    Nothing is allocated from a declared size: a stored member is as long as its compressed
    bytes, which lie inside the file; a deflated member's declared size is believed only up to
    what its compressed bytes can inflate to, and inflating stops one byte past it.
    """

    def __init__(self, member: Member, sink: Sink) -> None:
        self.member = member
        self.error: CheckpointError | None = None
        self._sink = sink
        self._crc = 0
        self._produced = 0
        self._inflater: isal_zlib.Decompress | None = None
        usize, csize = member.uncompressed_size, member.compressed_size
        # Any method but stored is inflated: only archive.member.method refuses other methods,
        # so a reader without that check still judges the member as deflated.
        if member.method == STORED:
            if csize != usize:
                self.error = self._corrupt(f"stored with {csize} bytes but declares {usize}")
        elif usize > _DEFLATE_MAX_RATIO * csize + _DEFLATE_SLACK:
            self.error = self._corrupt(f"declares {usize} bytes, more than {csize} compressed bytes inflate to")
        else:
            self._inflater = isal_zlib.decompressobj(-15)

    def _corrupt(self, detail: str) -> CheckpointError:
        return CheckpointError("archive.member.integrity", member=self.member.display_name, detail=detail)

    def direct(self, limit: int) -> memoryview | None:
        """Where the next stored bytes may be read in place (into the sink's matrix), or None."""
        return self._sink.direct(limit) if self._inflater is None and self.error is None else None

    def feed(self, data: memoryview, in_place: bool) -> None:
        """The member's next compressed bytes (``in_place``: already where :meth:`direct` said)."""
        if self.error is not None:
            return
        if self._inflater is None:
            self._crc = isal_zlib.crc32(data, self._crc)
            self._produced += len(data)
            if in_place:
                self._sink.advance(len(data))
            else:
                self._sink.write(data)
            return
        # Inflating stops at the declared size plus one byte (a zip64 size may reach 2^64 - 1;
        # the cap saturates at the largest size Python allows).
        cap = min(self.member.uncompressed_size + 1, sys.maxsize)
        pending: bytes | memoryview = data
        while not self._inflater.eof:
            limit = min(INFLATE_CHUNK, cap - self._produced)
            try:
                out = self._inflater.decompress(pending, limit)
            except _INFLATE_ERROR as exc:
                self.error = self._corrupt(f"invalid deflate data ({exc})")
                return
            pending = self._inflater.unconsumed_tail
            self._take(out)
            if self._produced > self.member.uncompressed_size:
                self.error = self._corrupt(f"inflates to more than the declared {self.member.uncompressed_size} bytes")
                return
            if not pending and len(out) < limit:  # it needs more input
                break
        if pending:
            self.error = self._corrupt(f"{len(pending)} bytes after the end of the deflate stream")

    def _take(self, out: bytes) -> None:
        self._crc = isal_zlib.crc32(out, self._crc)
        self._produced += len(out)
        self._sink.write(out)

    def finish(self) -> None:
        """The member's compressed bytes are all in: judge what is left."""
        if self.error is None and self._inflater is not None:
            usize = self.member.uncompressed_size
            if not self._inflater.eof:
                self.error = self._corrupt("deflate stream does not end within the compressed data")
            elif self._inflater.unused_data:
                self.error = self._corrupt(f"{len(self._inflater.unused_data)} bytes after the end of the deflate stream")
            elif self._produced != usize:
                self.error = self._corrupt(f"inflates to {self._produced} bytes, declares {usize}")
        if self.error is None and self._crc != self.member.crc32:
            self.error = self._corrupt(f"CRC-32 {self._crc:08x} does not match the declared {self.member.crc32:08x}")
        self._sink.finish()


class _Hasher:
    """The archive digest, fed one read behind in a second thread when there is one (hashlib
    releases the GIL on large updates), so hashing overlaps the next read, CRC and decoding."""

    def __init__(self, digest: Any, pool: ThreadPoolExecutor | None) -> None:
        self._digest, self._pool = digest, pool
        self._pending: Future[None] | None = None

    def update(self, view: memoryview) -> None:
        self.wait()
        if self._pool is None:
            self._digest.update(view)
        else:
            self._pending = self._pool.submit(self._digest.update, view)

    def wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None


def stream(fd: int, size: int, readers: list[MemberReader], digest: Any) -> None:
    """One sequential pass over the file: every byte to ``digest`` (when given), each member's
    bytes to its reader, in file order."""
    # Two read buffers (no larger than the file): one is hashed while the next read fills the
    # other.
    scratch = [memoryview(bytearray(min(READ_CHUNK, max(size, 1)))) for _ in range(2)]
    threaded = digest is not None and size > READ_CHUNK
    with ThreadPoolExecutor(1) if threaded else contextlib.nullcontext() as pool:
        hasher = _Hasher(digest, pool) if digest is not None else None
        position = 0
        for reader in sorted(readers, key=lambda r: r.member.data_offset):
            start = reader.member.data_offset
            if hasher is not None:
                _pass(fd, position, start, scratch, hasher, None)
            _pass(fd, start, start + reader.member.compressed_size, scratch, hasher, reader)
            reader.finish()
            position = start + reader.member.compressed_size
        if hasher is not None:
            _pass(fd, position, size, scratch, hasher, None)
            hasher.wait()


def _pass(
    fd: int, start: int, end: int, scratch: list[memoryview], hasher: _Hasher | None,
    reader: MemberReader | None,
) -> None:
    if reader is not None and reader.error is not None and hasher is None:
        return
    while start < end:
        target = reader.direct(min(end - start, READ_CHUNK)) if reader is not None else None
        scratch.reverse()
        view = target if target else scratch[0][: end - start]
        count = os.preadv(fd, [view], start)
        if count == 0:
            raise _broken("the file ended early (it changed while being read)")
        if hasher is not None:
            hasher.update(view[:count])
        if reader is not None:
            reader.feed(view[:count], in_place=target is view)
        start += count


# ----------------------------------------------------------------------------- writing

# 1980-01-01 00:00:00 in MS-DOS form: archives never depend on the clock (save.writer.archive).
_DOS_TIME, _DOS_DATE = 0x0000, 0x0021
_VERSION, _VERSION_ZIP64 = 20, 45
# zlib's levels 1-9 on ISA-L's 0-3 (save.writer.level): 1-3 -> 1, 4-6 -> 2, 7-9 -> 3. ISA-L's
# level 0 uses a smaller hash table and is no faster on weights, so no zlib level maps to it.
ISAL_LEVELS = {level: (level + 2) // 3 for level in range(1, 10)}
# A member is deflated in chunks of this many bytes, each its own deflate run ended by a sync
# flush (the last one by the final block), so chunks compress in parallel and the stream and
# its bytes do not depend on the number of threads. 1 MiB: the few chunks in flight are the
# save's memory beside the weights (4 MiB chunks held ~15 MB: x1.39 of a 64 MiB checkpoint's
# load+save), and random weights deflate as fast; only zeros pay, at ~2 GB/s instead of ~2.5.
DEFLATE_CHUNK = 1 << 20
_COPY_CHUNK = 1 << 20
_HASH_ASIDE = 1 << 20  # from a part this large on, the archive is hashed in another thread


@dataclass(frozen=True)
class _Written:
    name: bytes
    method: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    offset: int


def _zip64_extra(values: list[int]) -> bytes:
    return struct.pack("<HH", _ZIP64_EXTRA_ID, 8 * len(values)) + b"".join(struct.pack("<Q", v) for v in values)


def _deflate_bound(size: int) -> int:
    # Deflate grows incompressible data by 5 bytes per 64 KiB stored block; each chunk's sync
    # flush adds 5 more and the end of the stream a few. Generous, as it only decides whether
    # a local header reserves room for a zip64 extra field.
    return size + (size >> 12) + 1024


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    # At most 1 MiB per call: one pwrite of a 256 MiB layer ran at a third of the speed here
    # (a stored 512 MiB save: 1.9-2.3 s against 0.6-0.7 s, five runs each, alternating).
    view = memoryview(data).cast("B")
    while view:
        written = os.pwrite(fd, view[:_COPY_CHUNK], offset)
        view, offset = view[written:], offset + written


def write_all(fd: int, data: bytes) -> None:
    """Write ``data`` at the start of the file ``fd``."""
    _pwrite_all(fd, data, 0)


def _deflate_piece(pieces: list[bytes | memoryview], level: int, last: bool) -> list[bytes]:
    """One chunk's deflate run, as the compressor hands it out (not joined: no copy)."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    out = [compressor.compress(piece) for piece in pieces]
    out.append(compressor.flush(isal_zlib.Z_FINISH if last else isal_zlib.Z_SYNC_FLUSH))
    return out


_HEADER_COMPANY = 64 * 1024  # data bytes compressed in one call with the .npy header


def _deflated(
    header: bytes, data: memoryview, level: int, pool: ThreadPoolExecutor | None, window: int
) -> Iterator[list[bytes]]:
    """The member's raw deflate stream in order, chunk by chunk; with a pool, chunks are
    compressed in parallel, at most ``window`` ahead of the caller (bounded memory)."""
    starts = range(0, max(len(data), 1), DEFLATE_CHUNK)

    def parts(start: int) -> list[bytes | memoryview]:
        chunk = data[start : start + DEFLATE_CHUNK]
        if start:
            return [chunk]
        # The .npy header goes in one call with the data's first bytes: ISA-L compresses what
        # follows a lone 128-byte call far worse (16 KiB of ones: 2,581 bytes instead of 115,
        # and 10x slower to inflate).
        return [header + bytes(chunk[:_HEADER_COMPANY]), chunk[_HEADER_COMPANY:]]

    tasks = ((parts(start), start + DEFLATE_CHUNK >= len(data)) for start in starts)
    if pool is None or len(starts) == 1:
        for pieces, last in tasks:
            yield _deflate_piece(pieces, level, last)
        return
    pending: deque[Future[list[bytes]]] = deque()
    for pieces, last in tasks:
        pending.append(pool.submit(_deflate_piece, pieces, level, last))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class ArchiveWriter:
    """Writes the spec's deterministic zip (``save.writer.archive``) to a file descriptor,
    member by member, and hashes the archive's bytes in file order (:meth:`sha256`).

    Stored members are written with one ``pwrite`` per part straight from the caller's buffer.
    A deflated member's stream goes to the file as it is produced, after room for its local
    header; once its size is known the header is written in place (and the stream moved up
    when the reserved room went unused), and the stream is read back for the digest. Memory
    stays bounded by a few chunks, never a whole member.

    With ``hasher`` (one thread: its queue keeps the file's order), hashing runs beside the
    writing from the first large part on, and beside the caller's fsync after :meth:`close`:
    SHA-256 is slower than the disk, so it is overlapped rather than waited for part by part.
    """

    def __init__(self, fd: int, method: int, level: int, pool: ThreadPoolExecutor | None,
                 threads: int, hasher: ThreadPoolExecutor | None = None) -> None:
        self._fd = fd
        self._method = method
        self._level = ISAL_LEVELS[level]
        self._pool = pool
        self._window = threads + 1  # one compressed chunk ahead: memory, not speed
        self._offset = 0
        self._entries: list[_Written] = []
        self._digest = hashlib.sha256()
        self._hasher = hasher
        self._hashed: Future[None] | None = None  # the last part queued for the hasher

    def _hash(self, part: bytes | memoryview | tuple[int, int]) -> None:
        """Hash the next part of the file: bytes, or the (start, end) range of the file."""
        size = part[1] - part[0] if isinstance(part, tuple) else len(part)
        if self._hasher is not None and (self._hashed is not None or size > _HASH_ASIDE):
            self._hashed = self._hasher.submit(self._update, part)
        else:  # small parts before any large one: a thread costs more than hashing them here
            self._update(part)

    def _update(self, part: bytes | memoryview | tuple[int, int]) -> None:
        if not isinstance(part, tuple):
            self._digest.update(part)
            return
        start, end = part
        buffer = memoryview(bytearray(min(_COPY_CHUNK, end - start)))
        while start < end:
            count = os.preadv(self._fd, [buffer[: end - start]], start)
            self._digest.update(buffer[:count])
            start += count

    def sha256(self) -> str:
        """The SHA-256 (hex) of everything written, once :meth:`close` has run."""
        if self._hashed is not None:
            self._hashed.result()
        return self._digest.hexdigest()

    def _emit(self, data: bytes | memoryview) -> None:
        self._hash(data)  # first: the bytes in memory can be hashed while they are written
        _pwrite_all(self._fd, data, self._offset)
        self._offset += len(data)

    def _local_header(self, entry: _Written, zip64: bool) -> bytes:
        extra = _zip64_extra([entry.uncompressed_size, entry.compressed_size]) if zip64 else b""
        sizes = (_U32_MAX, _U32_MAX) if zip64 else (entry.compressed_size, entry.uncompressed_size)
        return _LOCAL + struct.pack(
            "<HHHHHIIIHH", _VERSION_ZIP64 if zip64 else _VERSION, 0, entry.method, _DOS_TIME,
            _DOS_DATE, entry.crc32, *sizes, len(entry.name), len(extra)) + entry.name + extra

    def add(self, name: bytes, header: bytes, data: memoryview) -> None:
        """Add a member whose uncompressed bytes are ``header`` followed by ``data``."""
        size = len(header) + len(data)
        crc = isal_zlib.crc32(data, isal_zlib.crc32(header))
        if self._method == STORED:
            entry = _Written(name, STORED, crc, size, size, self._offset)
            self._emit(self._local_header(entry, size >= _U32_MAX) + header)
            self._emit(data)
        else:
            entry = self._add_deflated(name, header, data, crc)
        self._entries.append(entry)

    def _add_deflated(self, name: bytes, header: bytes, data: memoryview, crc: int) -> _Written:
        start = self._offset
        size = len(header) + len(data)
        reserved = 20 if _deflate_bound(size) >= _U32_MAX else 0
        position = body = start + 30 + len(name) + reserved
        for pieces in _deflated(header, data, self._level, self._pool, self._window):
            for piece in pieces:
                _pwrite_all(self._fd, piece, position)
                position += len(piece)
        entry = _Written(name, DEFLATED, crc, position - body, size, start)
        local = self._local_header(entry, max(size, entry.compressed_size) >= _U32_MAX)
        self._emit(local)
        if body != self._offset:  # the reserved room went unused: move the stream up
            buffer = memoryview(bytearray(min(_COPY_CHUNK, entry.compressed_size)))
            source = body
            while source < position:  # forwards: the target lies before the source
                count = os.preadv(self._fd, [buffer[: position - source]], source)
                _pwrite_all(self._fd, buffer[:count], self._offset + source - body)
                source += count
        self._hash((self._offset, self._offset + entry.compressed_size))
        self._offset += entry.compressed_size
        return entry

    def _central_entry(self, entry: _Written) -> bytes:
        fields = [entry.uncompressed_size, entry.compressed_size, entry.offset]
        wide = [value for value in fields if value >= _U32_MAX]
        narrow = [_U32_MAX if value >= _U32_MAX else value for value in fields]
        extra = _zip64_extra(wide) if wide else b""
        version = _VERSION_ZIP64 if wide else _VERSION
        return _CENTRAL + struct.pack(
            "<HHHHHHIIIHHHHHII", version, version, 0, entry.method, _DOS_TIME, _DOS_DATE,
            entry.crc32, narrow[1], narrow[0], len(entry.name), len(extra), 0, 0, 0, 0, narrow[2],
        ) + entry.name + extra

    def close(self) -> None:
        """Write the central directory and the end record (zip64 records only when needed),
        and cut the file there (a moved stream may have left bytes past the end)."""
        start = self._offset
        self._emit(b"".join(self._central_entry(entry) for entry in self._entries))
        size, count = self._offset - start, len(self._entries)
        if count > _U16_MAX - 1 or size >= _U32_MAX or start >= _U32_MAX:
            record = self._offset
            self._emit(_ZIP64_EOCD + struct.pack("<QHHIIQQQQ", 44, _VERSION_ZIP64, _VERSION_ZIP64,
                                                 0, 0, count, count, size, start))
            self._emit(_ZIP64_LOCATOR + struct.pack("<IQI", 0, record, 1))
        self._emit(_EOCD + struct.pack(
            "<HHHHIIH", 0, 0, min(count, _U16_MAX), min(count, _U16_MAX),
            min(size, _U32_MAX), min(start, _U32_MAX), 0))
        os.ftruncate(self._fd, self._offset)
