# The Julia testee: speaks docs/protocol.md on stdin/stdout. The module is loaded once and
# every case is served from this process; diagnostics go to stderr only.
# Start it with julia/julia.sh (see setup.sh for why the wrapper exists).

# The precompiled package (julia/build.jl fills the cache) loads faster than include(); fall
# back to the sources when the cache cannot be used (e.g. a read-only depot).
pushfirst!(LOAD_PATH, @__DIR__)
try
    @eval using SNNCheckpoints
catch err
    println(stderr, "testee: precompiled module unavailable (", sprint(showerror, err), "); including the sources")
    include(joinpath(@__DIR__, "src", "SNNCheckpoints.jl"))
    @eval using .SNNCheckpoints
end

# Compile every operation before answering hello, so that no case pays for JIT compilation
# against the per-case timeout.
try
    SNNCheckpoints.precompile_workload()
catch err
    println(stderr, "testee: warm-up failed: ", sprint(showerror, err))
end

SNNCheckpoints.serve(stdin, stdout)
exit(0)
