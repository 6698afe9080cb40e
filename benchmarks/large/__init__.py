"""The large-checkpoint benchmark suite (issue 15) behind ``benchmarks/bench_large.py``.

Modules: ``procmem`` (resident memory of a process tree from /proc), ``testee`` (one measured
testee process per repeat), ``driver`` (the reference library and numpy behind the same
protocol), ``data`` (sizes, layer shapes, generated pairs), ``limits`` (the machine's own
speeds on the same bytes), ``report`` (medians, ratios, the Markdown tables).
"""
