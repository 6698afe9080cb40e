# Zip reading as spec `archive` says: driven by the central directory (numpy writes zip64 local
# headers whose sizes are 0xFFFFFFFF placeholders), structure_rules checked up front, members
# stored or deflated through zlib, sizes and CRC-32 checked. Nothing is allocated from a
# declared size: stored data is a view of the file, inflated data grows as zlib produces it.
# Writing (ArchiveWriter, at the end): the spec's deterministic zip (save.writer.archive).

const LIBZ = "libz.so.1"

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
const Z_FINISH = Cint(4)

"The version string the *Init2_ calls check against the library's."
zlib_version() = ccall((:zlibVersion, LIBZ), Cstring, ())

"zlib's CRC-32 (the zip one, not CRC-32C) of `data`, continuing from `crc`."
function crc32(data::AbstractVector{UInt8}, crc::UInt32 = UInt32(0))
    c = Culong(crc)
    GC.@preserve data begin
        ptr = pointer(data)
        left = length(data)
        while left > 0
            chunk = min(left, 1 << 30)
            c = ccall((:crc32, LIBZ), Culong, (Culong, Ptr{UInt8}, Cuint), c, ptr, chunk)
            ptr += chunk
            left -= chunk
        end
    end
    return UInt32(c)
end

"""
    inflate_raw(data, declared) -> Vector{UInt8} or String (the problem)

Inflates a raw deflate stream, capped at `declared + 1` bytes of output; the stream must end
within `data` and use all of it, and produce exactly `declared` bytes.
"""
function inflate_raw(data::AbstractVector{UInt8}, declared::Integer)
    z = ZStream()
    rc = ccall((:inflateInit2_, LIBZ), Cint, (Ref{ZStream}, Cint, Cstring, Cint), z, -15, zlib_version(), sizeof(ZStream))
    rc == Z_OK || error("zlib inflateInit2 failed ($rc)")
    # declared + 1 does not fit an Int for the largest declared sizes: cap at Int's maximum
    # then (the spec's rule; no stream inflates that far).
    cap = declared < typemax(Int) ? Int(declared) + 1 : typemax(Int)
    out = Vector{UInt8}(undef, Int(min(cap, 1 << 16)))
    produced = 0
    consumed = 0
    total_in = length(data)
    result = ""
    try
        GC.@preserve data begin
            while true
                if produced == length(out) && produced < cap
                    resize!(out, Int(min(cap, 2 * length(out))))
                end
                in_chunk = min(total_in - consumed, 1 << 30)
                out_chunk = min(length(out) - produced, 1 << 30)
                z.next_in = in_chunk > 0 ? pointer(data, consumed + 1) : C_NULL
                z.avail_in = in_chunk
                z.next_out = pointer(out, produced + 1)
                z.avail_out = out_chunk
                rc = GC.@preserve out ccall((:inflate, LIBZ), Cint, (Ref{ZStream}, Cint), z, 0)
                consumed += in_chunk - z.avail_in
                produced += out_chunk - z.avail_out
                if rc == Z_STREAM_END
                    consumed == total_in ||
                        (result = "the deflate stream ends $(total_in - consumed) bytes before its compressed size"; break)
                    produced == declared ||
                        (result = "inflates to $produced bytes, the directory declares $declared"; break)
                    break
                elseif produced >= cap
                    result = "inflates to more than the declared $declared bytes"
                    break
                elseif rc == Z_OK
                    continue
                elseif rc == Z_BUF_ERROR
                    # No progress: with input left and room for output this cannot happen, so
                    # the compressed bytes ran out before the stream ended.
                    result = "the deflate stream is truncated (it does not end within its $total_in compressed bytes)"
                    break
                else
                    msg = z.msg == C_NULL ? "error $rc" : unsafe_string(z.msg)
                    result = "invalid deflate data ($msg)"
                    break
                end
            end
        end
    finally
        ccall((:inflateEnd, LIBZ), Cint, (Ref{ZStream},), z)
    end
    isempty(result) || return result
    resize!(out, produced)
    return out
end

"""
    read_member(bytes, entry) -> Vector{UInt8} / view, or String (the integrity problem)

The member's uncompressed bytes, checked against the central directory's sizes and CRC-32.
Call only for methods 0 and 8.
"""
function read_member(bytes::AbstractVector{UInt8}, e::ZipEntry)
    raw = view(bytes, e.data_start+1:e.data_start+e.compressed_size)
    if e.method == 0
        e.compressed_size == e.uncompressed_size ||
            return "stored member has compressed size $(e.compressed_size) but uncompressed size $(e.uncompressed_size)"
        data = raw
    else
        data = inflate_raw(raw, e.uncompressed_size)
        data isa String && return data
    end
    c = crc32(data)
    c == e.crc32 || return "CRC-32 is $(string(c, base = 16, pad = 8)), the directory says $(string(e.crc32, base = 16, pad = 8))"
    return data
end

# ------------------------------------------------------------------ the archive phase

"""
    read_archive(archive, path, names, digest) -> Vector of member bytes (layer order) or CheckpointError

The archive phase of loading, in spec order: archive.file.present (`archive` is `nothing` when
BASE.npz is not a readable regular file), archive.digest (when the document records a digest),
archive.zip.structure, the members (duplicate, unexpected, missing), their methods, then their
integrity; each over every member before the next.
"""
function read_archive(archive::Union{Nothing,Vector{UInt8}}, path::String, names::Vector{String},
                      digest::Union{Nothing,String})
    archive === nothing && return CheckpointError(ARCHIVE_FILE_PRESENT; path = path)
    if digest !== nothing && bytes2hex(SHA.sha256(archive)) != digest
        return CheckpointError(ARCHIVE_DIGEST; path = path)
    end
    entries = read_zip_directory(archive)
    entries isa CheckpointError && return entries
    ordered = layer_members(entries, names)
    ordered isa CheckpointError && return ordered
    for e in ordered
        e.method in (STORED, DEFLATED) || return CheckpointError(ARCHIVE_MEMBER_METHOD;
            member = entry_name(e), detail = "compression method $(e.method)")
        e.flags & ENCRYPTION_FLAGS == 0 || return CheckpointError(ARCHIVE_MEMBER_METHOD;
            member = entry_name(e), detail = "encryption")
    end
    raws = AbstractVector{UInt8}[]
    for e in ordered
        data = read_member(archive, e)
        data isa String && return CheckpointError(ARCHIVE_MEMBER_INTEGRITY; member = entry_name(e), detail = data)
        push!(raws, data)
    end
    return raws
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

# ------------------------------------------------------------------ writing (save.writer.archive)

const DOS_TIME = 0x0000           # 1980-01-01 00:00:00: archives never depend on the clock
const DOS_DATE = 0x0021
const VERSION_NEEDED = 0x0014     # 2.0
const VERSION_ZIP64 = 0x002d      # 4.5

"""
    ArchiveWriter(io, method)

Writes the spec's deterministic zip to `io` one member at a time (at most one member's
compressed bytes are held in memory), hashing every byte with SHA-256 on the way. `add_member!`
each member in order, then `close!`.
"""
mutable struct ArchiveWriter{T<:IO}
    io::T
    method::UInt16
    sha::SHA.SHA256_CTX
    offset::Int64
    entries::Vector{ZipEntry}
end
ArchiveWriter(io::IO, method::UInt16) = ArchiveWriter(io, method, SHA.SHA256_CTX(), Int64(0), ZipEntry[])

function emit!(w::ArchiveWriter, data::Vector{UInt8})
    write(w.io, data)
    SHA.update!(w.sha, data)
    w.offset += length(data)
    return nothing
end

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
only when a size reaches 0xFFFFFFFF), then the data, stored or as one raw deflate stream.
"""
function add_member!(w::ArchiveWriter, name::Vector{UInt8}, parts::Vector{Vector{UInt8}})
    size = Int64(mapreduce(length, +, parts; init = 0))
    crc = foldl((c, part) -> crc32(part, c), parts; init = UInt32(0))
    payload = w.method == DEFLATED ? [deflate_raw(parts)] : parts
    csize = Int64(mapreduce(length, +, payload; init = 0))
    big = size >= ZIP_U32_MAX || csize >= ZIP_U32_MAX
    extra = zip64_extra_bytes(big ? [size, csize] : Int64[])
    header = pack_le(SIG_LOCAL, big ? VERSION_ZIP64 : VERSION_NEEDED, 0x0000, w.method, DOS_TIME, DOS_DATE,
                     crc, big ? ZIP_U32_MAX : UInt32(csize), big ? ZIP_U32_MAX : UInt32(size),
                     UInt16(length(name)), UInt16(length(extra)))
    push!(w.entries, ZipEntry(name, 0x0000, w.method, crc, csize, size, w.offset,
                              w.offset + length(header) + length(name) + length(extra)))
    emit!(w, vcat(header, name, extra))
    foreach(part -> emit!(w, part), payload)
    return nothing
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
    return (sha256 = bytes2hex(SHA.digest!(w.sha)), size = w.offset)
end

"""
    deflate_raw(parts, level = 6) -> Vector{UInt8}

One raw deflate stream (RFC 1951, zlib with windowBits -15, memLevel 8, default strategy) of
the parts' concatenation, fed to zlib in place, without joining them first.
"""
function deflate_raw(parts::Vector{Vector{UInt8}}, level::Integer = 6)
    z = ZStream()
    rc = ccall((:deflateInit2_, LIBZ), Cint, (Ref{ZStream}, Cint, Cint, Cint, Cint, Cint, Cstring, Cint),
               z, level, 8, -15, 8, 0, zlib_version(), sizeof(ZStream))
    rc == Z_OK || error("zlib deflateInit2 failed ($rc)")
    total = mapreduce(length, +, parts; init = 0)
    out = Vector{UInt8}(undef, ccall((:deflateBound, LIBZ), Culong, (Ref{ZStream}, Culong), z, total))
    produced = 0
    try
        for part in parts
            consumed = 0
            while consumed < length(part)
                n = min(length(part) - consumed, 1 << 30)
                rc, used, made = GC.@preserve part deflate_call!(z, pointer(part) + consumed, n, out, produced, Z_NO_FLUSH)
                consumed += used
                produced += made
            end
        end
        while rc != Z_STREAM_END
            rc, _, made = deflate_call!(z, Ptr{UInt8}(C_NULL), 0, out, produced, Z_FINISH)
            produced += made
        end
    finally
        ccall((:deflateEnd, LIBZ), Cint, (Ref{ZStream},), z)
    end
    return resize!(out, produced)
end

"One call of zlib's deflate on `n` bytes at `input`, output appended to `out` after
`produced` bytes (grown when full): (return code, bytes consumed, bytes produced)."
function deflate_call!(z::ZStream, input::Ptr{UInt8}, n::Int, out::Vector{UInt8}, produced::Int, flush::Cint)
    produced == length(out) && resize!(out, 2 * length(out) + 64)   # deflateBound makes this rare
    room = min(length(out) - produced, 1 << 30)
    z.next_in = input
    z.avail_in = n
    rc = GC.@preserve out begin
        z.next_out = pointer(out) + produced
        z.avail_out = room
        ccall((:deflate, LIBZ), Cint, (Ref{ZStream}, Cint), z, flush)
    end
    used, made = n - Int(z.avail_in), room - Int(z.avail_out)
    # Z_BUF_ERROR (no progress) cannot happen with input or Z_FINISH pending and room to write.
    rc == Z_OK || rc == Z_STREAM_END || error("zlib deflate failed ($rc)")
    return rc, used, made
end
