# Strict RFC 8259 reader and a writer for the protocol's answers.
#
# The reader is iterative (an explicit stack) so that no document, however deep, can overflow
# Julia's call stack; the checkpoint reader additionally counts depth lexically first
# (json.depth). Values: `nothing`, Bool, Int64 (BigInt for protocol integers beyond Int64),
# Float64, String, Vector{Any}, JObject.

"A JSON object that keeps its members in document order."
struct JObject
    pairs::Vector{Pair{String,Any}}
end
JObject() = JObject(Pair{String,Any}[])

Base.length(o::JObject) = length(o.pairs)
Base.keys(o::JObject) = (first(p) for p in o.pairs)
Base.haskey(o::JObject, k::AbstractString) = any(p -> first(p) == k, o.pairs)
function Base.get(o::JObject, k::AbstractString, default)
    for p in o.pairs
        first(p) == k && return last(p)
    end
    return default
end
Base.getindex(o::JObject, k::AbstractString) =
    (v = get(o, k, JSON_ABSENT); v === JSON_ABSENT ? throw(KeyError(k)) : v)
Base.:(==)(a::JObject, b::JObject) = a.pairs == b.pairs

"Marks an absent member (distinct from JSON null, which is `nothing`)."
struct Absent end
const JSON_ABSENT = Absent()

"Why a document failed: the invariant, a byte offset (1-based, 0 when none) and a detail."
struct JSONProblem
    code::ErrorCode
    offset::Int
    detail::String
end

# ------------------------------------------------------------------ UTF-8 and depth prescans

"First offset (1-based) where `bytes` stop being RFC 3629 UTF-8, or 0 when all are valid."
function utf8_error_offset(bytes::AbstractVector{UInt8})
    n = length(bytes)
    i = 1
    @inbounds while i <= n
        b = bytes[i]
        if b < 0x80
            i += 1
            continue
        end
        if 0xc2 <= b <= 0xdf
            len = 2; lo = 0x80; hi = 0xbf
        elseif b == 0xe0
            len = 3; lo = 0xa0; hi = 0xbf          # no overlong 3-byte forms
        elseif b == 0xed
            len = 3; lo = 0x80; hi = 0x9f          # no encoded surrogates
        elseif 0xe1 <= b <= 0xef
            len = 3; lo = 0x80; hi = 0xbf
        elseif b == 0xf0
            len = 4; lo = 0x90; hi = 0xbf          # no overlong 4-byte forms
        elseif 0xf1 <= b <= 0xf3
            len = 4; lo = 0x80; hi = 0xbf
        elseif b == 0xf4
            len = 4; lo = 0x80; hi = 0x8f          # nothing above U+10FFFF
        else
            return i                               # 80-C1, F5-FF never start a character
        end
        i + len - 1 <= n || return i
        lo <= bytes[i+1] <= hi || return i
        for k in 2:len-1
            0x80 <= bytes[i+k] <= 0xbf || return i
        end
        i += len
    end
    return 0
end

is_valid_utf8(bytes::AbstractVector{UInt8}) = utf8_error_offset(bytes) == 0
is_valid_utf8(s::AbstractString) = is_valid_utf8(codeunits(String(s)))

"The lexical nesting depth as json.depth defines it (strings skipped, never below zero)."
function lexical_depth(bytes::AbstractVector{UInt8})
    depth = 0
    maxdepth = 0
    in_string = false
    i = 1
    n = length(bytes)
    @inbounds while i <= n
        b = bytes[i]
        if in_string
            if b == UInt8('\\')
                i += 1
            elseif b == UInt8('"')
                in_string = false
            end
        elseif b == UInt8('"')
            in_string = true
        elseif b == UInt8('[') || b == UInt8('{')
            depth += 1
            maxdepth = max(maxdepth, depth)
        elseif b == UInt8(']') || b == UInt8('}')
            depth = max(depth - 1, 0)
        end
        i += 1
    end
    return maxdepth
end

# ------------------------------------------------------------------ the parser

"Parser state. `strict` is the checkpoint reader (lone surrogates are syntax errors, number
range and duplicate keys are recorded); otherwise the protocol reader (lenient on both)."
mutable struct JSONParser
    bytes::Vector{UInt8}
    pos::Int                        # next byte to read (1-based)
    strict::Bool
    nonfinite::Union{Nothing,Tuple{Int,String}}   # first NaN/Infinity token (offset, token)
    out_of_range::Union{Nothing,Tuple{Int,String}}  # first out-of-range number literal
    duplicate::Union{Nothing,Tuple{Int,String}}   # first duplicate key (after unescaping)
end

JSONParser(bytes::Vector{UInt8}, strict::Bool) = JSONParser(bytes, 1, strict, nothing, nothing, nothing)

struct SyntaxFailure
    offset::Int
    detail::String
end

@inline peekbyte(p::JSONParser) = p.pos <= length(p.bytes) ? @inbounds(p.bytes[p.pos]) : 0x00
@inline at_end(p::JSONParser) = p.pos > length(p.bytes)

function skip_ws!(p::JSONParser)
    bytes = p.bytes
    n = length(bytes)
    @inbounds while p.pos <= n
        b = bytes[p.pos]
        (b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d) || break
        p.pos += 1
    end
end

function describe_byte(p::JSONParser)
    at_end(p) && return "unexpected end of document"
    b = peekbyte(p)
    return 0x20 < b < 0x7f ? "unexpected character '$(Char(b))'" : "unexpected byte 0x$(string(b, base = 16, pad = 2))"
end

fail(p::JSONParser, detail::String = describe_byte(p)) = SyntaxFailure(p.pos, detail)

function match_literal!(p::JSONParser, lit::String)
    n = ncodeunits(lit)
    p.pos + n - 1 <= length(p.bytes) || return false
    @inbounds for k in 1:n
        p.bytes[p.pos+k-1] == codeunit(lit, k) || return false
    end
    p.pos += n
    return true
end

function hexval(b::UInt8)
    UInt8('0') <= b <= UInt8('9') && return Int(b - UInt8('0'))
    UInt8('a') <= b <= UInt8('f') && return Int(b - UInt8('a')) + 10
    UInt8('A') <= b <= UInt8('F') && return Int(b - UInt8('A')) + 10
    return -1
end

function read_hex4!(p::JSONParser)
    p.pos + 3 <= length(p.bytes) || return -1
    v = 0
    for k in 0:3
        h = hexval(p.bytes[p.pos+k])
        h < 0 && return -1
        v = v * 16 + h
    end
    p.pos += 4
    return v
end

"Reads a string at `p.pos` (the opening quote)."
function parse_string!(p::JSONParser)::Union{String,SyntaxFailure}
    start = p.pos
    p.pos += 1
    bytes = p.bytes
    n = length(bytes)
    io = IOBuffer()
    @inbounds while true
        p.pos > n && return SyntaxFailure(start, "unterminated string")
        b = bytes[p.pos]
        if b == UInt8('"')
            p.pos += 1
            return String(take!(io))
        elseif b == UInt8('\\')
            p.pos += 1
            p.pos > n && return SyntaxFailure(start, "unterminated string")
            e = bytes[p.pos]
            p.pos += 1
            if e == UInt8('"') || e == UInt8('\\') || e == UInt8('/')
                write(io, e)
            elseif e == UInt8('b'); write(io, 0x08)
            elseif e == UInt8('f'); write(io, 0x0c)
            elseif e == UInt8('n'); write(io, 0x0a)
            elseif e == UInt8('r'); write(io, 0x0d)
            elseif e == UInt8('t'); write(io, 0x09)
            elseif e == UInt8('u')
                esc_at = p.pos - 2
                u = read_hex4!(p)
                u < 0 && return SyntaxFailure(esc_at, "bad \\u escape")
                if 0xd800 <= u <= 0xdbff
                    save = p.pos
                    lo = -1
                    if match_literal!(p, "\\u")
                        lo = read_hex4!(p)
                    end
                    if 0xdc00 <= lo <= 0xdfff
                        print(io, Char(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)))
                    elseif p.strict
                        return SyntaxFailure(esc_at, "lone surrogate escape \\u$(string(u, base = 16))")
                    else
                        p.pos = save
                        print(io, Char(u))      # kept as WTF-8; validators refuse it later
                    end
                elseif 0xdc00 <= u <= 0xdfff
                    p.strict && return SyntaxFailure(esc_at, "lone surrogate escape \\u$(string(u, base = 16))")
                    print(io, Char(u))
                else
                    print(io, Char(u))
                end
            else
                return SyntaxFailure(p.pos - 2, "bad escape in string")
            end
        elseif b < 0x20
            return SyntaxFailure(p.pos, "unescaped control character in string")
        else
            # Copy a run of plain bytes at once.
            run = p.pos
            while run <= n && bytes[run] >= 0x20 && bytes[run] != UInt8('"') && bytes[run] != UInt8('\\')
                run += 1
            end
            unsafe_write(io, pointer(bytes, p.pos), run - p.pos)
            p.pos = run
        end
    end
end

isdigitbyte(b::UInt8) = UInt8('0') <= b <= UInt8('9')

const MAX_SAFE_INTEGER = 9007199254740991

"strtod without Base.parse: `parse(Float64, \"1e-400\")` segfaults on Debian's Julia 1.5.3."
function strtod(s::String)::Float64
    return ccall(:jl_strtod_c, Float64, (Cstring, Ptr{Ptr{UInt8}}), s, C_NULL)
end

"Reads a number at `p.pos`; checks the literal's range in strict mode."
function parse_number!(p::JSONParser)::Union{Int64,BigInt,Float64,SyntaxFailure}
    bytes = p.bytes
    n = length(bytes)
    start = p.pos
    i = p.pos
    if i <= n && bytes[i] == UInt8('-')
        i += 1
    end
    (i <= n && isdigitbyte(bytes[i])) || (p.pos = i; return fail(p, "bad number"))
    if bytes[i] == UInt8('0')
        i += 1
    else
        while i <= n && isdigitbyte(bytes[i]); i += 1; end
    end
    integral = true
    if i <= n && bytes[i] == UInt8('.')
        integral = false
        i += 1
        (i <= n && isdigitbyte(bytes[i])) || (p.pos = i; return fail(p, "bad number fraction"))
        while i <= n && isdigitbyte(bytes[i]); i += 1; end
    end
    if i <= n && (bytes[i] == UInt8('e') || bytes[i] == UInt8('E'))
        integral = false
        i += 1
        if i <= n && (bytes[i] == UInt8('+') || bytes[i] == UInt8('-'))
            i += 1
        end
        (i <= n && isdigitbyte(bytes[i])) || (p.pos = i; return fail(p, "bad number exponent"))
        while i <= n && isdigitbyte(bytes[i]); i += 1; end
    end
    p.pos = i
    text = String(bytes[start:i-1])
    if integral
        ndigits = i - start - (bytes[start] == UInt8('-') ? 1 : 0)
        if ndigits <= 18
            v = Base.parse(Int64, text)
            if abs(v) > MAX_SAFE_INTEGER && p.strict && p.out_of_range === nothing
                p.out_of_range = (start, text)
            end
            return v
        end
        if p.strict
            p.out_of_range === nothing && (p.out_of_range = (start, text))
            return 0     # the document is refused for its range; the value is never used
        end
        big = Base.parse(BigInt, text)
        return typemin(Int64) <= big <= typemax(Int64) ? Int64(big) : big
    end
    v = strtod(text)
    if !isfinite(v) && p.strict && p.out_of_range === nothing
        p.out_of_range = (start, text)
    end
    return v
end

"Reads a scalar (not an array or object) at `p.pos`."
function parse_scalar!(p::JSONParser)
    b = peekbyte(p)
    start = p.pos
    if b == UInt8('"')
        return parse_string!(p)
    elseif b == UInt8('t')
        match_literal!(p, "true") && return true
    elseif b == UInt8('f')
        match_literal!(p, "false") && return false
    elseif b == UInt8('n')
        match_literal!(p, "null") && return nothing
    elseif b == UInt8('N')
        if match_literal!(p, "NaN")
            p.nonfinite === nothing && (p.nonfinite = (start, "NaN"))
            return NaN
        end
    elseif b == UInt8('I')
        if match_literal!(p, "Infinity")
            p.nonfinite === nothing && (p.nonfinite = (start, "Infinity"))
            return Inf
        end
    elseif b == UInt8('-') && p.pos < length(p.bytes) && p.bytes[p.pos+1] == UInt8('I')
        if match_literal!(p, "-Infinity")
            p.nonfinite === nothing && (p.nonfinite = (start, "-Infinity"))
            return -Inf
        end
    elseif b == UInt8('-') || isdigitbyte(b)
        return parse_number!(p)
    end
    return fail(p)
end

# A frame of the explicit stack: an array being filled, or an object with its seen keys and the
# key whose value is being read.
mutable struct ObjectFrame
    obj::JObject
    seen::Set{String}
    key::String
end

"Reads the object key and colon after `{` or `,`; the value follows."
function parse_key!(p::JSONParser, frame::ObjectFrame)
    skip_ws!(p)
    peekbyte(p) == UInt8('"') && !at_end(p) || return fail(p, describe_byte(p) * " (expected a string key)")
    keystart = p.pos
    k = parse_string!(p)
    k isa SyntaxFailure && return k
    if k in frame.seen
        p.duplicate === nothing && (p.duplicate = (keystart, k))
    else
        push!(frame.seen, k)
    end
    frame.key = k
    skip_ws!(p)
    peekbyte(p) == UInt8(':') && !at_end(p) || return fail(p, describe_byte(p) * " (expected ':')")
    p.pos += 1
    return nothing
end

"Parses one whole document; trailing non-whitespace is an error."
function parse_document!(p::JSONParser)::Union{Any,SyntaxFailure}
    stack = Any[]
    skip_ws!(p)
    while true
        # Read a value (opening containers push frames).
        skip_ws!(p)
        local value
        b = peekbyte(p)
        if !at_end(p) && b == UInt8('[')
            p.pos += 1
            skip_ws!(p)
            if peekbyte(p) == UInt8(']') && !at_end(p)
                p.pos += 1
                value = Any[]
            else
                push!(stack, Any[])
                continue
            end
        elseif !at_end(p) && b == UInt8('{')
            p.pos += 1
            skip_ws!(p)
            if peekbyte(p) == UInt8('}') && !at_end(p)
                p.pos += 1
                value = JObject()
            else
                frame = ObjectFrame(JObject(), Set{String}(), "")
                r = parse_key!(p, frame)
                r isa SyntaxFailure && return r
                push!(stack, frame)
                continue
            end
        else
            value = parse_scalar!(p)
            value isa SyntaxFailure && return value
        end
        # Attach the value and close every container that ends here.
        while true
            if isempty(stack)
                skip_ws!(p)
                at_end(p) || return fail(p, describe_byte(p) * " after the document")
                return value
            end
            top = stack[end]
            skip_ws!(p)
            c = at_end(p) ? 0x00 : peekbyte(p)
            if top isa Vector{Any}
                push!(top, value)
                if c == UInt8(',')
                    p.pos += 1
                    break
                elseif c == UInt8(']')
                    p.pos += 1
                    value = pop!(stack)
                else
                    return fail(p, describe_byte(p) * " (expected ',' or ']')")
                end
            else
                frame = top::ObjectFrame
                push!(frame.obj.pairs, frame.key => value)
                if c == UInt8(',')
                    p.pos += 1
                    r = parse_key!(p, frame)
                    r isa SyntaxFailure && return r
                    break
                elseif c == UInt8('}')
                    p.pos += 1
                    pop!(stack)
                    value = frame.obj
                else
                    return fail(p, describe_byte(p) * " (expected ',' or '}')")
                end
            end
        end
    end
end

"""
    read_json_strict(bytes, max_depth) -> value or JSONProblem

The checkpoint reader: the json-phase invariants in spec order (encoding.utf8, encoding.bom,
depth, syntax, nonfinite, number.range, keys.unique), each over the whole document.
"""
function read_json_strict(bytes::Vector{UInt8}, max_depth::Int)
    bad = utf8_error_offset(bytes)
    bad == 0 || return JSONProblem(JSON_ENCODING_UTF8, bad,
                                   "invalid byte 0x$(string(bytes[bad], base = 16, pad = 2)) at offset $(bad - 1)")
    if length(bytes) >= 3 && bytes[1] == 0xef && bytes[2] == 0xbb && bytes[3] == 0xbf
        return JSONProblem(JSON_ENCODING_BOM, 1, "byte-order mark")
    end
    depth = lexical_depth(bytes)
    depth <= max_depth || return JSONProblem(JSON_DEPTH, 0, "depth $depth exceeds $max_depth")
    p = JSONParser(bytes, true)
    value = parse_document!(p)
    if value isa SyntaxFailure
        detail = isempty(bytes) ? "empty document" : "$(value.detail) at offset $(value.offset - 1)"
        return JSONProblem(JSON_SYNTAX, value.offset, detail)
    end
    p.nonfinite === nothing || return JSONProblem(JSON_NONFINITE, p.nonfinite[1], p.nonfinite[2])
    p.out_of_range === nothing || return JSONProblem(JSON_NUMBER_RANGE, p.out_of_range[1], p.out_of_range[2])
    p.duplicate === nothing || return JSONProblem(JSON_KEYS_UNIQUE, p.duplicate[1], p.duplicate[2])
    return value
end

"The protocol reader: lenient surrogates, exact integers of any size, no depth limit."
function read_json_protocol(text::AbstractString)
    p = JSONParser(Vector{UInt8}(codeunits(String(text))), false)
    value = parse_document!(p)
    value isa SyntaxFailure && throw(ArgumentError("protocol line is not JSON: $(value.detail) at offset $(value.offset - 1)"))
    return value
end

# ------------------------------------------------------------------ the writer

"Writes `s` as a JSON string: ASCII only, surrogate code points (WTF-8) as \\u escapes,
malformed bytes as U+FFFD."
function write_json_string(io::IO, s::AbstractString)
    write(io, '"')
    for c in String(s)
        if Base.ismalformed(c) || Base.isoverlong(c)
            write(io, "\\ufffd")
            continue
        end
        u = UInt32(c)
        if u == 0x22
            write(io, "\\\"")
        elseif u == 0x5c
            write(io, "\\\\")
        elseif u == 0x0a
            write(io, "\\n")
        elseif u == 0x0d
            write(io, "\\r")
        elseif u == 0x09
            write(io, "\\t")
        elseif u < 0x20 || 0x80 <= u <= 0xffff
            write(io, "\\u", string(u, base = 16, pad = 4))
        elseif u < 0x80
            write(io, c)
        else
            v = u - 0x10000
            write(io, "\\u", string(0xd800 + (v >> 10), base = 16, pad = 4),
                  "\\u", string(0xdc00 + (v & 0x3ff), base = 16, pad = 4))
        end
    end
    write(io, '"')
end

"Shortest round-trip text with a '.' or an exponent (1.0, -0.0, 1.0e-5)."
function format_float(x::Float64)
    isfinite(x) || throw(ArgumentError("cannot write non-finite float $x as JSON"))
    s = string(x)      # Ryu: shortest round-trip
    occursin('.', s) || occursin('e', s) || (s *= ".0")
    return s
end

write_json(io::IO, ::Nothing) = write(io, "null")
write_json(io::IO, b::Bool) = write(io, b ? "true" : "false")
write_json(io::IO, i::Integer) = write(io, string(i))
write_json(io::IO, x::AbstractFloat) = write(io, format_float(Float64(x)))
write_json(io::IO, s::AbstractString) = write_json_string(io, s)
write_json(io::IO, s::Symbol) = write_json_string(io, string(s))
function write_json(io::IO, v::Union{AbstractVector,Tuple})
    write(io, '[')
    first = true
    for x in v
        first || write(io, ',')
        first = false
        write_json(io, x)
    end
    write(io, ']')
end
write_json(io::IO, o::JObject) = write_json_members(io, o.pairs)
write_json(io::IO, d::AbstractDict) = write_json_members(io, collect(d))
function write_json(io::IO, nt::NamedTuple)
    write_json_members(io, [string(k) => v for (k, v) in pairs(nt)])
end
function write_json_members(io::IO, members)
    write(io, '{')
    first = true
    for (k, v) in members
        first || write(io, ',')
        first = false
        write_json_string(io, string(k))
        write(io, ':')
        write_json(io, v)
    end
    write(io, '}')
end

"One value as compact JSON text."
function json_string(v)
    io = IOBuffer()
    write_json(io, v)
    return String(take!(io))
end
