# The schema.* and checkpoint.* invariants, shared by loading and constructing, and the rank,
# shape and finiteness checks that both surfaces run on the weights (array.shape.*, array.finite).
#
# One function runs the field invariants in spec order for either surface: :load judges the
# parsed metadata document, :construct the constructor's arguments. Checks that belong to one
# surface only are guarded by it, so reading top to bottom gives the spec's order.

const REQUIRED_KEYS = ("layer_names", "layer_sizes", "neuron_types", "frozen_layers",
                       "n_layers", "total_params", "metadata")
const KNOWN_KEYS = (REQUIRED_KEYS..., "archive_sha256")

"Validated, normalized checkpoint fields; `weights` (shape, row-major values) on construct only."
struct Fields
    layer_names::Vector{String}
    layer_sizes::Vector{Tuple{Int,Int}}
    neuron_types::Vector{String}
    frozen_layers::Vector{String}
    metadata::JObject
    weights::Union{Nothing,Vector{Tuple{Vector{Int},Vector{Float64}}}}
    archive_sha256::Union{Nothing,String}
end

"""
A layer's weights: the (output_features, input_features) matrix, stored row-major as the .npy
data and the digests have it (the transposed view of a (cols, rows) Matrix), so loading,
hashing and saving use one buffer without copies.
"""
const RowMajor = PermutedDimsArray{Float64,2,(2,1),(2,1),Matrix{Float64}}
"The row-major values of a rows x cols matrix as a RowMajor (no copy)."
row_major(values::Vector{Float64}, rows::Integer, cols::Integer) = PermutedDimsArray(reshape(values, Int(cols), Int(rows)), (2, 1))
"A copy of any real matrix as a RowMajor."
row_major(m::AbstractMatrix{<:Real}) = PermutedDimsArray(Matrix{Float64}(permutedims(m)), (2, 1))

# ------------------------------------------------------------------ value predicates

"An integer in the spec's sense: Julia's Bool is an Integer, Python's bool is not one here."
is_int(x) = x isa Integer && !(x isa Bool)
"A number (int or float, not bool)."
is_number(x) = (x isa Integer || x isa AbstractFloat) && !(x isa Bool)

"A string made of Unicode scalar values (the protocol reader keeps lone surrogates as WTF-8)."
is_text(x) = x isa AbstractString && is_valid_utf8(x)

"A sequence as the surface allows: JSON arrays on load; lists or tuples in memory."
is_seq(x, surface::Symbol) = surface === :load ? x isa Vector{Any} :
    (x isa AbstractVector || x isa Tuple || x isa HostTuple)
seq_items(x::HostTuple) = x.items
seq_items(x) = x

"The number of weights the layer sizes give (Int128: no product of two int32 sizes overflows)."
params_total(sizes) = reduce(+, (Int128(i) * Int128(o) for (i, o) in sizes); init = Int128(0))

json_type_name(::Nothing) = "null"
json_type_name(::Bool) = "boolean"
json_type_name(x::Integer) = "integer"
json_type_name(::AbstractFloat) = "number"
json_type_name(::AbstractString) = "string"
json_type_name(::Vector{Any}) = "array"
json_type_name(::JObject) = "object"
json_type_name(x) = host_type_name(x)

shape_string(shape) = length(shape) == 1 ? "($(shape[1]),)" : "(" * join(string.(shape), ", ") * ")"

# ------------------------------------------------------------------ the schema invariants

"""
    check_fields(values, surface) -> Fields or CheckpointError

The schema and checkpoint invariants of `surface` (:load or :construct) in spec order.
`values` is the parsed document (load) or a JObject of the constructor's arguments (construct).
"""
function check_fields(values, surface::Symbol)
    s = check_schema(values, surface)
    s isa CheckpointError && return s
    return check_values(s, surface)
end

"The schema.* invariants: every field's type. Returns the fields as read, or the error."
function check_schema(values, surface::Symbol)
    if surface === :load
        e = check_document_keys(values)
        e === nothing || return e
    end
    names = string_list(values["layer_names"], SCHEMA_LAYER_NAMES_TYPE, surface)
    names isa CheckpointError && return names
    sizes = size_pairs(values["layer_sizes"], surface)
    sizes isa CheckpointError && return sizes
    ntypes = string_list(values["neuron_types"], SCHEMA_NEURON_TYPES_TYPE, surface)
    ntypes isa CheckpointError && return ntypes
    frozen = string_list(values["frozen_layers"], SCHEMA_FROZEN_LAYERS_TYPE, surface)
    frozen isa CheckpointError && return frozen
    if surface === :load
        for (key, code) in (("n_layers", SCHEMA_N_LAYERS_TYPE), ("total_params", SCHEMA_TOTAL_PARAMS_TYPE))
            is_int(values[key]) || return CheckpointError(code; got = json_type_name(values[key]))
        end
    end
    metadata = check_metadata(values["metadata"], surface)
    metadata isa CheckpointError && return metadata
    digest = surface === :load ? check_digest(get(values, "archive_sha256", JSON_ABSENT)) : nothing
    digest isa CheckpointError && return digest
    weights = surface === :construct ? check_weights(values["weights"]) : nothing
    weights isa CheckpointError && return weights
    counts = surface === :load ? (values["n_layers"], values["total_params"]) : (nothing, nothing)
    return (names = names, sizes = sizes, neuron_types = ntypes, frozen = frozen, metadata = metadata,
            weights = weights, digest = digest, n_layers = counts[1], total_params = counts[2])
end

"schema.root.type, schema.keys.required, schema.keys.known (the load surface only)."
function check_document_keys(values)
    values isa JObject || return CheckpointError(SCHEMA_ROOT_TYPE; got = json_type_name(values))
    for key in REQUIRED_KEYS
        haskey(values, key) || return CheckpointError(SCHEMA_KEYS_REQUIRED; key = key)
    end
    for key in keys(values)
        key in KNOWN_KEYS || return CheckpointError(SCHEMA_KEYS_KNOWN; key = key)
    end
    return nothing
end

function string_list(value, code::ErrorCode, surface::Symbol)
    is_seq(value, surface) || return CheckpointError(code; detail = "got $(host_type_name(value))")
    out = String[]
    for (i, item) in enumerate(seq_items(value))
        is_text(item) || return CheckpointError(code; detail = "item $(i - 1) is $(host_type_name(item))" *
                                                (item isa AbstractString ? " with a lone surrogate" : ""))
        push!(out, String(item))
    end
    return out
end

function size_pairs(value, surface::Symbol)
    code = SCHEMA_LAYER_SIZES_TYPE
    is_seq(value, surface) || return CheckpointError(code; detail = "got $(host_type_name(value))")
    pairs = Tuple{Integer,Integer}[]
    for (i, pair) in enumerate(seq_items(value))
        (is_seq(pair, surface) && length(seq_items(pair)) == 2) ||
            return CheckpointError(code; detail = "item $(i - 1) is not a pair")
        a, b = seq_items(pair)
        (is_int(a) && is_int(b)) || return CheckpointError(code; detail = "item $(i - 1) holds a non-integer")
        push!(pairs, (a, b))
    end
    return pairs
end

"schema.metadata.type: an object; in memory also strict JSON within the limits. As a JObject."
function check_metadata(metadata, surface::Symbol)
    (metadata isa JObject || metadata isa AbstractDict || metadata isa HostMap) ||
        return CheckpointError(SCHEMA_METADATA_TYPE; detail = "got $(host_type_name(metadata))")
    if surface === :construct
        problem = json_problem(metadata)
        problem === nothing || return CheckpointError(SCHEMA_METADATA_TYPE; detail = problem)
    end
    return as_jobject(metadata)
end

"Why an in-memory metadata value is not strict JSON within the limits, or nothing."
function json_problem(value, depth::Int = 1)
    if value isa JObject || value isa AbstractDict || value isa HostMap
        depth > METADATA_MAX_DEPTH && return "nests deeper than $METADATA_MAX_DEPTH containers"
        members = value isa JObject ? value.pairs : value isa HostMap ? value.pairs : collect(value)
        for (k, item) in members
            is_text(k) || return "key $(k isa AbstractString ? json_string(k) : host_type_name(k)) is not a string"
            problem = json_problem(item, depth + 1)
            problem === nothing || return "$(json_string(k)): $problem"
        end
        return nothing
    elseif value isa AbstractVector
        depth > METADATA_MAX_DEPTH && return "nests deeper than $METADATA_MAX_DEPTH containers"
        for (i, item) in enumerate(value)
            problem = json_problem(item, depth + 1)
            problem === nothing || return "[$(i - 1)]: $problem"
        end
        return nothing
    elseif value === nothing || value isa Bool
        return nothing
    elseif value isa Integer
        return JSON_INTEGER_MIN <= value <= JSON_INTEGER_MAX ? nothing : "integer $value is out of range"
    elseif value isa AbstractFloat
        return isfinite(value) ? nothing : "$value is not a finite number"
    elseif value isa AbstractString
        return is_text(value) ? nothing : "a string holds a lone surrogate"
    end
    return "$(host_type_name(value)) is not a JSON value"
end

"Metadata that passed json_problem, as a JObject (an in-memory Dict is kept in its order)."
as_jobject(m::JObject) = m
as_jobject(m::AbstractDict) = JObject(Pair{String,Any}[String(k) => as_json(v) for (k, v) in m])
as_json(v::AbstractDict) = as_jobject(v)
as_json(v::AbstractVector) = Any[as_json(x) for x in v]
as_json(v) = v

"schema.archive_sha256.type: absent (nothing) or 64 lowercase hex digits."
function check_digest(digest)
    digest === JSON_ABSENT && return nothing
    (digest isa String && occursin(r"^[0-9a-f]{64}$", digest)) && return digest
    return CheckpointError(SCHEMA_ARCHIVE_SHA256_TYPE;
                           detail = "got " * (digest isa String ? json_string(digest) : json_type_name(digest)))
end

"schema.weights.type: a sequence of numeric arrays, each as (shape, row-major values)."
function check_weights(w)
    is_seq(w, :construct) || return CheckpointError(SCHEMA_WEIGHTS_TYPE; detail = "got $(host_type_name(w))")
    weights = Tuple{Vector{Int},Vector{Float64}}[]
    for (i, item) in enumerate(seq_items(w))
        arr = item isa HostArray || item isa AbstractArray || is_seq(item, :construct) ? weight_array(item) :
              "is $(host_type_name(item))"
        arr isa String && return CheckpointError(SCHEMA_WEIGHTS_TYPE; detail = "item $(i - 1) $arr")
        push!(weights, arr)
    end
    return weights
end

"A weight's shape and row-major values, or a problem (schema.weights.type) as a String."
function weight_array(w)
    if w isa HostArray
        return (w.shape, w.data)
    elseif w isa RowMajor
        return ([size(w)...], vec(parent(w)))       # already row-major float64: no copy
    elseif w isa AbstractArray && eltype(w) !== Any
        # A native Julia array: its element type is its dtype.
        T = eltype(w)
        T <: Bool && return "has dtype bool"
        T <: Real || return "has dtype $T"
        ndims(w) == 0 && return (Int[], Float64[Float64(w[])])
        flat = vec(permutedims(Float64.(w), ndims(w):-1:1))     # row-major
        return (collect(size(w)), flat)
    elseif !is_seq(w, :construct)
        return "is $(host_type_name(w))"
    end
    levels = nested_levels(w, WEIGHT_MAX_DEPTH)
    levels isa String && return levels
    shape, leaves = levels
    values = Float64[]
    for x in leaves
        v = weight_leaf(x)
        v isa String && return v
        push!(values, v)
    end
    return (shape, values)
end

"""
    nested_levels(x, max_depth) -> (shape, row-major leaves) or a problem String

A nested sequence walked level by level (never recursively, so no depth can overflow the stack):
each level's items are all sequences of one common length (a dimension), or none is a sequence
(the leaves). More than `max_depth` levels of sequences is refused.
"""
function nested_levels(x, max_depth::Int)
    level = Any[x]
    shape = Int[]
    while !isempty(level) && all(item -> is_seq(item, :construct), level)
        length(shape) == max_depth && return "nests deeper than $max_depth levels"
        n = length(seq_items(level[1]))
        all(item -> length(seq_items(item)) == n, level) || return "is a ragged sequence"
        push!(shape, n)
        level = Any[leaf for item in level for leaf in seq_items(item)]
    end
    any(item -> is_seq(item, :construct), level) && return "is a ragged sequence"
    return (shape, level)
end

"One number of a nested-sequence weight as Float64 (nearest, ties to even), or the problem."
function weight_leaf(x)
    x isa Bool && return "holds a boolean"     # numpy would quietly make it 1
    x isa AbstractFloat && return Float64(x)   # NaN and infinities are array.finite's
    if x isa Integer
        JSON_INTEGER_MIN <= x <= JSON_INTEGER_MAX || return "holds the out-of-range integer $x"
        return Float64(x)
    end
    return "holds $(host_type_name(x))"
end

# ------------------------------------------------------------------ the checkpoint invariants

"The checkpoint.* invariants over fields that passed the schema; the normalized Fields."
function check_values(s, surface::Symbol)
    names = s.names
    for (i, name) in enumerate(names)
        isempty(name) && return CheckpointError(CHECKPOINT_LAYER_NAMES_NONEMPTY; index = i - 1)
    end
    seen = Set{String}()
    for name in names
        name in seen && return CheckpointError(CHECKPOINT_LAYER_NAMES_UNIQUE; name = name)
        push!(seen, name)
    end
    length(s.sizes) == length(names) ||
        return CheckpointError(CHECKPOINT_LAYER_SIZES_COUNT; got = length(s.sizes), expected = length(names))
    for (name, pair) in zip(names, s.sizes), (field, value) in zip(("input_features", "output_features"), pair)
        LAYER_FEATURES_MIN <= value <= LAYER_FEATURES_MAX || return CheckpointError(CHECKPOINT_LAYER_SIZES_RANGE;
            name = name, field = field, value = value, maximum = LAYER_FEATURES_MAX)
    end
    (isempty(s.neuron_types) || length(s.neuron_types) == length(names)) ||
        return CheckpointError(CHECKPOINT_NEURON_TYPES_COUNT; got = length(s.neuron_types), expected = length(names))
    for name in s.frozen
        name in seen || return CheckpointError(CHECKPOINT_FROZEN_LAYERS_REFERENCES; name = name)
    end
    (s.weights === nothing || length(s.weights) == length(names)) ||
        return CheckpointError(CHECKPOINT_WEIGHTS_COUNT; got = length(s.weights), expected = length(names))
    sizes = Tuple{Int,Int}[(Int(a), Int(b)) for (a, b) in s.sizes]
    if surface === :load
        s.n_layers == length(names) ||
            return CheckpointError(CHECKPOINT_N_LAYERS_CONSISTENT; got = s.n_layers, expected = length(names))
        total = params_total(sizes)
        s.total_params == total ||
            return CheckpointError(CHECKPOINT_TOTAL_PARAMS_CONSISTENT; got = s.total_params, expected = total)
    end
    return Fields(names, sizes, s.neuron_types, sort!(unique(s.frozen)), s.metadata, s.weights, s.digest)
end

# ------------------------------------------------------------------ weights, on both surfaces

"array.shape.rank over every layer."
function check_ranks(names::Vector{String}, shapes)
    for (name, shape) in zip(names, shapes)
        length(shape) == 2 || return CheckpointError(ARRAY_SHAPE_RANK; name = name, shape = shape_string(shape))
    end
    return nothing
end

"array.shape.match over every layer: (output_features, input_features)."
function check_shapes(names::Vector{String}, sizes::Vector{Tuple{Int,Int}}, shapes)
    for (name, (inputs, outputs), shape) in zip(names, sizes, shapes)
        shape == [outputs, inputs] || return CheckpointError(ARRAY_SHAPE_MATCH;
            name = name, shape = shape_string(shape), expected = "($outputs, $inputs)")
    end
    return nothing
end

"array.finite over every layer; the position is reported in row-major order."
function check_finite(names::Vector{String}, weights::Vector{RowMajor})
    for (name, w) in zip(names, weights)
        k = findfirst(!isfinite, vec(parent(w)))
        k === nothing || return CheckpointError(ARRAY_FINITE; name = name,
                                                position = "($((k - 1) ÷ size(w, 2)), $((k - 1) % size(w, 2)))")
    end
    return nothing
end

"""
    check_state(values) -> (Fields, weight matrices) or CheckpointError

Every invariant of the construct surface, in spec order, over in-memory values.
"""
function check_state(values::JObject)
    f = check_fields(values, :construct)
    f isa CheckpointError && return f
    shapes = [shape for (shape, _) in f.weights]
    e = check_ranks(f.layer_names, shapes)
    e === nothing || return e
    e = check_shapes(f.layer_names, f.layer_sizes, shapes)
    e === nothing || return e
    matrices = RowMajor[row_major(data, shape[1], shape[2]) for (shape, data) in f.weights]
    e = check_finite(f.layer_names, matrices)
    e === nothing || return e
    return (f, matrices)
end
