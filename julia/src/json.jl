# The strict reader of the metadata document (every json.* invariant, in spec order) and the
# lenient reader of protocol lines; json_write.jl writes JSON.
#
# The reader is iterative (an explicit stack) so that no document, however deep, can overflow
# Julia's call stack; the checkpoint reader additionally counts depth lexically first
# (json.depth). Values: `nothing`, Bool, Int64 (Int128 for integers in (2^63 - 1, 2^64 - 1]
# or, in protocol lines, of 19-20 digits; BigInt for longer protocol integers; never Float64),
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
    # Recorded while parsing, judged after a successful parse (a syntax error anywhere wins):
    nonfinite::Union{Nothing,String}       # the first NaN/Infinity token
    out_of_range::Union{Nothing,String}    # the first out-of-range number literal
    duplicate::Union{Nothing,String}       # the first duplicate key (after unescaping)
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
            r = read_escape!(p, io)
            r isa SyntaxFailure && return r
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

"Reads the escape after a backslash (`p.pos` is the escape letter) and writes its character."
function read_escape!(p::JSONParser, io::IO)
    e = p.bytes[p.pos]
    p.pos += 1
    if e == UInt8('"') || e == UInt8('\\') || e == UInt8('/')
        write(io, e)
    elseif e == UInt8('b'); write(io, 0x08)
    elseif e == UInt8('f'); write(io, 0x0c)
    elseif e == UInt8('n'); write(io, 0x0a)
    elseif e == UInt8('r'); write(io, 0x0d)
    elseif e == UInt8('t'); write(io, 0x09)
    elseif e == UInt8('u')
        return read_unicode_escape!(p, io, p.pos - 2)
    else
        return SyntaxFailure(p.pos - 2, "bad escape in string")
    end
    return nothing
end

"A \\u escape (`p.pos` after the `u`), pairing surrogates; `esc_at` is where the escape began."
function read_unicode_escape!(p::JSONParser, io::IO, esc_at::Int)
    u = read_hex4!(p)
    u < 0 && return SyntaxFailure(esc_at, "bad \\u escape")
    if 0xd800 <= u <= 0xdbff
        save = p.pos
        lo = match_literal!(p, "\\u") ? read_hex4!(p) : -1
        if 0xdc00 <= lo <= 0xdfff
            print(io, Char(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)))
            return nothing
        end
        p.pos = save
    end
    # A lone surrogate: a syntax error in a document; kept as WTF-8 in a protocol line, where
    # the validators refuse it later.
    p.strict && 0xd800 <= u <= 0xdfff && return SyntaxFailure(esc_at, "lone surrogate escape \\u$(string(u, base = 16))")
    print(io, Char(u))
    return nothing
end

isdigitbyte(b::UInt8) = UInt8('0') <= b <= UInt8('9')

"strtod without Base.parse: `parse(Float64, \"1e-400\")` segfaults on Debian's Julia 1.5.3."
function strtod(s::String)::Float64
    return ccall(:jl_strtod_c, Float64, (Cstring, Ptr{Ptr{UInt8}}), s, C_NULL)
end

"Reads a number at `p.pos`; checks the literal's range in strict mode."
function parse_number!(p::JSONParser)::Union{Int64,Int128,BigInt,Float64,SyntaxFailure}
    start = p.pos
    integral = scan_number!(p)
    integral isa SyntaxFailure && return integral
    text = String(p.bytes[start:p.pos-1])
    integral || return parse_float_literal!(p, text)
    # Judge the length before parsing, so that no literal, however long, overflows or is parsed
    # slowly: 18 digits always fit an Int64, 20 digits an Int128, and 21 or more digits lie
    # beyond 2^64 - 1 (JSON has no leading zeros).
    ndigits = length(text) - (text[1] == '-' ? 1 : 0)
    ndigits <= 18 && return Base.parse(Int64, text)
    if ndigits <= 20
        v = Base.parse(Int128, text)
        typemin(Int64) <= v <= typemax(Int64) && return Int64(v)
        (JSON_INTEGER_MIN <= v <= JSON_INTEGER_MAX || !p.strict) && return v
    elseif !p.strict
        return Base.parse(BigInt, text)          # protocol integers of any size, exactly
    end
    p.out_of_range === nothing && (p.out_of_range = text)
    return 0     # the document is refused for its range; the value is never used
end

"A float literal's value; in strict mode one that rounds to infinity is out of range."
function parse_float_literal!(p::JSONParser, text::String)
    v = strtod(text)
    if !isfinite(v) && p.strict && p.out_of_range === nothing
        p.out_of_range = text
    end
    return v
end

"Moves past a number's grammar (RFC 8259); true when it is an integer (no fraction, no exponent)."
function scan_number!(p::JSONParser)::Union{Bool,SyntaxFailure}
    bytes = p.bytes
    n = length(bytes)
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
    return integral
end

"Reads a scalar (not an array or object) at `p.pos`."
function parse_scalar!(p::JSONParser)
    b = peekbyte(p)
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
            p.nonfinite === nothing && (p.nonfinite = "NaN")
            return NaN
        end
    elseif b == UInt8('I')
        if match_literal!(p, "Infinity")
            p.nonfinite === nothing && (p.nonfinite = "Infinity")
            return Inf
        end
    elseif b == UInt8('-') && p.pos < length(p.bytes) && p.bytes[p.pos+1] == UInt8('I')
        if match_literal!(p, "-Infinity")
            p.nonfinite === nothing && (p.nonfinite = "-Infinity")
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
    k = parse_string!(p)
    k isa SyntaxFailure && return k
    if k in frame.seen
        p.duplicate === nothing && (p.duplicate = k)
    else
        push!(frame.seen, k)
    end
    frame.key = k
    skip_ws!(p)
    peekbyte(p) == UInt8(':') && !at_end(p) || return fail(p, describe_byte(p) * " (expected ':')")
    p.pos += 1
    return nothing
end

"Marks that the parser must read another value (never a JSON value itself)."
struct NeedValue end
const NEED_VALUE = NeedValue()

"Parses one whole document; trailing non-whitespace is an error."
function parse_document!(p::JSONParser)::Union{Any,SyntaxFailure}
    stack = Any[]
    while true
        skip_ws!(p)
        value = open_value!(p, stack)
        value isa SyntaxFailure && return value
        value === NEED_VALUE && continue
        value = close_containers!(p, stack, value)
        value === NEED_VALUE && continue
        return value
    end
end

"Reads a scalar or an empty container, or opens a container (pushing a frame: NEED_VALUE)."
function open_value!(p::JSONParser, stack::Vector{Any})
    b = peekbyte(p)
    (!at_end(p) && (b == UInt8('[') || b == UInt8('{'))) || return parse_scalar!(p)
    p.pos += 1
    skip_ws!(p)
    if !at_end(p) && peekbyte(p) == (b == UInt8('[') ? UInt8(']') : UInt8('}'))
        p.pos += 1
        return b == UInt8('[') ? Any[] : JObject()
    end
    if b == UInt8('[')
        push!(stack, Any[])
    else
        frame = ObjectFrame(JObject(), Set{String}(), "")
        r = parse_key!(p, frame)
        r isa SyntaxFailure && return r
        push!(stack, frame)
    end
    return NEED_VALUE
end

"""
Attaches a value to the innermost open container and closes every container that ends here.
Returns NEED_VALUE when a `,` asks for the next value, the whole document when the stack
empties, or a SyntaxFailure.
"""
function close_containers!(p::JSONParser, stack::Vector{Any}, value)
    while true
        skip_ws!(p)
        if isempty(stack)
            at_end(p) || return fail(p, describe_byte(p) * " after the document")
            return value
        end
        top = stack[end]
        c = at_end(p) ? 0x00 : peekbyte(p)
        if top isa Vector{Any}
            push!(top, value)
            c == UInt8(',') && (p.pos += 1; return NEED_VALUE)
            c == UInt8(']') || return fail(p, describe_byte(p) * " (expected ',' or ']')")
            p.pos += 1
            value = pop!(stack)
        else
            frame = top::ObjectFrame
            push!(frame.obj.pairs, frame.key => value)
            if c == UInt8(',')
                p.pos += 1
                r = parse_key!(p, frame)
                return r isa SyntaxFailure ? r : NEED_VALUE
            end
            c == UInt8('}') || return fail(p, describe_byte(p) * " (expected ',' or '}')")
            p.pos += 1
            pop!(stack)
            value = frame.obj
        end
    end
end

"""
    decode_document(bytes, path) -> value or CheckpointError

The json phase of loading: json.file.present (`bytes` is `nothing` when BASE.json is not a
readable regular file), then every json.* invariant in spec order, each over the whole document.
"""
function decode_document(bytes::Union{Nothing,Vector{UInt8}}, path::String)
    bytes === nothing && return CheckpointError(JSON_FILE_PRESENT; path = path)
    bad = utf8_error_offset(bytes)
    bad == 0 || return CheckpointError(JSON_ENCODING_UTF8;
        detail = "$path: invalid byte 0x$(string(bytes[bad], base = 16, pad = 2)) at offset $(bad - 1)")
    if length(bytes) >= 3 && bytes[1] == 0xef && bytes[2] == 0xbb && bytes[3] == 0xbf
        return CheckpointError(JSON_ENCODING_BOM)
    end
    lexical_depth(bytes) <= JSON_MAX_DEPTH || return CheckpointError(JSON_DEPTH; limit = JSON_MAX_DEPTH)
    p = JSONParser(bytes, true)
    value = parse_document!(p)
    if value isa SyntaxFailure
        detail = isempty(bytes) ? "empty document" : "$(value.detail) at offset $(value.offset - 1)"
        return CheckpointError(JSON_SYNTAX; detail = "$path: $detail")
    end
    p.nonfinite === nothing || return CheckpointError(JSON_NONFINITE; token = p.nonfinite)
    p.out_of_range === nothing || return CheckpointError(JSON_NUMBER_RANGE; number = p.out_of_range)
    p.duplicate === nothing || return CheckpointError(JSON_KEYS_UNIQUE; key = p.duplicate)
    return value
end

"The protocol reader: lenient surrogates, exact integers of any size, no depth limit."
function read_json_protocol(text::AbstractString)
    p = JSONParser(Vector{UInt8}(codeunits(String(text))), false)
    value = parse_document!(p)
    value isa SyntaxFailure && throw(ArgumentError("protocol line is not JSON: $(value.detail) at offset $(value.offset - 1)"))
    return value
end
