"""The weight archive as a zip file: the central directory per the spec's structure_rules, the
layer members (archive.members.*, archive.member.method), and member extraction (stored, or raw
deflate through the system zlib) with size and CRC-32 checks.

Readers trust the central directory, never the local headers' sizes: numpy writes zip64 local
headers whose sizes are placeholders (0xFFFFFFFF). Nothing is allocated from a declared size:
entry lists grow per parsed entry, and inflated output grows with the data actually produced.
"""

from std.ffi import external_call

from errors import (
    CheckpointError,
    ARCHIVE_ZIP_STRUCTURE,
    ARCHIVE_MEMBERS_DUPLICATE,
    ARCHIVE_MEMBERS_UNEXPECTED,
    ARCHIVE_MEMBERS_MISSING,
    ARCHIVE_MEMBER_METHOD,
    ARCHIVE_MEMBER_INTEGRITY,
    hex2,
    quote,
)
from limits import ZIP_U16_MAX, ZIP_U32_MAX

comptime SIG_LOCAL = 0x04034B50
comptime SIG_CENTRAL = 0x02014B50
comptime SIG_END = 0x06054B50
comptime SIG_ZIP64_END = 0x06064B50
comptime SIG_ZIP64_LOCATOR = 0x07064B50

# zlib
comptime Z_OK = 0
comptime Z_STREAM_END = 1
comptime Z_BUF_ERROR = -5
comptime Z_NO_FLUSH = 0
comptime Z_FINISH = 4
comptime Z_STREAM_SIZE = 112  # sizeof(z_stream) on LP64
# avail_in and avail_out are 32-bit fields in 64-bit words.
comptime Z_UINT_MASK = 0xFFFFFFFF
comptime CHUNK = 65536


def _zlib_version() -> List[UInt8]:
    """The zlib version the z_stream layout is declared for, as a C string."""
    return [0x31, 0x2E, 0x32, 0x2E, 0x31, 0x33, 0]  # "1.2.13"


@fieldwise_init
struct ZipEntry(Copyable, Movable):
    """One central-directory entry, with its sizes resolved through any zip64 extra field."""

    var name: List[UInt8]
    var flags: Int
    var method: Int
    var crc32: Int
    var compressed_size: Int
    var uncompressed_size: Int
    var local_offset: Int
    # Filled in when the local header is checked: where the member's bytes start and end.
    var data_start: Int
    var data_end: Int

    def display_name(self) -> String:
        """The name for messages (invalid UTF-8 bytes replaced)."""
        return String(from_utf8_lossy=Span(self.name))


def _u16(data: Span[UInt8, _], at: Int) -> Int:
    return Int(data[at]) | (Int(data[at + 1]) << 8)


def _u32(data: Span[UInt8, _], at: Int) -> Int:
    return _u16(data, at) | (_u16(data, at + 2) << 16)


def _u64(data: Span[UInt8, _], at: Int) -> Int:
    # Values beyond Int's range cannot describe anything inside a file; saturate them.
    var high = _u32(data, at + 4)
    if high >= 0x80000000:
        return Int.MAX
    return _u32(data, at) | (high << 32)


def _structure(path: String, detail: String) -> CheckpointError:
    return CheckpointError(
        ARCHIVE_ZIP_STRUCTURE,
        String("Checkpoint archive is not a valid zip file: ", path, ": ", detail),
    )


def _integrity(path: String, entry: ZipEntry, detail: String) -> CheckpointError:
    return CheckpointError(
        ARCHIVE_MEMBER_INTEGRITY,
        String("Checkpoint archive member ", quote(entry.display_name()), " is corrupt: ",
               path, ": ", detail),
    )


# ===----------------------------------------------------------------------=== #
# The archive phase: one member per layer
# ===----------------------------------------------------------------------=== #


def layer_member_name(index: Int) -> String:
    """The archive member that holds layer `index`."""
    return String("layer_", index, ".npy")


def layer_members(
    archive: Span[UInt8, _], layer_names: List[String], path: String
) raises CheckpointError -> List[List[UInt8]]:
    """Each layer's member bytes, after the archive invariants in spec order: structure,
    duplicate, unexpected and missing members, method, integrity (archive.digest is the
    caller's: it needs the document).

    Raises:
        CheckpointError: The first archive.* invariant violated.
    """
    var entries = read_directory(archive, path)
    var member_of = _match_members(entries, layer_names, path)
    for i in range(len(layer_names)):
        ref entry = entries[member_of[i]]
        if entry.method != 0 and entry.method != 8:
            raise CheckpointError(ARCHIVE_MEMBER_METHOD, String(
                "Checkpoint archive member ", quote(entry.display_name()),
                " uses unsupported compression method ", entry.method, ": ", path))
        if entry.flags & 0x41 != 0:
            raise CheckpointError(ARCHIVE_MEMBER_METHOD, String(
                "Checkpoint archive member ", quote(entry.display_name()),
                " uses unsupported encryption (flags ", hex(entry.flags), "): ", path))
    var members = List[List[UInt8]]()
    for i in range(len(layer_names)):
        members.append(extract(archive, entries[member_of[i]], path))
    return members^


def _match_members(
    entries: List[ZipEntry], layer_names: List[String], path: String
) raises CheckpointError -> List[Int]:
    """archive.members.*: for each layer, the index of its entry."""
    var n = len(layer_names)
    var seen = Dict[String, Bool]()
    for ref entry in entries:
        # Names are raw bytes: hex keeps two distinct non-UTF-8 names distinct.
        var key = String(capacity_bytes=2 * len(entry.name))
        for b in entry.name:
            key += hex2(Int(b))
        if key in seen:
            raise CheckpointError(ARCHIVE_MEMBERS_DUPLICATE, String(
                "Checkpoint archive has member ", quote(entry.display_name()), " more than once: ",
                path))
        seen[key] = True
    var member_of = List[Int](length=n, fill=-1)
    for e in range(len(entries)):
        var layer = _layer_of_member(entries[e].name, n)
        if layer < 0:
            raise CheckpointError(ARCHIVE_MEMBERS_UNEXPECTED, String(
                "Checkpoint archive has unexpected member ", quote(entries[e].display_name()),
                ": ", path))
        member_of[layer] = e
    for i in range(n):
        if member_of[i] < 0:
            raise CheckpointError(ARCHIVE_MEMBERS_MISSING, String(
                "Checkpoint archive has no member ", quote(layer_member_name(i)), " for layer ",
                quote(layer_names[i]), ": ", path))
    return member_of^


def _layer_of_member(name: List[UInt8], n_layers: Int) -> Int:
    """The index i when name is exactly b"layer_{i}.npy" with 0 <= i < n_layers, else -1."""
    comptime PREFIX = "layer_"
    comptime SUFFIX = ".npy"
    var n = len(name)
    if n < 11:
        return -1
    for k in range(6):
        if name[k] != PREFIX.as_bytes()[k]:
            return -1
    for k in range(4):
        if name[n - 4 + k] != SUFFIX.as_bytes()[k]:
            return -1
    var digits = n - 10
    if digits > 18 or (digits > 1 and name[6] == 0x30):
        return -1
    var value = 0
    for k in range(6, n - 4):
        var c = name[k]
        if c < 0x30 or c > 0x39:
            return -1
        value = value * 10 + Int(c - 0x30)
    return value if value < n_layers else -1


# ===----------------------------------------------------------------------=== #
# Directory
# ===----------------------------------------------------------------------=== #


def read_directory(data: Span[UInt8, _], path: String) raises CheckpointError -> List[ZipEntry]:
    """Validate the archive's structure and return its entries in central-directory order.

    Raises:
        CheckpointError: archive.zip.structure, naming the rule that failed.
    """
    var bounds = _directory_bounds(data, path)
    var entries = _central_entries(data, path, bounds)
    _check_local_headers(data, path, entries, bounds.offset)
    return entries^


@fieldwise_init
struct _Directory(Copyable, Movable):
    """Where the central directory lies and how many entries it declares."""

    var entries: Int
    var offset: Int
    var size: Int


def _directory_bounds(data: Span[UInt8, _], path: String) raises CheckpointError -> _Directory:
    # The end record (or the zip64 record it points to) says where the directory lies.
    var n = len(data)
    if n < 22:
        raise _structure(path, String("the file has ", n, " bytes, too few for an end record"))
    # The last end record whose 22 bytes plus comment end exactly at the end of the file.
    var end = -1
    var lowest = n - 22 - ZIP_U16_MAX
    if lowest < 0:
        lowest = 0
    var at = n - 22
    while at >= lowest:
        if _u32(data, at) == SIG_END and at + 22 + _u16(data, at + 20) == n:
            end = at
            break
        at -= 1
    if end < 0:
        raise _structure(path, "no end-of-central-directory record ends at the end of the file")
    var disk = _u16(data, end + 4)
    var cd_disk = _u16(data, end + 6)
    var entries_here = _u16(data, end + 8)
    var entries = _u16(data, end + 10)
    var cd_size = _u32(data, end + 12)
    var cd_offset = _u32(data, end + 16)
    var limit = end
    if (
        disk == ZIP_U16_MAX or cd_disk == ZIP_U16_MAX or entries_here == ZIP_U16_MAX
        or entries == ZIP_U16_MAX
        or cd_size == ZIP_U32_MAX or cd_offset == ZIP_U32_MAX
    ):
        # zip64: the locator sits just before the end record and points at the zip64 record.
        var loc = end - 20
        if loc < 0 or _u32(data, loc) != SIG_ZIP64_LOCATOR:
            raise _structure(path, "the end record needs zip64 values but there is no zip64 locator")
        if _u32(data, loc + 4) != 0 or _u32(data, loc + 16) != 1:
            raise _structure(path, "the zip64 locator names more than one disk")
        var rec = _u64(data, loc + 8)
        if rec > loc - 56 or loc - 56 < 0:
            raise _structure(path, "the zip64 end record lies outside the file")
        if _u32(data, rec) != SIG_ZIP64_END:
            raise _structure(path, "bad zip64 end record signature")
        # The zip64 record then supplies every value, not only the saturated ones.
        disk = _u32(data, rec + 16)
        cd_disk = _u32(data, rec + 20)
        entries_here = _u64(data, rec + 24)
        entries = _u64(data, rec + 32)
        cd_size = _u64(data, rec + 40)
        cd_offset = _u64(data, rec + 48)
        limit = rec
    if disk != 0 or cd_disk != 0:
        raise _structure(path, String("multi-disk archive (disk ", disk, ", directory on disk ",
                                      cd_disk, ")"))
    if entries_here != entries:
        raise _structure(path, String("multi-disk archive (", entries_here, " of ", entries,
                                      " entries on this disk)"))
    if cd_offset > limit or cd_size > limit - cd_offset:
        raise _structure(path, String("the central directory (offset ", cd_offset, ", ", cd_size,
                                      " bytes) does not lie before the end record"))
    return _Directory(entries, cd_offset, cd_size)


def _central_entries(
    data: Span[UInt8, _], path: String, directory: _Directory
) raises CheckpointError -> List[ZipEntry]:
    # The declared entries, each within the directory's declared size, and nothing after them.
    var result = List[ZipEntry]()
    var entries = directory.entries
    var pos = directory.offset
    var cd_end = directory.offset + directory.size
    for k in range(entries):
        if pos + 46 > cd_end:
            raise _structure(path, String("the central directory holds fewer than the declared ",
                                          entries, " entries"))
        if _u32(data, pos) != SIG_CENTRAL:
            raise _structure(path, String("bad central directory signature at entry ", k))
        var name_len = _u16(data, pos + 28)
        var extra_len = _u16(data, pos + 30)
        var comment_len = _u16(data, pos + 32)
        var next = pos + 46 + name_len + extra_len + comment_len
        if next > cd_end:
            raise _structure(path, String("central directory entry ", k,
                                          " runs past the directory's declared size"))
        var name = List[UInt8](capacity=name_len)
        for i in range(name_len):
            name.append(data[pos + 46 + i])
        var entry = ZipEntry(
            name^,
            _u16(data, pos + 8),
            _u16(data, pos + 10),
            _u32(data, pos + 16),
            _u32(data, pos + 20),
            _u32(data, pos + 24),
            _u32(data, pos + 42),
            0,
            0,
        )
        var entry_disk = _u16(data, pos + 34)
        if entry_disk != 0:
            raise _structure(path, String("entry ", quote(entry.display_name()),
                                          " starts on disk ", entry_disk))
        _apply_zip64_extra(data, pos + 46 + name_len, extra_len, entry, path)
        result.append(entry^)
        pos = next
    if pos != cd_end:
        raise _structure(path, String("the central directory has ", cd_end - pos,
                                      " bytes beyond its ", entries, " declared entries"))
    return result^


def _apply_zip64_extra(
    data: Span[UInt8, _], start: Int, length: Int, mut entry: ZipEntry, path: String
) raises CheckpointError:
    # The first header ID 0x0001 supplies, in order, the 64-bit value of each of uncompressed
    # size, compressed size and local header offset whose 32-bit value is all ones.
    var label = quote(entry.display_name())
    var need_usize = entry.uncompressed_size == ZIP_U32_MAX
    var need_csize = entry.compressed_size == ZIP_U32_MAX
    var need_offset = entry.local_offset == ZIP_U32_MAX
    var needed = Int(need_usize) + Int(need_csize) + Int(need_offset)
    var found = False
    var pos = start
    var end = start + length
    while pos < end:
        if pos + 4 > end:
            raise _structure(path, String("entry ", label, " has a truncated extra field"))
        var tag = _u16(data, pos)
        var size = _u16(data, pos + 2)
        var body = pos + 4
        if body + size > end:
            raise _structure(path, String("entry ", label, " has a truncated extra field"))
        if tag == 0x0001 and not found:
            found = True
            if size < 8 * needed:
                raise _structure(path, String("entry ", label, " has a zip64 extra field that is too short"))
            var cursor = body
            if need_usize:
                entry.uncompressed_size = _u64(data, cursor)
                cursor += 8
            if need_csize:
                entry.compressed_size = _u64(data, cursor)
                cursor += 8
            if need_offset:
                entry.local_offset = _u64(data, cursor)
        pos = body + size
    if needed > 0 and not found:
        raise _structure(path, String("entry ", label,
                                      " has sizes marked 0xFFFFFFFF but no zip64 extra field"))


def _check_local_headers(
    data: Span[UInt8, _], path: String, mut entries: List[ZipEntry], cd_offset: Int
) raises CheckpointError:
    var n = len(data)
    var starts = List[Int]()
    var end_of = Dict[Int, Int]()
    for ref entry in entries:
        var off = entry.local_offset
        var label = quote(entry.display_name())
        if off > n - 30:
            raise _structure(path, String("the local header of ", label, " lies outside the file"))
        if _u32(data, off) != SIG_LOCAL:
            raise _structure(path, String("bad local header signature for ", label))
        var name_len = _u16(data, off + 26)
        var extra_len = _u16(data, off + 28)
        if off + 30 + name_len + extra_len > n:
            raise _structure(path, String("the local header of ", label, " runs past the file"))
        var same = name_len == len(entry.name)
        if same:
            for i in range(name_len):
                if data[off + 30 + i] != entry.name[i]:
                    same = False
                    break
        if not same:
            raise _structure(path, String("the local header of ", label,
                                          " names a different member"))
        var start = off + 30 + name_len + extra_len
        if entry.compressed_size > cd_offset or start > cd_offset - entry.compressed_size:
            raise _structure(path, String("the data of ", label,
                                          " runs into the central directory"))
        entry.data_start = start
        entry.data_end = start + entry.compressed_size
        if off in end_of:
            raise _structure(path, String("entries overlap at offset ", off))
        end_of[off] = entry.data_end
        starts.append(off)
    sort(starts)
    for i in range(1, len(starts)):
        if starts[i] < end_of.get(starts[i - 1], 0):
            raise _structure(path, String("entries overlap at offset ", starts[i]))


# ===----------------------------------------------------------------------=== #
# Members
# ===----------------------------------------------------------------------=== #


def crc32(data: Span[UInt8, _], crc: Int = 0) -> Int:
    """zip's CRC-32 (zlib's crc32_z), continuing from the CRC-32 `crc` of preceding bytes."""
    var out = external_call["crc32_z", UInt64](UInt64(crc), data.unsafe_ptr(), UInt64(len(data)))
    return Int(out)


def extract(data: Span[UInt8, _], entry: ZipEntry, path: String) raises CheckpointError -> List[UInt8]:
    """The member's uncompressed bytes, checked against the directory's sizes and CRC-32.

    The method must already be known to be 0 or 8 (archive.member.method comes first).

    Raises:
        CheckpointError: archive.member.integrity.
    """
    var raw = data[entry.data_start : entry.data_end]
    var out: List[UInt8]
    if entry.method == 0:
        if entry.compressed_size != entry.uncompressed_size:
            raise _integrity(path, entry, String("stored with ", entry.compressed_size,
                                                 " bytes but declares ", entry.uncompressed_size))
        out = List[UInt8](capacity=len(raw))
        out.extend(raw)
    else:
        out = _inflate(raw, entry, path)
    var crc = crc32(Span(out))
    if crc != entry.crc32:
        raise _integrity(path, entry, String("CRC-32 is ", hex(crc), ", the directory says ",
                                             hex(entry.crc32)))
    return out^


def _inflate(raw: Span[UInt8, _], entry: ZipEntry, path: String) raises CheckpointError -> List[UInt8]:
    # z_stream as 14 machine words: next_in, avail_in, total_in, next_out, avail_out, total_out,
    # msg, state, zalloc, zfree, opaque, data_type, adler, reserved (LP64 layout).
    var stream = List[Int](length=Z_STREAM_SIZE // 8, fill=0)
    var version = _zlib_version()
    var rc = external_call["inflateInit2_", Int32](
        stream.unsafe_ptr(), Int32(-15), version.unsafe_ptr(), Int32(Z_STREAM_SIZE)
    )
    if rc != Z_OK:
        raise _integrity(path, entry, String("zlib refused to start (", rc, ")"))
    var declared = entry.uncompressed_size
    var cap = declared + 1 if declared < Int.MAX else declared
    var out = List[UInt8]()
    var chunk = List[UInt8](length=CHUNK, fill=0)
    var fed = 0
    var ended = False
    var problem = String()
    while True:
        if stream[1] & Z_UINT_MASK == 0 and fed < len(raw):
            var piece = min(len(raw) - fed, 1 << 30)
            stream[0] = Int(raw.unsafe_ptr()) + fed
            stream[1] = piece
            fed += piece
        var want = min(CHUNK, cap - len(out))
        if want <= 0:
            problem = String("inflates to more than the declared ", declared, " bytes")
            break
        stream[3] = Int(chunk.unsafe_ptr())
        stream[4] = want
        rc = external_call["inflate", Int32](stream.unsafe_ptr(), Int32(0))
        var produced = want - (stream[4] & Z_UINT_MASK)
        out.extend(Span(chunk)[0:produced])
        if rc == Z_STREAM_END:
            ended = True
            break
        if rc != Z_OK:
            if fed >= len(raw) and stream[1] & Z_UINT_MASK == 0:
                problem = "the deflate stream is truncated"
            else:
                problem = String("invalid deflate data (zlib ", rc, ")")
            break
        if produced == 0 and fed >= len(raw) and stream[1] & Z_UINT_MASK == 0:
            problem = "the deflate stream is truncated"
            break
    var unused = (stream[1] & Z_UINT_MASK) + (len(raw) - fed)
    _ = external_call["inflateEnd", Int32](stream.unsafe_ptr())
    _ = version^
    _ = chunk^
    if not ended:
        raise _integrity(path, entry, problem)
    if unused != 0:
        raise _integrity(path, entry, String(unused, " bytes follow the end of the deflate stream"))
    if len(out) != declared:
        raise _integrity(path, entry, String("inflates to ", len(out), " bytes, the directory says ",
                                             declared))
    return out^


# ===----------------------------------------------------------------------=== #
# The writer (the spec's save.writer.archive)
# ===----------------------------------------------------------------------=== #

comptime STORED = 0
comptime DEFLATED = 8
# The writer's fixed header fields: versions needed, and 1980-01-01 00:00:00 so that archives do
# not depend on the clock.
comptime _VERSION = 20
comptime _VERSION_ZIP64 = 45
comptime _DOS_TIME = 0x0000
comptime _DOS_DATE = 0x0021
comptime _DEFLATE_LEVEL = 6


trait ByteSink(Movable, Deinitable):
    """Where ArchiveWriter puts the archive's bytes, in order (a file that hashes them, in the
    checkpoint writer)."""

    def put(mut self, data: Span[UInt8, _]) raises:
        ...


@fieldwise_init
struct _Written(Copyable, Movable):
    """A member already written, for its central directory entry."""

    var name: String
    var method: Int
    var crc32: Int
    var compressed_size: Int
    var uncompressed_size: Int
    var offset: Int


def _le(mut out: List[UInt8], value: Int, width: Int):
    for k in range(width):
        out.append(UInt8((value >> (8 * k)) & 0xFF))


def _zip64_extra(mut out: List[UInt8], values: List[Int]):
    _le(out, 0x0001, 2)
    _le(out, 8 * len(values), 2)
    for v in values:
        _le(out, v, 8)


def _local_header(entry: _Written) -> List[UInt8]:
    """The member's local header: both sizes 0xFFFFFFFF and a zip64 extra field holding them
    when either reaches 0xFFFFFFFF."""
    var big = entry.uncompressed_size >= ZIP_U32_MAX or entry.compressed_size >= ZIP_U32_MAX
    var out = List[UInt8]()
    _le(out, SIG_LOCAL, 4)
    _le(out, _VERSION_ZIP64 if big else _VERSION, 2)
    _le(out, 0, 2)
    _le(out, entry.method, 2)
    _le(out, _DOS_TIME, 2)
    _le(out, _DOS_DATE, 2)
    _le(out, entry.crc32, 4)
    _le(out, ZIP_U32_MAX if big else entry.compressed_size, 4)
    _le(out, ZIP_U32_MAX if big else entry.uncompressed_size, 4)
    _le(out, entry.name.byte_length(), 2)
    _le(out, 20 if big else 0, 2)
    out.extend(entry.name.as_bytes())
    if big:
        _zip64_extra(out, [entry.uncompressed_size, entry.compressed_size])
    return out^


def _central_entry(entry: _Written) -> List[UInt8]:
    """The member's central directory entry; zip64 values in an extra field where needed."""
    var values: List[Int] = [entry.uncompressed_size, entry.compressed_size, entry.offset]
    var wide = List[Int]()
    for v in values:
        if v >= ZIP_U32_MAX:
            wide.append(v)
    var version = _VERSION_ZIP64 if len(wide) > 0 else _VERSION
    var out = List[UInt8]()
    _le(out, SIG_CENTRAL, 4)
    _le(out, version, 2)
    _le(out, version, 2)
    _le(out, 0, 2)
    _le(out, entry.method, 2)
    _le(out, _DOS_TIME, 2)
    _le(out, _DOS_DATE, 2)
    _le(out, entry.crc32, 4)
    _le(out, min(entry.compressed_size, ZIP_U32_MAX), 4)
    _le(out, min(entry.uncompressed_size, ZIP_U32_MAX), 4)
    _le(out, entry.name.byte_length(), 2)
    _le(out, 4 + 8 * len(wide) if len(wide) > 0 else 0, 2)
    _le(out, 0, 6)  # comment length, disk, internal attributes
    _le(out, 0, 4)  # external attributes
    _le(out, min(entry.offset, ZIP_U32_MAX), 4)
    out.extend(entry.name.as_bytes())
    if len(wide) > 0:
        _zip64_extra(out, wide)
    return out^


struct ArchiveWriter(Movable):
    """Writes the spec's deterministic zip to a ByteSink, one member at a time: at most one
    member's compressed bytes are held in memory. Members as local header, name, data; then the
    central directory and the end record; zip64 records only where a value needs them."""

    var method: Int
    var offset: Int
    var entries: List[_Written]

    def __init__(out self, method: Int):
        self.method = method
        self.offset = 0
        self.entries = List[_Written]()

    def _emit(mut self, mut sink: Some[ByteSink], data: Span[UInt8, _]) raises:
        sink.put(data)
        self.offset += len(data)

    def add(
        mut self, mut sink: Some[ByteSink], name: String, head: Span[UInt8, _], body: Span[UInt8, _]
    ) raises:
        """Add a member whose uncompressed bytes are `head` then `body`."""
        var size = len(head) + len(body)
        var crc = crc32(body, crc32(head))
        var packed = List[UInt8]()
        if self.method == DEFLATED:
            packed = deflate_raw(head, body, _DEFLATE_LEVEL)
        var entry = _Written(name, self.method, crc, len(packed) if self.method == DEFLATED else size,
                             size, self.offset)
        self._emit(sink, Span(_local_header(entry)))
        self.entries.append(entry^)
        if self.method == DEFLATED:
            self._emit(sink, Span(packed))
        else:
            self._emit(sink, head)
            self._emit(sink, body)

    def close(mut self, mut sink: Some[ByteSink]) raises:
        """Write the central directory and the end record (zip64 records only when needed)."""
        var start = self.offset
        for i in range(len(self.entries)):
            self._emit(sink, Span(_central_entry(self.entries[i])))
        var size = self.offset - start
        var count = len(self.entries)
        var out = List[UInt8]()
        if count > ZIP_U16_MAX - 1 or size >= ZIP_U32_MAX or start >= ZIP_U32_MAX:
            _le(out, SIG_ZIP64_END, 4)
            _le(out, 44, 8)
            _le(out, _VERSION_ZIP64, 2)
            _le(out, _VERSION_ZIP64, 2)
            _le(out, 0, 8)  # this disk, the directory's disk
            _le(out, count, 8)
            _le(out, count, 8)
            _le(out, size, 8)
            _le(out, start, 8)
            _le(out, SIG_ZIP64_LOCATOR, 4)
            _le(out, 0, 4)
            _le(out, self.offset, 8)  # where the zip64 end record starts
            _le(out, 1, 4)
        _le(out, SIG_END, 4)
        _le(out, 0, 4)  # disks
        _le(out, min(count, ZIP_U16_MAX), 2)
        _le(out, min(count, ZIP_U16_MAX), 2)
        _le(out, min(size, ZIP_U32_MAX), 4)
        _le(out, min(start, ZIP_U32_MAX), 4)
        _le(out, 0, 2)
        self._emit(sink, Span(out))


def deflate_raw(head: Span[UInt8, _], body: Span[UInt8, _], level: Int) raises -> List[UInt8]:
    """`head` then `body` as one raw deflate stream (RFC 1951; zlib, windowBits -15)."""
    # z_stream as 14 machine words, as in _inflate.
    var stream = List[Int](length=Z_STREAM_SIZE // 8, fill=0)
    var version = _zlib_version()
    var rc = external_call["deflateInit2_", Int32](
        stream.unsafe_ptr(), Int32(level), Int32(DEFLATED), Int32(-15), Int32(8), Int32(0),
        version.unsafe_ptr(), Int32(Z_STREAM_SIZE),
    )
    _ = version^
    if rc != Z_OK:
        raise Error(String("zlib refused to start deflating (", rc, ")"))
    var out = List[UInt8]()
    var chunk = List[UInt8](length=CHUNK, fill=0)
    try:
        _deflate_part(stream, head, False, out, chunk)
        _deflate_part(stream, body, True, out, chunk)
    finally:
        _ = external_call["deflateEnd", Int32](stream.unsafe_ptr())
    _ = chunk^
    return out^


def _deflate_part(
    mut stream: List[Int], data: Span[UInt8, _], finish: Bool, mut out: List[UInt8],
    mut chunk: List[UInt8],
) raises:
    # Input is fed in pieces below 4 GiB (avail_in is 32 bits); each piece is consumed whole.
    var fed = 0
    while True:
        var piece = min(len(data) - fed, 1 << 30)
        stream[0] = Int(data.unsafe_ptr()) + fed
        stream[1] = piece
        fed += piece
        var flush = Z_FINISH if finish and fed == len(data) else Z_NO_FLUSH
        while True:
            stream[3] = Int(chunk.unsafe_ptr())
            stream[4] = CHUNK
            var rc = Int(external_call["deflate", Int32](stream.unsafe_ptr(), Int32(flush)))
            var produced = CHUNK - (stream[4] & Z_UINT_MASK)
            if rc != Z_OK and rc != Z_STREAM_END and not (rc == Z_BUF_ERROR and produced > 0):
                raise Error(String("zlib failed to deflate (", rc, ")"))
            out.extend(Span(chunk)[0:produced])
            if rc == Z_STREAM_END or (flush == Z_NO_FLUSH and produced < CHUNK):
                break
        if fed == len(data):
            return
