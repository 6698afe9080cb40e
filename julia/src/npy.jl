# NumPy .npy members as spec `npy` says: magic and version, the strict header grammar, the
# accepted dtypes widened to float64, byte order and Fortran order. The data length is compared
# with the header's shape before anything is allocated for the values.

const NPY_MAGIC = UInt8[0x93, UInt8('N'), UInt8('U'), UInt8('M'), UInt8('P'), UInt8('Y')]

"descr -> (element type, size in bytes, big-endian?)"
const NPY_DTYPES = Dict{String,Tuple{DataType,Int,Bool}}(
    "<f8" => (Float64, 8, false), ">f8" => (Float64, 8, true),
    "<f4" => (Float32, 4, false), ">f4" => (Float32, 4, true),
    "<f2" => (Float16, 2, false), ">f2" => (Float16, 2, true),
    "|i1" => (Int8, 1, false),
    "<i2" => (Int16, 2, false), ">i2" => (Int16, 2, true),
    "<i4" => (Int32, 4, false), ">i4" => (Int32, 4, true),
    "<i8" => (Int64, 8, false), ">i8" => (Int64, 8, true),
    "|u1" => (UInt8, 1, false),
    "<u2" => (UInt16, 2, false), ">u2" => (UInt16, 2, true),
    "<u4" => (UInt32, 4, false), ">u4" => (UInt32, 4, true),
    "<u8" => (UInt64, 8, false), ">u8" => (UInt64, 8, true))

"A parsed .npy header and where the data starts (1-based index into the member)."
struct NpyHeader
    descr::String
    fortran_order::Bool
    shape::Vector{BigInt}
    data_start::Int
end

struct NpyProblem
    code::ErrorCode
    detail::String
end

shape_text(shape) = length(shape) == 1 ? "($(shape[1]),)" : "(" * join(string.(shape), ", ") * ")"

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

"Parses the header grammar; returns (descr, fortran_order, shape) or a problem description."
function parse_npy_dict(text::String)
    c = collect(text)
    n = length(c)
    i = 1
    skip() = (while i <= n && c[i] == ' '; i += 1; end)
    at(ch) = i <= n && c[i] == ch
    shown() = i <= n ? "$(repr(c[i])) at character $(i - 1)" : "the end of the header"
    skip()        # numpy never writes leading spaces, but the reference's tokenizer allows them
    at('{') || return "the header does not start with '{'"
    i += 1
    descr = nothing
    fortran = nothing
    shape = nothing
    while true
        skip()
        # key
        at('\'') || return "expected a quoted key, found $(shown())"
        j = i + 1
        while j <= n && c[j] != '\''
            j += 1
        end
        j <= n || return "unterminated key"
        key = String(c[i+1:j-1])
        i = j + 1
        key in ("descr", "fortran_order", "shape") || return "unexpected key $(repr(key))"
        skip()
        at(':') || return "expected ':' after key $(repr(key)), found $(shown())"
        i += 1
        skip()
        if key == "descr"
            descr === nothing || return "key 'descr' appears twice"
            at('\'') || return "descr must be a quoted string, found $(shown())"
            j = i + 1
            while j <= n && c[j] != '\'' && c[j] != '\\'
                j += 1
            end
            (j <= n && c[j] == '\'') || return "descr is not a plain quoted string"
            descr = String(c[i+1:j-1])
            i = j + 1
        elseif key == "fortran_order"
            fortran === nothing || return "key 'fortran_order' appears twice"
            if i + 3 <= n && String(c[i:i+3]) == "True"
                fortran = true; i += 4
            elseif i + 4 <= n && String(c[i:i+4]) == "False"
                fortran = false; i += 5
            else
                return "fortran_order must be True or False, found $(shown())"
            end
        else
            shape === nothing || return "key 'shape' appears twice"
            at('(') || return "shape must be a tuple, found $(shown())"
            i += 1
            dims = BigInt[]
            skip()
            if at(')')
                i += 1
            else
                while true
                    (i <= n && '0' <= c[i] <= '9') || return "shape entry must be a non-negative integer, found $(shown())"
                    j = i
                    while j <= n && '0' <= c[j] <= '9'
                        j += 1
                    end
                    digits = String(c[i:j-1])
                    (digits == "0" || digits[1] != '0') || return "shape entry $(digits) has a leading zero"
                    push!(dims, Base.parse(BigInt, digits))
                    i = j
                    skip()
                    if at(',')
                        i += 1
                        skip()
                        at(')') && (i += 1; break)
                    elseif at(')')
                        length(dims) >= 2 || return "a one-entry shape needs a trailing comma"
                        i += 1
                        break
                    else
                        return "expected ',' or ')' in shape, found $(shown())"
                    end
                end
            end
            shape = dims
        end
        skip()
        if at(',')
            i += 1
            skip()
            at('}') && (i += 1; break)
        elseif at('}')
            i += 1
            break
        else
            return "expected ',' or '}', found $(shown())"
        end
    end
    skip()
    (i == n && c[i] == '\n') || return i > n ? "the header does not end with a newline" :
                                     "unexpected $(shown()) after the header dict"
    descr === nothing && return "key 'descr' is missing"
    fortran === nothing && return "key 'fortran_order' is missing"
    shape === nothing && return "key 'shape' is missing"
    return (descr, fortran, shape)
end

"array.dtype.pickle, then array.dtype."
function check_npy_dtype(descr::String)
    chars = collect(descr)
    # The type character follows the byte-order character (as the reference reads it: descr[1]).
    length(chars) >= 2 && chars[2] == 'O' && return NpyProblem(ARRAY_DTYPE_PICKLE, "object dtype $(repr(descr))")
    haskey(NPY_DTYPES, descr) || return NpyProblem(ARRAY_DTYPE, "unsupported dtype $(repr(descr))")
    return nothing
end

"""
    widen_npy_data(member, header) -> Matrix{Float64}

The data as an (rows, cols) float64 matrix. The caller has checked the rank and that the data
length is exactly rows * cols * itemsize.
"""
function widen_npy_data(m::AbstractVector{UInt8}, h::NpyHeader)
    T, size, big_endian = NPY_DTYPES[h.descr]
    rows = Int(h.shape[1])
    cols = Int(h.shape[2])
    count = rows * cols
    raw = Vector{UInt8}(m[h.data_start:h.data_start+count*size-1])   # aligned copy
    vals = reinterpret(T, raw)
    flat = Vector{Float64}(undef, count)
    @inbounds for k in 1:count
        v = vals[k]
        flat[k] = Float64(big_endian ? ntoh(v) : ltoh(v))
    end
    # Fortran order: column-major, as Julia stores matrices; C order: transpose the (cols, rows) view.
    return h.fortran_order ? reshape(flat, rows, cols) : permutedims(reshape(flat, cols, rows))
end

"Expected number of data bytes for a header (shape product times item size)."
function npy_expected_length(h::NpyHeader)
    _, size, _ = NPY_DTYPES[h.descr]
    return reduce(*, h.shape; init = BigInt(1)) * size
end
