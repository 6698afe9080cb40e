"""The weight archive as a zip file: the central directory per the spec's structure_rules, the
layer members (archive.members.*, archive.member.method), and the one sequential pass over the
file that hashes it and streams each member (stored, or raw deflate inflated through ISA-L's
igzip, libisal) to a MemberSink with size and CRC-32 checks; the writer deflates through ISA-L.

The directory is read first, from the file's tail (pread), then the pass reads the whole file
once in CHUNK pieces. Readers trust the central directory, never the local headers' sizes: numpy
writes zip64 local headers whose sizes are placeholders (0xFFFFFFFF). Nothing is allocated from
a declared size: entry lists grow per parsed entry, the directory is read only once its bytes
are known to lie inside the file, and inflated output goes to the sink as it is produced.
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
from sha256 import Sha256

comptime SIG_LOCAL = 0x04034B50
comptime SIG_CENTRAL = 0x02014B50
comptime SIG_END = 0x06054B50
comptime SIG_ZIP64_END = 0x06064B50
comptime SIG_ZIP64_LOCATOR = 0x07064B50

# ISA-L's igzip (isa-l/igzip_lib.h, libisal 2.30) for inflate and deflate: the fields of its
# structs used here, as byte offsets on LP64 (read from the header with offsetof). Both structs
# are held in List[UInt64], 8-byte aligned like the C structs.
comptime _INFLATE_STATE_SIZE = 87368  # struct inflate_state
comptime _IS_NEXT_OUT = 0
comptime _IS_AVAIL_OUT = 8
comptime _IS_NEXT_IN = 16
comptime _IS_AVAIL_IN = 32
comptime _IS_READ_IN_LENGTH = 36  # bits read ahead of next_in
comptime _IS_BLOCK_STATE = 21160
comptime _ISAL_BLOCK_FINISH = 5
comptime _IS_CRC_FLAG = 21172
comptime _IS_CRC = 21176  # the CRC-32 of the output so far, with crc_flag ISAL_GZIP_NO_HDR
comptime _ISAL_GZIP_NO_HDR = 2  # raw deflate (no header, no trailer), CRC-32 kept


def _c_field[dtype: DType](
    mut words: List[UInt64], offset: Int
) -> Pointer[Scalar[dtype], MutAnyOrigin]:
    """The field at byte `offset` of a C struct held in `words`."""
    var at = words.unsafe_ptr().unsafe_bitcast[UInt8]().unsafe_offset(offset)
    return at.unsafe_bitcast[Scalar[dtype]]().unsafe_origin_cast[MutAnyOrigin]()


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


def layer_entries(
    file: ArchiveFile, layer_names: List[String]
) raises CheckpointError -> List[ZipEntry]:
    """Each layer's directory entry, in layer order, after the directory's archive invariants in
    spec order: structure, duplicate, unexpected and missing members, method (archive.digest and
    archive.member.integrity need the pass over the data: stream_members).

    Raises:
        CheckpointError: The first of those archive.* invariants violated.
    """
    var entries = read_directory(file)
    var member_of = _match_members(entries, layer_names, file.path)
    var ordered = List[ZipEntry]()
    for i in range(len(layer_names)):
        ref entry = entries[member_of[i]]
        if entry.method != 0 and entry.method != 8:
            raise CheckpointError(ARCHIVE_MEMBER_METHOD, String(
                "Checkpoint archive member ", quote(entry.display_name()),
                " uses unsupported compression method ", entry.method, ": ", file.path))
        if entry.flags & 0x41 != 0:
            raise CheckpointError(ARCHIVE_MEMBER_METHOD, String(
                "Checkpoint archive member ", quote(entry.display_name()),
                " uses unsupported encryption (flags ", hex(entry.flags), "): ", file.path))
        ordered.append(entry.copy())
    return ordered^


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


def c_string(text: String) -> List[UInt8]:
    """The text NUL-terminated, for libc."""
    var out = List[UInt8](capacity=text.byte_length() + 1)
    out.extend(text.as_bytes())
    out.append(0)
    return out^


struct ArchiveFile(Movable):
    """The archive opened for reading: its size and reads at any offset (pread), so that the
    directory is read from the tail before the one sequential pass over the data."""

    var fd: Int32
    var size: Int
    var path: String

    def __init__(out self, path: String) raises:
        var name = c_string(path)
        # O_RDONLY. "open64": the standard library declares "open" with another signature.
        self.fd = external_call["open64", Int32](name.unsafe_ptr(), Int32(0), Int32(0))
        self.path = path
        if self.fd < 0:
            self.size = 0
            raise Error("cannot open ", path)
        self.size = external_call["lseek64", Int](self.fd, 0, Int32(2))  # SEEK_END
        if self.size < 0:
            raise Error("cannot seek in ", path)

    def read_into(self, offset: Int, target: Span[mut=True, UInt8, _]) raises CheckpointError:
        """Fill `target` with the file's bytes from `offset` (all of them lie inside the file)."""
        var done = 0
        while done < len(target):
            var got = external_call["pread64", Int](
                self.fd, target.unsafe_ptr().unsafe_offset(done), len(target) - done, offset + done)
            if got <= 0:
                raise _structure(self.path, String("reading ", len(target), " bytes at offset ",
                                                   offset, " failed (the file changed?)"))
            done += got

    def read_at(self, offset: Int, length: Int) raises CheckpointError -> List[UInt8]:
        var out = List[UInt8](unsafe_uninit_length=length)
        self.read_into(offset, Span(out))
        return out^

    def __deinit__(deinit self):
        if self.fd >= 0:
            _ = external_call["close", Int32](self.fd)


def read_directory(file: ArchiveFile) raises CheckpointError -> List[ZipEntry]:
    """Validate the archive's structure and return its entries in central-directory order.

    Raises:
        CheckpointError: archive.zip.structure, naming the rule that failed.
    """
    var bounds = _directory_bounds(file)
    var entries = _central_entries(file, bounds)
    _check_local_headers(file, entries, bounds.offset)
    return entries^


@fieldwise_init
struct _Directory(Copyable, Movable):
    """Where the central directory lies and how many entries it declares."""

    var entries: Int
    var offset: Int
    var size: Int


def _directory_bounds(file: ArchiveFile) raises CheckpointError -> _Directory:
    # The end record (or the zip64 record it points to) says where the directory lies.
    var n = file.size
    ref path = file.path
    if n < 22:
        raise _structure(path, String("the file has ", n, " bytes, too few for an end record"))
    # The last end record whose 22 bytes plus comment end exactly at the end of the file.
    var end = -1
    var lowest = n - 22 - ZIP_U16_MAX
    if lowest < 0:
        lowest = 0
    # The tail that can hold the end record, its offsets relative to `lowest`.
    var data = file.read_at(lowest, n - lowest)
    var at = n - 22
    while at >= lowest:
        if _u32(data, at - lowest) == SIG_END and at + 22 + _u16(data, at - lowest + 20) == n:
            end = at
            break
        at -= 1
    if end < 0:
        raise _structure(path, "no end-of-central-directory record ends at the end of the file")
    var disk = _u16(data, end - lowest + 4)
    var cd_disk = _u16(data, end - lowest + 6)
    var entries_here = _u16(data, end - lowest + 8)
    var entries = _u16(data, end - lowest + 10)
    var cd_size = _u32(data, end - lowest + 12)
    var cd_offset = _u32(data, end - lowest + 16)
    var limit = end
    if (
        disk == ZIP_U16_MAX or cd_disk == ZIP_U16_MAX or entries_here == ZIP_U16_MAX
        or entries == ZIP_U16_MAX
        or cd_size == ZIP_U32_MAX or cd_offset == ZIP_U32_MAX
    ):
        # zip64: the locator sits just before the end record and points at the zip64 record.
        var loc = end - 20
        if loc < 0:
            raise _structure(path, "the end record needs zip64 values but there is no zip64 locator")
        var locator = file.read_at(loc, 20)
        if _u32(locator, 0) != SIG_ZIP64_LOCATOR:
            raise _structure(path, "the end record needs zip64 values but there is no zip64 locator")
        if _u32(locator, 4) != 0 or _u32(locator, 16) != 1:
            raise _structure(path, "the zip64 locator names more than one disk")
        var rec = _u64(locator, 8)
        if rec > loc - 56 or loc - 56 < 0:
            raise _structure(path, "the zip64 end record lies outside the file")
        var record = file.read_at(rec, 56)
        if _u32(record, 0) != SIG_ZIP64_END:
            raise _structure(path, "bad zip64 end record signature")
        # The zip64 record then supplies every value, not only the saturated ones.
        disk = _u32(record, 16)
        cd_disk = _u32(record, 20)
        entries_here = _u64(record, 24)
        entries = _u64(record, 32)
        cd_size = _u64(record, 40)
        cd_offset = _u64(record, 48)
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
    file: ArchiveFile, directory: _Directory
) raises CheckpointError -> List[ZipEntry]:
    # The declared entries, each within the directory's declared size, and nothing after them.
    # The directory lies inside the file (checked), so reading it allocates what the file holds.
    ref path = file.path
    var data = file.read_at(directory.offset, directory.size)
    var result = List[ZipEntry]()
    var entries = directory.entries
    var pos = 0
    var cd_end = directory.size
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
    file: ArchiveFile, mut entries: List[ZipEntry], cd_offset: Int
) raises CheckpointError:
    var n = file.size
    ref path = file.path
    var starts = List[Int]()
    var end_of = Dict[Int, Int]()
    for ref entry in entries:
        var off = entry.local_offset
        var label = quote(entry.display_name())
        if off > n - 30:
            raise _structure(path, String("the local header of ", label, " lies outside the file"))
        var header = file.read_at(off, 30)
        if _u32(header, 0) != SIG_LOCAL:
            raise _structure(path, String("bad local header signature for ", label))
        var name_len = _u16(header, 26)
        var extra_len = _u16(header, 28)
        if off + 30 + name_len + extra_len > n:
            raise _structure(path, String("the local header of ", label, " runs past the file"))
        if name_len != len(entry.name) or file.read_at(off + 30, name_len) != entry.name:
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
    """zip's CRC-32, continuing from the CRC-32 `crc` of preceding bytes: ISA-L's
    crc32_gzip_refl, the same values as zlib's crc32_z at 3-5 times its speed here."""
    var out = external_call["crc32_gzip_refl", UInt32](
        UInt32(crc), data.unsafe_ptr(), UInt64(len(data)))
    return Int(out)


# The pass reads the file in CHUNK pieces (large reads, large hash and CRC updates); inflate
# writes to the sink's landing, or to OUT_CHUNK bytes of scratch when it has none.
comptime CHUNK = 1 << 20
comptime OUT_CHUNK = 1 << 18
# Deflate produces at most 1032 bytes per compressed byte: a larger declared size is refused
# before anything is inflated (the spec's "proves it exists" for a streamed member).
comptime DEFLATE_RATIO_MAX = 1032
comptime DEFLATE_SLACK = 1024


trait MemberSink:
    """Where stream_members puts each member's uncompressed bytes, in order."""

    def landing(mut self, member: Int) -> Span[UInt8, MutAnyOrigin]:
        """Room where the member's next bytes may be written in place (empty when none)."""
        ...

    def landed(mut self, member: Int, count: Int):
        """`count` bytes were written at the start of the landing."""
        ...

    def accept(mut self, member: Int, data: Span[UInt8, _]):
        """The member's next bytes, to be copied."""
        ...


@fieldwise_init
struct Pass(Movable):
    """What the pass over the archive found."""

    # The archive's SHA-256 as lowercase hex, when it was asked for; else "".
    var digest: String
    # Per entry: why it fails archive.member.integrity, or "".
    var problems: List[String]


def check_integrity(
    entries: List[ZipEntry], problems: List[String], path: String
) raises CheckpointError:
    """archive.member.integrity: the first entry (in order) with a problem."""
    for i in range(len(entries)):
        if problems[i]:
            raise _integrity(path, entries[i], problems[i])


def stream_members(
    file: ArchiveFile, entries: List[ZipEntry], mut sink: Some[MemberSink], hash: Bool
) raises CheckpointError -> Pass:
    """One sequential pass over the file: every byte to the SHA-256 (when `hash`), each entry's
    data to its CRC-32, its decoder and `sink` (as member i for entries[i]). A stored member's
    bytes are read straight into the sink's landing when it offers one. The entries come from
    read_directory, so their data ranges lie inside the file and do not overlap.
    """
    var start_of = Dict[Int, Int]()
    var starts = List[Int]()
    for i in range(len(entries)):
        start_of[entries[i].data_start] = i
        starts.append(entries[i].data_start)
    sort(starts)
    var hasher = Sha256()
    var chunk = List[UInt8](unsafe_uninit_length=CHUNK)
    var out = List[UInt8](unsafe_uninit_length=OUT_CHUNK)
    var problems = List[String](length=len(entries), fill=String())
    var pos = 0
    for start in starts:
        var k = start_of.get(start, 0)
        ref entry = entries[k]
        pos = _pass_through(file, pos, entry.data_start, chunk, hasher, hash)
        var member = _Member(k, entry)
        while pos < entry.data_end:
            var n = min(CHUNK, entry.data_end - pos)
            var landing = Span[UInt8, MutAnyOrigin]()
            if member.reads_in_place():
                landing = sink.landing(k)
            if len(landing) > 0:
                var piece = landing[0 : min(n, len(landing))]
                file.read_into(pos, piece)
                if hash:
                    hasher.update(piece)
                member.took(piece)
                sink.landed(k, len(piece))
                pos += len(piece)
            else:
                var piece = Span(chunk)[0:n]
                file.read_into(pos, piece)
                if hash:
                    hasher.update(piece)
                member.feed(piece, sink, out)
                pos += n
        problems[k] = member.finish(entry)
    _ = _pass_through(file, pos, file.size, chunk, hasher, hash)
    return Pass(hasher.hexdigest() if hash else String(), problems^)


def _pass_through(
    file: ArchiveFile, pos: Int, end: Int, mut chunk: List[UInt8], mut hasher: Sha256, hash: Bool
) raises CheckpointError -> Int:
    """Bytes outside any member (headers, directory) go only to the hash; unread without one."""
    var at = pos
    while hash and at < end:
        var piece = Span(chunk)[0 : min(CHUNK, end - at)]
        file.read_into(at, piece)
        hasher.update(piece)
        at += len(piece)
    return end


struct _Member(Movable):
    """One member during the pass: its CRC-32, size so far and inflate state; the first
    integrity problem found ends its decoding (the pass still hashes its bytes)."""

    var index: Int
    var deflated: Bool
    var state: List[UInt64]  # ISA-L's struct inflate_state (raw deflate, its default)
    var crc: Int
    var produced: Int
    var declared: Int
    var ended: Bool
    var problem: String

    def __init__(out self, index: Int, entry: ZipEntry):
        self.index = index
        self.deflated = entry.method == 8
        self.state = List[UInt64]()
        self.crc = 0
        self.produced = 0
        self.declared = entry.uncompressed_size
        self.ended = False
        self.problem = String()
        if not self.deflated and entry.compressed_size != self.declared:
            self.problem = String("stored with ", entry.compressed_size,
                                  " bytes but declares ", self.declared)
        elif self.deflated and self.declared > (
            DEFLATE_RATIO_MAX * entry.compressed_size + DEFLATE_SLACK
        ):
            self.problem = String("declares ", self.declared, " bytes, more than deflate makes of ",
                                  entry.compressed_size)
        elif self.deflated:
            self.state = List[UInt64](length=_INFLATE_STATE_SIZE // 8, fill=0)
            external_call["isal_inflate_init", NoneType](self.state.unsafe_ptr())
            _c_field[DType.uint32](self.state, _IS_CRC_FLAG)[] = _ISAL_GZIP_NO_HDR

    def reads_in_place(self) -> Bool:
        """Whether its next bytes may be read straight into the sink (stored, no problem)."""
        return not self.deflated and not self.problem

    def took(mut self, data: Span[UInt8, _]):
        """Stored bytes (in the sink's landing or passed to it): their CRC-32 and count."""
        self.crc = crc32(data, self.crc)
        self.produced += len(data)

    def feed(mut self, data: Span[UInt8, _], mut sink: Some[MemberSink], mut out: List[UInt8]):
        """The member's next compressed bytes."""
        if self.problem:
            return
        if not self.deflated:
            self.took(data)
            sink.accept(self.index, data)
        elif self.ended:
            self.problem = "bytes follow the end of the deflate stream"
        else:
            self._inflate(data, sink, out)

    def _get32(mut self, offset: Int) -> Int:
        return Int(_c_field[DType.uint32](self.state, offset)[])

    def _inflate(mut self, data: Span[UInt8, _], mut sink: Some[MemberSink], mut out: List[UInt8]):
        # Output into the landing, else into `out`; capped at the declared size + 1 (saturated).
        var cap = self.declared + 1 if self.declared < Int.MAX else self.declared
        _c_field[DType.int](self.state, _IS_NEXT_IN)[] = Int(data.unsafe_ptr())
        _c_field[DType.uint32](self.state, _IS_AVAIL_IN)[] = UInt32(len(data))  # at most CHUNK
        while True:
            var landing = sink.landing(self.index)
            var direct = len(landing) > 0
            var room = len(landing) if direct else len(out)
            var want = min(room, cap - self.produced)
            if want <= 0:
                self.problem = String("inflates to more than the declared ", self.declared, " bytes")
                return
            var before = self._get32(_IS_AVAIL_IN)
            var target = Int(landing.unsafe_ptr()) if direct else Int(out.unsafe_ptr())
            _c_field[DType.int](self.state, _IS_NEXT_OUT)[] = target
            _c_field[DType.uint32](self.state, _IS_AVAIL_OUT)[] = UInt32(want)
            var rc = external_call["isal_inflate", Int32](self.state.unsafe_ptr())
            var made = want - self._get32(_IS_AVAIL_OUT)
            self.crc = self._get32(_IS_CRC)
            self.produced += made
            if direct:
                sink.landed(self.index, made)
            else:
                sink.accept(self.index, Span(out)[0:made])
            var left = self._get32(_IS_AVAIL_IN)
            if rc < 0:
                self.problem = String("invalid deflate data (ISA-L ", rc, ")")
                return
            if self._get32(_IS_BLOCK_STATE) == _ISAL_BLOCK_FINISH:
                self.ended = True
                # Whole bytes read ahead into the bit buffer lie past the stream's end too.
                left += Int(_c_field[DType.int32](self.state, _IS_READ_IN_LENGTH)[]) // 8
                if left > 0:
                    self.problem = String(left, " bytes follow the end of the deflate stream")
                return
            # isal_inflate returns with its input used up or its output full; no progress on
            # either means it needs the next piece.
            if (left == 0 and made < want) or (made == 0 and left == before):
                return

    def finish(mut self, entry: ZipEntry) -> String:
        """Why the member fails archive.member.integrity, or ""; ends the inflate state."""
        self.state = List[UInt64]()  # ISA-L allocates nothing beside it
        if self.problem:
            return self.problem
        if self.deflated and not self.ended:
            return "the deflate stream is truncated"
        if self.produced != self.declared:
            return String("inflates to ", self.produced, " bytes, the directory says ", self.declared)
        if self.crc != entry.crc32:
            return String("CRC-32 is ", hex(self.crc), ", the directory says ", hex(entry.crc32))
        return String()


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
# The save's default deflate level (zlib's meaning, 1 fastest): float weights barely compress,
# and level 6 costs several times the time for about 1% of size.
comptime DEFAULT_LEVEL = 1


trait ByteSink(Movable, Deinitable):
    """Where ArchiveWriter puts the archive's bytes (a temporary file, in the checkpoint
    writer): appended in order, a local header patched once its member's size is known. The
    bytes put between `hold` and `settle` may still be patched or cut; all others are final as
    put (the checkpoint writer hashes those as they pass)."""

    def hold(mut self):
        """The bytes put from here on may change until `settle`."""
        ...

    def settle(mut self) raises:
        """The bytes held are final."""
        ...

    def put(mut self, data: Span[UInt8, _]) raises:
        """Append `data`."""
        ...

    def put_at(mut self, offset: Int, data: Span[UInt8, _]) raises:
        """Overwrite bytes already put, from `offset` on."""
        ...

    def cut(mut self, length: Int) raises:
        """Drop everything from `length` on; the next put appends there."""
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
    """Writes the spec's deterministic zip to a ByteSink, one member at a time, streamed: no
    member's compressed bytes are held in memory. Members as local header, name, data; then the
    central directory and the end record; zip64 records only where a value needs them."""

    var method: Int
    var level: Int
    var offset: Int
    var entries: List[_Written]

    def __init__(out self, method: Int, level: Int = DEFAULT_LEVEL):
        self.method = method
        self.level = level
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
        var entry = _Written(name, self.method, crc32(body, crc32(head)), size, size, self.offset)
        if self.method == STORED:
            self._emit(sink, Span(_local_header(entry)))
            self._emit(sink, head)
            self._emit(sink, body)  # one write: the data is already the member's bytes
            self.entries.append(entry^)
            return
        # The compressed size is known only afterwards: the local header is written with a
        # placeholder and patched. Its layout (zip64 or not) is guessed from the uncompressed
        # size; a compressed size that crosses 0xFFFFFFFF alone needs the longer header, and
        # the member is written again with it (deflate is deterministic).
        var zip64 = size >= ZIP_U32_MAX
        sink.hold()
        while True:
            entry.compressed_size = ZIP_U32_MAX if zip64 else 0
            var placeholder = _local_header(entry)
            self._emit(sink, Span(placeholder))
            entry.compressed_size = _deflate_to(sink, head, body, self.level)
            self.offset += entry.compressed_size
            var header = _local_header(entry)
            if len(header) == len(placeholder):
                sink.put_at(entry.offset, Span(header))
                sink.settle()
                self.entries.append(entry^)
                return
            sink.cut(entry.offset)
            self.offset = entry.offset
            zip64 = True

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


# ISA-L's struct isal_zstream (see _INFLATE_STATE_SIZE).
comptime _ZSTREAM_SIZE = 82384
comptime _ZS_NEXT_IN = 0
comptime _ZS_AVAIL_IN = 8
comptime _ZS_NEXT_OUT = 16
comptime _ZS_AVAIL_OUT = 24
comptime _ZS_LEVEL = 40
comptime _ZS_LEVEL_BUF_SIZE = 44
comptime _ZS_LEVEL_BUF = 48
comptime _ZS_END_OF_STREAM = 56
comptime _ZS_STATE = 84  # internal_state.state
comptime _ZSTATE_END = 11
comptime _COMP_OK = 0
comptime DEFLATE_OUT = 1 << 18  # deflate output per call, put to the sink


def isal_level(level: Int) -> Int:
    """zlib's levels 1-9 on ISA-L's 0-3, as the reference maps them (save.writer.level): 1-3 ->
    1, 4-6 -> 2, 7-9 -> 3. ISA-L's level 0 is no faster on weights, so none maps to it."""
    return (level + 2) // 3


def _level_buf_size(isal: Int) -> Int:
    """ISAL_DEF_LVL1_DEFAULT, ..._LVL2_..., ..._LVL3_... (the header's suggested sizes)."""
    if isal == 1:
        return 282624
    return 331776 if isal == 2 else 348160


struct _Deflater(Movable):
    """One raw deflate stream (gzip_flag IGZIP_DEFLATE, the default) through ISA-L."""

    var stream: List[UInt64]  # struct isal_zstream
    var level_buf: List[UInt8]

    def __init__(out self, level: Int):
        self.stream = List[UInt64](length=_ZSTREAM_SIZE // 8, fill=0)
        var isal = isal_level(level)
        self.level_buf = List[UInt8](unsafe_uninit_length=_level_buf_size(isal))
        external_call["isal_deflate_init", NoneType](self.stream.unsafe_ptr())
        self._set32(_ZS_LEVEL, isal)
        self._set32(_ZS_LEVEL_BUF_SIZE, len(self.level_buf))
        self._field[DType.int](_ZS_LEVEL_BUF)[] = Int(self.level_buf.unsafe_ptr())

    def _field[dtype: DType](mut self, offset: Int) -> Pointer[Scalar[dtype], MutAnyOrigin]:
        return _c_field[dtype](self.stream, offset)

    def _set32(mut self, offset: Int, value: Int):
        self._field[DType.uint32](offset)[] = UInt32(value)

    def _get32(mut self, offset: Int) -> Int:
        return Int(self._field[DType.uint32](offset)[])

    def feed(
        mut self, data: Span[UInt8, _], last: Bool, mut sink: Some[ByteSink], mut out: List[UInt8]
    ) raises -> Int:
        """Compress `data` (the stream's end when `last`), putting the output to `sink` as it
        comes (DEFLATE_OUT at a time); how many bytes were put. Input goes in CHUNK pieces
        (avail_in is 32 bits)."""
        var fed = 0
        var written = 0
        while True:
            var piece = min(len(data) - fed, CHUNK)
            self._field[DType.int](_ZS_NEXT_IN)[] = Int(data.unsafe_ptr()) + fed
            self._set32(_ZS_AVAIL_IN, piece)
            fed += piece
            var end = last and fed == len(data)
            self._field[DType.uint16](_ZS_END_OF_STREAM)[] = UInt16(1 if end else 0)
            while True:
                self._field[DType.int](_ZS_NEXT_OUT)[] = Int(out.unsafe_ptr())
                self._set32(_ZS_AVAIL_OUT, DEFLATE_OUT)
                var rc = external_call["isal_deflate", Int32](self.stream.unsafe_ptr())
                if rc != _COMP_OK:
                    raise Error(String("ISA-L failed to deflate (", rc, ")"))
                var produced = DEFLATE_OUT - self._get32(_ZS_AVAIL_OUT)
                sink.put(Span(out)[0:produced])
                written += produced
                # isal_deflate returns with its input used up or its output full; the stream's
                # end is written only when the state says so.
                if end and self._get32(_ZS_STATE) == _ZSTATE_END:
                    break
                if not end and self._get32(_ZS_AVAIL_IN) == 0 and produced < DEFLATE_OUT:
                    break
            if fed == len(data):
                return written


def _deflate_to(
    mut sink: Some[ByteSink], head: Span[UInt8, _], body: Span[UInt8, _], level: Int
) raises -> Int:
    """`head` then `body` as one raw deflate stream (RFC 1951; ISA-L) put to `sink` as it is
    produced; its length."""
    var deflater = _Deflater(level)
    var out = List[UInt8](unsafe_uninit_length=DEFLATE_OUT)
    var written = deflater.feed(head, False, sink, out)
    return written + deflater.feed(body, True, sink, out)
