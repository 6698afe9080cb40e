"""
    SNNCheckpoints

The Julia mirror of the SNN transfer-learning checkpoint spec (spec/checkpoint.yaml): a strict
loader for BASE.json + BASE.npz, the in-memory checkpoint with its construct invariants, the
fine-tuning operations, and the conformance testee. Standard library only; zlib through ccall.
"""
module SNNCheckpoints

import SHA

export CheckpointError, ErrorCode, code_id, SNNCheckpoint, load_checkpoint, n_layers, total_params,
       weight_sha256, TransferConfig, freeze_layers!, unfreeze_layers!, apply_transfer_config!

const VERSION_STRING = "0.1.0"
const SPEC_VERSION = 1

include("errors.jl")
include("json.jl")
include("zip.jl")
include("npy.jl")
include("hostvalue.jl")
include("checkpoint.jl")
include("fine_tune.jl")
include("testee.jl")

# Runs at every load (also from a precompiled cache): a code table that drifted from the spec
# must not report wrong codes silently.
__init__() = check_codes_against_spec()

# While precompiling, run every operation once so the cache holds their inferred code and the
# testee's first case does not pay for it.
if ccall(:jl_generating_output, Cint, ()) == 1
    precompile_workload()
end

end # module
