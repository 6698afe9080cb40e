# errors.jl: the code table equals the spec's invariant IDs, the message table the spec's
# messages, and a template renders its fields.

const SPEC = normpath(joinpath(@__DIR__, "..", "..", "spec", "checkpoint.yaml"))

@testset "errors" begin
    @testset "codes equal the spec's invariant IDs, in order" begin
        ids = [S.code_id(c) for c in instances(S.ErrorCode)]
        @test length(unique(ids)) == length(ids)
        @test ids == S.spec_invariant_ids(SPEC)
        # The load-time check refuses a drifted spec.
        drifted = tempname()
        write(drifted, replace(read(SPEC, String), "  - id: json.depth\n" => "  - id: json.depth.max\n"))
        @test_throws ErrorException S.check_codes_against_spec(drifted)
    end
    @testset "every code has the spec's message template" begin
        for (code, (id, message)) in zip(instances(S.ErrorCode), S.spec_invariants(SPEC))
            @test (id, S.MESSAGES[code]) == (id, message)
        end
    end
    @testset "templates render their fields" begin
        e = CheckpointError(S.CHECKPOINT_LAYER_SIZES_RANGE; name = "out\"", field = "input_features", value = 0, maximum = 7)
        @test e.message == "Checkpoint layer \"out\\\"\" has input_features = 0, outside [1, 7]"
        @test sprint(showerror, e) == "CheckpointError(checkpoint.layer_sizes.range): " * e.message
        @test CheckpointError(S.JSON_ENCODING_BOM).message == "Checkpoint metadata starts with a byte-order mark"
        @test_throws ErrorException CheckpointError(S.JSON_FILE_PRESENT; detail = "no path given")
    end
end
