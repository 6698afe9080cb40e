# NumPy .npy members as spec `npy` says: magic and version, the strict header grammar, the
# accepted dtypes widened to float64, byte order and Fortran order. The data length is compared
# with the header's shape before anything is allocated for the values. Writing: the header
# numpy writes for a C-ordered float64 matrix, and the data's little-endian bytes.

const NPY_MAGIC = UInt8[0x93, UInt8('N'), UInt8('U'), UInt8('M'), UInt8('P'), UInt8('Y')]

"A parsed .npy header and where the data starts (1-based index into the member)."
struct NpyHeader
    descr::String
    fortran_order::Bool
    shape::Vector{Int}
    data_start::Int
end

struct NpyProblem
    code::ErrorCode
    detail::String
    descr::String          # the header's descr, for array.dtype's message
end
NpyProblem(code::ErrorCode, detail::String) = NpyProblem(code, detail, "")

"read_npy_header, then the dtype checks: the header, or its problem."
function judged_header(head::AbstractVector{UInt8})
    h = read_npy_header(head)
    h isa NpyHeader || return h
    p = check_npy_dtype(h.descr)
    return p === nothing ? h : NpyProblem(p.code, p.detail, h.descr)
end

"""
    read_npy_header(member) -> NpyHeader or NpyProblem

array.npy.magic, then array.npy.header (length, encoding, grammar).
"""
function read_npy_header(m::AbstractVector{UInt8})
    n = length(m)
    (n >= 6 && view(m, 1:6) == NPY_MAGIC) || return NpyProblem(ARRAY_NPY_MAGIC, "the member does not start with \\x93NUMPY")
    n >= 8 || return NpyProblem(ARRAY_NPY_MAGIC, "the member ends before the version bytes")
    major, minor = m[7], m[8]
    (minor == 0 && 1 <= major <= 3) || return NpyProblem(ARRAY_NPY_MAGIC, "unsupported .npy version $major.$minor")
    prefix = major == 1 ? 10 : 12
    n >= prefix || return NpyProblem(ARRAY_NPY_HEADER, "the member ends inside the header length field")
    hlen = major == 1 ? Int(le16(m, 8)) : Int(le32(m, 8))
    hlen <= n - prefix || return NpyProblem(ARRAY_NPY_HEADER, "header length $hlen runs past the end of the member ($n bytes)")
    raw = view(m, prefix+1:prefix+hlen)
    if major == 3
        bad = utf8_error_offset(raw)
        bad == 0 || return NpyProblem(ARRAY_NPY_HEADER, "the header is not valid UTF-8 (byte $(bad - 1))")
        text = String(copy(raw))
    else
        text = String(map(Char, raw))          # latin-1: every byte is the code point
    end
    parsed = parse_npy_dict(text)
    parsed isa String && return NpyProblem(ARRAY_NPY_HEADER, parsed)
    descr, fortran, shape = parsed
    return NpyHeader(descr, fortran, shape, prefix + hlen + 1)
end

"A cursor over the header's characters (latin-1 or UTF-8 decoded; the grammar is per character)."
mutable struct HeaderCursor
    c::Vector{Char}
    i::Int
end

"Why a header does not follow the grammar (internal; parse_npy_dict returns the detail)."
struct BadHeader
    detail::String
end

skip_spaces!(h::HeaderCursor) = (while h.i <= length(h.c) && h.c[h.i] == ' '; h.i += 1; end)
at(h::HeaderCursor, ch::Char) = h.i <= length(h.c) && h.c[h.i] == ch
shown(h::HeaderCursor) = h.i <= length(h.c) ? "$(repr(h.c[h.i])) at character $(h.i - 1)" : "the end of the header"

"Parses the header grammar; returns (descr, fortran_order, shape) or a problem description."
function parse_npy_dict(text::String)
    h = HeaderCursor(collect(text), 1)
    skip_spaces!(h)    # numpy never writes leading spaces, but the reference's tokenizer allows them
    at(h, '{') || return "the header does not start with '{'"
    h.i += 1
    entries = Dict{String,Any}()
    while true
        r = header_entry!(h, entries)
        r isa BadHeader && return r.detail
        skip_spaces!(h)
        if at(h, ',')
            h.i += 1
            skip_spaces!(h)
            at(h, '}') && (h.i += 1; break)
        elseif at(h, '}')
            h.i += 1
            break
        else
            return "expected ',' or '}', found $(shown(h))"
        end
    end
    skip_spaces!(h)
    (h.i == length(h.c) && h.c[h.i] == '\n') || return h.i > length(h.c) ? "the header does not end with a newline" :
                                                 "unexpected $(shown(h)) after the header dict"
    for key in ("descr", "fortran_order", "shape")
        haskey(entries, key) || return "key '$key' is missing"
    end
    return (entries["descr"]::String, entries["fortran_order"]::Bool, entries["shape"]::Vector{Int})
end

"One `key: value` entry of the header dict, stored into `entries`."
function header_entry!(h::HeaderCursor, entries::Dict{String,Any})
    skip_spaces!(h)
    at(h, '\'') || return BadHeader("expected a quoted key, found $(shown(h))")
    j = findnext(==('\''), h.c, h.i + 1)
    j === nothing && return BadHeader("unterminated key")
    key = String(h.c[h.i+1:j-1])
    h.i = j + 1
    key in ("descr", "fortran_order", "shape") || return BadHeader("unexpected key $(repr(key))")
    skip_spaces!(h)
    at(h, ':') || return BadHeader("expected ':' after key $(repr(key)), found $(shown(h))")
    h.i += 1
    skip_spaces!(h)
    haskey(entries, key) && return BadHeader("key '$key' appears twice")
    value = key == "descr" ? header_descr!(h) : key == "fortran_order" ? header_bool!(h) : header_shape!(h)
    value isa BadHeader && return value
    entries[key] = value
    return nothing
end

function header_descr!(h::HeaderCursor)
    at(h, '\'') || return BadHeader("descr must be a quoted string, found $(shown(h))")
    j = h.i + 1
    while j <= length(h.c) && h.c[j] != '\'' && h.c[j] != '\\'
        j += 1
    end
    (j <= length(h.c) && h.c[j] == '\'') || return BadHeader("descr is not a plain quoted string")
    descr = String(h.c[h.i+1:j-1])
    h.i = j + 1
    return descr
end

function header_bool!(h::HeaderCursor)
    for (word, value) in (("True", true), ("False", false))
        stop = h.i + length(word) - 1
        if stop <= length(h.c) && String(h.c[h.i:stop]) == word
            h.i = stop + 1
            return value
        end
    end
    return BadHeader("fortran_order must be True or False, found $(shown(h))")
end

function header_shape!(h::HeaderCursor)
    at(h, '(') || return BadHeader("shape must be a tuple, found $(shown(h))")
    h.i += 1
    dims = Int[]
    skip_spaces!(h)
    at(h, ')') && (h.i += 1; return dims)
    isdigit_at(k) = k <= length(h.c) && '0' <= h.c[k] <= '9'
    while true
        isdigit_at(h.i) || return BadHeader("shape entry must be a non-negative integer, found $(shown(h))")
        j = h.i
        while isdigit_at(j)
            j += 1
        end
        digits = String(h.c[h.i:j-1])
        (digits == "0" || digits[1] != '0') || return BadHeader("shape entry $(digits) has a leading zero")
        # The grammar's int: a longer run of digits is refused whatever its value.
        length(digits) <= NPY_DIMENSION_DIGITS_MAX ||
            return BadHeader("shape entry $(digits) has more than $NPY_DIMENSION_DIGITS_MAX digits")
        push!(dims, Base.parse(Int, digits))
        h.i = j
        skip_spaces!(h)
        if at(h, ',')
            h.i += 1
            skip_spaces!(h)
            at(h, ')') && (h.i += 1; return dims)
        elseif at(h, ')')
            length(dims) >= 2 || return BadHeader("a one-entry shape needs a trailing comma")
            h.i += 1
            return dims
        else
            return BadHeader("expected ',' or ')' in shape, found $(shown(h))")
        end
    end
end

"array.dtype.pickle, then array.dtype."
function check_npy_dtype(descr::String)
    chars = collect(descr)
    # The type character follows the byte-order character (as the reference reads it: descr[1]).
    length(chars) >= 2 && chars[2] == 'O' && return NpyProblem(ARRAY_DTYPE_PICKLE, "object dtype $(repr(descr))")
    haskey(ACCEPTED_DTYPES, descr) || return NpyProblem(ARRAY_DTYPE, "unsupported dtype $(repr(descr))")
    return nothing
end

# ------------------------------------------------------------------ streaming a member into its matrix

"""
    LayerSink(rows, cols, declared)

Layer i's .npy reader during the archive pass (zip.jl's decoder calls `consume!`): it keeps the
header's bytes until the header is complete, parses it, and only when the header is valid, its
dtype accepted, its shape the layer's (rows, cols) and its data length the member's declared
size allocates the layer's float64 values (row-major), which the data then fills chunk by
chunk through a kernel compiled for the element type. Anything else is counted, never kept:
the array phase (decode_layers) judges the layer afterwards, in spec order.
"""
mutable struct LayerSink
    rows::Int
    cols::Int
    declared::UInt64                    # the member's declared uncompressed size
    head::Vector{UInt8}                 # header bytes (magic through the header's newline)
    header::Union{Nothing,NpyHeader,NpyProblem}
    values::Vector{Float64}             # row-major; allocated only when the header allows
    eltype::DataType
    swap::Bool                          # big-endian data
    fortran::Bool
    data_bytes::Int                     # data bytes received after the header
    carry::Vector{UInt8}                # an element split between two pieces
end
LayerSink(rows::Int, cols::Int, declared::UInt64) =
    LayerSink(rows, cols, declared, UInt8[], nothing, Float64[], Float64, false, false, 0, UInt8[])

"How many header bytes the parse needs, given those read so far (`head`)."
function header_needed(head::Vector{UInt8})
    length(head) < 8 && return 8
    (view(head, 1:6) == NPY_MAGIC && head[8] == 0 && 1 <= head[7] <= 3) || return 8   # a magic problem
    prefix = head[7] == 1 ? 10 : 12
    length(head) < prefix && return prefix
    return prefix + (head[7] == 1 ? Int(le16(head, 8)) : Int(le32(head, 8)))
end

"The next `n` uncompressed bytes of the member at `ptr`."
function consume!(s::LayerSink, ptr::Ptr{UInt8}, n::Int)
    while s.header === nothing && n > 0
        take = min(n, header_needed(s.head) - length(s.head))
        append!(s.head, unsafe_wrap(Array, ptr, take))
        ptr += take
        n -= take
        if length(s.head) >= header_needed(s.head)
            header_complete!(s)
            populate(s.values)                 # empty unless the header allowed the values
        end
    end
    n > 0 || return nothing
    if !isempty(s.values)
        convert_data!(s, ptr, n)
    end
    s.data_bytes += n
    return nothing
end

"Parses the complete header; allocates the values when every check of the array phase allows."
function header_complete!(s::LayerSink)
    h = judged_header(s.head)
    s.header = h
    h isa NpyHeader || return
    T = ACCEPTED_DTYPES[h.descr]
    h.shape == [s.rows, s.cols] || return
    Int128(s.declared) - length(s.head) == Int128(s.rows) * s.cols * sizeof(T) || return
    s.values = Vector{Float64}(undef, s.rows * s.cols)
    s.eltype, s.swap, s.fortran = T, h.descr[1] == '>', h.fortran_order
end

const PAGE = UInt(4096)
const MADV_POPULATE_WRITE = Cint(23)

"""
Maps the new values' pages in one call (madvise MADV_POPULATE_WRITE, Linux 5.14+; a hint that
older kernels refuse) rather than one page fault per 4 KiB as the data fills them: 64 MiB took
~28 ms instead of ~40 ms here, as in Mojo's loader. The values exist only once the header and
the member's declared size allow them, so this commits no more than that size (which the file's
compressed bytes bound).
"""
function populate(values::Vector{Float64})
    GC.@preserve values begin
        lo = (UInt(pointer(values)) + PAGE - 1) & ~(PAGE - 1)
        hi = (UInt(pointer(values)) + UInt(sizeof(values))) & ~(PAGE - 1)
        hi > lo && ccall(:madvise, Cint, (Ptr{Cvoid}, Csize_t, Cint), Ptr{Cvoid}(lo), hi - lo, MADV_POPULATE_WRITE)
    end
    return nothing
end

"Widens `n` data bytes at `ptr` into the values (a split element waits in `carry`)."
function convert_data!(s::LayerSink, ptr::Ptr{UInt8}, n::Int)
    size = sizeof(s.eltype)
    n = min(n, length(s.values) * size - s.data_bytes)     # never past the values
    n > 0 || return
    done = s.data_bytes                                    # bytes converted or carried so far
    if !isempty(s.carry)
        take = min(n, size - length(s.carry))
        append!(s.carry, unsafe_wrap(Array, ptr, take))
        ptr += take
        n -= take
        done += take
        length(s.carry) == size || return
        GC.@preserve s widen!(s.eltype, s, pointer(s.carry), 1, done ÷ size - 1)
        empty!(s.carry)
    end
    count = n ÷ size                                       # `done` is a whole number of elements here
    widen!(s.eltype, s, ptr, count, done ÷ size)
    tail = n - count * size
    tail > 0 && append!(s.carry, unsafe_wrap(Array, ptr + count * size, tail))
end

# A function barrier: the element type is a runtime value, so each kernel is compiled once per
# type and the loop runs type-stable.
"Stores `count` elements of type T at `ptr` as values, the first being element `k0` (0-based)."
function widen!(::Type{T}, s::LayerSink, ptr::Ptr{UInt8}, count::Int, k0::Int) where {T}
    values, swap, fortran, rows, cols = s.values, s.swap, s.fortran, s.rows, s.cols
    p = Ptr{T}(ptr)
    @inbounds for j in 0:count-1
        v = unsafe_load(p, j + 1)
        x = Float64(swap ? bswap(v) : v)
        k = k0 + j                                   # element index in the file's order
        # Fortran order: element k is (k % rows, k ÷ rows); the values are row-major.
        values[fortran ? (k % rows) * cols + k ÷ rows + 1 : k + 1] = x
    end
end

"Where `n` more data bytes can be read straight into the values (float64, same byte order, C order), or nothing."
function direct_pointer(s::LayerSink, n::Int)
    (s.eltype === Float64 && !s.swap && !s.fortran && !isempty(s.values) && isempty(s.carry) &&
     ENDIAN_BOM == 0x04030201 && s.data_bytes + n <= sizeof(s.values)) || return nothing
    return Ptr{UInt8}(pointer(s.values)) + s.data_bytes
end

"How many more data bytes direct_pointer can place (0: none, or the values convert them)."
direct_room(s::LayerSink) = direct_pointer(s, 0) === nothing ? 0 : sizeof(s.values) - s.data_bytes

"Up to the rest of a pending element, so that the next reads can go straight into the values."
piece_for(s::LayerSink, n::Int) = isempty(s.carry) ? n : min(n, sizeof(s.eltype) - length(s.carry))

"The `n` bytes were read into the values at direct_pointer."
advance!(s::LayerSink, n::Int) = (s.data_bytes += n; nothing)

"The header as the array phase judges it (a member that ended inside its header is parsed as it is)."
final_header(s::LayerSink) = s.header === nothing ? judged_header(s.head) : s.header

"Expected number of data bytes for a header (shape product times item size)."
npy_expected_length(h::NpyHeader) = reduce(*, h.shape; init = BigInt(1)) * sizeof(ACCEPTED_DTYPES[h.descr])

# ------------------------------------------------------------------ writing (save.writer.npy_header)

"""
    npy_header_bytes(rows, cols) -> Vector{UInt8}

Version 1.0, `<f8`, C order, padded with spaces and ended by a newline so that the data starts
at a multiple of 64 bytes: exactly what numpy.lib.format.write_array writes.
"""
function npy_header_bytes(rows::Integer, cols::Integer)
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': ($rows, $cols), }"
    unpadded = length(NPY_MAGIC) + 2 + 2 + length(text) + 1
    text *= " "^mod(-unpadded, 64) * "\n"
    return vcat(NPY_MAGIC, UInt8[1, 0], reinterpret(UInt8, [htol(UInt16(length(text)))]), codeunits(text))
end

"""
    with_le_bytes(f, values) -> f's result

Calls `f` with the little-endian bytes of `values` as a byte vector: on a little-endian host it
aliases `values` (a 64 MB matrix is not copied again), which stay alive while `f` runs.
"""
function with_le_bytes(f, values::Vector{Float64})
    le = ENDIAN_BOM == 0x04030201 ? values : htol.(values)
    return GC.@preserve le f(unsafe_wrap(Array, Ptr{UInt8}(pointer(le)), sizeof(le)))
end

# ------------------------------------------------------------------ the array phase

"""
    decode_layers(sinks, names, sizes) -> Vector{RowMajor} or CheckpointError

The array phase of loading, after the archive pass filled the sinks, in spec order, each
invariant over every layer before the next: the header (magic, grammar, pickle, dtype), then
rank and shape (fields.jl, shared with construct), data length, and finally the weights'
finiteness.
"""
function decode_layers(sinks::Vector{LayerSink}, names::Vector{String}, sizes::Vector{Tuple{Int,Int}})
    headers = read_headers([final_header(s) for s in sinks], names)
    headers isa CheckpointError && return headers
    shapes = [h.shape for h in headers]
    e = check_ranks(names, shapes)
    e === nothing || return e
    e = check_shapes(names, sizes, shapes)
    e === nothing || return e
    for (i, (s, h)) in enumerate(zip(sinks, headers))
        got = s.data_bytes
        expected = npy_expected_length(h)
        got == expected || return CheckpointError(ARRAY_DATA_LENGTH; name = names[i], member = layer_member(i),
                                                  got = got, expected = expected)
    end
    # Every check passed, so each sink allocated and filled its values.
    weights = RowMajor[row_major(s.values, s.rows, s.cols) for s in sinks]
    e = check_finite(names, weights)
    e === nothing || return e
    return weights
end

layer_member(i::Int) = "layer_$(i - 1).npy"

"""
array.npy.magic, array.npy.header, array.dtype.pickle and array.dtype over every layer: a layer
that fails one is not judged further, and the earliest code wins (then the earliest layer).
"""
function read_headers(parsed::Vector, names::Vector{String})
    headers = NpyHeader[]
    first_error = nothing
    for (i, h) in enumerate(parsed)
        if h isa NpyHeader
            push!(headers, h)
            continue
        end
        e = npy_error(h, names[i], layer_member(i), h.descr)
        (first_error === nothing || e.code < first_error.code) && (first_error = e)
    end
    return first_error === nothing ? headers : first_error
end

"The CheckpointError of one layer's header problem."
function npy_error(problem::NpyProblem, name::String, member::String, descr::String)
    code = problem.code
    code == ARRAY_DTYPE_PICKLE && return CheckpointError(code; name = name, member = member)
    code == ARRAY_DTYPE && return CheckpointError(code; name = name, member = member, descr = descr)
    return CheckpointError(code; name = name, member = member, detail = problem.detail)
end
