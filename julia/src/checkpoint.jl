# The in-memory checkpoint, constructing it (fields.jl's construct invariants), and
# load_checkpoint(base), which runs the spec's load phases in order: json (json.jl), schema and
# checkpoint (fields.jl), archive (zip.jl), array (npy.jl). Internal functions return
# Union{T, CheckpointError}; the public entry points (SNNCheckpoint, load_checkpoint) throw.

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
total_params(c::SNNCheckpoint) = params_total(c.layer_sizes)

"Per layer: lowercase hex SHA-256 of the matrix as little-endian float64, row-major."
weight_sha256(c::SNNCheckpoint) = c.weight_digests

function matrix_digest(w::Matrix{Float64})
    rowmajor = vec(permutedims(w))          # column-major of the transpose = row-major of w
    le = htol.(rowmajor)
    return bytes2hex(SHA.sha256(reinterpret(UInt8, le)))
end

function make_checkpoint(f::Fields, weights::Vector{Matrix{Float64}})
    return SNNCheckpoint(weights, f.layer_names, f.layer_sizes, f.neuron_types, f.metadata,
                         f.frozen_layers, [matrix_digest(w) for w in weights])
end

# ------------------------------------------------------------------ construct

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
    checked = check_state(full)
    checked isa CheckpointError && return checked
    return make_checkpoint(checked...)
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

"The file's bytes, or nothing when it is not a readable regular file."
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

Reads BASE.json and BASE.npz (suffixes appended, never substituted), phase by phase in spec
order; the archive is not read before the document has passed.
"""
function load_checkpoint_result(base::AbstractString)
    json_path, archive_path = string(base, ".json"), string(base, ".npz")
    document = decode_document(read_regular_file(json_path), json_path)          # json.*
    document isa CheckpointError && return document
    fields = check_fields(document, :load)                                       # schema.*, checkpoint.*
    fields isa CheckpointError && return fields
    raws = read_archive(read_regular_file(archive_path), archive_path,            # archive.*
                        fields.layer_names, fields.archive_sha256)
    raws isa CheckpointError && return raws
    weights = decode_layers(raws, fields.layer_names, fields.layer_sizes)        # array.*
    weights isa CheckpointError && return weights
    return make_checkpoint(fields, weights)
end

"""
    load_checkpoint(base) -> SNNCheckpoint

Loads and validates the pair BASE.json + BASE.npz; throws `CheckpointError` with the first
violated load invariant in spec order.
"""
load_checkpoint(base::AbstractString) = unwrap(load_checkpoint_result(base))
