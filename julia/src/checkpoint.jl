# The in-memory checkpoint, constructing it (fields.jl's construct invariants),
# load_checkpoint(base), which runs the spec's load phases in order: json (json.jl), schema and
# checkpoint (fields.jl), archive (zip.jl), array (npy.jl), and save_checkpoint(checkpoint, base)
# (spec `save`). Internal functions return Union{T, CheckpointError}; the public entry points
# (SNNCheckpoint, load_checkpoint, save_checkpoint) throw.

"""
    SNNCheckpoint

A spiking network's weights and fine-tuning metadata. `weights[i]` is layer i's
(output_features, input_features) float64 matrix; `frozen_layers` stays sorted and unique.
"""
mutable struct SNNCheckpoint
    weights::Vector{RowMajor}          # row-major storage (fields.jl)
    layer_names::Vector{String}
    layer_sizes::Vector{Tuple{Int,Int}}
    neuron_types::Vector{String}
    metadata::JObject
    frozen_layers::Vector{String}
    weight_digests::Union{Nothing,Vector{String}}   # computed when first asked for (weights never change)
end

n_layers(c::SNNCheckpoint) = length(c.layer_names)
total_params(c::SNNCheckpoint) = params_total(c.layer_sizes)

"Per layer: lowercase hex SHA-256 of the matrix as little-endian float64, row-major."
function weight_sha256(c::SNNCheckpoint)
    c.weight_digests === nothing && (c.weight_digests = [matrix_digest(w) for w in c.weights])
    return c.weight_digests
end

"The layer's values hashed in place (a copy only on a big-endian host)."
matrix_digest(w::RowMajor) = with_le_bytes(sha256_hex, vec(parent(w)))

function make_checkpoint(f::Fields, weights::Vector{RowMajor})
    return SNNCheckpoint(weights, f.layer_names, f.layer_sizes, f.neuron_types, f.metadata,
                         f.frozen_layers, nothing)
end

# ------------------------------------------------------------------ construct

"""
    construct_checkpoint(values) -> SNNCheckpoint or CheckpointError

Every construct invariant in spec order. `values` is a JObject with `weights`, `layer_names`,
`layer_sizes` and optionally `neuron_types`, `metadata`, `frozen_layers`.
"""
function construct_checkpoint(values::JObject)
    checked = check_state(construct_values(values))
    checked isa CheckpointError && return checked
    return make_checkpoint(checked...)
end

"The constructor's arguments with the optional ones defaulted; throws when a required one is absent."
function construct_values(values::JObject)
    full = JObject(copy(values.pairs))
    for (key, default) in (("neuron_types", Any[]), ("metadata", JObject()), ("frozen_layers", Any[]))
        haskey(full, key) || push!(full.pairs, key => default)
    end
    for key in ("weights", "layer_names", "layer_sizes")
        haskey(full, key) || throw(ArgumentError("SNNCheckpoint needs $key"))
    end
    return full
end

"The checkpoint's fields as constructor arguments (what save validates: they may have changed)."
function construct_values(c::SNNCheckpoint)
    return JObject(Pair{String,Any}["weights" => c.weights, "layer_names" => c.layer_names,
                                    "layer_sizes" => c.layer_sizes, "neuron_types" => c.neuron_types,
                                    "metadata" => c.metadata, "frozen_layers" => c.frozen_layers])
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
    io = open_regular_file(path)
    io === nothing && return nothing
    try
        return read(io)
    catch err
        err isa SystemError || err isa Base.IOError || rethrow()
        return nothing
    finally
        close(io)
    end
end

"BASE.json and BASE.npz: the suffixes are appended, never substituted (\"model.v1\" -> \"model.v1.json\")."
pair_paths(base::AbstractString) = (string(base, ".json"), string(base, ".npz"))

"""
    load_checkpoint_result(base) -> SNNCheckpoint or CheckpointError

Reads BASE.json and BASE.npz (suffixes appended, never substituted), phase by phase in spec
order; the archive is not read before the document has passed.
"""
function load_checkpoint_result(base::AbstractString)
    json_path, archive_path = pair_paths(base)
    document = decode_document(read_regular_file(json_path), json_path)          # json.*
    document isa CheckpointError && return document
    fields = check_fields(document, :load)                                       # schema.*, checkpoint.*
    fields isa CheckpointError && return fields
    sinks = read_archive(archive_path, fields.layer_names, fields.archive_sha256,  # archive.*
                         (i, e) -> LayerSink(fields.layer_sizes[i][2], fields.layer_sizes[i][1], e.uncompressed_size))
    sinks isa CheckpointError && return sinks
    weights = decode_layers(sinks, fields.layer_names, fields.layer_sizes)       # array.*
    weights isa CheckpointError && return weights
    return make_checkpoint(fields, weights)
end

"""
    load_checkpoint(base) -> SNNCheckpoint

Loads and validates the pair BASE.json + BASE.npz; throws `CheckpointError` with the first
violated load invariant in spec order.
"""
load_checkpoint(base::AbstractString) = unwrap(load_checkpoint_result(base))

# ------------------------------------------------------------------ save

"""
    save_checkpoint(checkpoint, base; compression = "deflate", level = 1) -> (npz = (sha256, size), json = (sha256, size))

Writes BASE.npz and BASE.json (suffixes appended), creating parent folders: the spec's
deterministic zip (`"deflate"`, the default, at zlib `level` 1-9, or `"stored"`, whose archive
is byte-identical across conforming writers) and the canonical document, which records the
archive's SHA-256. Both are written to temporary files and fsynced before either is renamed
(archive first), then the folder is fsynced: after a crash the pair loads as the old or the
new pair or fails archive.digest, never as mixed data. Returns the digest and size of each
file as written. Throws `ArgumentError` for an unknown compression or level (before anything
is written), `CheckpointError` when the checkpoint no longer satisfies the construct
invariants (nothing is written then), and the system's error when a file cannot be written
(the previous pair is left as it was, unless the failure falls between the two renames).
"""
function save_checkpoint(c::SNNCheckpoint, base::AbstractString; compression::AbstractString = "deflate", level = 1)
    return unwrap(save_checkpoint_result(construct_values(c), base, compression, level))
end

"""
    save_checkpoint_result(values, base, compression, level = 1; write_file = write_temporary)

save_checkpoint over constructor arguments (`values`, as construct takes them), validated here
first. `write_file(produce, path)` writes one temporary file (tests inject failures through it).
"""
function save_checkpoint_result(values::JObject, base::AbstractString, compression::AbstractString, level = 1;
                                write_file = write_temporary)
    method = compression == "deflate" ? DEFLATED : compression == "stored" ? STORED :
        throw(ArgumentError("compression must be \"deflate\" or \"stored\", not $(repr(compression))"))
    (is_int(level) && 1 <= level <= 9) || throw(ArgumentError("level must be an integer from 1 to 9, not $(repr(level))"))
    checked = check_state(values)
    checked isa CheckpointError && return checked
    fields = first(checked)
    json_path, archive_path = pair_paths(base)
    folder = dirname(json_path)
    mkpath(folder)
    archive_temporary, archive = write_file(io -> write_archive(io, fields.weights, method, level), archive_path)
    text = document_text(fields, archive.sha256)
    json_temporary = nothing
    try
        json_temporary, _ = write_file(io -> write(io, text), json_path)
        rename_over(archive_temporary, archive_path)
        rename_over(json_temporary, json_path)
    catch
        rm(archive_temporary; force = true)                   # already gone once renamed
        json_temporary === nothing || rm(json_temporary; force = true)
        rethrow()
    end
    fsync_folder(isempty(folder) ? "." : folder)
    return (npz = archive, json = (sha256 = sha256_hex(text), size = sizeof(text)))
end

"The archive (save.writer.archive): `layer_{i}.npy` per layer, from each weight's row-major values."
function write_archive(io::IO, weights::Vector{Tuple{Vector{Int},Vector{Float64}}}, method::UInt16, level::Integer)
    w = ArchiveWriter(io, method, level)
    for (i, (shape, values)) in enumerate(weights)
        with_le_bytes(values) do data
            add_member!(w, Vector{UInt8}(codeunits(layer_member(i))), [npy_header_bytes(shape...), data])
        end
    end
    return close!(w)
end

"The canonical document (save.writer.document): keys in spec order, archive_sha256 last."
function document_text(f::Fields, archive_sha256::String)
    document = JObject(Pair{String,Any}[
        "layer_names" => f.layer_names,
        "layer_sizes" => f.layer_sizes,
        "neuron_types" => f.neuron_types,
        "frozen_layers" => f.frozen_layers,
        "n_layers" => length(f.layer_names),
        "total_params" => params_total(f.layer_sizes),
        "metadata" => f.metadata,
        "archive_sha256" => archive_sha256])
    return json_string(document, 2)
end

"""
    write_temporary(produce, path) -> (temporary path, produce's result)

`produce(io)` writes to a new temporary file ".NAME.<random>.tmp" beside `path`, which is
flushed and fsynced; the caller renames it (rename_over). On any failure the temporary file is
removed.
"""
function write_temporary(produce, path::String)
    temporary, io = create_temporary(isempty(dirname(path)) ? "." : dirname(path), basename(path))
    try
        result = produce(io)
        flush(io)
        check_call(ccall(:fsync, Cint, (Cint,), fd(io)), "fsync", temporary)
        close(io)
        return temporary, result
    catch
        close(io)
        rm(temporary; force = true)
        rethrow()
    end
end

"""
rename(2) of `temporary` over `path`: readers see the old file or the new one. Not Base.rename
or mv: on failure rename falls back to copy + remove, and mv(force=true) removes `path` first;
either would leave a window without a file.
"""
rename_over(temporary::String, path::String) =
    check_call(ccall(:rename, Cint, (Cstring, Cstring), temporary, path), "rename", temporary)

"Throws the system's error when a libc call returned -1 (errno is read before anything allocates)."
function check_call(rc::Cint, what::String, path::String)
    rc == -1 || return nothing
    errno = Libc.errno()
    systemerror("$what $path", errno)
end

const TEMPORARY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"

"A new temporary file \".NAME.<random>.tmp\" in `folder`, created exclusively: (path, io). Its
mode is that of any new file (0666 less the umask, which open(2) applies), kept by the rename."
function create_temporary(folder::String, name::String)
    # Read and write: the archive writer reads back what it wrote for the digest.
    flags = Base.Filesystem.JL_O_RDWR | Base.Filesystem.JL_O_CREAT | Base.Filesystem.JL_O_EXCL
    while true
        path = joinpath(folder, ".$name.$(random_chars(8)).tmp")
        # open(2) is variadic, but a varargs ccall breaks the system image build ("Symbol
        # ccall_open_N not found"); the fixed prototype passes the mode the same way on x86-64.
        handle = ccall(:open, Cint, (Cstring, Cint, Cuint), path, flags, 0o666)
        handle >= 0 && return path, fdio(path, handle, true)
        errno = Libc.errno()
        errno == Libc.EEXIST || systemerror("creating $path", errno)
    end
end

"""
`n` random characters of TEMPORARY_CHARS from getrandom(2). Not Random's rand: the system image
would keep the /dev/urandom stream it opened while building, and reading it later segfaults.
"""
function random_chars(n::Int)
    bytes = Vector{UInt8}(undef, n)
    got = ccall(:getrandom, Cssize_t, (Ptr{UInt8}, Csize_t, Cuint), bytes, n, 0)
    got == n || systemerror("getrandom", Libc.errno())
    return String([TEMPORARY_CHARS[1 + b % length(TEMPORARY_CHARS)] for b in bytes])
end

"fsync of a folder, opened read-only: makes the renames inside it durable."
function fsync_folder(folder::String)
    handle = ccall(:open, Cint, (Cstring, Cint), folder, Base.Filesystem.JL_O_RDONLY)
    check_call(handle, "open", folder)
    try
        check_call(ccall(:fsync, Cint, (Cint,), handle), "fsync", folder)
    finally
        ccall(:close, Cint, (Cint,), handle)
    end
end
