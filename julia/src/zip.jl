# Zip reading as spec `archive` says: driven by the central directory (numpy writes zip64 local
# headers whose sizes are 0xFFFFFFFF placeholders), structure_rules checked up front, then one
# sequential pass over the file feeding the archive's SHA-256 (libcrypto) and each member's
# CRC-32 (ISA-L) and inflate (zlib) and .npy reader. Nothing is allocated from a declared size that the
# file's bytes do not bound (a deflated member declaring more than deflate can produce is
# refused first).
# Writing (ArchiveWriter, at the end): the spec's deterministic zip (save.writer.archive), deflated
# through ISA-L's igzip (inflate stays zlib's).

const LIBZ = "libz.so.1"
const LIBISAL = "libisal"      # CRC-32, and the writer's deflate

"One central-directory entry, sizes resolved through the zip64 extra field."
struct ZipEntry
    name::Vector{UInt8}
    flags::UInt16
    method::UInt16
    crc32::UInt32
    compressed_size::Int64
    uncompressed_size::UInt64  # any 64-bit value: a size beyond the data fails member integrity
    local_offset::Int64
    data_start::Int64          # 0-based offset of the member's data in the file
end

entry_name(e::ZipEntry) = String(copy(e.name))

@inline le16(b::AbstractVector{UInt8}, off::Integer) = UInt16(b[off+1]) | UInt16(b[off+2]) << 8
@inline le32(b::AbstractVector{UInt8}, off::Integer) = UInt32(le16(b, off)) | UInt32(le16(b, off + 2)) << 16
@inline le64(b::AbstractVector{UInt8}, off::Integer) = UInt64(le32(b, off)) | UInt64(le32(b, off + 4)) << 32

const SIG_EOCD = 0x06054b50
const SIG_ZIP64_EOCD = 0x06064b50
const SIG_ZIP64_LOCATOR = 0x07064b50
const SIG_CENTRAL = 0x02014b50
const SIG_LOCAL = 0x04034b50
const STORED = 0x0000
const DEFLATED = 0x0008
const ENCRYPTION_FLAGS = 0x0041         # bit 0: encrypted, bit 6: strong encryption

structure(detail::String) = CheckpointError(ARCHIVE_ZIP_STRUCTURE; detail = detail)

"A uint64 as Int64, or -1 when it cannot be a file offset or size."
as_size(x::UInt64) = x > UInt64(typemax(Int64)) ? Int64(-1) : Int64(x)

"""
    read_zip_directory(bytes) -> Vector{ZipEntry} or CheckpointError (archive.zip.structure)

Parses the end record(s) and the central directory and checks archive.structure_rules.
"""
function read_zip_directory(bytes::AbstractVector{UInt8})
    bounds = directory_bounds(bytes)
    bounds isa CheckpointError && return bounds
    entries = central_entries(bytes, bounds...)
    entries isa CheckpointError && return entries
    return locate_entries(bytes, entries, bounds[2])
end

"Rule 1: the offset of the last end record whose comment ends exactly at the end of the file."
function find_end_record(bytes::AbstractVector{UInt8})
    n = length(bytes)
    pos = n - 22
    lowest = max(0, n - 22 - Int(ZIP_U16_MAX))
    while pos >= lowest
        le32(bytes, pos) == SIG_EOCD && pos + 22 + Int(le16(bytes, pos + 20)) == n && return pos
        pos -= 1
    end
    return structure(n < 22 ? "file of $n bytes is too short for a zip end record" :
                     "no end-of-central-directory record")
end

"""
Rules 1-3 from the end record (and the zip64 end record when the end record asks for it):
(entry count, directory offset, directory size) of a single-disk directory that lies before the
end records.
"""
function directory_bounds(bytes::AbstractVector{UInt8})
    eocd = find_end_record(bytes)
    eocd isa CheckpointError && return eocd
    disk = le16(bytes, eocd + 4)
    cd_disk = le16(bytes, eocd + 6)
    count_disk = Int64(le16(bytes, eocd + 8))
    count = Int64(le16(bytes, eocd + 10))
    cd_size = Int64(le32(bytes, eocd + 12))
    cd_offset = Int64(le32(bytes, eocd + 16))
    directory_end = eocd               # the central directory must end at or before this
    if ZIP_U16_MAX in (disk, cd_disk, count_disk, count) || ZIP_U32_MAX in (cd_size, cd_offset)
        z = zip64_end_record(bytes, eocd)
        z isa CheckpointError && return z
        disk = le32(bytes, z + 16)
        cd_disk = le32(bytes, z + 20)
        count_disk = as_size(le64(bytes, z + 24))
        count = as_size(le64(bytes, z + 32))
        cd_size = as_size(le64(bytes, z + 40))
        cd_offset = as_size(le64(bytes, z + 48))
        directory_end = z
    end
    # Rule 2: single disk.
    (disk == 0 && cd_disk == 0) || return structure("disk numbers $disk/$cd_disk (multi-disk archives are not supported)")
    count_disk == count || return structure("entry count on this disk ($count_disk) differs from the total ($count)")
    # Rule 3: the central directory lies before the end record and is exactly as declared.
    (cd_offset >= 0 && cd_size >= 0 && count >= 0 && cd_offset <= directory_end &&
     cd_size <= directory_end - cd_offset) ||
        return structure("central directory (offset $cd_offset, $cd_size bytes) is not between the start of the file and the end record")
    return (count, cd_offset, cd_size)
end

"The offset of the zip64 end record that the locator just before the end record points to."
function zip64_end_record(bytes::AbstractVector{UInt8}, eocd::Int)
    loc = eocd - 20
    (loc >= 0 && le32(bytes, loc) == SIG_ZIP64_LOCATOR) ||
        return structure("end record needs zip64 but there is no zip64 locator")
    le32(bytes, loc + 4) == 0 && le32(bytes, loc + 16) == 1 ||
        return structure("zip64 locator names another disk (multi-disk archives are not supported)")
    z = as_size(le64(bytes, loc + 8))
    (0 <= z && z <= loc - 56 && le32(bytes, z) == SIG_ZIP64_EOCD) ||
        return structure("zip64 locator does not point at a zip64 end record")
    return Int(z)
end

"Rule 3 (exactly `count` entries filling `cd_size` bytes) and rule 6 (extra fields, zip64 sizes)."
function central_entries(bytes::AbstractVector{UInt8}, count::Int64, cd_offset::Int64, cd_size::Int64)
    entries = ZipEntry[]
    pos = cd_offset
    cd_end = cd_offset + cd_size
    for k in 1:count
        (pos + 46 <= cd_end && le32(bytes, pos) == SIG_CENTRAL) ||
            return structure("central directory entry $k of $count is missing or runs past the directory")
        name_len = Int(le16(bytes, pos + 28))
        next = pos + 46 + name_len + Int(le16(bytes, pos + 30)) + Int(le16(bytes, pos + 32))
        next <= cd_end || return structure("central directory entry $k runs past the directory")
        entry_disk = le16(bytes, pos + 34)
        entry_disk == 0 || return structure("central directory entry $k starts on disk $entry_disk (multi-disk archives are not supported)")
        e = central_entry(bytes, pos, name_len)
        e isa CheckpointError && return e
        push!(entries, e)
        pos = next
    end
    pos == cd_end || return structure("central directory holds $(pos - cd_offset) bytes of entries but declares $cd_size")
    return entries
end

"One central header at `pos`, its sizes and offset resolved through the zip64 extra field."
function central_entry(bytes::AbstractVector{UInt8}, pos::Int64, name_len::Int)
    csize32 = le32(bytes, pos + 20)
    usize32 = le32(bytes, pos + 24)
    offset32 = le32(bytes, pos + 42)
    name = bytes[pos+47:pos+46+name_len]
    shown = repr(String(copy(name)))
    sizes = UInt64[usize32, csize32, offset32]        # the zip64 extra field's order
    z = zip64_extra(bytes, pos + 46 + name_len, Int(le16(bytes, pos + 30)))
    z === :truncated && return structure("entry $shown has a truncated extra field")
    wide = [s == ZIP_U32_MAX for s in sizes]
    if any(wide)
        z === nothing && return structure("entry $shown needs a zip64 extra field and has none")
        zpos, zlen = z
        zlen >= 8 * count(wide) || return structure("entry $shown has a short zip64 extra field")
        for i in findall(wide)
            sizes[i] = le64(bytes, zpos)
            zpos += 8
        end
    end
    usize, csize, offset = sizes
    # Any uncompressed size is a size (member integrity judges it); a compressed size or offset
    # beyond Int64 runs past any file, which as_size's -1 makes locate_entries refuse.
    return ZipEntry(name, le16(bytes, pos + 8), le16(bytes, pos + 10), le32(bytes, pos + 16),
                    as_size(csize), usize, as_size(offset), 0)
end

"Rules 4 and 5: local headers inside the file with the same names, data before the central
directory, no two entries overlapping. The entries come back with their data offsets."
function locate_entries(bytes::AbstractVector{UInt8}, entries::Vector{ZipEntry}, cd_offset::Int64)
    n = length(bytes)
    resolved = ZipEntry[]
    for e in entries
        shown = repr(entry_name(e))
        off = e.local_offset
        (0 <= off <= n - 30 && le32(bytes, off) == SIG_LOCAL) ||
            return structure("entry $shown has no local header at offset $off")
        lname = Int(le16(bytes, off + 26))
        lextra = Int(le16(bytes, off + 28))
        (off + 30 + lname <= n && lname == length(e.name) && view(bytes, off+31:off+30+lname) == e.name) ||
            return structure("entry $shown: the local header's name differs from the central directory's")
        data_start = off + 30 + lname + lextra
        (0 <= e.compressed_size <= cd_offset && data_start <= cd_offset - e.compressed_size) ||
            return structure("entry $shown: its data runs past the start of the central directory")
        push!(resolved, ZipEntry(e.name, e.flags, e.method, e.crc32, e.compressed_size,
                                 e.uncompressed_size, e.local_offset, data_start))
    end
    order = sortperm(resolved, by = e -> e.local_offset)
    for k in 2:length(order)
        a = resolved[order[k-1]]
        b = resolved[order[k]]
        a.data_start + a.compressed_size <= b.local_offset ||
            return structure("entries $(repr(entry_name(a))) and $(repr(entry_name(b))) overlap")
    end
    return resolved
end

"(offset, length) of the first zip64 extra field's data in an extra block, nothing when there is
none, or :truncated when a field runs past the block (the whole block is checked)."
function zip64_extra(bytes::AbstractVector{UInt8}, start::Int64, len::Int)
    pos = start
    stop = start + len
    found = nothing
    while pos < stop
        pos + 4 <= stop || return :truncated
        id = le16(bytes, pos)
        size = Int(le16(bytes, pos + 2))
        pos + 4 + size <= stop || return :truncated
        id == 0x0001 && found === nothing && (found = (pos + 4, size))
        pos += 4 + size
    end
    return found
end

# ------------------------------------------------------------------ zlib

"zlib's z_stream (64-bit layout)."
mutable struct ZStream
    next_in::Ptr{UInt8}
    avail_in::Cuint
    total_in::Culong
    next_out::Ptr{UInt8}
    avail_out::Cuint
    total_out::Culong
    msg::Ptr{UInt8}
    state::Ptr{Cvoid}
    zalloc::Ptr{Cvoid}
    zfree::Ptr{Cvoid}
    opaque::Ptr{Cvoid}
    data_type::Cint
    adler::Culong
    reserved::Culong
end
ZStream() = ZStream(C_NULL, 0, 0, C_NULL, 0, 0, C_NULL, C_NULL, C_NULL, C_NULL, C_NULL, 0, 0, 0)

const Z_OK = Cint(0)
const Z_STREAM_END = Cint(1)
const Z_BUF_ERROR = Cint(-5)
const Z_NO_FLUSH = Cint(0)

"The version string the *Init2_ calls check against the library's."
zlib_version() = ccall((:zlibVersion, LIBZ), Cstring, ())

"""
The zip CRC-32 (not CRC-32C) of `n` bytes at `ptr`, continuing from `crc` as zlib's crc32
does: ISA-L's `crc32_gzip_refl` (carry-less multiply; ~4x zlib's crc32 here, which bounded
stored loads and saves next to SHA-256).
"""
crc32(ptr::Ptr{UInt8}, n::Integer, crc::UInt32 = UInt32(0)) =
    ccall((:crc32_gzip_refl, LIBISAL), UInt32, (UInt32, Ptr{UInt8}, UInt64), crc, ptr, n)
crc32(data::AbstractVector{UInt8}, crc::UInt32 = UInt32(0)) = GC.@preserve data crc32(pointer(data), length(data), crc)

# ------------------------------------------------------------------ SHA-256 (OpenSSL's libcrypto)

const LIBCRYPTO = "libcrypto.so.3"

"A SHA-256 computation in libcrypto (the SHA stdlib hashes at ~70 MB/s, libcrypto at ~1 GB/s)."
struct Sha256
    ctx::Vector{UInt8}             # SHA256_CTX is 112 bytes
end
function Sha256()
    s = Sha256(zeros(UInt8, 128))
    ccall((:SHA256_Init, LIBCRYPTO), Cint, (Ptr{UInt8},), s.ctx) == 1 || error("SHA256_Init failed")
    return s
end
function update!(s::Sha256, ptr::Ptr{UInt8}, n::Integer)
    ccall((:SHA256_Update, LIBCRYPTO), Cint, (Ptr{UInt8}, Ptr{UInt8}, Csize_t), s.ctx, ptr, n)
    return s
end
update!(s::Sha256, data::AbstractVector{UInt8}) = GC.@preserve data update!(s, pointer(data), length(data))
"The lowercase hex digest (the computation is over)."
function hexdigest!(s::Sha256)
    out = Vector{UInt8}(undef, 32)
    ccall((:SHA256_Final, LIBCRYPTO), Cint, (Ptr{UInt8}, Ptr{UInt8}), out, s.ctx)
    return bytes2hex(out)
end
sha256_hex(data::AbstractVector{UInt8}) = hexdigest!(update!(Sha256(), data))
sha256_hex(text::String) = sha256_hex(codeunits(text))

# ------------------------------------------------------------------ streaming members

"Deflate produces at most this many bytes per compressed byte (plus a small constant)."
const DEFLATE_MAX_RATIO = 1032
const DEFLATE_MAX_SLACK = 1024
const INFLATE_CHUNK = 1 << 20      # bytes of output per inflate call
# The output of an inflate call that the sink converts (the header, or data not stored as the
# values are), allocated at the first: mostly just the header, the data going straight to the
# values, so each decoder keeps 64 KiB rather than a chunk.
const INFLATE_SCRATCH = 1 << 16

"""
    MemberDecoder(entry, sink)

One member's integrity check while the pass feeds its stored bytes (`feed!`): CRC-32, sizes,
and for deflate a zlib inflate capped at declared + 1 bytes, whose output goes to the sink in
bounded pieces (`consume!(sink, ptr, n)`, npy.jl). `finish!` gives the integrity problem or "".
"""
mutable struct MemberDecoder{S}
    entry::ZipEntry
    sink::S
    crc::UInt32
    problem::String
    z::ZStream
    produced::UInt64
    consumed::Int64
    ended::Bool
    out::Vector{UInt8}
end

function MemberDecoder(e::ZipEntry, sink)
    d = MemberDecoder(e, sink, UInt32(0), "", ZStream(), UInt64(0), Int64(0), false, UInt8[])
    if e.method == STORED
        e.compressed_size == e.uncompressed_size ||
            (d.problem = "stored member has compressed size $(e.compressed_size) but uncompressed size $(e.uncompressed_size)")
    elseif e.uncompressed_size > UInt64(DEFLATE_MAX_RATIO) * UInt64(e.compressed_size) + UInt64(DEFLATE_MAX_SLACK)
        # No stream inflates that far: refused before anything is allocated for it.
        d.problem = "declares $(e.uncompressed_size) bytes, more than $(e.compressed_size) compressed bytes can inflate to"
    else
        rc = ccall((:inflateInit2_, LIBZ), Cint, (Ref{ZStream}, Cint, Cstring, Cint), d.z, -15, zlib_version(), sizeof(ZStream))
        rc == Z_OK || error("zlib inflateInit2 failed ($rc)")
        finalizer(z -> ccall((:inflateEnd, LIBZ), Cint, (Ref{ZStream},), z), d.z)
    end
    return d
end

"The next `n` bytes of the member's stored data (what the zip holds), at `ptr`."
function feed!(d::MemberDecoder, ptr::Ptr{UInt8}, n::Int)
    isempty(d.problem) || return nothing
    if d.entry.method == STORED
        d.crc = crc32(ptr, n, d.crc)
        consume!(d.sink, ptr, n)
        d.produced += n
    else
        inflate!(d, ptr, n)
    end
    d.consumed += n
    return nothing
end

"""
Inflates `n` compressed bytes; output capped at declared + 1 (saturating), in INFLATE_CHUNK
pieces straight into the sink's values while it takes the bytes as they are (`direct_room`),
else in INFLATE_SCRATCH pieces into `out` for the sink to convert.
"""
function inflate!(d::MemberDecoder, ptr::Ptr{UInt8}, n::Int)
    declared = d.entry.uncompressed_size
    cap = declared == typemax(UInt64) ? declared : declared + 1
    d.ended && n > 0 && (d.problem = "the deflate stream ends before its compressed size"; return)
    d.z.next_in = ptr
    d.z.avail_in = n
    full = false  # the last call filled the output: zlib may hold more output with no input left
    GC.@preserve d while d.z.avail_in > 0 || full
        direct = direct_room(d.sink) > 0
        direct || isempty(d.out) && (d.out = Vector{UInt8}(undef, INFLATE_SCRATCH))
        room = Int(min(UInt64(direct ? min(INFLATE_CHUNK, direct_room(d.sink)) : length(d.out)), cap - d.produced))
        out = direct ? direct_pointer(d.sink, room) : pointer(d.out)
        d.z.next_out = out
        d.z.avail_out = room
        rc = ccall((:inflate, LIBZ), Cint, (Ref{ZStream}, Cint), d.z, Z_NO_FLUSH)
        got = room - Int(d.z.avail_out)
        full = d.z.avail_out == 0
        d.crc = crc32(out, got, d.crc)
        d.produced += got
        d.produced >= cap && (d.problem = "inflates to more than the declared $declared bytes"; return)
        direct ? advance!(d.sink, got) : consume!(d.sink, out, got)
        if rc == Z_STREAM_END
            d.ended = true
            d.z.avail_in > 0 && (d.problem = "the deflate stream ends before its compressed size")
            return
        elseif rc != Z_OK && rc != Z_BUF_ERROR
            msg = d.z.msg == C_NULL ? "error $rc" : unsafe_string(d.z.msg)
            d.problem = "invalid deflate data ($msg)"
            return
        end
    end
end

"After the pass: the member's integrity problem (archive.member_integrity), or \"\"."
function finish!(d::MemberDecoder)
    isempty(d.problem) || return d.problem
    e = d.entry
    if e.method == DEFLATED
        d.ended || return "the deflate stream is truncated (it does not end within its $(e.compressed_size) compressed bytes)"
        d.produced == e.uncompressed_size || return "inflates to $(d.produced) bytes, the directory declares $(e.uncompressed_size)"
    end
    d.crc == e.crc32 || return "CRC-32 is $(string(d.crc, base = 16, pad = 8)), the directory says $(string(e.crc32, base = 16, pad = 8))"
    return ""
end

# ------------------------------------------------------------------ the archive phase

const PASS_CHUNK = 1 << 20          # bytes per read of the pass (1 MiB stays in cache for SHA-256 and CRC-32: faster than 4)

"""
    read_archive(path, names, digest, new_sink) -> the sinks (layer order) or CheckpointError

The archive phase of loading, in spec order: archive.file.present, archive.digest (when the
document records a digest), archive.zip.structure, the members (duplicate, unexpected,
missing), their methods, then their integrity; each over every member before the next. The
directory is read first (a map of the file: only its pages are touched), then one sequential
pass feeds every byte to the SHA-256 and each member's bytes to its decoder, which hands the
uncompressed bytes to its sink, `new_sink(i, entry)` for layer i (npy.jl's reader), as they come.
"""
function read_archive(path::String, names::Vector{String}, digest::Union{Nothing,String}, new_sink)
    io = open_regular_file(path)
    io === nothing && return CheckpointError(ARCHIVE_FILE_PRESENT; path = path)
    try
        bytes = filesize(io) == 0 ? UInt8[] : Mmap.mmap(io, Vector{UInt8}, filesize(io))
        entries = read_zip_directory(bytes)
        ordered = entries isa CheckpointError ? entries : layer_members(entries, names)
        problem = ordered isa CheckpointError ? ordered : member_methods(ordered)
        finalize(bytes)                                    # unmaps the file now
        decoders = problem === nothing ? [MemberDecoder(e, new_sink(i, e)) for (i, e) in enumerate(ordered)] : MemberDecoder[]
        hash = stream_pass!(io, decoders, digest !== nothing)
        hash !== nothing && hash != digest && return CheckpointError(ARCHIVE_DIGEST; path = path)
        problem === nothing || return problem
        for d in decoders
            detail = finish!(d)
            isempty(detail) || return CheckpointError(ARCHIVE_MEMBER_INTEGRITY; member = entry_name(d.entry), detail = detail)
        end
        return [d.sink for d in decoders]
    finally
        close(io)
    end
end

"archive.member.method over every member: stored or deflate, not encrypted."
function member_methods(ordered::Vector{ZipEntry})
    for e in ordered
        e.method in (STORED, DEFLATED) || return CheckpointError(ARCHIVE_MEMBER_METHOD;
            member = entry_name(e), detail = "compression method $(e.method)")
        e.flags & ENCRYPTION_FLAGS == 0 || return CheckpointError(ARCHIVE_MEMBER_METHOD;
            member = entry_name(e), detail = "encryption")
    end
    return nothing
end

"""
    stream_pass!(io, decoders, hash) -> hex SHA-256 of the file (when `hash`) or nothing

Reads the file once from the start in PASS_CHUNK pieces, each piece to the SHA-256 and the part
inside a member's data to that member's decoder. A stored member whose sink takes the bytes as
they are (`direct_target`) is read straight into its final buffer.
"""
function stream_pass!(io::IOStream, decoders::Vector, hash::Bool)
    sha = hash ? Sha256() : nothing
    (sha === nothing && isempty(decoders)) && return nothing
    spans = sort!([(d.entry.data_start, d.entry.data_start + d.entry.compressed_size, d) for d in decoders], by = first)
    scratch = Vector{UInt8}(undef, PASS_CHUNK)
    size = filesize(io)
    stop = sha === nothing ? (isempty(spans) ? 0 : spans[end][2]) : size
    seek(io, 0)
    pos, k = Int64(0), 1
    while pos < stop
        while k <= length(spans) && spans[k][2] <= pos
            k += 1
        end
        inside = k <= length(spans) && spans[k][1] <= pos
        limit = inside ? spans[k][2] : k <= length(spans) ? spans[k][1] : stop
        if !inside && sha === nothing
            seek(io, limit); pos = limit; continue       # nothing to hash or decode here
        end
        d = inside ? spans[k][3] : nothing
        n = Int(min(PASS_CHUNK, limit - pos))
        d === nothing || (n = next_piece(d, n))
        target = d === nothing ? nothing : direct_target(d, n)
        ptr = target === nothing ? pointer(scratch) : target
        GC.@preserve scratch begin
            unsafe_read(io, ptr, n)
            sha === nothing || update!(sha, ptr, n)
            d === nothing || (target === nothing ? feed!(d, ptr, n) : feed_direct!(d, ptr, n))
        end
        pos += n
    end
    return sha === nothing ? nothing : hexdigest!(sha)
end

"""
How many of the next `n` bytes to read for `d` now: when its sink holds part of an element, a
stored member gets just the rest of it, so that its following reads can go into the sink's
buffer in place (sinks that convert nothing take any piece).
"""
next_piece(d::MemberDecoder, n::Int) = d.entry.method == STORED && isempty(d.problem) ? piece_for(d.sink, n) : n
piece_for(sink, n::Int) = n
direct_pointer(sink, n::Int) = nothing
direct_room(sink) = 0

"Where the next `n` stored bytes of `d` can be read in place (its sink's buffer), or nothing."
direct_target(d::MemberDecoder, n::Int) =
    d.entry.method == STORED && isempty(d.problem) ? direct_pointer(d.sink, n) : nothing

"The bytes were read into the sink's buffer: check them like feed! does, then count them in."
function feed_direct!(d::MemberDecoder, ptr::Ptr{UInt8}, n::Int)
    d.crc = crc32(ptr, n, d.crc)
    d.produced += n
    d.consumed += n
    advance!(d.sink, n)
end

"The file at `path` opened for reading when it is a readable regular file, else nothing."
function open_regular_file(path::String)
    isfile(path) || return nothing
    try
        return open(path, "r")
    catch err
        err isa SystemError || err isa Base.IOError || rethrow()
        return nothing
    end
end

"The member of each layer (`layer_{index}.npy`), in layer order: archive.members.*."
function layer_members(entries::Vector{ZipEntry}, names::Vector{String})
    seen = Set{Vector{UInt8}}()
    for e in entries
        e.name in seen && return CheckpointError(ARCHIVE_MEMBERS_DUPLICATE; member = entry_name(e))
        push!(seen, e.name)
    end
    expected = [Vector{UInt8}(codeunits("layer_$(i - 1).npy")) for i in 1:length(names)]
    expected_set = Set(expected)
    for e in entries
        e.name in expected_set || return CheckpointError(ARCHIVE_MEMBERS_UNEXPECTED; member = entry_name(e))
    end
    by_name = Dict(e.name => e for e in entries)
    for (member, name) in zip(expected, names)
        haskey(by_name, member) || return CheckpointError(ARCHIVE_MEMBERS_MISSING; member = String(copy(member)), name = name)
    end
    return [by_name[m] for m in expected]
end

# ------------------------------------------------------------------ ISA-L deflate (the writer)

# struct isal_zstream of isa-l/igzip_lib.h (libisal 2.30, LP64), held as bytes: its size and the
# byte offsets of the fields used here (test/zip.jl compares them with the header through a
# compiled probe, so a changed layout fails a test instead of corrupting memory).
const ISAL_ZSTREAM_SIZE = 82384
const ZS_NEXT_IN = 0
const ZS_AVAIL_IN = 8
const ZS_NEXT_OUT = 16
const ZS_AVAIL_OUT = 24
const ZS_LEVEL = 40
const ZS_LEVEL_BUF_SIZE = 44
const ZS_LEVEL_BUF = 48
const ZS_END_OF_STREAM = 56
const ZS_GZIP_FLAG = 60
const ZS_STATE = 84                # internal_state.state
const ZSTATE_END = UInt32(11)
const COMP_OK = Cint(0)
const IGZIP_DEFLATE = UInt16(0)    # raw deflate (RFC 1951), no gzip or zlib wrapper
"ISAL_DEF_LVL1_DEFAULT, ..._LVL2_..., ..._LVL3_...: the level buffer sizes the header suggests."
const ISAL_LEVEL_BUF = (282624, 331776, 348160)

"zlib's levels 1-9 on ISA-L's 1-3 as the reference maps them (save.writer): 1-3 -> 1, 4-6 -> 2,
7-9 -> 3. ISA-L's level 0 is no faster on weights, so none maps to it."
isal_level(level::Integer) = (Int(level) + 2) ÷ 3

"One raw deflate stream through ISA-L: its `struct isal_zstream` (8-byte aligned) and level buffer."
struct IsalDeflater
    stream::Vector{UInt64}
    level_buf::Vector{UInt8}
    level::UInt32                  # ISA-L's
end

function IsalDeflater(level::Integer)
    isal = isal_level(level)
    return restart!(IsalDeflater(zeros(UInt64, ISAL_ZSTREAM_SIZE ÷ 8), Vector{UInt8}(undef, ISAL_LEVEL_BUF[isal]), isal))
end

"A new stream in the same state and level buffer (isal_deflate_init resets the fields set here)."
function restart!(d::IsalDeflater)
    ccall((:isal_deflate_init, LIBISAL), Cvoid, (Ptr{UInt64},), d.stream)
    set_field!(d, ZS_GZIP_FLAG, IGZIP_DEFLATE)
    set_field!(d, ZS_LEVEL, d.level)
    set_field!(d, ZS_LEVEL_BUF_SIZE, UInt32(length(d.level_buf)))
    set_field!(d, ZS_LEVEL_BUF, pointer(d.level_buf))
    return d
end

set_field!(d::IsalDeflater, offset::Int, value::T) where {T} =
    GC.@preserve d unsafe_store!(Ptr{T}(pointer(d.stream) + offset), value)
get_field(d::IsalDeflater, offset::Int, ::Type{T}) where {T} =
    GC.@preserve d unsafe_load(Ptr{T}(pointer(d.stream) + offset))

"At least the compressed size of `n` bytes (zlib's deflateBound, memLevel 8; ISA-L stays under
it: it falls back to stored blocks when a block does not shrink)."
deflate_bound(n::Int64) = n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 5

const SHORT_PART_COMPANY = 64 * 1024  # bytes of the next part deflated with a short first part

"""
    deflate_raw!(io, parts, deflater, out) -> bytes written

One raw deflate stream (RFC 1951, ISA-L's igzip at the deflater's level) of the parts'
concatenation, written to `io` through the buffer `out`: the parts are fed to ISA-L in place,
never joined or held compressed (but for a short first part and the next one's first 64 KiB).
"""
function deflate_raw!(io::IO, parts::Vector{Vector{UInt8}}, d::IsalDeflater, out::Vector{UInt8})
    restart!(d)
    written = Int64(0)
    fed = zeros(Int, length(parts))     # bytes of each part already given to ISA-L
    GC.@preserve d out begin
        if length(parts) > 1 && length(parts[1]) < SHORT_PART_COMPANY
            # ISA-L compresses what follows a short lone first call far worse (the 128-byte .npy
            # header alone: 16 KiB of ones took 2,677 bytes instead of 200), so the first call
            # also takes the start of the next part.
            fed[1], fed[2] = length(parts[1]), min(SHORT_PART_COMPANY, length(parts[2]))
            first = vcat(parts[1], view(parts[2], 1:fed[2]))
            written += GC.@preserve first deflate_call!(io, d, pointer(first), length(first), out, false)
        end
        for (part, from) in zip(parts, fed), at in from:(1 << 30):length(part)-1  # avail_in: 32 bits
            n = min(length(part) - at, 1 << 30)
            written += GC.@preserve part deflate_call!(io, d, pointer(part) + at, n, out, false)
        end
        written += deflate_call!(io, d, Ptr{UInt8}(C_NULL), 0, out, true)
    end
    return written
end

"For tests and small data: the raw deflate stream as bytes."
function deflate_raw(parts::Vector{Vector{UInt8}}, level::Integer = 6)
    buf = IOBuffer()
    deflate_raw!(buf, parts, IsalDeflater(level), Vector{UInt8}(undef, INFLATE_CHUNK))
    return take!(buf)
end

"ISA-L's deflate over `n` bytes at `input` (when `last`: to the stream's end), each full `out`
written to `io`: the bytes written. The caller keeps `d`, `out` and the input alive."
function deflate_call!(io::IO, d::IsalDeflater, input::Ptr{UInt8}, n::Int, out::Vector{UInt8}, last::Bool)
    set_field!(d, ZS_NEXT_IN, input)
    set_field!(d, ZS_AVAIL_IN, UInt32(n))
    set_field!(d, ZS_END_OF_STREAM, UInt16(last))
    written = 0
    while true
        set_field!(d, ZS_NEXT_OUT, pointer(out))
        set_field!(d, ZS_AVAIL_OUT, UInt32(length(out)))
        rc = ccall((:isal_deflate, LIBISAL), Cint, (Ptr{UInt64},), d.stream)
        rc == COMP_OK || error("ISA-L deflate failed ($rc)")
        made = length(out) - Int(get_field(d, ZS_AVAIL_OUT, UInt32))
        unsafe_write(io, pointer(out), made)
        written += made
        # isal_deflate returns with its input used up or its output full; the stream's end is
        # written only once the state says so.
        done = last ? get_field(d, ZS_STATE, UInt32) == ZSTATE_END :
                      get_field(d, ZS_AVAIL_IN, UInt32) == 0 && made < length(out)
        done && return written
    end
end

# ------------------------------------------------------------------ writing (save.writer.archive)

const DOS_TIME = 0x0000           # 1980-01-01 00:00:00: archives never depend on the clock
const DOS_DATE = 0x0021
const VERSION_NEEDED = 0x0014     # 2.0
const VERSION_ZIP64 = 0x002d      # 4.5

"""
    ArchiveWriter(io, method, level = 1)

Writes the spec's deterministic zip to `io` (seekable: a deflated member's local header is
rewritten once its compressed size is known) one member at a time, streaming: no member's
compressed bytes are held whole. Every byte goes through the SHA-256 in file order (a deflated
member's data is read back from `io` after its header). `add_member!` each member in order,
then `close!`.
"""
mutable struct ArchiveWriter{T<:IO}
    io::T
    method::UInt16
    level::Int
    sha::Sha256
    offset::Int64
    entries::Vector{ZipEntry}
    deflater::Union{Nothing,IsalDeflater}   # reused by every deflated member, as is
    scratch::Vector{UInt8}                  # its output buffer, then the read-back for the digest
end
function ArchiveWriter(io::IO, method::UInt16, level::Integer = 1)
    deflated = method == DEFLATED
    return ArchiveWriter(io, method, Int(level), Sha256(), Int64(0), ZipEntry[], deflated ? IsalDeflater(level) : nothing,
                         deflated ? Vector{UInt8}(undef, INFLATE_CHUNK) : UInt8[])
end

"""
Writes `data` and hashes it a WRITE_CHUNK at a time (one write of a whole 128 MiB layer ran at
under half the speed here), a large one's writeback started as it goes: the disk writes it
while it is hashed.
"""
function emit!(w::ArchiveWriter, data::Vector{UInt8})
    GC.@preserve data for at in 0:WRITE_CHUNK:length(data)-1
        n = min(WRITE_CHUNK, length(data) - at)
        unsafe_write(w.io, pointer(data) + at, n)
        length(data) >= WRITE_CHUNK && start_writeback(w.io)
        update!(w.sha, pointer(data) + at, n)
    end
    w.offset += length(data)
    return nothing
end

const WRITE_CHUNK = 1 << 20
const SYNC_FILE_RANGE_WRITE = Cuint(2)

"""
Starts the writeback of the file's dirty pages without waiting (`sync_file_range`, whole file):
the disk writes a member while the CPU hashes it or deflates the next, so the save's fsync has
less left to wait for (~20% faster stored saves here). Advisory: a failure leaves it to fsync.
"""
function start_writeback(io::IOStream)
    flush(io)
    ccall(:sync_file_range, Cint, (Cint, Int64, Int64, Cuint), fd(io), 0, 0, SYNC_FILE_RANGE_WRITE)
    return nothing
end
start_writeback(io::IO) = nothing

"Feeds `n` bytes that `io` holds from position `start` to the SHA-256 (the file after its writes)."
function hash_written!(sha::Sha256, io::IOStream, start::Int64, n::Int64, buffer::Vector{UInt8})
    flush(io)
    done = Int64(0)
    while done < n
        want = Int(min(length(buffer), n - done))
        got = ccall(:pread, Cssize_t, (Cint, Ptr{UInt8}, Csize_t, Int64), fd(io), buffer, want, start + done)
        got > 0 || systemerror("reading back the archive", got < 0 ? Libc.errno() : 0)
        update!(sha, pointer(buffer), got)
        done += got
    end
end
hash_written!(sha::Sha256, io::IOBuffer, start::Int64, n::Int64, buffer) = update!(sha, view(io.data, start+1:start+n))

"The little-endian bytes of each value at its own width (UInt16, UInt32 or UInt64)."
function pack_le(values::Unsigned...)
    buf = IOBuffer()
    foreach(v -> write(buf, htol(v)), values)
    return take!(buf)
end

"A zip64 extra field (id 0x0001) holding `values` as uint64."
zip64_extra_bytes(values) = isempty(values) ? UInt8[] :
    vcat(pack_le(0x0001, UInt16(8 * length(values))), pack_le(UInt64.(values)...))

"""
    add_member!(writer, name, parts)

One member whose uncompressed bytes are the concatenation of `parts`: the local header (zip64
only when a size reaches 0xFFFFFFFF), then the data: stored, one write per part; or deflated as
one raw deflate stream written as ISA-L produces it, after which the header is rewritten with
the compressed size.
"""
function add_member!(w::ArchiveWriter, name::Vector{UInt8}, parts::Vector{Vector{UInt8}})
    size = Int64(mapreduce(length, +, parts; init = 0))
    crc = foldl((c, part) -> crc32(part, c), parts; init = UInt32(0))
    if w.method == STORED
        header = local_header(w, name, crc, size, size, size >= ZIP_U32_MAX)
        push!(w.entries, ZipEntry(name, 0x0000, w.method, crc, size, size, w.offset, w.offset + length(header)))
        emit!(w, header)
        foreach(part -> emit!(w, part), parts)
        return nothing
    end
    # The header's length is fixed before the compressed size is known: zip64 when the size or
    # the bound on the compressed size needs it (only a member within ~0.03% of 4 GiB gets a
    # local zip64 field it turns out not to need; the central entry follows the real sizes).
    big = size >= ZIP_U32_MAX || deflate_bound(size) >= ZIP_U32_MAX
    start = position(w.io)
    write(w.io, local_header(w, name, crc, size, Int64(0), big))
    csize = deflate_raw!(w.io, parts, w.deflater, w.scratch)
    header = local_header(w, name, crc, size, csize, big)
    seek(w.io, start)
    write(w.io, header)
    seekend(w.io)
    start_writeback(w.io)
    update!(w.sha, header)
    hash_written!(w.sha, w.io, start + length(header), csize, w.scratch)
    push!(w.entries, ZipEntry(name, 0x0000, w.method, crc, csize, size, w.offset, w.offset + length(header)))
    w.offset += length(header) + csize
    return nothing
end

"A member's local header, name and extra field."
function local_header(w::ArchiveWriter, name::Vector{UInt8}, crc::UInt32, size::Int64, csize::Int64, big::Bool)
    extra = zip64_extra_bytes(big ? [size, csize] : Int64[])
    header = pack_le(SIG_LOCAL, big ? VERSION_ZIP64 : VERSION_NEEDED, 0x0000, w.method, DOS_TIME, DOS_DATE,
                     crc, big ? ZIP_U32_MAX : UInt32(csize), big ? ZIP_U32_MAX : UInt32(size),
                     UInt16(length(name)), UInt16(length(extra)))
    return vcat(header, name, extra)
end

"One central-directory entry: zip64 fields only for the values that reach 0xFFFFFFFF."
function central_entry_bytes(e::ZipEntry)
    values = (e.uncompressed_size, e.compressed_size, e.local_offset)     # the zip64 extra's order
    wide = [v for v in values if v >= ZIP_U32_MAX]
    narrow = [v >= ZIP_U32_MAX ? ZIP_U32_MAX : UInt32(v) for v in values]
    extra = zip64_extra_bytes(wide)
    version = isempty(wide) ? VERSION_NEEDED : VERSION_ZIP64
    header = pack_le(SIG_CENTRAL, version, version, 0x0000, e.method, DOS_TIME, DOS_DATE, e.crc32,
                     narrow[2], narrow[1], UInt16(length(e.name)), UInt16(length(extra)),
                     0x0000, 0x0000, 0x0000, 0x00000000, narrow[3])
    return vcat(header, e.name, extra)
end

"""
    close!(writer) -> (sha256 = hex, size = bytes)

The central directory and the end record, with a zip64 end record and locator before it only
when the entry count or the directory's size or offset overflow; the archive's digest and size.
"""
function close!(w::ArchiveWriter)
    start = w.offset
    foreach(e -> emit!(w, central_entry_bytes(e)), w.entries)
    size, count = w.offset - start, length(w.entries)
    if count >= ZIP_U16_MAX || size >= ZIP_U32_MAX || start >= ZIP_U32_MAX
        record = w.offset
        emit!(w, pack_le(SIG_ZIP64_EOCD, UInt64(44), VERSION_ZIP64, VERSION_ZIP64, 0x00000000, 0x00000000,
                         UInt64(count), UInt64(count), UInt64(size), UInt64(start)))
        emit!(w, pack_le(SIG_ZIP64_LOCATOR, 0x00000000, UInt64(record), 0x00000001))
    end
    emit!(w, pack_le(SIG_EOCD, 0x0000, 0x0000, UInt16(min(count, ZIP_U16_MAX)), UInt16(min(count, ZIP_U16_MAX)),
                     UInt32(min(size, ZIP_U32_MAX)), UInt32(min(start, ZIP_U32_MAX)), 0x0000))
    return (sha256 = hexdigest!(w.sha), size = w.offset)
end
