"""The generic harness core: protocol, testee processes, sessions, runner, judge, diff,
known divergences, reports and CLI.

It deals in cases, opaque operations, results, codes and invariant IDs, and knows nothing of
the format under test: a *domain* named in ``conformance.toml [domain]`` supplies the spec
loader, the corpus writer and the in-process reference. An import-linter contract
(``pyproject.toml``) keeps it that way.
"""
