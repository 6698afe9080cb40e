# The JSON writer: the protocol's answers and observable state (compact), and the checkpoint
# document (save.writer.document: json.dumps(doc, indent=2, ensure_ascii=True)). Julia 1.5's
# standard library has no JSON module. Strings are ASCII-only (\u escapes, as Python's
# json.dumps writes them), integers exact, floats Python's repr: the shortest text that reads
# back to the same bits, with a '.' or an exponent (docs/protocol.md).

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
        elseif u == 0x08
            write(io, "\\b")
        elseif u == 0x0c
            write(io, "\\f")
        elseif u < 0x20 || 0x7f <= u <= 0xffff        # U+007F too: json.dumps keeps only ' '..'~'
            write(io, "\\u", string(u, base = 16, pad = 4))
        elseif u < 0x7f
            write(io, c)
        else
            v = u - 0x10000
            write(io, "\\u", string(0xd800 + (v >> 10), base = 16, pad = 4),
                  "\\u", string(0xdc00 + (v & 0x3ff), base = 16, pad = 4))
        end
    end
    write(io, '"')
end

"""
    format_float(x) -> String

Python's `repr(x)`, as `json.dumps` writes it: the shortest digits that read back to the same
float64, in fixed notation when the decimal exponent allows (`0.0001`, `1000000000000000.0`, a
`.0` on whole numbers), otherwise as `1e-05`, `1.5e+300`.
"""
function format_float(x::Float64)
    isfinite(x) || throw(ArgumentError("cannot write non-finite float $x as JSON"))
    digits, point = shortest_digits(abs(x))
    sign = signbit(x) ? "-" : ""
    n = length(digits)
    # CPython's rule (float_repr_style "short"): x = 0.DIGITS * 10^point.
    if -4 < point <= 16
        point <= 0 && return sign * "0." * "0"^(-point) * digits
        point >= n && return sign * digits * "0"^(point - n) * ".0"
        return sign * digits[1:point] * "." * digits[point+1:end]
    end
    exponent = point - 1
    mantissa = n == 1 ? digits : digits[1:1] * "." * digits[2:end]
    return sign * mantissa * "e" * (exponent < 0 ? "-" : "+") * lpad(string(abs(exponent)), 2, '0')
end

"(digits, point) with x = 0.DIGITS * 10^point, DIGITS the shortest round-trip digits of x >= 0
(Julia's `string` is shortest round-trip: Ryu); `(\"0\", 1)` for zero."
function shortest_digits(x::Float64)
    text = string(x)
    parts = split(text, 'e')
    whole, fraction = split(parts[1], '.')
    digits = whole * fraction
    point = length(whole) + (length(parts) == 2 ? Base.parse(Int, parts[2]) : 0)
    stripped = lstrip(digits, '0')
    point -= length(digits) - length(stripped)
    digits = rstrip(stripped, '0')
    return isempty(digits) ? ("0", 1) : (String(digits), point)
end

# write_json(io, v, indent, level): `indent` 0 is the protocol's compact form; 2 is json.dumps's
# indent=2 layout, `level` the depth of `v`. Scalars are spelled the same either way.
write_json(io::IO, v) = write_json(io, v, 0, 0)
write_json(io::IO, v, ::Int, ::Int) = write_scalar(io, v)
write_scalar(io::IO, ::Nothing) = write(io, "null")
write_scalar(io::IO, b::Bool) = write(io, b ? "true" : "false")
write_scalar(io::IO, i::Integer) = write(io, string(i))
write_scalar(io::IO, x::AbstractFloat) = write(io, format_float(Float64(x)))
write_scalar(io::IO, s::AbstractString) = write_json_string(io, s)
write_scalar(io::IO, s::Symbol) = write_json_string(io, string(s))

function write_json(io::IO, v::Union{AbstractVector,Tuple}, indent::Int, level::Int)
    write_items(io, v, "[]", indent, level) do x
        write_json(io, x, indent, level + 1)
    end
end
function write_json(io::IO, o::Union{JObject,AbstractDict,NamedTuple}, indent::Int, level::Int)
    write_items(io, json_members(o), "{}", indent, level) do (k, v)
        write_json_string(io, string(k))
        write(io, indent > 0 ? ": " : ":")
        write_json(io, v, indent, level + 1)
    end
end
json_members(o::JObject) = o.pairs
json_members(d::AbstractDict) = collect(d)
json_members(nt::NamedTuple) = [string(k) => v for (k, v) in pairs(nt)]

"The brackets around `items`, each written by `each` and separated by commas; with `indent`,
each item on its own line (\"[]\" or \"{}\" when empty, as json.dumps writes them)."
function write_items(each, io::IO, items, brackets::String, indent::Int, level::Int)
    isempty(items) && return write(io, brackets)
    write(io, brackets[1])
    for (k, item) in enumerate(items)
        k > 1 && write(io, ',')
        indent > 0 && write(io, '\n', ' '^(indent * (level + 1)))
        each(item)
    end
    indent > 0 && write(io, '\n', ' '^(indent * level))
    write(io, brackets[2])
end

"One value as JSON text: compact, or with `indent` as json.dumps(v, indent=indent) lays it out."
function json_string(v, indent::Int = 0)
    io = IOBuffer()
    write_json(io, v, indent, 0)
    return String(take!(io))
end
