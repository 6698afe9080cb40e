# checkpoint.jl: load_checkpoint runs the phases in spec order and builds the state; construct
# normalizes its arguments; the public entry points throw.

@testset "checkpoint" begin
    @testset "load: the valid pair" begin
        base = write_pair(valid_doc(), valid_zip())
        c = S.load_checkpoint(base)
        @test S.n_layers(c) == 2 && S.total_params(c) == 9
        @test c.weights == [W1, W2]
        @test S.weight_sha256(c) == [ref_digest(W1), ref_digest(W2)]
        # Pairs written by the Python reference (numpy.savez_compressed: zip64 local headers).
        t = S.load_checkpoint(joinpath(@__DIR__, "data", "tiny"))
        @test S.weight_sha256(t) == ["5915b4d4c6d583e8c1df2ab9a8f6b3a9a72ef135a790aaf158c6f989e4c4e7a5",
                                     "b33514c4483c8e88cbb58b9f60fab3ab5ed240e986a213346888c9a53d63c4d5"]
        @test t.metadata["rate"] === 0.5 && t.metadata["n"] === 3
        # Suffixes are appended: "model.v1" reads model.v1.json.
        dir = mktempdir()
        write(joinpath(dir, "model.v1.json"), S.json_string(valid_doc()))
        write(joinpath(dir, "model.v1.npz"), valid_zip())
        @test load_code(joinpath(dir, "model.v1")) == "accept"
        # Empty checkpoint: a zip with no members.
        @test load_code(doc_for(String[], Tuple{Int,Int}[]), first(build_zip(Member[]))) == "accept"
        # Stored members, frozen layers normalized, archive_sha256 honoured.
        d = setkey!(valid_doc(), "frozen_layers", Any["out", "hidden", "out"])
        z = first(build_zip([Member("layer_0.npy", npy_matrix(W1), 0), Member("layer_1.npy", npy_matrix(W2), 0)]))
        setkey!(d, "archive_sha256", bytes2hex(S.SHA.sha256(z)))
        c = S.load_checkpoint(write_pair(d, z))
        @test c.frozen_layers == ["hidden", "out"]
        @test_throws CheckpointError S.load_checkpoint(write_pair(setkey!(d, "archive_sha256", "0"^64), z))
    end
    @testset "load: the phases in spec order" begin
        @test load_code(mktempdir() * "/nothing") == "json.file.present"
        dir = mktempdir(); mkdir(joinpath(dir, "x.json")); write(joinpath(dir, "x.npz"), valid_zip())
        @test load_code(joinpath(dir, "x")) == "json.file.present"
        @test load_code("{\"a\": NaN}", valid_zip()) == "json.nonfinite"
        # A number beyond the JSON range is refused before total_params is compared.
        @test load_code(setkey!(valid_doc(), "total_params", big(2)^64), valid_zip()) == "json.number.range"
        @test load_code(setkey!(valid_doc(), "total_params", big(2)^64 - 1), valid_zip()) == "checkpoint.total_params.consistent"
        @test load_code("[1, 2]", valid_zip()) == "schema.root.type"
        # Schema and checkpoint values are judged before the archive is even looked at.
        @test load_code(setkey!(valid_doc(), "layer_names", 1), nothing) == "schema.layer_names.type"
        @test load_code(setkey!(valid_doc(), "n_layers", 1), nothing) == "checkpoint.n_layers.consistent"
        @test load_code(valid_doc(), nothing) == "archive.file.present"
        @test load_code(valid_doc(), first(build_zip(valid_members()[1:1]))) == "archive.members.missing"
        bad_magic = vcat(UInt8[0x00], npy_matrix(W2)[2:end])
        @test load_code(valid_doc(), first(build_zip([Member("layer_0.npy", npy_matrix(W1)), Member("layer_1.npy", bad_magic)]))) ==
              "array.npy.magic"
        nanw = copy(W1); nanw[2, 1] = NaN
        @test load_code(valid_doc(), first(build_zip([Member("layer_0.npy", npy_matrix(nanw)), Member("layer_1.npy", npy_matrix(W2))]))) ==
              "array.finite"
        err = try S.load_checkpoint(write_pair(valid_doc(), nothing)) catch e; e end
        @test code_id(err) == "archive.file.present" && occursin("checkpoint.npz", err.message)
    end
    @testset "load: metadata integers are kept and reported exactly" begin
        md = """{"seed": 18446744073709551615, "t_ns": 1764547200123456789, "neg": -9223372036854775808}"""
        text = replace(S.json_string(valid_doc()), "\"metadata\":{}" => "\"metadata\":$md")
        c = S.load_checkpoint(write_pair(text, valid_zip()))
        @test c.metadata["seed"] === Int128(typemax(UInt64)) && c.metadata["neg"] === typemin(Int64)
        @test occursin("\"metadata\":{\"seed\":18446744073709551615,\"t_ns\":1764547200123456789,\"neg\":-9223372036854775808}",
                       S.json_string(S.observe(c)))
        nested = """{"a": [9223372036854775808, {"b": [-9223372036854775808, 18446744073709551615]}]}"""
        c = S.load_checkpoint(write_pair(replace(S.json_string(valid_doc()), "\"metadata\":{}" => "\"metadata\":$nested"), valid_zip()))
        @test S.json_string(c.metadata) == replace(nested, " " => "")
        for lit in ("18446744073709551616", "-9223372036854775809", "-237462374673276894279832749832423479823246327846")
            bad = replace(S.json_string(valid_doc()), "\"metadata\":{}" => "\"metadata\":{\"a\":[$lit]}")
            @test load_code(bad, valid_zip()) == "json.number.range"
        end
    end
    @testset "construct" begin
        @test ccode(state()) == "accept"
        c = S.construct_checkpoint(hv(state(extra = """, "frozen_layers": {"\$tuple": ["out", "hidden"]}, "metadata": {"a": [1, 2.5, null, {"b": "c"}]}""")))
        @test c.frozen_layers == ["hidden", "out"] && c.weights[1] == [1.0 2.0; 3.0 4.0; 5.0 6.0]
        @test S.weight_sha256(c)[2] == ref_digest(W2)
        @test c.metadata == hv("""{"a": [1, 2.5, null, {"b": "c"}]}""")
        @test ccode(state(names = """{"\$tuple": ["hidden", "out"]}""", sizes = """[{"\$tuple": [2, 3]}, [3, 1]]""")) == "accept"
        @test_throws ArgumentError S.construct_checkpoint(hv("""{"weights": [], "layer_names": []}"""))
        # The public constructor throws; native Julia matrices and Dicts are accepted.
        c = SNNCheckpoint([W1, W2], ["hidden", "out"], [(2, 3), (3, 1)]; metadata = Dict("k" => [1, 2]))
        @test S.weight_sha256(c) == [ref_digest(W1), ref_digest(W2)]
        @test S.json_string(c.metadata) == "{\"k\":[1,2]}"
        @test_throws CheckpointError SNNCheckpoint([W1], ["hidden", "out"], [(2, 3), (3, 1)])
        err = try SNNCheckpoint([W1, W2], ["hidden", "hidden"], [(2, 3), (3, 1)]) catch e; e end
        @test code_id(err) == "checkpoint.layer_names.unique" && occursin("hidden", err.message)
        @test_throws CheckpointError SNNCheckpoint([trues(3, 2), W2], ["hidden", "out"], [(2, 3), (3, 1)])
    end
end
