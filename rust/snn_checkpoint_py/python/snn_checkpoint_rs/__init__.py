"""The Rust implementation of the SNN checkpoint spec (spec/checkpoint.yaml), for Python.

Every rejection raises :class:`CheckpointError` (a ``ValueError``) whose ``.code`` is the ID of
the first violated invariant in spec order, exactly as the Python reference reports it.
"""

from ._native import (
    PROTOCOL,
    SPEC_VERSION,
    Checkpoint,
    CheckpointError,
    __version__,
    apply_transfer_config,
    handle_line,
    load_checkpoint,
    run_case,
    save_checkpoint,
    validate,
)

__all__ = [
    "PROTOCOL",
    "SPEC_VERSION",
    "Checkpoint",
    "CheckpointError",
    "__version__",
    "apply_transfer_config",
    "handle_line",
    "load_checkpoint",
    "run_case",
    "save_checkpoint",
    "validate",
]
