"""The checkpoint domain: what the cases of this project mean.

The spec loader, the Hypothesis strategies, the mutation registry, the case model and the
byte-exact fixture writers, the corpus generator, the in-process reference executor and the
Python reference testee. ``conformance.toml [domain]`` plugs it into the core.
"""
