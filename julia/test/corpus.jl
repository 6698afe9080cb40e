# corpus.jl: every case of fixtures/cases.jsonl through the testee's own run_case, compared with
# the case's expectation (verdict, codes, and each accepted operation's state).

const FIXTURES = get(ENV, "SNN_FIXTURES", normpath(joinpath(@__DIR__, "..", "..", "fixtures")))

"Compares like the harness: integers and strings exactly, floats bit for bit, objects by key."
same(a, b) = a == b
same(a::Float64, b::Float64) = reinterpret(UInt64, a) == reinterpret(UInt64, b)
same(a::Integer, b::Float64) = false
same(a::Float64, b::Integer) = false
same(a::Bool, b::Integer) = a === b
same(a::Integer, b::Bool) = a === b
same(a::Bool, b::Bool) = a === b
same(a::Vector, b::Vector) = length(a) == length(b) && all(same(x, y) for (x, y) in zip(a, b))
function same(a::S.JObject, b::S.JObject)
    length(a) == length(b) || return false
    for (k, v) in a.pairs
        w = get(b, k, S.JSON_ABSENT)
        (w !== S.JSON_ABSENT && same(v, w)) || return false
    end
    return true
end

"Our results with messages dropped, as parsed JSON (what the harness would read)."
function our_results(case::S.JObject)
    results = S.run_case(case)
    parsed = S.read_json_protocol(S.json_string(results))
    return [S.JObject(filter(p -> first(p) != "message", r.pairs)) for r in parsed]
end

@testset "corpus" begin
    path = joinpath(FIXTURES, "cases.jsonl")
    if !isfile(path)
        @info "no corpus at $path yet; skipping the corpus test"
        @test_skip false
    else
        failures = String[]
        n = 0
        for line in eachline(path)
            isempty(strip(line)) && continue
            case = S.read_json_protocol(line)
            run = S.JObject(vcat(case.pairs, ["root" => FIXTURES]))
            expected = case["expect"]["results"]
            got = try
                our_results(run)
            catch err
                push!(failures, "$(case["id"]): errored: $(sprint(showerror, err))")
                continue
            end
            n += 1
            same(Any[got...], expected) || push!(failures, "$(case["id"]): expected $(S.json_string(expected))\n    got $(S.json_string(got))")
        end
        for f in failures[1:min(end, 30)]
            println(stderr, "corpus mismatch: ", f[1:min(end, 1500)])
        end
        @test n > 0
        @test isempty(failures)
    end
end
