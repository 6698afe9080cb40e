# The in-memory checkpoint, its construct invariants, and load_checkpoint(base) with every load
# invariant in spec order: json (the document's bytes), schema, checkpoint (values), archive
# (the zip), array (each .npy member). Internal functions return Union{T, CheckpointError};
# the public entry points (SNNCheckpoint, load_checkpoint) throw.

const JSON_MAX_DEPTH = 64
const LAYER_FEATURES_MAX = 2147483647
const METADATA_MAX_DEPTH = 63
const REQUIRED_KEYS = ("layer_names", "layer_sizes", "neuron_types", "frozen_layers",
                       "n_layers", "total_params", "metadata")
const KNOWN_KEYS = (REQUIRED_KEYS..., "archive_sha256")

"""
    SNNCheckpoint

A spiking network's weights and fine-tuning metadata. `weights[i]` is layer i's
(output_features, input_features) float64 matrix; `frozen_layers` stays sorted and unique.
"""
mutable struct SNNCheckpoint
    weights::Vector{Matrix{Float64}}
    layer_names::Vector{String}
    layer_sizes::Vector{Tuple{Int,Int}}
    neuron_types::Vector{String}
    metadata::JObject
    frozen_layers::Vector{String}
    weight_digests::Vector{String}     # cached: weights never change after construction
end

n_layers(c::SNNCheckpoint) = length(c.layer_names)
total_params(c::SNNCheckpoint) = reduce(+, (Int128(i) * Int128(o) for (i, o) in c.layer_sizes); init = Int128(0))

"Per layer: lowercase hex SHA-256 of the matrix as little-endian float64, row-major."
weight_sha256(c::SNNCheckpoint) = c.weight_digests

function matrix_digest(w::Matrix{Float64})
    rowmajor = vec(permutedims(w))          # column-major of the transpose = row-major of w
    le = htol.(rowmajor)
    return bytes2hex(SHA.sha256(reinterpret(UInt8, le)))
end

# ------------------------------------------------------------------ value predicates

"A string made of Unicode scalar values (the protocol reader keeps lone surrogates as WTF-8)."
is_text(x) = x isa AbstractString && is_valid_utf8(x)

"A sequence as the surface allows: JSON arrays on load; lists or tuples in memory."
is_seq(x, surface::Symbol) = surface === :load ? x isa Vector{Any} :
    (x isa AbstractVector || x isa Tuple || x isa HostTuple)
seq_items(x::HostTuple) = x.items
seq_items(x) = x

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
        return abs(value) <= MAX_SAFE_INTEGER ? nothing : "integer $value is out of range"
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

# ------------------------------------------------------------------ construct weights

"A weight's shape and row-major values, or a problem (schema.weights.type) as a String."
function weight_array(w)
    if w isa HostArray
        return (w.shape, w.data)
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
    # A nested sequence: rectangular, and every leaf a real number (a boolean is not one).
    shape = Int[]
    leaves = Any[]
    leaf_depth = Ref(0)
    ragged = !collect_nested!(w, 1, shape, leaves, leaf_depth)
    ragged && return "is a ragged sequence"
    for x in leaves
        if x isa Bool
            return "holds a boolean"
        elseif x isa AbstractFloat
            continue
        elseif x isa Integer
            -(Int128(2)^63) <= x <= Int128(2)^64 - 1 || return "has dtype object (an integer beyond 64 bits)"
        elseif x isa AbstractString
            return "has dtype str"
        else
            return "has dtype object ($(host_type_name(x)))"
        end
    end
    return (shape, Float64[Float64(x) for x in leaves])
end

# Walks a nested sequence depth-first (row-major), fixing the shape from the first path and
# refusing any element whose structure differs. Returns false when ragged.
function collect_nested!(x, depth::Int, shape::Vector{Int}, leaves::Vector{Any}, leaf_depth::Ref{Int})
    if x isa HostArray
        x = nested_from_array(x)
    end
    if is_seq(x, :construct) && !(x isa AbstractString)
        xs = seq_items(x)
        leaf_depth[] != 0 && depth >= leaf_depth[] && return false
        if depth > length(shape)
            push!(shape, length(xs))
        elseif shape[depth] != length(xs)
            return false
        end
        if isempty(xs)
            # An empty level ends the shape here; deeper levels seen elsewhere are ragged.
            length(shape) == depth || return false
            leaf_depth[] == 0 && (leaf_depth[] = depth + 1)
            return leaf_depth[] == depth + 1
        end
        for item in xs
            collect_nested!(item, depth + 1, shape, leaves, leaf_depth) || return false
        end
        return true
    end
    if leaf_depth[] == 0
        leaf_depth[] = depth
        length(shape) == depth - 1 || return false
    elseif leaf_depth[] != depth
        return false
    end
    push!(leaves, x)
    return true
end

function nested_from_array(h::HostArray)
    isempty(h.shape) && return h.data[1]
    build(level, offset) = level == length(h.shape) ?
        Any[h.data[offset+k] for k in 1:h.shape[level]] :
        (stride = reduce(*, h.shape[level+1:end]; init = 1);
         Any[build(level + 1, offset + (k - 1) * stride) for k in 1:h.shape[level]])
    return build(1, 0)
end

# ------------------------------------------------------------------ schema and checkpoint phases

struct Fields
    layer_names::Vector{String}
    layer_sizes::Vector{Tuple{Int,Int}}
    neuron_types::Vector{String}
    frozen_layers::Vector{String}
    metadata::JObject
    weights::Union{Nothing,Vector{Tuple{Vector{Int},Vector{Float64}}}}
    archive_sha256::Union{Nothing,String}
end

function string_list(value, code::ErrorCode, what::String, surface::Symbol)
    is_seq(value, surface) ||
        return CheckpointError(code, "Checkpoint $what must be a list of strings: got $(host_type_name(value))")
    out = String[]
    for (i, item) in enumerate(seq_items(value))
        is_text(item) ||
            return CheckpointError(code, "Checkpoint $what must be a list of strings: item $(i - 1) is $(host_type_name(item))" *
                                         (item isa AbstractString ? " with a lone surrogate" : ""))
        push!(out, String(item))
    end
    return out
end

function size_pairs(value, surface::Symbol)
    code = SCHEMA_LAYER_SIZES_TYPE
    prefix = "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: "
    is_seq(value, surface) || return CheckpointError(code, prefix * "got $(host_type_name(value))")
    pairs = Tuple{Integer,Integer}[]
    for (i, pair) in enumerate(seq_items(value))
        (is_seq(pair, surface) && length(seq_items(pair)) == 2) ||
            return CheckpointError(code, prefix * "item $(i - 1) is not a pair")
        a, b = seq_items(pair)
        (is_int(a) && is_int(b)) || return CheckpointError(code, prefix * "item $(i - 1) holds a non-integer")
        push!(pairs, (a, b))
    end
    return pairs
end

"""
    check_fields(values, surface) -> Fields or CheckpointError

The schema and checkpoint invariants of `surface` (:load or :construct) in spec order.
`values` is the parsed document (load) or a JObject of the constructor's arguments (construct).
"""
function check_fields(values, surface::Symbol)
    if surface === :load
        values isa JObject || return CheckpointError(SCHEMA_ROOT_TYPE,
            "Checkpoint metadata must be a JSON object, not $(json_type_name(values))")
        for key in REQUIRED_KEYS
            haskey(values, key) || return CheckpointError(SCHEMA_KEYS_REQUIRED,
                "Checkpoint metadata is missing required key $(json_string(key))")
        end
        for key in keys(values)
            key in KNOWN_KEYS || return CheckpointError(SCHEMA_KEYS_KNOWN,
                "Checkpoint metadata has unknown key $(json_string(key))")
        end
    end
    names = string_list(values["layer_names"], SCHEMA_LAYER_NAMES_TYPE, "layer_names", surface)
    names isa CheckpointError && return names
    sizes = size_pairs(values["layer_sizes"], surface)
    sizes isa CheckpointError && return sizes
    ntypes = string_list(values["neuron_types"], SCHEMA_NEURON_TYPES_TYPE, "neuron_types", surface)
    ntypes isa CheckpointError && return ntypes
    frozen = string_list(values["frozen_layers"], SCHEMA_FROZEN_LAYERS_TYPE, "frozen_layers", surface)
    frozen isa CheckpointError && return frozen
    if surface === :load
        for (key, code) in (("n_layers", SCHEMA_N_LAYERS_TYPE), ("total_params", SCHEMA_TOTAL_PARAMS_TYPE))
            is_int(values[key]) || return CheckpointError(code,
                "Checkpoint $key must be an integer, not $(json_type_name(values[key]))")
        end
    end
    metadata = values["metadata"]
    (metadata isa JObject || metadata isa AbstractDict || metadata isa HostMap) ||
        return CheckpointError(SCHEMA_METADATA_TYPE, "Checkpoint metadata must be a JSON object: got $(host_type_name(metadata))")
    if surface === :construct
        problem = json_problem(metadata)
        problem === nothing || return CheckpointError(SCHEMA_METADATA_TYPE, "Checkpoint metadata must be a JSON object: $problem")
    end
    metadata = as_jobject(metadata)
    digest = surface === :load ? get(values, "archive_sha256", JSON_ABSENT) : JSON_ABSENT
    if digest !== JSON_ABSENT
        (digest isa String && occursin(r"^[0-9a-f]{64}$", digest)) ||
            return CheckpointError(SCHEMA_ARCHIVE_SHA256_TYPE, "Checkpoint archive_sha256 must be 64 lowercase hex digits: got " *
                                   (digest isa String ? json_string(digest) : json_type_name(digest)))
    end
    weights = nothing
    if surface === :construct
        w = values["weights"]
        is_seq(w, :construct) || return CheckpointError(SCHEMA_WEIGHTS_TYPE,
            "Checkpoint weights must be a list of numeric arrays: got $(host_type_name(w))")
        weights = Tuple{Vector{Int},Vector{Float64}}[]
        for (i, item) in enumerate(seq_items(w))
            arr = item isa HostArray || item isa AbstractArray || is_seq(item, :construct) ? weight_array(item) :
                  "is $(host_type_name(item))"
            arr isa String && return CheckpointError(SCHEMA_WEIGHTS_TYPE,
                "Checkpoint weights must be a list of numeric arrays: item $(i - 1) $arr")
            push!(weights, arr)
        end
    end

    for (i, name) in enumerate(names)
        isempty(name) && return CheckpointError(CHECKPOINT_LAYER_NAMES_NONEMPTY, "Checkpoint layer name at index $(i - 1) is empty")
    end
    seen = Set{String}()
    for name in names
        name in seen && return CheckpointError(CHECKPOINT_LAYER_NAMES_UNIQUE,
            "Checkpoint layer_names must be unique: $(json_string(name)) appears more than once")
        push!(seen, name)
    end
    length(sizes) == length(names) || return CheckpointError(CHECKPOINT_LAYER_SIZES_COUNT,
        "Checkpoint layer_sizes has $(length(sizes)) entries but there are $(length(names)) layers")
    for (name, pair) in zip(names, sizes)
        for (field, value) in zip(("input_features", "output_features"), pair)
            1 <= value <= LAYER_FEATURES_MAX || return CheckpointError(CHECKPOINT_LAYER_SIZES_RANGE,
                "Checkpoint layer $(json_string(name)) has $field = $value, outside [1, $LAYER_FEATURES_MAX]")
        end
    end
    (isempty(ntypes) || length(ntypes) == length(names)) || return CheckpointError(CHECKPOINT_NEURON_TYPES_COUNT,
        "Checkpoint neuron_types has $(length(ntypes)) entries but there are $(length(names)) layers (or pass none)")
    for name in frozen
        name in seen || return CheckpointError(CHECKPOINT_FROZEN_LAYERS_REFERENCES,
            "Checkpoint frozen layer $(json_string(name)) is not a layer of this checkpoint")
    end
    if weights !== nothing && length(weights) != length(names)
        return CheckpointError(CHECKPOINT_WEIGHTS_COUNT,
            "Checkpoint has $(length(weights)) weight matrices but there are $(length(names)) layers")
    end
    int_sizes = Tuple{Int,Int}[(Int(a), Int(b)) for (a, b) in sizes]
    if surface === :load
        values["n_layers"] == length(names) || return CheckpointError(CHECKPOINT_N_LAYERS_CONSISTENT,
            "Checkpoint n_layers is $(values["n_layers"]) but there are $(length(names)) layers")
        total = reduce(+, (Int128(i) * Int128(o) for (i, o) in int_sizes); init = Int128(0))
        values["total_params"] == total || return CheckpointError(CHECKPOINT_TOTAL_PARAMS_CONSISTENT,
            "Checkpoint total_params is $(values["total_params"]) but the layer sizes give $total")
    end
    return Fields(names, int_sizes, ntypes, sort!(unique(frozen)), metadata, weights,
                  digest isa String ? digest : nothing)
end

json_type_name(::Nothing) = "null"
json_type_name(::Bool) = "boolean"
json_type_name(x::Integer) = "integer"
json_type_name(::AbstractFloat) = "number"
json_type_name(::AbstractString) = "string"
json_type_name(::Vector{Any}) = "array"
json_type_name(::JObject) = "object"
json_type_name(x) = host_type_name(x)

shape_string(shape) = length(shape) == 1 ? "($(shape[1]),)" : "(" * join(string.(shape), ", ") * ")"

function rank_error(name, shape)
    return CheckpointError(ARRAY_SHAPE_RANK, "Checkpoint layer $(json_string(name)) weights must be 2-D, got shape $(shape_string(shape))")
end

function match_error(name, shape, inputs, outputs)
    return CheckpointError(ARRAY_SHAPE_MATCH, "Checkpoint layer $(json_string(name)) weights have shape " *
                           "$(shape_string(shape)), expected ($outputs, $inputs)")
end

"array.finite over one layer; the position is reported in row-major order."
function finite_error(name, w::Matrix{Float64})
    rows, cols = size(w)
    for r in 1:rows, c in 1:cols
        isfinite(w[r, c]) || return CheckpointError(ARRAY_FINITE,
            "Checkpoint layer $(json_string(name)) has a non-finite weight at ($(r - 1), $(c - 1))")
    end
    return nothing
end

function make_checkpoint(f::Fields, weights::Vector{Matrix{Float64}})
    return SNNCheckpoint(weights, f.layer_names, f.layer_sizes, f.neuron_types, f.metadata,
                         f.frozen_layers, [matrix_digest(w) for w in weights])
end

"""
    construct_checkpoint(values) -> SNNCheckpoint or CheckpointError

Every construct invariant in spec order. `values` is a JObject with `weights`, `layer_names`,
`layer_sizes` and optionally `neuron_types`, `metadata`, `frozen_layers`.
"""
function construct_checkpoint(values::JObject)
    full = JObject(copy(values.pairs))
    for (key, default) in (("neuron_types", Any[]), ("metadata", JObject()), ("frozen_layers", Any[]))
        haskey(full, key) || push!(full.pairs, key => default)
    end
    for key in ("weights", "layer_names", "layer_sizes")
        haskey(full, key) || throw(ArgumentError("SNNCheckpoint needs $key"))
    end
    f = check_fields(full, :construct)
    f isa CheckpointError && return f
    for (name, (shape, _)) in zip(f.layer_names, f.weights)
        length(shape) == 2 || return rank_error(name, shape)
    end
    for (name, (inputs, outputs), (shape, _)) in zip(f.layer_names, f.layer_sizes, f.weights)
        shape == [outputs, inputs] || return match_error(name, shape, inputs, outputs)
    end
    matrices = Matrix{Float64}[permutedims(reshape(data, shape[2], shape[1])) for (shape, data) in f.weights]
    for (name, w) in zip(f.layer_names, matrices)
        e = finite_error(name, w)
        e === nothing || return e
    end
    return make_checkpoint(f, matrices)
end

"""
    SNNCheckpoint(weights, layer_names, layer_sizes; neuron_types=[], metadata=Dict(), frozen_layers=[])

Builds and validates a checkpoint; throws `CheckpointError` with the first violated construct
invariant. Weights are (output_features, input_features) real matrices.
"""
function SNNCheckpoint(weights, layer_names, layer_sizes; neuron_types = Any[], metadata = JObject(),
                       frozen_layers = Any[])
    values = JObject(Pair{String,Any}["weights" => weights, "layer_names" => layer_names,
                                      "layer_sizes" => layer_sizes, "neuron_types" => neuron_types,
                                      "metadata" => metadata, "frozen_layers" => frozen_layers])
    return unwrap(construct_checkpoint(values))
end

# ------------------------------------------------------------------ load

function read_regular_file(path::String)
    isfile(path) || return nothing
    try
        return read(path)
    catch err
        err isa SystemError || err isa Base.IOError || rethrow()
        return nothing
    end
end

"""
    load_checkpoint_result(base) -> SNNCheckpoint or CheckpointError

Reads BASE.json and BASE.npz (suffixes appended, never substituted) with every load invariant.
"""
function load_checkpoint_result(base::AbstractString)
    json_path = string(base, ".json")
    archive_path = string(base, ".npz")
    text = read_regular_file(json_path)
    text === nothing && return CheckpointError(JSON_FILE_PRESENT, "Checkpoint metadata file not found: $json_path")
    doc = read_json_strict(text, JSON_MAX_DEPTH)
    if doc isa JSONProblem
        msg = doc.code == JSON_ENCODING_UTF8 ? "Checkpoint metadata is not valid UTF-8: $json_path: $(doc.detail)" :
              doc.code == JSON_ENCODING_BOM ? "Checkpoint metadata starts with a byte-order mark: $json_path" :
              doc.code == JSON_DEPTH ? "Checkpoint metadata nests deeper than $JSON_MAX_DEPTH levels: $json_path" :
              doc.code == JSON_SYNTAX ? "Checkpoint metadata is not valid JSON: $json_path: $(doc.detail)" :
              doc.code == JSON_NONFINITE ? "Checkpoint metadata contains a non-finite number literal ($(doc.detail)), which is not JSON" :
              doc.code == JSON_NUMBER_RANGE ? "Checkpoint metadata number $(doc.detail) is out of range" :
              "Checkpoint metadata has duplicate key $(json_string(doc.detail))"
        return CheckpointError(doc.code, msg)
    end
    f = check_fields(doc, :load)
    f isa CheckpointError && return f
    archive = read_regular_file(archive_path)
    archive === nothing && return CheckpointError(ARCHIVE_FILE_PRESENT, "Checkpoint weight archive not found: $archive_path")
    if f.archive_sha256 !== nothing && bytes2hex(SHA.sha256(archive)) != f.archive_sha256
        return CheckpointError(ARCHIVE_DIGEST,
            "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): $archive_path")
    end
    raws = member_bytes(archive, f.layer_names, archive_path)
    raws isa CheckpointError && return raws
    weights = decode_arrays(raws, f)
    weights isa CheckpointError && return weights
    return make_checkpoint(f, weights)
end

"""
    load_checkpoint(base) -> SNNCheckpoint

Loads and validates the pair BASE.json + BASE.npz; throws `CheckpointError` with the first
violated load invariant in spec order.
"""
load_checkpoint(base::AbstractString) = unwrap(load_checkpoint_result(base))

"The archive invariants: structure, member names, methods, integrity."
function member_bytes(archive::Vector{UInt8}, names::Vector{String}, path::String)
    entries = read_zip_directory(archive)
    entries isa ZipProblem && return CheckpointError(ARCHIVE_ZIP_STRUCTURE, "Checkpoint archive is not a valid zip file: $path: $(entries.detail)")
    seen = Set{Vector{UInt8}}()
    for e in entries
        e.name in seen && return CheckpointError(ARCHIVE_MEMBERS_DUPLICATE,
            "Checkpoint archive has member $(json_string(entry_name(e))) more than once: $path")
        push!(seen, e.name)
    end
    expected = [Vector{UInt8}(codeunits("layer_$(i - 1).npy")) for i in 1:length(names)]
    expected_set = Set(expected)
    for e in entries
        e.name in expected_set || return CheckpointError(ARCHIVE_MEMBERS_UNEXPECTED,
            "Checkpoint archive has unexpected member $(json_string(entry_name(e))): $path")
    end
    by_name = Dict(e.name => e for e in entries)
    for (member, name) in zip(expected, names)
        haskey(by_name, member) || return CheckpointError(ARCHIVE_MEMBERS_MISSING,
            "Checkpoint archive has no member $(json_string(String(copy(member)))) for layer $(json_string(name)): $path")
    end
    ordered = [by_name[m] for m in expected]
    for e in ordered
        e.method in (0, 8) || return CheckpointError(ARCHIVE_MEMBER_METHOD,
            "Checkpoint archive member $(json_string(entry_name(e))) uses unsupported compression method $(e.method): $path")
        e.flags & 0x0041 == 0 || return CheckpointError(ARCHIVE_MEMBER_METHOD,
            "Checkpoint archive member $(json_string(entry_name(e))) uses unsupported encryption: $path")
    end
    raws = AbstractVector{UInt8}[]
    for e in ordered
        data = read_member(archive, e)
        data isa String && return CheckpointError(ARCHIVE_MEMBER_INTEGRITY,
            "Checkpoint archive member $(json_string(entry_name(e))) is corrupt: $data: $path")
        push!(raws, data)
    end
    return raws
end

"The array invariants over every layer, each before the next (earliest code wins, then layer)."
function decode_arrays(raws::Vector{AbstractVector{UInt8}}, f::Fields)
    names = f.layer_names
    members = ["layer_$(i - 1).npy" for i in 1:length(names)]
    where_(i) = "Checkpoint layer $(json_string(names[i])) ($(members[i]))"
    headers = NpyHeader[]
    first_error = nothing
    keep(e) = (first_error === nothing || e.code < first_error.code) && (first_error = e)
    # magic, header, pickle, dtype: a layer that fails one is not judged further.
    for (i, raw) in enumerate(raws)
        h = read_npy_header(raw)
        if h isa NpyProblem
            keep(CheckpointError(h.code, h.code == ARRAY_NPY_MAGIC ? "$(where_(i)) is not a .npy array: $(h.detail)" :
                                         "$(where_(i)) has a malformed .npy header: $(h.detail)"))
            continue
        end
        d = check_npy_dtype(h.descr)
        if d !== nothing
            keep(CheckpointError(d.code, d.code == ARRAY_DTYPE_PICKLE ? "$(where_(i)) holds a pickled object array, which is refused" :
                                         "$(where_(i)) has unsupported dtype $(json_string(h.descr))"))
            continue
        end
        push!(headers, h)
    end
    first_error === nothing || return first_error
    for (name, h) in zip(names, headers)
        length(h.shape) == 2 || return rank_error(name, h.shape)
    end
    for (name, (inputs, outputs), h) in zip(names, f.layer_sizes, headers)
        h.shape == [outputs, inputs] || return match_error(name, h.shape, inputs, outputs)
    end
    for (i, (raw, h)) in enumerate(zip(raws, headers))
        got = length(raw) - h.data_start + 1
        expected = npy_expected_length(h)
        got == expected || return CheckpointError(ARRAY_DATA_LENGTH,
            "$(where_(i)) has $got data bytes, its header declares $expected")
    end
    weights = Matrix{Float64}[widen_npy_data(raw, h) for (raw, h) in zip(raws, headers)]
    for (name, w) in zip(names, weights)
        e = finite_error(name, w)
        e === nothing || return e
    end
    return weights
end
