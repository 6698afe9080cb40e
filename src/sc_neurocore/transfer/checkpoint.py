"""The in-memory checkpoint and its on-disk pair (``BASE.npz`` + ``BASE.json``).

Loading validates in the order of ``spec/checkpoint.yaml``: the document's bytes (json), its
shape (schema), its values (checkpoint), the archive's zip structure (archive), then each
``.npy`` member (array). Nothing is allocated in proportion to a declared size before the data
that backs it has been read and measured.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import mmap
import os
import secrets
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _fields, _json, _npy, _zip
from .errors import CheckpointError

PathLike = str | os.PathLike[str]
WeightLike = npt.ArrayLike


@dataclass
class SNNCheckpoint:
    """A spiking network's weights and the metadata needed to fine-tune it.

    Parameters
    ----------
    weights : list of array_like
        One matrix per layer, shaped ``(output_features, input_features)``; normalized to
        C-ordered float64.
    layer_names : list of str
        Unique, non-empty layer names.
    layer_sizes : list of (int, int)
        ``(input_features, output_features)`` per layer, each in ``[1, 2**31 - 1]``.
    neuron_types : list of str, optional
        Empty, or one neuron model name per layer (e.g. ``"LIF"``).
    metadata : dict, optional
        Free, strict-JSON metadata (string keys; no NaN, sets, bytes or objects).
    frozen_layers : list of str, optional
        Names of frozen layers; kept sorted and unique.

    Raises
    ------
    CheckpointError
        With the first violated invariant of the construct surface, in spec order.
    """

    weights: list[npt.NDArray[np.float64]]
    layer_names: list[str]
    layer_sizes: list[tuple[int, int]]
    neuron_types: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    frozen_layers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        fields = _fields.check_state(self.__dict__)
        assert fields.weights is not None
        self.weights = fields.weights
        self.layer_names = fields.layer_names
        self.layer_sizes = fields.layer_sizes
        self.neuron_types = fields.neuron_types
        self.frozen_layers = fields.frozen_layers

    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.layer_names)

    @property
    def total_params(self) -> int:
        """Number of weights: the sum of ``input_features * output_features``."""
        return sum(inputs * outputs for inputs, outputs in self.layer_sizes)

    def weight_sha256(self) -> list[str]:
        """Per layer, SHA-256 of the matrix as little-endian float64 in row-major order."""
        # Each matrix is hashed in place (a view of its bytes), never copied.
        return [
            hashlib.sha256(np.ascontiguousarray(w, dtype="<f8").reshape(-1).view(np.uint8).data).hexdigest()
            for w in self.weights
        ]


def _paths(base: PathLike) -> tuple[Path, Path]:
    # Suffixes are appended, never substituted: "model.v1" must not become "model.npz".
    text = os.fspath(base)
    return Path(text + ".json"), Path(text + ".npz")


def _read_file(path: Path, code: str) -> bytes:
    with open(_open_file(path, code), "rb") as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise CheckpointError(code, path=f"{path} ({exc.strerror})") from None


def load_checkpoint(base: PathLike) -> SNNCheckpoint:
    """Load and validate the pair ``BASE.json`` + ``BASE.npz``.

    The archive is read in one sequential pass (its central directory first), each layer
    straight into its float64 matrix: memory stays near the weights' own size.

    Parameters
    ----------
    base : str or path-like
        The pair's path without suffix.

    Returns
    -------
    SNNCheckpoint

    Raises
    ------
    CheckpointError
        With the first violated invariant of the load surface, in spec order.
    """
    json_path, archive_path = _paths(base)
    document = _json.decode_document(_read_file(json_path, "json.file.present"), str(json_path))
    fields = _fields.check_fields(document, "load")
    archive = _open_file(archive_path, "archive.file.present")
    try:
        weights = _read_archive(archive, archive_path, fields)
    finally:
        os.close(archive)
    checkpoint = SNNCheckpoint.__new__(SNNCheckpoint)
    checkpoint.weights = weights
    checkpoint.layer_names = fields.layer_names
    checkpoint.layer_sizes = fields.layer_sizes
    checkpoint.neuron_types = fields.neuron_types
    checkpoint.metadata = fields.metadata
    checkpoint.frozen_layers = fields.frozen_layers
    return checkpoint


# Errors that mean "no file there" (no detail): as pathlib's is_file, which the checks used.
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EBADF})


def _open_file(path: Path, code: str) -> int:
    """``path`` open for reading, or ``code`` when it is missing, not a regular file or unreadable.
    Opened first and judged by its descriptor: no stat before the open (a small load's cost),
    nor a window between the check and the open; O_NONBLOCK, so that a FIFO is not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        detail = str(path) if exc.errno in _ABSENT else f"{path} ({exc.strerror})"
        raise CheckpointError(code, path=detail) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CheckpointError(code, path=str(path))
    return fd


def _read_archive(fd: int, path: Path, fields: _fields.Fields) -> list[npt.NDArray[np.float64]]:
    """The archive and array invariants in one pass over the file: its bytes are hashed, and
    each member checked and decoded, as they are read; the verdicts follow in spec order."""
    size = os.fstat(fd).st_size
    digest = hashlib.sha256() if fields.archive_sha256 is not None else None
    names = fields.layer_names
    try:
        with contextlib.ExitStack() as stack:
            # The directory and local headers are read through a map: a few pages, not the file
            # (a small file is read whole: one read costs less than setting up a map).
            data = (os.pread(fd, size, 0) if size <= _zip.READ_CHUNK
                    else stack.enter_context(mmap.mmap(fd, 0, access=mmap.ACCESS_READ)))
            ordered = _ordered_members(data, names)
    except CheckpointError:
        _zip.stream(fd, size, [], digest)
        _check_digest(digest, fields, path)
        raise
    decoders = [
        _npy.StreamDecoder(name, f"layer_{index}.npy", member.uncompressed_size)
        for index, (name, member) in enumerate(zip(names, ordered))
    ]
    readers = [_zip.MemberReader(member, decoder) for member, decoder in zip(ordered, decoders)]
    _zip.stream(fd, size, readers, digest)
    _check_digest(digest, fields, path)
    for reader in readers:
        if reader.error is not None:
            raise reader.error
    return _judge_arrays(decoders, fields)


def _check_digest(digest: Any, fields: _fields.Fields, path: Path) -> None:
    if digest is not None:
        if digest.hexdigest() != fields.archive_sha256:
            raise CheckpointError("archive.digest", path=str(path))


def _ordered_members(archive: bytes | mmap.mmap, names: Sequence[str]) -> list[_zip.Member]:
    """The archive invariants known from the directory: structure, member names, methods."""
    members = _zip.read_directory(archive)
    seen: set[bytes] = set()
    for member in members:
        if member.name in seen:
            raise CheckpointError("archive.members.duplicate", member=member.display_name)
        seen.add(member.name)
    expected = [f"layer_{index}.npy".encode() for index in range(len(names))]
    for member in members:
        if member.name not in expected:
            raise CheckpointError("archive.members.unexpected", member=member.display_name)
    by_name = {member.name: member for member in members}
    for member_name, name in zip(expected, names):
        if member_name not in by_name:
            raise CheckpointError("archive.members.missing", member=member_name.decode(), name=name)
    ordered = [by_name[member_name] for member_name in expected]
    for member in ordered:
        if member.method not in (_zip.STORED, _zip.DEFLATED):
            detail = f"compression method {member.method}"
            raise CheckpointError("archive.member.method", member=member.display_name, detail=detail)
        if member.flags & _zip.ENCRYPTION_FLAGS:
            raise CheckpointError("archive.member.method", member=member.display_name, detail="encryption")
    return ordered


def _judge_arrays(
    decoders: Sequence[_npy.StreamDecoder], fields: _fields.Fields
) -> list[npt.NDArray[np.float64]]:
    """The array invariants, each over every layer before the next."""
    names = fields.layer_names
    for decoder in decoders:
        if decoder.magic_error is not None:
            raise decoder.magic_error
    for decoder in decoders:
        if decoder.header_error is not None:
            raise decoder.header_error
    headers = [decoder.header for decoder in decoders if decoder.header is not None]
    members = [f"layer_{index}.npy" for index in range(len(names))]
    for header, name, member in zip(headers, names, members):
        _npy.check_not_pickled(header, name, member)
    for header, name, member in zip(headers, names, members):
        _npy.check_accepted_dtype(header, name, member)
    _fields.check_ranks(names, [header.shape for header in headers])
    _fields.check_shapes(fields, [header.shape for header in headers])
    for decoder, header, name, member in zip(decoders, headers, names, members):
        _npy.check_data_length(decoder.size, header, name, member)
    weights = [decoder.matrix for decoder in decoders if decoder.matrix is not None]
    _fields.check_finite(names, weights)
    return weights


def save_checkpoint(
    checkpoint: SNNCheckpoint, base: PathLike, compression: str = "deflate", level: int = 1
) -> None:
    """Write the pair ``BASE.npz`` + ``BASE.json`` durably, creating parent folders.

    The files follow the spec's writer rules (``save.writer``): a deterministic zip (fixed
    timestamps, one ``layer_{i}.npy`` per layer), and the canonical document, which records the
    archive's SHA-256 (``archive_sha256``) so that a reader detects a pair whose files come from
    different saves. Members are streamed to a temporary file (large layers deflated in
    parallel threads), so memory stays bounded by a few chunks beside the weights. Durability
    (``save.description``): both temporary files are written and fsynced, renamed into place
    (archive first), then the folder is fsynced: three fsyncs. After a crash the pair loads as
    the old pair or the new one, or is refused with ``archive.digest``; never mixed.

    Parameters
    ----------
    compression : {"deflate", "stored"}
        ``"deflate"`` (the default, as the original release wrote) or ``"stored"``, whose
        archive is byte-identical across every conforming writer.
    level : int, default 1
        Deflate level 1 (fastest) to 9 (smallest), as zlib counts; mapped to ISA-L's levels
        (``save.writer.level``). Float weights barely compress, so 1 is the default.

    Raises
    ------
    CheckpointError
        When the checkpoint no longer satisfies the construct invariants (its fields were
        changed after construction); nothing is written then.
    ValueError
        For an unknown ``compression`` or a ``level`` that is not an integer from 1 to 9;
        nothing is written then.
    """
    methods = {"deflate": _zip.DEFLATED, "stored": _zip.STORED}
    if compression not in methods:
        raise ValueError(f"compression must be 'deflate' or 'stored', not {compression!r}")
    if isinstance(level, bool) or not isinstance(level, int) or level not in _zip.ISAL_LEVELS:
        raise ValueError(f"level must be an integer from 1 to 9, not {level!r}")
    fields = _fields.check_state(checkpoint.__dict__)
    json_path, archive_path = _paths(base)
    temporaries: list[str] = []
    try:
        _write_temporaries(fields, methods[compression], level, json_path, archive_path, temporaries)
        # The archive first: a crash between the renames leaves the new archive beside the old
        # document, whose archive_sha256 no longer matches (archive.digest).
        _replace(temporaries[0], archive_path)
        _replace(temporaries[1], json_path)
    except BaseException:
        for name in temporaries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        raise
    directory = os.open(json_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# A handle that keeps a file's inode without opening it for I/O: no read permission needed, and a
# FIFO or a symlink at the target does not block or get followed. Linux only; elsewhere None.
_HOLD = getattr(os, "O_PATH", None)


def _replace(source: str, target: Path) -> None:
    """``os.replace``, with the replaced file released by a kept thread afterwards.

    The rename that drops a file's last name frees its blocks on the spot: ~0.1 ms for a small
    file here, far more for a large one. Holding the old file open moves that work to the close,
    off the save's path (a small save: 1,013-1,072 -> 859-952 us, min of 9, three runs each);
    a crash before the close leaves an orphan inode, which the file system reclaims on mount."""
    held = None
    if _HOLD is not None:
        with contextlib.suppress(OSError):  # no file there (the first save), or not ours to hold
            held = os.open(target, _HOLD | os.O_NOFOLLOW)
    try:
        os.replace(source, target)
    finally:
        if held is not None:
            _sync_pool().submit(os.close, held)


def _write_temporaries(fields: _fields.Fields, method: int, level: int, json_path: Path,
                       archive_path: Path, temporaries: list[str]) -> None:
    """Write and fsync the archive's and the document's temporary files (recorded in
    ``temporaries``, archive first). This thread fsyncs the archive while a kept worker waits for
    its digest and writes and fsyncs the document, which records it: hashing overlaps the disk's
    work, the two flushes overlap each other, and both are complete when this returns. (The
    other way round, the worker's fsync waited for the GIL until this thread's next system
    call, ~0.25 ms of a small save.)"""
    archive = _create_temporary(archive_path, temporaries)
    try:
        with ThreadPoolExecutor(1) as hasher:  # a thread only for a large archive
            writer = _write_archive(archive, fields.weights or [], method, level, hasher)
            document = _sync_pool().submit(_write_document, fields, writer, json_path, temporaries)
            try:
                os.fsync(archive)
            finally:
                document.result()  # also on failure: the worker still uses the writer
    finally:
        os.close(archive)


def _write_document(fields: _fields.Fields, writer: _zip.ArchiveWriter, json_path: Path,
                    temporaries: list[str]) -> None:
    text = _document_text(fields, writer.sha256())
    document = _create_temporary(json_path, temporaries)
    try:
        _zip.write_all(document, text)
        os.fsync(document)
    finally:
        os.close(document)


# The documents are written, and replaced files released, here: threads kept between saves
# (starting one costs about as much as a small file's fsync); a forked child, which has none of
# them, starts its own.
_syncer: ThreadPoolExecutor | None = None


def _sync_pool() -> ThreadPoolExecutor:
    global _syncer
    if _syncer is None:
        _syncer = ThreadPoolExecutor(4, thread_name_prefix="checkpoint-fsync")
    return _syncer


def _forget_sync_pool() -> None:
    global _syncer
    _syncer = None


os.register_at_fork(after_in_child=_forget_sync_pool)


def _write_archive(
    fd: int, weights: list[npt.NDArray[np.float64]], method: int, level: int, hasher: ThreadPoolExecutor
) -> _zip.ArchiveWriter:
    """Write the archive's members to ``fd``; returns the writer, for its digest."""
    # A small checkpoint needs no pool (nor the count of CPUs).
    large = sum(weight.nbytes for weight in weights) > _zip.DEFLATE_CHUNK
    threads = (os.cpu_count() or 1) if large else 1
    parallel = threads > 1
    with ThreadPoolExecutor(threads) if parallel else contextlib.nullcontext() as pool:
        writer = _zip.ArchiveWriter(fd, method, level, pool, threads, hasher)
        for index, weight in enumerate(weights):
            matrix = np.ascontiguousarray(weight, dtype="<f8")
            data = matrix.reshape(-1).view(np.uint8).data  # a view: the weights are not copied
            writer.add(f"layer_{index}.npy".encode(), _npy.header_bytes(*matrix.shape), data)
        writer.close()
    return writer


def _document_text(fields: _fields.Fields, digest: str) -> bytes:
    document = {
        "layer_names": fields.layer_names,
        "layer_sizes": [list(pair) for pair in fields.layer_sizes],
        "neuron_types": fields.neuron_types,
        "frozen_layers": fields.frozen_layers,
        "n_layers": len(fields.layer_names),
        "total_params": sum(i * o for i, o in fields.layer_sizes),
        "metadata": fields.metadata,
        "archive_sha256": digest,
    }
    return json.dumps(document, indent=2, ensure_ascii=True, allow_nan=False).encode("ascii")


def _create_temporary(path: Path, temporaries: list[str]) -> int:
    """Create ``.NAME.<random>.tmp`` beside ``path`` (and its folder when missing) and record
    it in ``temporaries``. Mode 0666 less the umask, as any new file gets."""
    folder = os.fspath(path.parent)
    while True:
        name = os.path.join(folder, f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except FileNotFoundError:
            if os.path.isdir(folder):
                raise
            # Created on demand: a save into an existing folder costs no mkdir.
            os.makedirs(folder, exist_ok=True)
            continue
        temporaries.append(name)
        return fd
