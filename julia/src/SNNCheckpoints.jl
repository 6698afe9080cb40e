"""
    SNNCheckpoints

The Julia mirror of the SNN transfer-learning checkpoint spec (spec/checkpoint.yaml): a strict
loader for BASE.json + BASE.npz, the in-memory checkpoint with its construct invariants, the
fine-tuning operations, and the conformance testee. Standard library only; zlib through ccall.
"""
module SNNCheckpoints

import Mmap

export CheckpointError, ErrorCode, code_id, SNNCheckpoint, load_checkpoint, save_checkpoint, n_layers, total_params,
       weight_sha256, TransferConfig, freeze_layers!, unfreeze_layers!, apply_transfer_config!

const VERSION_STRING = "0.1.0"
const SPEC_VERSION = 2

# In dependency order (the types a file's signatures and fields name are defined before it).
include("errors.jl")        # the one error type: codes (spec IDs, in spec order), message templates
include("limits.jl")        # the spec's limits and accepted dtypes
include("json.jl")          # strict reader of the metadata document (json.*)
include("json_write.jl")    # the JSON writer (answers, observable state, the checkpoint document)
include("zip.jl")           # zip reader and the archive phase (archive.*); the zip writer
include("hostvalue.jl")     # the protocol's host values (tuples, sets, arrays, ...)
include("fields.jl")        # schema.* and checkpoint.*, shared by load and construct
include("npy.jl")           # .npy headers, dtypes, widening and the array phase (array.*); the header writer
include("checkpoint.jl")    # SNNCheckpoint, construct, load_checkpoint (the phases in order), save_checkpoint
include("fine_tune.jl")     # freeze/unfreeze, TransferConfig (transfer.*)
include("testee.jl")        # the JSON Lines protocol loop (docs/protocol.md)

# Runs at every load (also from a precompiled cache): a code table that drifted from the spec
# must not report wrong codes silently.
__init__() = check_codes_against_spec()

# While precompiling, run every operation once so the cache holds their inferred code and the
# testee's first case does not pay for it.
if ccall(:jl_generating_output, Cint, ()) == 1
    precompile_workload()
end

end # module
