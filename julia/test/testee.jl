# testee.jl: the JSON Lines protocol (docs/protocol.md) as the harness speaks it.

"The answers of the testee to request lines."
function serve_lines(lines...)
    out = IOBuffer()
    S.serve(IOBuffer(join(lines, "\n") * "\n"), out)
    return [S.read_json_protocol(l) for l in split(String(take!(out)), '\n'; keepempty = false)]
end

@testset "testee" begin
    data = joinpath(@__DIR__, "data")
    ops = """[{"op": "load", "base": "tiny"}, {"op": "apply_transfer_config", "config": {"freeze_until": 0, "lr_head": 0.5}},
             {"op": "freeze_layers", "args": {}}]"""
    hello, run, bad, stopped = serve_lines("""{"cmd": "hello", "protocol": 1}""",
        """{"cmd": "run", "seq": 7, "case": {"id": "c1", "root": $(S.json_string(data)), "ops": $(replace(ops, "\n" => ""))}}""",
        "not json", """{"cmd": "stop"}""", """{"cmd": "hello"}""")
    @test hello["implementation"] == "julia" && hello["protocol"] == 1 && hello["spec_version"] == S.SPEC_VERSION
    @test hello["capabilities"] == S.CAPABILITIES
    @test run["seq"] == 7 && run["id"] == "c1"
    results = run["results"]
    @test [r["verdict"] for r in results] == ["accept", "accept", "reject"]
    @test results[1]["state"]["metadata"] == S.JObject(Pair{String,Any}["task" => "tiny", "rate" => 0.5, "n" => 3])
    @test results[2]["state"]["learning_rates"] == [0.0, 0.5] && results[2]["state"]["frozen_layers"] == ["hidden"]
    @test results[3]["code"] == "transfer.selector.missing"
    @test haskey(bad, "errored")
    @test stopped == S.JObject(Pair{String,Any}["stopped" => true])       # nothing is answered after stop
    # Metadata integers travel exactly, both ways; one beyond 2^64 - 1 is refused.
    out = IOBuffer()
    md = """{"seed": 18446744073709551615, "neg": -9223372036854775808}"""
    S.serve(IOBuffer("""{"cmd": "run", "seq": 2, "case": {"id": "c3", "root": "/", "ops": [{"op": "construct", "state": $(state(extra = ", \"metadata\": $md"))}]}}\n"""), out)
    @test occursin("\"metadata\":{\"seed\":18446744073709551615,\"neg\":-9223372036854775808}", String(take!(out)))
    refused = serve_lines("""{"cmd": "run", "seq": 3, "case": {"id": "c4", "root": "/", "ops": [{"op": "construct", "state": $(state(extra = ", \"metadata\": {\"k\": 18446744073709551616}"))}]}}""")[1]
    @test refused["results"][1]["code"] == "schema.metadata.type"
    # An operation the testee does not know is its own failure, never a verdict.
    answer = serve_lines("""{"cmd": "run", "seq": 1, "case": {"id": "c2", "root": "/", "ops": [{"op": "explode"}]}}""")[1]
    @test haskey(answer, "errored") && !haskey(answer, "results")
    # save: the files' digests and sizes as written; the checkpoint stays the current one.
    @test "save" in hello["capabilities"]
    out = joinpath(mktempdir(), "new", "ckpt")
    ops = [S.JObject(Pair{String,Any}["op" => "load", "base" => "tiny"]),
           S.JObject(Pair{String,Any}["op" => "save", "out" => out, "compression" => "stored"]),
           S.JObject(Pair{String,Any}["op" => "save", "out" => out * ".deflated"]),
           S.JObject(Pair{String,Any}["op" => "freeze_layers", "args" => S.JObject(Pair{String,Any}["until_index" => 0])])]
    case = S.JObject(Pair{String,Any}["id" => "c5", "root" => data, "ops" => ops])
    results = serve_lines("""{"cmd": "run", "seq": 5, "case": $(S.json_string(case))}""")[1]["results"]
    @test [r["verdict"] for r in results] == ["accept", "accept", "accept", "accept"]
    for (result, base) in zip(results[2:3], (out, out * ".deflated")), suffix in ("npz", "json")
        bytes = read("$base.$suffix")
        @test result["saved"][suffix] == S.JObject(Pair{String,Any}["sha256" => bytes2hex(SHA.sha256(bytes)), "size" => length(bytes)])
    end
    @test results[4]["state"]["frozen_layers"] == ["hidden"]
    @test S.json_string(S.observe(S.load_checkpoint(out))) == S.json_string(results[1]["state"])
    # With a state, the writer validates it: refused with the construct code, nothing written.
    out = joinpath(mktempdir(), "refused", "ckpt")
    bad = """{"op": "save", "out": $(S.json_string(out)), "state": $(state(names = "[\"hidden\", \"\"]"))}"""
    answer = serve_lines("""{"cmd": "run", "seq": 6, "case": {"id": "c6", "root": "/", "ops": [$bad]}}""")[1]
    @test answer["results"][1]["code"] == "checkpoint.layer_names.nonempty" && !ispath(dirname(out))
    good = """{"op": "save", "out": $(S.json_string(out)), "state": $(state())}"""
    answer = serve_lines("""{"cmd": "run", "seq": 7, "case": {"id": "c7", "root": "/", "ops": [$good]}}""")[1]
    @test answer["results"][1]["verdict"] == "accept" && isfile(out * ".json") && isfile(out * ".npz")
    # timing: every result of a run that asks gets `seconds`, accepted or refused; else none does.
    @test "timing" in hello["capabilities"]
    ops = """[{"op": "load", "base": "tiny"}, {"op": "save", "out": $(S.json_string(out * ".t"))}, {"op": "freeze_layers", "args": {}}]"""
    timed, plain = serve_lines(
        """{"cmd": "run", "seq": 8, "timing": true, "case": {"id": "c8", "root": $(S.json_string(data)), "ops": $ops}}""",
        """{"cmd": "run", "seq": 9, "case": {"id": "c9", "root": $(S.json_string(data)), "ops": $ops}}""")
    @test [r["verdict"] for r in timed["results"]] == ["accept", "accept", "reject"]
    @test all(r -> r["seconds"] isa Float64 && r["seconds"] >= 0, timed["results"])
    @test !any(r -> haskey(r, "seconds"), plain["results"])
    @test [S.JObject(filter(p -> first(p) != "seconds", r.pairs)) for r in timed["results"]] == plain["results"]
end
