# fields.jl: the schema.* and checkpoint.* invariants on both surfaces (load: the parsed
# document; construct: the constructor's arguments), and construct's rank, shape and finiteness.

"The load surface's verdict for a metadata document."
dcode(doc) = (r = S.check_fields(doc, :load); r isa CheckpointError ? S.code_id(r) : "accept")
"The verdict for valid_doc() with one member replaced."
field_code(key, value) = dcode(setkey!(valid_doc(), key, value))

@testset "fields" begin
    @testset "load: schema" begin
        @test dcode(valid_doc()) == "accept"
        @test dcode(Any[1, 2]) == "schema.root.type"
        @test dcode(nothing) == "schema.root.type"
        for k in S.REQUIRED_KEYS
            @test dcode(delkey!(valid_doc(), k)) == "schema.keys.required"
        end
        for k in ("version", "Layer_names", "layer_names ", "archive_sha1")
            @test field_code(k, 1) == "schema.keys.known"
        end
        @test field_code("layer_names", "hidden") == "schema.layer_names.type"
        @test field_code("layer_names", Any["hidden", 1]) == "schema.layer_names.type"
        @test field_code("layer_sizes", S.JObject()) == "schema.layer_sizes.type"
        @test field_code("layer_sizes", Any[Any[2, 3], 5]) == "schema.layer_sizes.type"
        @test field_code("layer_sizes", Any[Any[2, 3], Any[3]]) == "schema.layer_sizes.type"
        @test field_code("layer_sizes", Any[Any[2, 3], Any[3, 1, 1]]) == "schema.layer_sizes.type"
        @test field_code("layer_sizes", Any[Any[2, 3], Any[3, 1.0]]) == "schema.layer_sizes.type"
        @test field_code("layer_sizes", Any[Any[2, 3], Any[3, true]]) == "schema.layer_sizes.type"
        @test field_code("neuron_types", Any[nothing]) == "schema.neuron_types.type"
        @test field_code("frozen_layers", "out") == "schema.frozen_layers.type"
        @test field_code("n_layers", 2.0) == "schema.n_layers.type"
        @test field_code("n_layers", true) == "schema.n_layers.type"
        @test field_code("total_params", "9") == "schema.total_params.type"
        @test field_code("total_params", 10.0) == "schema.total_params.type"
        @test field_code("metadata", Any[]) == "schema.metadata.type"
        @test field_code("archive_sha256", nothing) == "schema.archive_sha256.type"
        @test field_code("archive_sha256", uppercase("ab"^32)) == "schema.archive_sha256.type"
        @test field_code("archive_sha256", "ab") == "schema.archive_sha256.type"
        @test field_code("archive_sha256", "g"^64) == "schema.archive_sha256.type"
        @test S.check_fields(setkey!(valid_doc(), "archive_sha256", "ab"^32), :load).archive_sha256 == "ab"^32
        # Required keys come before any member's type.
        @test dcode(setkey!(delkey!(valid_doc(), "metadata"), "layer_names", 1)) == "schema.keys.required"
    end
    @testset "load: checkpoint values" begin
        @test field_code("layer_names", Any["hidden", ""]) == "checkpoint.layer_names.nonempty"
        @test field_code("layer_names", Any["out", "out"]) == "checkpoint.layer_names.unique"
        @test field_code("layer_sizes", Any[Any[2, 3]]) == "checkpoint.layer_sizes.count"
        @test field_code("layer_sizes", Any[Any[2, 3], Any[3, 0]]) == "checkpoint.layer_sizes.range"
        @test field_code("layer_sizes", Any[Any[2, 3], Any[2147483648, 1]]) == "checkpoint.layer_sizes.range"
        @test field_code("neuron_types", Any["LIF"]) == "checkpoint.neuron_types.count"
        @test field_code("neuron_types", Any[]) == "accept"
        @test field_code("frozen_layers", Any["nope"]) == "checkpoint.frozen_layers.references"
        @test field_code("n_layers", 3) == "checkpoint.n_layers.consistent"
        @test field_code("total_params", 10) == "checkpoint.total_params.consistent"
        f = S.check_fields(setkey!(valid_doc(), "frozen_layers", Any["out", "hidden", "out"]), :load)
        @test f.frozen_layers == ["hidden", "out"] && f.layer_sizes == [(2, 3), (3, 1)]
        # Products beyond Int64 do not overflow: 4 layers of (2^31-1)^2.
        m = 2147483647
        d = doc_for(["a", "b", "c", "d"], [(m, m) for _ in 1:4])
        @test dcode(setkey!(d, "total_params", 1)) == "checkpoint.total_params.consistent"
        @test dcode(setkey!(d, "total_params", 4 * big(m)^2)) == "accept"
    end
    @testset "load: counts and sizes beyond int64 do not wrap" begin
        doc(from, to) = S.decode_document(Vector{UInt8}(codeunits(replace(S.json_string(valid_doc()), from => to))), "t.json")
        for lit in ("18446744073709551615", "9223372036854775808", "-9223372036854775808")
            @test dcode(doc("\"n_layers\":2", "\"n_layers\":$lit")) == "checkpoint.n_layers.consistent"
            @test dcode(doc("\"total_params\":9", "\"total_params\":$lit")) == "checkpoint.total_params.consistent"
            @test dcode(doc("[[2,3],[3,1]]", "[[$lit,2],[3,1]]")) == "checkpoint.layer_sizes.range"
            @test dcode(doc("[[2,3],[3,1]]", "[[2,3],[3,$lit]]")) == "checkpoint.layer_sizes.range"
        end
    end
    @testset "construct: metadata integers lie in [-2^63, 2^64 - 1]" begin
        for lit in ("18446744073709551616", "-9223372036854775809", "1000000000000000000000000000000", "-1" * "0"^48)
            @test ccode(state(extra = """, "metadata": {"k": $lit}""")) == "schema.metadata.type"
            @test ccode(state(extra = """, "metadata": {"m": {"n": [1, $lit]}}""")) == "schema.metadata.type"
        end
        for lit in ("18446744073709551615", "-9223372036854775808", "9223372036854775808", "9007199254740993")
            f = S.check_state(hv(state(extra = """, "metadata": {"k": $lit, "m": [{"n": $lit}]}, "neuron_types": [], "frozen_layers": []""")))[1]
            @test S.json_string(f.metadata) == """{"k":$lit,"m":[{"n":$lit}]}"""
        end
        # Native Julia integers: judged by value, whatever their type.
        for (v, code) in ((typemax(UInt64), "accept"), (Int128(typemin(Int64)), "accept"), (big(2)^64, "schema.metadata.type"),
                          (Int128(typemin(Int64)) - 1, "schema.metadata.type"), (-big(10)^48, "schema.metadata.type"))
            r = S.check_fields(S.JObject(Pair{String,Any}["weights" => [W1, W2], "layer_names" => ["hidden", "out"],
                "layer_sizes" => [(2, 3), (3, 1)], "neuron_types" => [], "metadata" => Dict("k" => [v]), "frozen_layers" => []]), :construct)
            @test (r isa CheckpointError ? code_id(r) : "accept") == code
        end
    end
    @testset "construct: schema" begin
        @test ccode(state(names = "\"hidden\"")) == "schema.layer_names.type"
        @test ccode(state(names = """["hidden", "\\ud800"]""")) == "schema.layer_names.type"
        @test ccode(state(sizes = "[[2, 3], [3, true]]")) == "schema.layer_sizes.type"
        @test ccode(state(sizes = """[[2, 3], {"\$set": [3, 1]}]""")) == "schema.layer_sizes.type"
        @test ccode(state(extra = """, "neuron_types": "LIF" """)) == "schema.neuron_types.type"
        @test ccode(state(extra = """, "frozen_layers": [1]""")) == "schema.frozen_layers.type"
        for md in ("""{"\$float": "NaN"}""", """{"\$float": "Infinity"}""", """{"\$set": [1]}""", """{"\$bytes": "00ff"}""",
                   """{"\$object": "x"}""", """{"\$tuple": [1]}""", "\"\\udfff\"",
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
        # weight_max_depth: a number in 32 lists is a rank-32 array, in 33 (or 65) lists it is
        # refused before any array is built, even when later invariants fail too.
        wrapped(n) = "[" ^ n * "1" * "]" ^ n
        @test ccode(state(weights = "[$(wrapped(32)), [[1, 2, 3]]]")) == "array.shape.rank"
        for n in (33, 65, 10_000)
            @test ccode(state(weights = "[$(wrapped(n)), [[1, 2, 3]]]")) == "schema.weights.type"
            @test ccode(state(weights = "[$(wrapped(n))]", sizes = "[[2, 3], [3, 1], [1, 1]]")) == "schema.weights.type"
        end
        # An array inside a sequence is not a number; neither is a tuple of mixed depth.
        @test ccode(state(weights = """[[{"\$array": {"shape": [2], "data": [1, 2]}}, [3, 4], [5, 6]], [[1, 2, 3]]]""")) == "schema.weights.type"
        @test ccode(state(weights = """[[[1, 2], {"\$tuple": [3, [4]]}, [5, 6]], [[1, 2, 3]]]""")) == "schema.weights.type"
        # Empty sequences are dimensions of length 0; leaves round to the nearest float64.
        @test S.nested_levels(Any[Any[], Any[]], 32) == ([2, 0], Any[])
        @test S.nested_levels(Any[Any[Any[]], Any[]], 32) == "is a ragged sequence"
        @test S.weight_leaf(9007199254740993) === 9007199254740992.0
        @test S.weight_leaf(Int128(2)^64 - 1) === 1.8446744073709552e19
        @test S.weight_leaf(-(Int128(2)^63) - 1) isa String
    end
    @testset "construct: checkpoint values" begin
        @test ccode(state(names = """["hidden", ""]""")) == "checkpoint.layer_names.nonempty"
        @test ccode(state(names = """["out", "out"]""")) == "checkpoint.layer_names.unique"
        @test ccode(state(sizes = "[[2, 3]]")) == "checkpoint.layer_sizes.count"
        @test ccode(state(sizes = "[[2, 3], [3, 18446744073709551616]]")) == "checkpoint.layer_sizes.range"
        @test ccode(state(extra = """, "neuron_types": ["LIF"]""")) == "checkpoint.neuron_types.count"
        @test ccode(state(extra = """, "frozen_layers": ["x"]""")) == "checkpoint.frozen_layers.references"
        @test ccode(state(weights = "[[[1, 2], [3, 4], [5, 6]]]")) == "checkpoint.weights.count"
    end
    @testset "construct: rank, shape, finiteness" begin
        @test ccode(state(weights = """[{"\$array": {"shape": [6], "data": [1, 2, 3, 4, 5, 6]}}, [[1, 2, 3]]]""")) == "array.shape.rank"
        @test ccode(state(weights = """[{"\$array": {"shape": [], "data": [1]}}, [[1, 2, 3]]]""")) == "array.shape.rank"
        @test ccode(state(weights = "[[[1, 2, 3], [4, 5, 6]], [[1, 2, 3]]]")) == "array.shape.match"
        @test ccode(state(weights = "[[], [[1, 2, 3]]]")) == "array.shape.rank"
        @test ccode(state(weights = "[[[]], [[1, 2, 3]]]")) == "array.shape.match"
        @test ccode(state(weights = """[[[1, 2], [3, 4], [5, {"\$float": "-Infinity"}]], [[1, 2, 3]]]""")) == "array.finite"
        # Order: a rank error on layer 1 beats a shape mismatch on layer 0.
        @test ccode(state(weights = "[[[1, 2, 3], [4, 5, 6]], [1, 2, 3]]")) == "array.shape.rank"
        e = S.check_finite(["a"], [S.row_major([1.0 2.0; 3.0 NaN])])
        @test S.code_id(e) == "array.finite" && occursin("(1, 1)", e.message)
    end
end
