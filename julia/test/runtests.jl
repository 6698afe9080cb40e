# The Julia unit tests: one file per module of src/ (plus corpus.jl, every case of the corpus
# through the testee's run_case), comparing error codes per invariant.
# Run: julia/julia.sh --startup-file=no julia/test/runtests.jl

using Test
import SHA
pushfirst!(LOAD_PATH, normpath(joinpath(@__DIR__, "..")))
using SNNCheckpoints
using SNNCheckpoints: CheckpointError, code_id, SNNCheckpoint

include("helpers.jl")

@testset "SNNCheckpoints" begin
    include("errors.jl")
    include("limits.jl")
    include("json.jl")
    include("json_write.jl")
    include("zip.jl")
    include("npy.jl")
    include("hostvalue.jl")
    include("fields.jl")
    include("checkpoint.jl")
    include("fine_tune.jl")
    include("testee.jl")
    include("corpus.jl")
end
