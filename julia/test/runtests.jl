# The Julia unit tests: one file per topic, comparing error codes per invariant.
# Run: julia/julia.sh --startup-file=no julia/test/runtests.jl

using Test
pushfirst!(LOAD_PATH, normpath(joinpath(@__DIR__, "..")))
using SNNCheckpoints
using SNNCheckpoints: CheckpointError, code_id, SNNCheckpoint

include("helpers.jl")

@testset "SNNCheckpoints" begin
    @testset "error codes equal the spec's invariant IDs, in order" begin
        ids = [S.code_id(c) for c in instances(S.ErrorCode)]
        @test length(unique(ids)) == length(ids)
        spec = normpath(joinpath(@__DIR__, "..", "..", "spec", "checkpoint.yaml"))
        if isfile(spec)
            @test ids == S.spec_invariant_ids(spec)
        end
        # The load-time check refuses a drifted spec.
        drifted = tempname()
        write(drifted, replace(read(spec, String), "  - id: json.depth\n" => "  - id: json.depth.max\n"))
        @test_throws ErrorException S.check_codes_against_spec(drifted)
    end
    include("json.jl")
    include("zip.jl")
    include("npy.jl")
    include("checkpoint.jl")
    include("fine_tune.jl")
    include("corpus.jl")
end
