# The one error type: a code per spec invariant, declared in spec order so that comparing two
# codes compares their position in spec/checkpoint.yaml (the first failure in spec order wins),
# and each invariant's message template (the spec's `message`, verbatim).

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

# The spec's `message` of every invariant, verbatim (test/errors.jl keeps them equal). `{field}`
# is replaced by the field's text, `{field!r}` by the field quoted (a JSON string for strings).
const MESSAGES = Dict{ErrorCode,String}(
    JSON_FILE_PRESENT => "Checkpoint metadata file not found: {path}",
    JSON_ENCODING_UTF8 => "Checkpoint metadata is not valid UTF-8: {detail}",
    JSON_ENCODING_BOM => "Checkpoint metadata starts with a byte-order mark",
    JSON_DEPTH => "Checkpoint metadata nests deeper than {limit} levels",
    JSON_SYNTAX => "Checkpoint metadata is not valid JSON: {detail}",
    JSON_NONFINITE => "Checkpoint metadata contains a non-finite number literal ({token}), which is not JSON",
    JSON_NUMBER_RANGE => "Checkpoint metadata number {number} is out of range",
    JSON_KEYS_UNIQUE => "Checkpoint metadata has duplicate key {key!r}",
    SCHEMA_ROOT_TYPE => "Checkpoint metadata must be a JSON object, not {got}",
    SCHEMA_KEYS_REQUIRED => "Checkpoint metadata is missing required key {key!r}",
    SCHEMA_KEYS_KNOWN => "Checkpoint metadata has unknown key {key!r}",
    SCHEMA_LAYER_NAMES_TYPE => "Checkpoint layer_names must be a list of strings: {detail}",
    SCHEMA_LAYER_SIZES_TYPE => "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: {detail}",
    SCHEMA_NEURON_TYPES_TYPE => "Checkpoint neuron_types must be a list of strings: {detail}",
    SCHEMA_FROZEN_LAYERS_TYPE => "Checkpoint frozen_layers must be a list of strings: {detail}",
    SCHEMA_N_LAYERS_TYPE => "Checkpoint n_layers must be an integer, not {got}",
    SCHEMA_TOTAL_PARAMS_TYPE => "Checkpoint total_params must be an integer, not {got}",
    SCHEMA_METADATA_TYPE => "Checkpoint metadata must be a JSON object: {detail}",
    SCHEMA_ARCHIVE_SHA256_TYPE => "Checkpoint archive_sha256 must be 64 lowercase hex digits: {detail}",
    SCHEMA_WEIGHTS_TYPE => "Checkpoint weights must be a list of numeric arrays: {detail}",
    CHECKPOINT_LAYER_NAMES_NONEMPTY => "Checkpoint layer name at index {index} is empty",
    CHECKPOINT_LAYER_NAMES_UNIQUE => "Checkpoint layer_names must be unique: {name!r} appears more than once",
    CHECKPOINT_LAYER_SIZES_COUNT => "Checkpoint layer_sizes has {got} entries but there are {expected} layers",
    CHECKPOINT_LAYER_SIZES_RANGE => "Checkpoint layer {name!r} has {field} = {value}, outside [1, {maximum}]",
    CHECKPOINT_NEURON_TYPES_COUNT => "Checkpoint neuron_types has {got} entries but there are {expected} layers (or pass none)",
    CHECKPOINT_FROZEN_LAYERS_REFERENCES => "Checkpoint frozen layer {name!r} is not a layer of this checkpoint",
    CHECKPOINT_WEIGHTS_COUNT => "Checkpoint has {got} weight matrices but there are {expected} layers",
    CHECKPOINT_N_LAYERS_CONSISTENT => "Checkpoint n_layers is {got} but there are {expected} layers",
    CHECKPOINT_TOTAL_PARAMS_CONSISTENT => "Checkpoint total_params is {got} but the layer sizes give {expected}",
    ARCHIVE_FILE_PRESENT => "Checkpoint weight archive not found: {path}",
    ARCHIVE_DIGEST => "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): {path}",
    ARCHIVE_ZIP_STRUCTURE => "Checkpoint archive is not a valid zip file: {detail}",
    ARCHIVE_MEMBERS_DUPLICATE => "Checkpoint archive has member {member!r} more than once",
    ARCHIVE_MEMBERS_UNEXPECTED => "Checkpoint archive has unexpected member {member!r}",
    ARCHIVE_MEMBERS_MISSING => "Checkpoint archive has no member {member!r} for layer {name!r}",
    ARCHIVE_MEMBER_METHOD => "Checkpoint archive member {member!r} uses unsupported {detail}",
    ARCHIVE_MEMBER_INTEGRITY => "Checkpoint archive member {member!r} is corrupt: {detail}",
    ARRAY_NPY_MAGIC => "Checkpoint layer {name!r} ({member}) is not a .npy array: {detail}",
    ARRAY_NPY_HEADER => "Checkpoint layer {name!r} ({member}) has a malformed .npy header: {detail}",
    ARRAY_DTYPE_PICKLE => "Checkpoint layer {name!r} ({member}) holds a pickled object array, which is refused",
    ARRAY_DTYPE => "Checkpoint layer {name!r} ({member}) has unsupported dtype {descr!r}",
    ARRAY_SHAPE_RANK => "Checkpoint layer {name!r} weights must be 2-D, got shape {shape}",
    ARRAY_SHAPE_MATCH => "Checkpoint layer {name!r} weights have shape {shape}, expected {expected}",
    ARRAY_DATA_LENGTH => "Checkpoint layer {name!r} ({member}) has {got} data bytes, its header declares {expected}",
    ARRAY_FINITE => "Checkpoint layer {name!r} has a non-finite weight at {position}",
    TRANSFER_FREEZE_UNTIL_TYPE => "TransferConfig freeze_until must be a layer name or an integer, not {got}",
    TRANSFER_FREEZE_UNTIL_RANGE => "TransferConfig freeze_until must be >= -1, got {value}",
    TRANSFER_LEARNING_RATE_TYPE => "TransferConfig {field} must be a number, not {got}",
    TRANSFER_LEARNING_RATE_RANGE => "TransferConfig {field} must be finite and >= 0, got {value}",
    TRANSFER_SELECTOR_MISSING => "{operation} needs {selectors}",
    TRANSFER_LAYER_NAMES_TYPE => "{operation} layer_names must be a list of strings: {detail}",
    TRANSFER_LAYER_INDEX_TYPE => "freeze_layers until_index must be an integer, not {got}",
    TRANSFER_ALL_LAYERS_TYPE => "unfreeze_layers all_layers must be a boolean, not {got}",
    TRANSFER_LAYER_NAMES_REFERENCES => "{operation}: {name!r} is not a layer of this checkpoint",
    TRANSFER_LAYER_INDEX_RANGE => "{operation}: layer index {value} is outside [-1, {maximum}]"
)

"""
    CheckpointError(code; fields...)

The one exception of this module: `code` is the violated invariant, `message` the invariant's
template filled with `fields` (what was wrong and where: file, layer, key). `code_id(err)` gives
the spec ID.
"""
struct CheckpointError <: Exception
    code::ErrorCode
    message::String
end

CheckpointError(code::ErrorCode; fields...) = CheckpointError(code, render_message(MESSAGES[code], values(fields)))

"Fills a template's `{field}` and `{field!r}` placeholders; a missing field is a bug (an error)."
function render_message(template::String, fields::NamedTuple)
    io = IOBuffer()
    last = 1
    for m in eachmatch(r"\{(\w+)(!r)?\}", template)
        write(io, SubString(template, last, prevind(template, m.offset)))
        value = fields[Symbol(m.captures[1])]
        write(io, m.captures[2] === nothing ? plain_text(value) : quoted_text(value))
        last = m.offset + ncodeunits(m.match)
    end
    write(io, SubString(template, last))
    return String(take!(io))
end
plain_text(x::AbstractString) = x
plain_text(x) = string(x)
quoted_text(x::AbstractString) = json_string(x)
quoted_text(x) = string(x)

code_id(c::ErrorCode) = CODE_IDS[c]
code_id(e::CheckpointError) = CODE_IDS[e.code]

Base.showerror(io::IO, e::CheckpointError) = print(io, "CheckpointError(", code_id(e), "): ", e.message)

"Raise when an internal result is an error; public entry points use this."
unwrap(x) = x isa CheckpointError ? throw(x) : x

"The invariants listed in a spec file, in order: (ID, message template) of each `- id:` entry."
function spec_invariants(spec_path::AbstractString)
    found = Tuple{String,String}[]
    for line in eachline(spec_path)
        m = match(r"^  - id: *([A-Za-z0-9_.]+) *$", line)
        m === nothing || (push!(found, (m.captures[1], "")); continue)
        m = match(r"^    message: \"(.*)\"$", line)
        (m === nothing || isempty(found)) || (found[end] = (found[end][1], m.captures[1]))
    end
    return found
end
spec_invariant_ids(spec_path::AbstractString) = first.(spec_invariants(spec_path))

"The spec's path when this module runs from the repository (julia/src -> spec/)."
const SPEC_PATH = normpath(joinpath(@__DIR__, "..", "..", "spec", "checkpoint.yaml"))

# Load-time check: the table must name every spec ID once, in spec order. A drifted table would
# report wrong codes silently, so refuse to load instead. Skipped when the module is used
# outside the repository (no spec beside it). Messages are checked by the tests, not here: a
# reworded message is no reason to refuse to load.
function check_codes_against_spec(spec_path::AbstractString = SPEC_PATH)
    ours = [CODE_IDS[c] for c in instances(ErrorCode)]
    length(unique(ours)) == length(ours) || error("SNNCheckpoints: duplicate error code IDs")
    isfile(spec_path) || return nothing
    theirs = spec_invariant_ids(spec_path)
    ours == theirs || error("SNNCheckpoints: error codes drifted from $(spec_path): " *
                            "missing $(setdiff(theirs, ours)), extra $(setdiff(ours, theirs)) or reordered")
    return nothing
end
