# The Julia testee: speaks docs/protocol.md on stdin/stdout. The module is loaded once and
# every case is served from this process; diagnostics go to stderr only.
# Start it with julia/testee.sh (the system image; julia.sh and setup.sh say why the wrapper exists).

const SNN_PKG = Base.PkgId(Base.UUID("f583110e-a19c-41ae-b2be-7e6f4eeb51a8"), "SNNCheckpoints")
# Started from build.sh's system image, the module and its compiled code are already loaded.
const FROM_IMAGE = Base.root_module_exists(SNN_PKG)

# Else the precompiled package (build.jl fills the cache) loads faster than include(); fall back
# to the sources when the cache cannot be used (e.g. a read-only depot).
pushfirst!(LOAD_PATH, @__DIR__)
try
    @eval using SNNCheckpoints
catch err
    println(stderr, "testee: precompiled module unavailable (", sprint(showerror, err), "); including the sources")
    include(joinpath(@__DIR__, "src", "SNNCheckpoints.jl"))
    @eval using .SNNCheckpoints
end

# Without the image, compile every operation before answering hello, so that no case pays for
# JIT compilation against the per-case timeout.
FROM_IMAGE || try
    SNNCheckpoints.precompile_workload()
catch err
    println(stderr, "testee: warm-up failed: ", sprint(showerror, err))
end

SNNCheckpoints.serve(stdin, stdout)
exit(0)
