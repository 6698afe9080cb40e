"""snnconform: a polyglot conformance harness.

The core (protocol, runner, diff, divergences, reports, CLI) deals in cases, opaque operations,
results and invariant IDs. What a case means is plugged in by a *domain* named in
``conformance.toml``: a spec loader, a corpus writer and an in-process reference executor.
"""

from snnconform.core._protocol import PROTOCOL_VERSION, ProtocolError

__all__ = ["PROTOCOL_VERSION", "ProtocolError", "__version__"]

__version__ = "0.2.0"
