# checkpoint.jl: load_checkpoint with every load invariant, and the constructor's invariants.

"A host-value construct state (as the protocol decodes it)."
hv(text) = S.decode_host_value(S.read_json_protocol(text))
function ccode(state_text)
    r = S.construct_checkpoint(hv(state_text))
    return r isa S.CheckpointError ? S.code_id(r) : "accept"
end
const GOOD_W = """[{"\$array": {"shape": [3, 2], "data": [1, 2, 3, 4, 5, 6]}}, [[1.5, -2, 0.25]]]"""
state(; weights = GOOD_W, names = """["hidden", "out"]""", sizes = "[[2, 3], [3, 1]]", extra = "") =
    """{"weights": $weights, "layer_names": $names, "layer_sizes": $sizes$extra}"""

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
    end
    @testset "load: json and schema" begin
        @test load_code(mktempdir() * "/nothing") == "json.file.present"
        dir = mktempdir(); mkdir(joinpath(dir, "x.json")); write(joinpath(dir, "x.npz"), valid_zip())
        @test load_code(joinpath(dir, "x")) == "json.file.present"
        @test load_code("{\"a\": NaN}", valid_zip()) == "json.nonfinite"
        @test load_code("[1, 2]", valid_zip()) == "schema.root.type"
        for k in S.REQUIRED_KEYS
            @test load_code(delkey!(valid_doc(), k), valid_zip()) == "schema.keys.required"
        end
        for k in ("version", "Layer_names", "layer_names ", "archive_sha1")
            @test load_code(setkey!(valid_doc(), k, 1), valid_zip()) == "schema.keys.known"
        end
        bad(k, v) = load_code(setkey!(valid_doc(), k, v), valid_zip())
        @test bad("layer_names", "hidden") == "schema.layer_names.type"
        @test bad("layer_names", Any["hidden", 1]) == "schema.layer_names.type"
        @test bad("layer_sizes", S.JObject()) == "schema.layer_sizes.type"
        @test bad("layer_sizes", Any[Any[2, 3], 5]) == "schema.layer_sizes.type"
        @test bad("layer_sizes", Any[Any[2, 3], Any[3]]) == "schema.layer_sizes.type"
        @test bad("layer_sizes", Any[Any[2, 3], Any[3, 1, 1]]) == "schema.layer_sizes.type"
        @test bad("layer_sizes", Any[Any[2, 3], Any[3, 1.0]]) == "schema.layer_sizes.type"
        @test bad("layer_sizes", Any[Any[2, 3], Any[3, true]]) == "schema.layer_sizes.type"
        @test bad("neuron_types", Any[nothing]) == "schema.neuron_types.type"
        @test bad("frozen_layers", "out") == "schema.frozen_layers.type"
        @test bad("n_layers", 2.0) == "schema.n_layers.type"
        @test bad("n_layers", true) == "schema.n_layers.type"
        @test bad("total_params", "9") == "schema.total_params.type"
        @test load_code(replace(S.json_string(valid_doc()), "\"total_params\":9" => "\"total_params\":1e1"), valid_zip()) == "schema.total_params.type"
        @test bad("metadata", Any[]) == "schema.metadata.type"
        @test bad("archive_sha256", nothing) == "schema.archive_sha256.type"
        @test bad("archive_sha256", uppercase(bytes2hex(S.SHA.sha256(valid_zip())))) == "schema.archive_sha256.type"
        @test bad("archive_sha256", "ab") == "schema.archive_sha256.type"
        @test bad("archive_sha256", "g"^64) == "schema.archive_sha256.type"
        # Order: a layer_names type error beats a missing... no: required keys come first.
        @test load_code(setkey!(delkey!(valid_doc(), "metadata"), "layer_names", 1), valid_zip()) == "schema.keys.required"
    end
    @testset "load: checkpoint values" begin
        bad(k, v) = load_code(setkey!(valid_doc(), k, v), valid_zip())
        @test bad("layer_names", Any["hidden", ""]) == "checkpoint.layer_names.nonempty"
        @test bad("layer_names", Any["out", "out"]) == "checkpoint.layer_names.unique"
        @test bad("layer_sizes", Any[Any[2, 3]]) == "checkpoint.layer_sizes.count"
        @test bad("layer_sizes", Any[Any[2, 3], Any[3, 0]]) == "checkpoint.layer_sizes.range"
        @test bad("layer_sizes", Any[Any[2, 3], Any[2147483648, 1]]) == "checkpoint.layer_sizes.range"
        @test bad("neuron_types", Any["LIF"]) == "checkpoint.neuron_types.count"
        @test bad("neuron_types", Any[]) == "accept"
        @test bad("frozen_layers", Any["nope"]) == "checkpoint.frozen_layers.references"
        @test bad("n_layers", 3) == "checkpoint.n_layers.consistent"
        @test bad("total_params", 10) == "checkpoint.total_params.consistent"
        # Checkpoint-phase values are judged before the archive is even looked at.
        @test load_code(setkey!(valid_doc(), "n_layers", 1), nothing) == "checkpoint.n_layers.consistent"
        # Products beyond Int64 do not overflow: 4 layers of (2^31-1)^2.
        m = 2147483647
        d = doc_for(["a", "b", "c", "d"], [(m, m) for _ in 1:4])
        setkey!(d, "total_params", 1)
        @test load_code(d, valid_zip()) == "checkpoint.total_params.consistent"
        setkey!(d, "total_params", m * m)       # beyond 2^53: refused as a JSON number first
        @test load_code(d, valid_zip()) == "json.number.range"
    end
    @testset "load: archive" begin
        @test load_code(valid_doc(), nothing) == "archive.file.present"
        d = setkey!(valid_doc(), "archive_sha256", "0"^64)
        @test load_code(d, valid_zip()) == "archive.digest"
        @test load_code(valid_doc(), Vector{UInt8}(codeunits("PK but not a zip"))) == "archive.zip.structure"
        twice = [Member("layer_0.npy", npy_matrix(W1)), Member("layer_0.npy", npy_matrix(W1)), Member("layer_1.npy", npy_matrix(W2))]
        @test load_code(valid_doc(), first(build_zip(twice))) == "archive.members.duplicate"
        for extra in ("extra.npy", "layer_2.npy", "layer_00.npy", "__pickle__.pkl", "layer_1", "Layer_1.npy", "dir/layer_1.npy")
            ms = vcat(valid_members(), [Member(extra, npy_matrix(W2))])
            @test load_code(valid_doc(), first(build_zip(ms))) == "archive.members.unexpected"
        end
        @test load_code(valid_doc(), first(build_zip(valid_members()[1:1]))) == "archive.members.missing"
        z, L = build_zip(valid_members())
        for method in (12, 14, 93, 99)
            zz = patch!(copy(z), L.central_offsets[2] + 10, u16(method))
            @test load_code(valid_doc(), zz) == "archive.member.method"
        end
        for flag in (0x0001, 0x0040)
            @test load_code(valid_doc(), patch!(copy(z), L.central_offsets[1] + 8, u16(flag))) == "archive.member.method"
        end
        # Method errors on any member come before an integrity error on an earlier one.
        zz = patch!(copy(z), L.central_offsets[1] + 16, u32(0))
        @test load_code(valid_doc(), zz) == "archive.member.integrity"
        @test load_code(valid_doc(), patch!(zz, L.central_offsets[2] + 10, u16(12))) == "archive.member.method"
    end
    @testset "load: arrays" begin
        lcode(m1, m2 = npy_matrix(W2)) = load_code(valid_doc(), first(build_zip([Member("layer_0.npy", m1), Member("layer_1.npy", m2)])))
        @test lcode(vcat(UInt8[0x00], npy_matrix(W1)[2:end])) == "array.npy.magic"
        @test lcode(npy_bytes("{'descr': '<f8'}", zeros(UInt8, 48))) == "array.npy.header"
        @test lcode(npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (3, 2), }", zeros(UInt8, 48))) == "array.dtype.pickle"
        @test lcode(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3, 2), }", zeros(UInt8, 6))) == "array.dtype"
        @test lcode(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", zeros(UInt8, 48))) == "array.shape.rank"
        @test lcode(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", zeros(UInt8, 8))) == "array.shape.rank"
        @test lcode(npy_matrix(collect(permutedims(W1)))) == "array.shape.match"
        good = npy_matrix(W1)
        @test lcode(vcat(good, UInt8[0])) == "array.data.length"
        @test lcode(good[1:end-8]) == "array.data.length"
        nanw = copy(W1); nanw[2, 1] = NaN
        @test lcode(npy_matrix(nanw)) == "array.finite"
        infw = copy(W2); infw[1, 3] = -Inf
        @test lcode(npy_matrix(W1), npy_matrix(infw)) == "array.finite"
        # Spec order across layers: layer 1's bad magic beats layer 0's bad dtype.
        @test lcode(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3, 2), }", zeros(UInt8, 6)),
                    vcat(UInt8[0x00], npy_matrix(W2)[2:end])) == "array.npy.magic"
        @test lcode(vcat(good, UInt8[0]), npy_matrix(collect(permutedims(W2)))) == "array.shape.match"
        # Huge declared shape that matches huge layer sizes: data length, nothing allocated.
        m = 2147483647
        dd = doc_for(["hidden", "out"], [(m, 4194304), (3, 1)])     # total_params 2^53 - 2^22 + 3
        huge = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4194304, $m), }", zeros(UInt8, 16))
        @test load_code(dd, first(build_zip([Member("layer_0.npy", huge), Member("layer_1.npy", npy_matrix(W2))]))) == "array.data.length"
        # A big-endian, Fortran-ordered float32 member loads to the same digest.
        f32 = Float32.(W1)
        raw = collect(reinterpret(UInt8, hton.(vec(f32))))
        m0 = npy_bytes("{'descr': '>f4', 'fortran_order': True, 'shape': (3, 2), }", raw)
        c = S.load_checkpoint(write_pair(valid_doc(), first(build_zip([Member("layer_0.npy", m0), Member("layer_1.npy", npy_matrix(W2))]))))
        @test S.weight_sha256(c)[1] == ref_digest(Float64.(f32))
    end
    @testset "construct" begin
        @test ccode(state()) == "accept"
        c = S.construct_checkpoint(hv(state(extra = """, "frozen_layers": {"\$tuple": ["out", "hidden"]}, "metadata": {"a": [1, 2.5, null, {"b": "c"}]}""")))
        @test c.frozen_layers == ["hidden", "out"] && c.weights[1] == [1.0 2.0; 3.0 4.0; 5.0 6.0]
        @test S.weight_sha256(c)[2] == ref_digest(W2)
        @test ccode(state(names = """{"\$tuple": ["hidden", "out"]}""", sizes = """[{"\$tuple": [2, 3]}, [3, 1]]""")) == "accept"
        @test ccode(state(names = "\"hidden\"")) == "schema.layer_names.type"
        @test ccode(state(names = """["hidden", "\\ud800"]""")) == "schema.layer_names.type"
        @test ccode(state(sizes = "[[2, 3], [3, true]]")) == "schema.layer_sizes.type"
        @test ccode(state(sizes = """[[2, 3], {"\$set": [3, 1]}]""")) == "schema.layer_sizes.type"
        @test ccode(state(extra = """, "neuron_types": "LIF" """)) == "schema.neuron_types.type"
        @test ccode(state(extra = """, "frozen_layers": [1]""")) == "schema.frozen_layers.type"
        for md in ("""{"\$float": "NaN"}""", """{"\$float": "Infinity"}""", """{"\$set": [1]}""", """{"\$bytes": "00ff"}""",
                   """{"\$object": "x"}""", """{"\$tuple": [1]}""", "9007199254740992", "\"\\udfff\"",
                   "[" ^ 63 * "]" ^ 63)
            @test ccode(state(extra = """, "metadata": {"k": $md}""")) == "schema.metadata.type"
        end
        @test ccode(state(extra = """, "metadata": {"\$map": [[1, "a"]]}""")) == "schema.metadata.type"
        @test ccode(state(extra = """, "metadata": {"\$map": [["\$k", "a"]]}""")) == "accept"
        @test ccode(state(extra = """, "metadata": {"k": """ * "[" ^ 62 * "]" ^ 62 * "}")) == "accept"
        @test ccode(state(extra = """, "metadata": [1]""")) == "schema.metadata.type"
        for w in ("\"w\"", "[\"w\", [[1, 2, 3]]]", "[[[true, false], [true, false], [true, false]], [[1, 2, 3]]]",
                  "[[[1, 2], [3]], [[1, 2, 3]]]", "[[[1, \"a\"]], [[1, 2, 3]]]", "[[[null]], [[1, 2, 3]]]",
                  "[[[18446744073709551616]], [[1, 2, 3]]]", "[5, [[1, 2, 3]]]", "[{\"a\": 1}, [[1, 2, 3]]]")
            @test ccode(state(weights = w)) == "schema.weights.type"
        end
        # uint64 values are numbers like any other.
        @test ccode(state(weights = "[[[1, 2], [1.5, 2], [3, 4]], [[1, 2, 18446744073709551615]]]")) == "accept"
        # A boolean among numbers is not a number (numpy would quietly make it 1).
        @test ccode(state(weights = "[[[1, true], [1.5, 2], [3, 4]], [[1, 2, 3]]]")) == "schema.weights.type"
        @test ccode(state(names = """["hidden", ""]""")) == "checkpoint.layer_names.nonempty"
        @test ccode(state(names = """["out", "out"]""")) == "checkpoint.layer_names.unique"
        @test ccode(state(sizes = "[[2, 3]]")) == "checkpoint.layer_sizes.count"
        @test ccode(state(sizes = "[[2, 3], [3, 18446744073709551616]]")) == "checkpoint.layer_sizes.range"
        @test ccode(state(extra = """, "neuron_types": ["LIF"]""")) == "checkpoint.neuron_types.count"
        @test ccode(state(extra = """, "frozen_layers": ["x"]""")) == "checkpoint.frozen_layers.references"
        @test ccode(state(weights = "[[[1, 2], [3, 4], [5, 6]]]")) == "checkpoint.weights.count"
        @test ccode(state(weights = """[{"\$array": {"shape": [6], "data": [1, 2, 3, 4, 5, 6]}}, [[1, 2, 3]]]""")) == "array.shape.rank"
        @test ccode(state(weights = """[{"\$array": {"shape": [], "data": [1]}}, [[1, 2, 3]]]""")) == "array.shape.rank"
        @test ccode(state(weights = "[[[1, 2, 3], [4, 5, 6]], [[1, 2, 3]]]")) == "array.shape.match"
        @test ccode(state(weights = "[[], [[1, 2, 3]]]")) == "array.shape.rank"
        @test ccode(state(weights = "[[[]], [[1, 2, 3]]]")) == "array.shape.match"
        @test ccode(state(weights = """[[[1, 2], [3, 4], [5, {"\$float": "-Infinity"}]], [[1, 2, 3]]]""")) == "array.finite"
        # Order: a rank error on layer 1 beats a shape mismatch on layer 0.
        @test ccode(state(weights = "[[[1, 2, 3], [4, 5, 6]], [1, 2, 3]]")) == "array.shape.rank"
        # The public constructor throws; native Julia matrices are accepted.
        c = SNNCheckpoint([W1, W2], ["hidden", "out"], [(2, 3), (3, 1)])
        @test S.weight_sha256(c) == [ref_digest(W1), ref_digest(W2)]
        @test_throws CheckpointError SNNCheckpoint([W1], ["hidden", "out"], [(2, 3), (3, 1)])
        err = try SNNCheckpoint([W1, W2], ["hidden", "hidden"], [(2, 3), (3, 1)]) catch e; e end
        @test code_id(err) == "checkpoint.layer_names.unique" && occursin("hidden", err.message)
        @test_throws CheckpointError SNNCheckpoint([trues(3, 2), W2], ["hidden", "out"], [(2, 3), (3, 1)])
    end
end
