# Test helpers: build .npy members, zip archives and checkpoint pairs byte by byte, so that each
# test can break exactly one rule. Only the tests use these writers.

const S = SNNCheckpoints

u16(x) = collect(reinterpret(UInt8, [htol(UInt16(x))]))
u32(x) = collect(reinterpret(UInt8, [htol(UInt32(x))]))
u64(x) = collect(reinterpret(UInt8, [htol(UInt64(x))]))

"One member to write: name, uncompressed data, method (0 stored, 8 deflate)."
struct Member
    name::Vector{UInt8}
    data::Vector{UInt8}
    method::Int
end
Member(name::String, data, method = 8) = Member(Vector{UInt8}(codeunits(name)), data, method)

"Where things are in a built zip (0-based offsets), for tests that patch bytes."
struct ZipLayout
    local_offsets::Vector{Int}
    central_offsets::Vector{Int}
    cd_offset::Int
    eocd_offset::Int
end

"""
Builds a zip. `zip64_local` writes numpy-style local headers (sizes 0xFFFFFFFF, real ones in a
zip64 extra); `zip64_central` moves the central sizes and offset into a zip64 extra too.
"""
function build_zip(members::Vector{Member}; zip64_local = true, zip64_central = false, comment = UInt8[])
    out = UInt8[]
    locals = Int[]
    infos = []
    for m in members
        comp = m.method == 8 ? S.deflate_raw([m.data]) : copy(m.data)
        crc = S.crc32(m.data)
        push!(locals, length(out))
        extra = zip64_local ? vcat(u16(1), u16(16), u64(length(m.data)), u64(length(comp))) : UInt8[]
        append!(out, vcat(u32(0x04034b50), u16(45), u16(0), u16(m.method), u16(0), u16(0x21), u32(crc),
                u32(zip64_local ? 0xffffffff : length(comp)), u32(zip64_local ? 0xffffffff : length(m.data)),
                u16(length(m.name)), u16(length(extra)), m.name, extra, comp))
        push!(infos, (m, crc, length(comp)))
    end
    cd_offset = length(out)
    centrals = Int[]
    for ((m, crc, clen), off) in zip(infos, locals)
        push!(centrals, length(out))
        extra = zip64_central ? vcat(u16(1), u16(24), u64(length(m.data)), u64(clen), u64(off)) : UInt8[]
        big = zip64_central ? 0xffffffff : nothing
        append!(out, vcat(u32(0x02014b50), u16(45), u16(45), u16(0), u16(m.method), u16(0), u16(0x21), u32(crc),
                u32(something(big, clen)), u32(something(big, length(m.data))), u16(length(m.name)),
                u16(length(extra)), u16(0), u16(0), u16(0), u32(0), u32(something(big, off)), m.name, extra))
    end
    cd_size = length(out) - cd_offset
    eocd = length(out)
    append!(out, vcat(u32(0x06054b50), u16(0), u16(0), u16(length(members)), u16(length(members)),
            u32(cd_size), u32(cd_offset), u16(length(comment)), comment))
    return out, ZipLayout(locals, centrals, cd_offset, eocd)
end

"Overwrites bytes at a 0-based offset."
function patch!(bytes::Vector{UInt8}, offset::Integer, new::Vector{UInt8})
    bytes[offset+1:offset+length(new)] = new
    return bytes
end

"A .npy member: header dict text (without padding) and data bytes; version 1, 2 or 3."
function npy_bytes(dict::String, data::Vector{UInt8}; version = 1, pad = true)
    prefix = version == 1 ? 10 : 12
    header = dict
    if pad
        total = prefix + ncodeunits(header) + 1
        header *= " "^((64 - total % 64) % 64)
    end
    header *= "\n"
    hb = Vector{UInt8}(codeunits(header))
    len = version == 1 ? u16(length(hb)) : u32(length(hb))
    return vcat(S.NPY_MAGIC, UInt8[version, 0], len, hb, data)
end

"Little-endian float64 bytes of a matrix in row-major order, with its standard header."
function npy_matrix(w::Matrix{Float64}; descr = "<f8")
    rows, cols = size(w)
    data = reinterpret(UInt8, htol.(vec(permutedims(w))))
    return npy_bytes("{'descr': '$descr', 'fortran_order': False, 'shape': ($rows, $cols), }", collect(data))
end

"The metadata document of a checkpoint, as a JObject whose members tests may replace."
function doc_for(names, sizes; neuron_types = Any["LIF" for _ in names], frozen = Any[], metadata = S.JObject())
    return S.JObject(Pair{String,Any}[
        "layer_names" => Any[names...], "layer_sizes" => Any[Any[i, o] for (i, o) in sizes],
        "neuron_types" => Any[neuron_types...], "frozen_layers" => Any[frozen...],
        "n_layers" => length(names), "total_params" => reduce(+, Int[i * o for (i, o) in sizes]; init = 0),
        "metadata" => metadata])
end

"Replaces (or adds) a member of a JObject; returns it."
function setkey!(o::S.JObject, k::String, v)
    idx = findfirst(p -> first(p) == k, o.pairs)
    idx === nothing ? push!(o.pairs, k => v) : (o.pairs[idx] = k => v)
    return o
end
function delkey!(o::S.JObject, k::String)
    filter!(p -> first(p) != k, o.pairs)
    return o
end

"Writes BASE.json (a JObject or raw text/bytes) and BASE.npz (bytes) into a fresh folder."
function write_pair(doc, archive::Union{Nothing,Vector{UInt8}})
    dir = mktempdir()
    base = joinpath(dir, "checkpoint")
    text = doc isa S.JObject ? S.json_string(doc) : doc
    write(base * ".json", text)
    archive === nothing || write(base * ".npz", archive)
    return base
end

"Two layers (hidden 2->3, out 3->1) with known weights: the default valid pair's parts."
const W1 = [1.0 2.0; 3.0 4.0; 5.0 6.0] ./ 7
const W2 = [1.5 -2.0 0.25]
valid_doc() = doc_for(["hidden", "out"], [(2, 3), (3, 1)])
valid_members() = [Member("layer_0.npy", npy_matrix(W1)), Member("layer_1.npy", npy_matrix(W2))]
valid_zip() = first(build_zip(valid_members()))

"Loads a pair and returns the error code ID, or \"accept\"."
function load_code(base)
    r = S.load_checkpoint_result(base)
    return r isa S.CheckpointError ? S.code_id(r) : "accept"
end
load_code(doc, archive) = load_code(write_pair(doc, archive))

"Digest of a matrix as the spec defines it, computed independently of the module."
function ref_digest(w::Matrix{Float64})
    io = IOBuffer()
    for r in 1:size(w, 1), c in 1:size(w, 2)
        write(io, htol(w[r, c]))
    end
    return bytes2hex(SHA.sha256(take!(io)))
end

"A host-value construct state (as the protocol decodes it)."
hv(text) = S.decode_host_value(S.read_json_protocol(text))
"The construct surface's verdict for a host-value state."
function ccode(state_text)
    r = S.construct_checkpoint(hv(state_text))
    return r isa S.CheckpointError ? S.code_id(r) : "accept"
end
const GOOD_W = """[{"\$array": {"shape": [3, 2], "data": [1, 2, 3, 4, 5, 6]}}, [[1.5, -2, 0.25]]]"""
"A construct state with the two layers of valid_doc(); `extra` appends members."
state(; weights = GOOD_W, names = """["hidden", "out"]""", sizes = "[[2, 3], [3, 1]]", extra = "") =
    """{"weights": $weights, "layer_names": $names, "layer_sizes": $sizes$extra}"""

# ------------------------------------------------------------------ the streaming reader, driven by tests

"A sink that keeps every uncompressed byte of a member (the reader's LayerSink converts instead)."
struct ByteSink
    bytes::Vector{UInt8}
end
S.consume!(s::ByteSink, ptr::Ptr{UInt8}, n::Int) = (append!(s.bytes, unsafe_wrap(Array, ptr, n)); nothing)

"The archive phase over `archive` (bytes written to a file, or nothing for no file): the members' bytes or the error."
function archive_members(archive, names, digest)
    dir = mktempdir()
    path = joinpath(dir, "test.npz")
    archive === nothing || write(path, archive)
    r = S.read_archive(path, names, digest, (i, e) -> ByteSink(UInt8[]))
    rm(dir; recursive = true)
    return r isa CheckpointError ? r : [s.bytes for s in r]
end

"A member's uncompressed bytes through the streaming decoder, fed in pieces of `piece` bytes, or the integrity problem."
function member_bytes(bytes::Vector{UInt8}, e::S.ZipEntry; piece = 7)
    d = S.MemberDecoder(e, ByteSink(UInt8[]))
    raw = bytes[e.data_start+1:e.data_start+e.compressed_size]
    GC.@preserve raw for at in 0:piece:length(raw)-1
        S.feed!(d, pointer(raw) + at, min(piece, length(raw) - at))
    end
    problem = S.finish!(d)
    return isempty(problem) ? d.sink.bytes : problem
end

"A raw deflate stream's output declared as `declared` bytes with CRC-32 `crc`, or the problem."
inflate_member(comp::Vector{UInt8}, declared, crc = UInt32(0)) =
    member_bytes(comp, S.ZipEntry(UInt8[], 0, S.DEFLATED, crc, length(comp), UInt64(declared), 0, 0))

"LayerSinks fed the members' bytes in `piece`-byte pieces, then the array phase (decode_layers)."
function decode_members(raws, names, sizes; piece = 5)
    sinks = [S.LayerSink(o, i, UInt64(length(m))) for (m, (i, o)) in zip(raws, sizes)]
    for (s, m) in zip(sinks, raws)
        GC.@preserve m for at in 0:piece:length(m)-1
            S.consume!(s, pointer(m) + at, min(piece, length(m) - at))
        end
    end
    return S.decode_layers(sinks, names, sizes)
end

"One .npy member widened to its matrix by a LayerSink (shape from its header), fed in pieces of
1, 3 and 4096 bytes (elements split across pieces); the three must agree."
function widen_member(m::Vector{UInt8}, h::S.NpyHeader)
    results = map((1, 3, 4096)) do piece
        s = S.LayerSink(h.shape[1], h.shape[2], UInt64(length(m)))
        GC.@preserve m for at in 0:piece:length(m)-1
            S.consume!(s, pointer(m) + at, min(piece, length(m) - at))
        end
        S.row_major(s.values, h.shape[1], h.shape[2])
    end
    @assert isequal(results[1], results[2]) && isequal(results[1], results[3])
    return results[1]
end
