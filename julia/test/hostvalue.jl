# hostvalue.jl: the protocol's host-value encoding decoded into Julia values.

@testset "hostvalue" begin
    @test hv("""[1, 2.5, null, true, "s", {"k": [1]}]""") == Any[1, 2.5, nothing, true, "s", S.JObject(Pair{String,Any}["k" => Any[1]])]
    @test hv("""{"\$float": "NaN"}""") === NaN && hv("""{"\$float": "-Infinity"}""") === -Inf
    @test_throws ArgumentError hv("""{"\$float": "nan"}""")
    a = hv("""{"\$array": {"shape": [2, 3], "data": [1, 2, 3, 4, 5, {"\$float": "Infinity"}]}}""")
    @test a isa S.HostArray && a.shape == [2, 3] && a.data == [1, 2, 3, 4, 5, Inf]
    @test hv("""{"\$array": {"shape": [-1, 2], "data": [1, 2, 3, 4]}}""").shape == [2, 2]
    @test hv("""{"\$array": {"shape": 3, "data": [[1], [2], [3]]}}""").shape == [3]
    @test_throws ArgumentError hv("""{"\$array": {"shape": [2, 2], "data": [1, 2, 3]}}""")
    @test_throws ArgumentError hv("""{"\$array": {"shape": [2], "data": [[1], 2]}}""")
    @test hv("""{"\$tuple": [1, {"\$set": [2]}]}""") isa S.HostTuple
    @test hv("""{"\$tuple": [1, {"\$set": [2]}]}""").items[2] isa S.HostSet
    @test hv("""{"\$bytes": "00ff"}""").data == UInt8[0x00, 0xff]
    @test hv("""{"\$object": "x"}""") isa S.HostOpaque
    # A \$map with a non-string key stays a map; with string keys it is a dict (the last key wins).
    @test hv("""{"\$map": [[1, "a"]]}""") isa S.HostMap
    @test hv("""{"\$map": [["\$k", 1], ["\$k", 2]]}""") == S.JObject(Pair{String,Any}["\$k" => 2])
    @test_throws ArgumentError hv("""{"\$nope": 1}""")
    # Integers of any size are decoded exactly.
    @test hv("-1000000000000000000000000000000") == -big(10)^30
    @test S.host_type_name(hv("""{"\$set": []}""")) == "set"
end
