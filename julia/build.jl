# Build step: precompiles SNNCheckpoints into the Julia depot (runs the warm-up workload once),
# so the testee and the tests start faster. Safe to run repeatedly.
pushfirst!(LOAD_PATH, @__DIR__)
using SNNCheckpoints
println("SNNCheckpoints ", SNNCheckpoints.VERSION_STRING, " precompiled for julia ", VERSION)
