"""Type stubs of the compiled module (src/lib.rs)."""

import os
from typing import Any, Literal

SPEC_VERSION: int
PROTOCOL: int
__version__: str

class CheckpointError(ValueError):
    """A checkpoint rule was violated; ``code`` is the spec invariant ID."""

    code: str

class Checkpoint:
    """A validated checkpoint."""

    @property
    def n_layers(self) -> int: ...
    @property
    def total_params(self) -> int: ...
    @property
    def layer_names(self) -> list[str]: ...
    @property
    def layer_sizes(self) -> list[tuple[int, int]]: ...
    @property
    def neuron_types(self) -> list[str]: ...
    @property
    def frozen_layers(self) -> list[str]: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def weight_sha256(self) -> list[str]: ...
    @property
    def weights(self) -> list[list[list[float]]]: ...
    def state(self) -> dict[str, Any]:
        """The observable state, as the testee protocol reports it."""
    def freeze_layers(self, layer_names: object = None, until_index: object = None) -> None:
        """Add the named layers and layers ``0..until_index`` to the frozen set."""
    def unfreeze_layers(self, layer_names: object = None, all_layers: object = None) -> None:
        """Remove the named layers (or all layers when ``all_layers`` is True)."""

def load_checkpoint(base: str | os.PathLike[str]) -> Checkpoint:
    """Load ``BASE.json`` + ``BASE.npz``; raises CheckpointError."""

def save_checkpoint(
    checkpoint: Checkpoint,
    base: str | os.PathLike[str],
    compression: Literal["deflate", "stored"] = "deflate",
    level: int = 1,
) -> None:
    """Write ``BASE.npz`` and ``BASE.json``, each atomically, creating parent folders.

    ``level`` is the deflate level, 1 (fastest, the default) to 9. Raises ValueError for another
    compression or level, CheckpointError for an invalid checkpoint (nothing is written in
    either case), OSError when the file system fails.
    """

def validate(
    weights: object,
    layer_names: object,
    layer_sizes: object,
    neuron_types: object = None,
    metadata: object = None,
    frozen_layers: object = None,
) -> Checkpoint:
    """Validate in-memory values as the SNNCheckpoint constructor does (None = default)."""

def apply_transfer_config(
    checkpoint: Checkpoint,
    freeze_until: object = None,
    lr_backbone: object = None,
    lr_head: object = None,
) -> list[float]:
    """Validate a TransferConfig (None = default), freeze layers 0..k, return per-layer rates."""

def run_case(case_json: str) -> str:
    """Run one protocol case ``{"id", "root", "ops"}``; the answer's JSON text without seq."""

def handle_line(line: str, implementation: str = "rust-inprocess") -> tuple[str, bool]:
    """Answer one protocol request line; the flag says whether it was ``stop``."""
