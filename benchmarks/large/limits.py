"""The machine's own speeds, measured in the same run on the same bytes as the checkpoints.

Every function returns a list of seconds, one per repeat; ``report.summary`` turns it into a
median and MB/s. Reads go through a reused 16 MiB buffer from the warm page cache; streams are
fed 16 MiB at a time, as a streaming loader or writer would (the chunked inflate 64 KiB: see
``decompress``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import struct
import time
import zipfile
import zlib
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator

import numpy as np

CHUNK = 16 * 2**20
# Below the mmap threshold pin_allocator fixes: each call's output reuses the last one's pages.
REUSED_OUT = 64 * 2**10
COPY_BYTES = 2**30


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def pin_allocator() -> None:
    """Make every large buffer this process allocates new memory, as in a fresh process.

    glibc raises its mmap threshold (up to 32 MiB) whenever it frees a mapped block; blocks of
    that size then come from the heap, whose pages are already faulted in. The "→ new buffer"
    limits of a 64 MiB checkpoint (16 MiB members) measured reused pages that way, and ran 1.3x
    faster than into new memory. A fixed threshold turns the raising off. Without glibc,
    nothing to do."""
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass


def deflaters() -> dict[str, ModuleType]:
    """``zlib`` and, when installed, ``isal`` (python-isal's zlib-compatible ``isal_zlib``)."""
    found: dict[str, ModuleType] = {"zlib": zlib}
    try:
        from isal import isal_zlib
    except ImportError:
        return found
    found["isal"] = isal_zlib
    return found


def _repeat(repeats: int, action: Callable[[], object],
            prepare: Callable[[], object] = lambda: None) -> list[float]:
    seconds = []
    for _ in range(repeats):
        prepare()  # not timed
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return seconds


def settle_disk() -> None:
    """Flush the file system's pending work (a removed file's blocks are freed, and with the
    ``discard`` mount option trimmed, at the next journal commit) so that the next timed write's
    fsync does not pay for the previous measurement's cleanup."""
    os.sync()


def chunks(layers: list[np.ndarray]) -> Iterator[memoryview]:
    """Each layer's bytes in slices of at most ``CHUNK`` (views, no copies)."""
    for layer in layers:
        view = np.ascontiguousarray(layer).reshape(-1).view(np.uint8).data
        for start in range(0, len(view), CHUNK):
            yield view[start:start + CHUNK]


def memory_copy(repeats: int) -> list[float]:
    """A 1 GiB ``numpy.copyto`` between two arrays already faulted in."""
    source = np.ones(COPY_BYTES // 8)
    target = np.empty_like(source)
    np.copyto(target, source)
    return _repeat(repeats, lambda: np.copyto(target, source))


def sha256(layers: list[np.ndarray], repeats: int) -> list[float]:
    def run() -> None:
        digest = hashlib.sha256()
        for piece in chunks(layers):
            digest.update(piece)
    return _repeat(repeats, run)


def crc32(layers: list[np.ndarray], module: ModuleType, repeats: int) -> list[float]:
    """The zip CRC-32 through ``module.crc32`` (zlib's or ISA-L's, which folds with PCLMULQDQ)."""
    def run() -> None:
        value = 0
        for piece in chunks(layers):
            value = module.crc32(piece, value)
    return _repeat(repeats, run)


def compress(layers: list[np.ndarray], module: ModuleType, level: int,
             repeats: int) -> tuple[list[float], list[bytes]]:
    """Raw deflate (as in a zip member) of all layers as one stream; the last run's output."""
    stream: list[bytes] = []

    def run() -> None:
        stream.clear()
        encoder = module.compressobj(level, zlib.DEFLATED, -15)
        stream.extend(encoder.compress(piece) for piece in chunks(layers))
        stream.append(encoder.flush())
    return _repeat(repeats, run), stream


def member_streams(npz: Path) -> list[tuple[bytes, int]]:
    """Each deflated member's raw deflate stream as the file holds it, with its inflated size:
    the bytes a loader inflates (the writer's, not a stream this module compressed itself)."""
    streams = []
    with zipfile.ZipFile(npz) as archive, open(npz, "rb") as handle:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_DEFLATED:
                continue
            handle.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<HH", handle.read(4))
            handle.seek(name_length + extra_length, os.SEEK_CUR)
            streams.append((handle.read(info.compress_size), info.file_size))
    return streams


def decompress(streams: list[tuple[bytes, int]], module: ModuleType, repeats: int) -> list[float]:
    """Inflate each stream fed ``REUSED_OUT`` bytes at a time, with at most ``REUSED_OUT`` bytes
    of output per call, a block the allocator reuses: output into memory already faulted in (it
    is discarded). Small input pieces too: each call copies the unconsumed rest of its input."""
    def run() -> None:
        for stream, _ in streams:
            decoder = module.decompressobj(-15)
            view = memoryview(stream)
            for start in range(0, len(view), REUSED_OUT):
                piece: bytes | memoryview = view[start:start + REUSED_OUT]
                while piece:
                    decoder.decompress(piece, REUSED_OUT)
                    piece = decoder.unconsumed_tail
            decoder.flush()
    return _repeat(repeats, run)


def decompress_fresh(streams: list[tuple[bytes, int]], module: ModuleType, repeats: int) -> list[float]:
    """Inflate each stream in one call into a new buffer of its inflated size, whose pages are
    faulted in as they are filled: the least a deflated load does (its destination is new memory)."""
    def run() -> None:
        for stream, size in streams:
            module.decompress(stream, -15, size)
    return _repeat(repeats, run)


def raw_read(path: Path, repeats: int) -> list[float]:
    """Read the whole file into one reused 16 MiB buffer (page cache warmed first)."""
    buffer = bytearray(CHUNK)

    def run() -> None:
        with open(path, "rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass
    run()
    return _repeat(repeats, run)


def fresh_read(path: Path, repeats: int) -> list[float]:
    """Read the whole file into a new buffer of its size, whose pages are faulted in as they are
    filled: the least any loader does (the destination of a load is new memory)."""
    size = path.stat().st_size

    def run() -> None:
        view = np.empty(size, np.uint8).data
        done = 0
        with open(path, "rb", buffering=0) as handle:
            while done < size:
                count = handle.readinto(view[done:done + CHUNK])
                if not count:
                    break
                done += count
    return _repeat(repeats, run)


def raw_write_fsync(folder: Path, layers: list[np.ndarray], repeats: int) -> list[float]:
    """Write the layers' bytes (one ``write`` per layer) to a new file, ``fsync``, remove it
    (the removal, and its flush, outside the timing)."""
    path = folder / "raw-write.bin"

    def prepare() -> None:
        path.unlink(missing_ok=True)
        settle_disk()

    def run() -> None:
        with open(path, "wb", buffering=0) as handle:
            for layer in layers:
                handle.write(np.ascontiguousarray(layer).reshape(-1).view(np.uint8).data)
            os.fsync(handle.fileno())
    try:
        return _repeat(repeats, run, prepare)
    finally:
        path.unlink(missing_ok=True)
