# limits.jl: the limits and accepted dtypes equal the spec's `limits:` and `npy.accepted_dtypes`.

"The `  name: value` lines of a top-level section of the spec (comments skipped)."
function spec_section(name::String, indent::String)
    found = Pair{String,String}[]
    inside = false
    for line in eachline(SPEC)
        if !startswith(line, " ") && !isempty(strip(line))
            inside = startswith(line, name * ":")
            continue
        end
        m = match(Regex("^$(indent)([^ #][^:]*): *(.*?) *\$"), line)
        inside && m !== nothing && push!(found, strip(m.captures[1], '"') => m.captures[2])
    end
    return found
end

@testset "limits" begin
    # Integers exactly; float64_max through the JSON reader's strtod (no Base.parse(Float64)).
    limits = Dict(k => something(tryparse(Int128, v), S.strtod(v)) for (k, v) in spec_section("limits", "  "))
    @test limits == S.LIMITS
    # npy.accepted_dtypes: descr -> "float32, exact widening"; the first word names our type.
    dtypes = Dict(k => first(split(v, ',')) for (k, v) in spec_section("npy", "    ")
                  if occursin(r"^[<>|]", k))
    @test Set(keys(dtypes)) == Set(keys(S.ACCEPTED_DTYPES))
    for (descr, T) in S.ACCEPTED_DTYPES
        @test dtypes[descr] == lowercase(string(T))
    end
end
