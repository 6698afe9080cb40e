# What julia/build.sh puts into the system image, run under `--output-o`: SNNCheckpoints and the
# native code its workload compiles (Julia 1.5 caches no native code in packages, so without the
# image every testee pays several seconds of JIT). The workload is the module's own
# precompile_workload (every operation, accepted and rejected, save in both compressions) and
# every case of the corpus served through the testee loop, with and without timing.

Base.reinit_stdio()                                  # without it, any output segfaults in this mode
Sys.__init__(); Base.init_depot_path(); Base.init_load_path()    # so that `using` finds the stdlib

pushfirst!(LOAD_PATH, @__DIR__)
using SNNCheckpoints                                 # runs precompile_workload while generating output

"Serves every case of the corpus files under `fixtures` (results discarded); the number served."
function serve_corpus(fixtures::String)
    requests = IOBuffer()
    n = 0
    for list in (joinpath(fixtures, "cases.jsonl"), joinpath(fixtures, "regressions", "cases.jsonl"))
        isfile(list) || continue
        root = SNNCheckpoints.json_string(dirname(list))
        for line in eachline(list)
            isempty(strip(line)) && continue
            case = SNNCheckpoints.read_json_protocol(line)
            ops = SNNCheckpoints.json_string(case["ops"])
            timing = isodd(n) ? ",\"timing\":true" : ""
            println(requests, "{\"cmd\":\"run\",\"seq\":$n$timing,\"case\":{\"id\":\"w$n\",\"root\":$root,\"ops\":$ops}}")
            n += 1
        end
    end
    println(requests, "{\"cmd\":\"stop\"}")
    SNNCheckpoints.serve(seekstart(requests), IOBuffer())
    return n
end

println("system image workload: ", serve_corpus(normpath(joinpath(@__DIR__, "..", "fixtures"))), " corpus cases")
