# The protocol's host-value encoding (docs/protocol.md) decoded into Julia values. Python-only
# kinds (tuple, set, bytes, non-string-keyed mapping, opaque object) get their own types so that
# the constructor can accept a tuple where Python does and refuse the rest with the spec's code.

"A Python tuple: accepted where the spec says \"list or tuple\", refused inside metadata."
struct HostTuple
    items::Vector{Any}
end
"A Python set."
struct HostSet
    items::Vector{Any}
end
"A Python bytes value."
struct HostBytes
    data::Vector{UInt8}
end
"A mapping with at least one key that is not a string."
struct HostMap
    pairs::Vector{Pair{Any,Any}}
end
"An opaque Python object()."
struct HostOpaque
    description::String
end
"A dense float64 array of any rank; `data` is flat in row-major order."
struct HostArray
    shape::Vector{Int}
    data::Vector{Float64}
end

"Python's type name for messages."
host_type_name(::Nothing) = "None"
host_type_name(::Bool) = "bool"
host_type_name(::Integer) = "int"
host_type_name(::AbstractFloat) = "float"
host_type_name(::AbstractString) = "str"
host_type_name(::Vector) = "list"
host_type_name(::JObject) = "dict"
host_type_name(::HostTuple) = "tuple"
host_type_name(::HostSet) = "set"
host_type_name(::HostBytes) = "bytes"
host_type_name(::HostMap) = "dict"
host_type_name(::HostOpaque) = "object"
host_type_name(::HostArray) = "ndarray"
host_type_name(x) = string(typeof(x))

function decode_float_tag(v)
    v isa AbstractString || throw(ArgumentError("\$float tag needs a string, got $(json_string(v))"))
    v == "NaN" && return NaN
    v == "Infinity" && return Inf
    v == "-Infinity" && return -Inf
    throw(ArgumentError("unknown \$float value $(repr(v))"))
end

"Decodes a protocol value (as read by `read_json_protocol`) into a host value."
function decode_host_value(v)
    if v isa Vector{Any}
        return Any[decode_host_value(x) for x in v]
    elseif v isa JObject
        if length(v) == 1 && startswith(first(v.pairs[1]), "\$")
            return decode_tag(first(v.pairs[1]), last(v.pairs[1]))
        end
        return JObject(Pair{String,Any}[k => decode_host_value(x) for (k, x) in v.pairs])
    end
    return v
end

function decode_tag(tag::String, v)
    if tag == "\$float"
        return decode_float_tag(v)
    elseif tag == "\$array"
        v isa JObject || throw(ArgumentError("\$array tag needs an object"))
        shape = get(v, "shape", nothing)
        data = get(v, "data", nothing)
        data isa Vector{Any} || throw(ArgumentError("\$array needs a data list"))
        # numpy.array(data, dtype=float64): nested rectangular lists flatten in row-major order.
        levels = nested_levels(Any[decode_host_value(x) for x in data], typemax(Int))
        levels isa String && throw(ArgumentError("\$array data $levels"))
        _, leaves = levels
        flat = Float64[array_element(x) for x in leaves]
        return HostArray(shape === nothing ? [length(flat)] : reshape_dims(shape, length(flat)), flat)
    elseif tag == "\$tuple"
        return HostTuple(Any[decode_host_value(x) for x in python_iterate(v, tag)])
    elseif tag == "\$set"
        return HostSet(Any[decode_host_value(x) for x in python_iterate(v, tag)])
    elseif tag == "\$bytes"
        v isa AbstractString || throw(ArgumentError("\$bytes tag needs a hex string"))
        return HostBytes(hex2bytes(v))
    elseif tag == "\$map"
        pairs = Pair{Any,Any}[]
        for kv in python_iterate(v, tag)
            (kv isa Vector{Any} && length(kv) == 2) || throw(ArgumentError("\$map entries are [key, value] pairs"))
            push!(pairs, decode_host_value(kv[1]) => decode_host_value(kv[2]))
        end
        all(p -> first(p) isa String, pairs) || return HostMap(pairs)
        # String keys only: a plain dict (a later duplicate key replaces the earlier, as in Python).
        obj = JObject()
        for (k, x) in pairs
            idx = findfirst(p -> first(p) == k, obj.pairs)
            idx === nothing ? push!(obj.pairs, k => x) : (obj.pairs[idx] = k => x)
        end
        return obj
    elseif tag == "\$object"
        return HostOpaque(v isa AbstractString ? v : json_string(v))
    end
    throw(ArgumentError("unknown host-value tag $(repr(tag))"))
end

# What Python's tuple(body) / set(body) iterate: a list's items, a dict's keys, a string's
# characters. The harness only sends lists; the rest keeps malformed input agreeing with it.
function python_iterate(v, tag)
    v isa Vector{Any} && return v
    v isa JObject && return Any[k for k in keys(v)]
    v isa AbstractString && return Any[string(c) for c in v]
    throw(ArgumentError("$tag tag needs a list"))
end

# An \$array entry as numpy's float64 conversion takes it: numbers, bools, None (NaN) and
# single-value arrays; anything else is a malformed case.
function array_element(x)
    x === nothing && return NaN
    x isa Real && return Float64(x)
    x isa HostArray && isempty(x.shape) && return x.data[1]
    throw(ArgumentError("\$array data holds $(host_type_name(x)), not a number"))
end

# numpy's reshape(shape) on `n` values: an int is a 1-D shape, one negative entry is inferred.
function reshape_dims(shape, n::Int)
    dims = is_int(shape) ? Any[shape] : shape
    # Any negative entry means "infer this one" to numpy; only one may be given.
    (dims isa Vector{Any} && all(is_int, dims) && all(d -> typemin(Int) <= d <= typemax(Int), dims) &&
     count(<(0), dims) <= 1) ||
        throw(ArgumentError("\$array shape $(json_string(shape)) is not a shape"))
    known = reduce(*, (Int(d) for d in dims if d >= 0); init = 1)
    out = Int[d < 0 ? (known == 0 ? -1 : n ÷ known) : Int(d) for d in dims]
    (all(>=(0), out) && reduce(*, out; init = 1) == n) ||
        throw(ArgumentError("\$array data has $n values, not shape $(json_string(shape))"))
    return out
end
