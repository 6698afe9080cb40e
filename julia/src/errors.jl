# Error codes: one per spec invariant, declared in spec order so that comparing two codes
# compares their position in spec/checkpoint.yaml (the first failure in spec order wins).

@enum ErrorCode begin
    JSON_FILE_PRESENT
    JSON_ENCODING_UTF8
    JSON_ENCODING_BOM
    JSON_DEPTH
    JSON_SYNTAX
    JSON_NONFINITE
    JSON_NUMBER_RANGE
    JSON_KEYS_UNIQUE
    SCHEMA_ROOT_TYPE
    SCHEMA_KEYS_REQUIRED
    SCHEMA_KEYS_KNOWN
    SCHEMA_LAYER_NAMES_TYPE
    SCHEMA_LAYER_SIZES_TYPE
    SCHEMA_NEURON_TYPES_TYPE
    SCHEMA_FROZEN_LAYERS_TYPE
    SCHEMA_N_LAYERS_TYPE
    SCHEMA_TOTAL_PARAMS_TYPE
    SCHEMA_METADATA_TYPE
    SCHEMA_ARCHIVE_SHA256_TYPE
    SCHEMA_WEIGHTS_TYPE
    CHECKPOINT_LAYER_NAMES_NONEMPTY
    CHECKPOINT_LAYER_NAMES_UNIQUE
    CHECKPOINT_LAYER_SIZES_COUNT
    CHECKPOINT_LAYER_SIZES_RANGE
    CHECKPOINT_NEURON_TYPES_COUNT
    CHECKPOINT_FROZEN_LAYERS_REFERENCES
    CHECKPOINT_WEIGHTS_COUNT
    CHECKPOINT_N_LAYERS_CONSISTENT
    CHECKPOINT_TOTAL_PARAMS_CONSISTENT
    ARCHIVE_FILE_PRESENT
    ARCHIVE_DIGEST
    ARCHIVE_ZIP_STRUCTURE
    ARCHIVE_MEMBERS_DUPLICATE
    ARCHIVE_MEMBERS_UNEXPECTED
    ARCHIVE_MEMBERS_MISSING
    ARCHIVE_MEMBER_METHOD
    ARCHIVE_MEMBER_INTEGRITY
    ARRAY_NPY_MAGIC
    ARRAY_NPY_HEADER
    ARRAY_DTYPE_PICKLE
    ARRAY_DTYPE
    ARRAY_SHAPE_RANK
    ARRAY_SHAPE_MATCH
    ARRAY_DATA_LENGTH
    ARRAY_FINITE
    TRANSFER_FREEZE_UNTIL_TYPE
    TRANSFER_FREEZE_UNTIL_RANGE
    TRANSFER_LEARNING_RATE_TYPE
    TRANSFER_LEARNING_RATE_RANGE
    TRANSFER_SELECTOR_MISSING
    TRANSFER_LAYER_NAMES_TYPE
    TRANSFER_LAYER_INDEX_TYPE
    TRANSFER_ALL_LAYERS_TYPE
    TRANSFER_LAYER_NAMES_REFERENCES
    TRANSFER_LAYER_INDEX_RANGE
end

"The spec ID of each code: `JSON_FILE_PRESENT` -> \"json.file.present\"."
const CODE_IDS = Dict{ErrorCode,String}(c => replace(lowercase(string(c)), "_" => ".") for c in instances(ErrorCode))
# The mechanical name mapping cannot express underscores that belong to an ID segment.
for (c, id) in (
        SCHEMA_LAYER_NAMES_TYPE => "schema.layer_names.type",
        SCHEMA_LAYER_SIZES_TYPE => "schema.layer_sizes.type",
        SCHEMA_NEURON_TYPES_TYPE => "schema.neuron_types.type",
        SCHEMA_FROZEN_LAYERS_TYPE => "schema.frozen_layers.type",
        SCHEMA_N_LAYERS_TYPE => "schema.n_layers.type",
        SCHEMA_TOTAL_PARAMS_TYPE => "schema.total_params.type",
        SCHEMA_ARCHIVE_SHA256_TYPE => "schema.archive_sha256.type",
        CHECKPOINT_LAYER_NAMES_NONEMPTY => "checkpoint.layer_names.nonempty",
        CHECKPOINT_LAYER_NAMES_UNIQUE => "checkpoint.layer_names.unique",
        CHECKPOINT_LAYER_SIZES_COUNT => "checkpoint.layer_sizes.count",
        CHECKPOINT_LAYER_SIZES_RANGE => "checkpoint.layer_sizes.range",
        CHECKPOINT_NEURON_TYPES_COUNT => "checkpoint.neuron_types.count",
        CHECKPOINT_FROZEN_LAYERS_REFERENCES => "checkpoint.frozen_layers.references",
        CHECKPOINT_N_LAYERS_CONSISTENT => "checkpoint.n_layers.consistent",
        CHECKPOINT_TOTAL_PARAMS_CONSISTENT => "checkpoint.total_params.consistent",
        ARCHIVE_ZIP_STRUCTURE => "archive.zip.structure",
        TRANSFER_FREEZE_UNTIL_TYPE => "transfer.freeze_until.type",
        TRANSFER_FREEZE_UNTIL_RANGE => "transfer.freeze_until.range",
        TRANSFER_LEARNING_RATE_TYPE => "transfer.learning_rate.type",
        TRANSFER_LEARNING_RATE_RANGE => "transfer.learning_rate.range",
        TRANSFER_LAYER_NAMES_TYPE => "transfer.layer_names.type",
        TRANSFER_LAYER_INDEX_TYPE => "transfer.layer_index.type",
        TRANSFER_ALL_LAYERS_TYPE => "transfer.all_layers.type",
        TRANSFER_LAYER_NAMES_REFERENCES => "transfer.layer_names.references",
        TRANSFER_LAYER_INDEX_RANGE => "transfer.layer_index.range")
    CODE_IDS[c] = id
end

"""
    CheckpointError(code, message)

The one exception of this module: `code` is the violated invariant, `message` says what was
wrong and where (file, layer, key). `code_id(err)` gives the spec ID.
"""
struct CheckpointError <: Exception
    code::ErrorCode
    message::String
end

code_id(c::ErrorCode) = CODE_IDS[c]
code_id(e::CheckpointError) = CODE_IDS[e.code]

Base.showerror(io::IO, e::CheckpointError) = print(io, "CheckpointError(", code_id(e), "): ", e.message)

"Raise when an internal result is an error; public entry points use this."
unwrap(x) = x isa CheckpointError ? throw(x) : x

"The invariant IDs listed in a spec file, in order (the `- id:` lines of `invariants`)."
function spec_invariant_ids(spec_path::AbstractString)
    ids = String[]
    for line in eachline(spec_path)
        m = match(r"^  - id: *([A-Za-z0-9_.]+) *$", line)
        m === nothing || push!(ids, m.captures[1])
    end
    return ids
end

"The spec's path when this module runs from the repository (julia/src -> spec/)."
const SPEC_PATH = normpath(joinpath(@__DIR__, "..", "..", "spec", "checkpoint.yaml"))

# Load-time check: the table must name every spec ID once, in spec order. A drifted table would
# report wrong codes silently, so refuse to load instead. Skipped when the module is used
# outside the repository (no spec beside it).
function check_codes_against_spec(spec_path::AbstractString = SPEC_PATH)
    ours = [CODE_IDS[c] for c in instances(ErrorCode)]
    length(unique(ours)) == length(ours) || error("SNNCheckpoints: duplicate error code IDs")
    isfile(spec_path) || return nothing
    theirs = spec_invariant_ids(spec_path)
    ours == theirs || error("SNNCheckpoints: error codes drifted from $(spec_path): " *
                            "missing $(setdiff(theirs, ours)), extra $(setdiff(ours, theirs)) or reordered")
    return nothing
end
