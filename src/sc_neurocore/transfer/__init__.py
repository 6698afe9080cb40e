"""Safe SNN transfer-learning checkpoints.

Save and load spiking-network weights as a ``BASE.npz`` + ``BASE.json`` pair, validated against
``spec/checkpoint.yaml`` (no pickle, strict JSON, exact shapes, finite weights), and turn a
:class:`TransferConfig` into per-layer learning rates. Every rejection raises
:class:`CheckpointError`, whose ``.code`` names the violated invariant.
"""

from .checkpoint import SNNCheckpoint, load_checkpoint, save_checkpoint
from .errors import CheckpointError
from .fine_tune import TransferConfig, apply_transfer_config, freeze_layers, unfreeze_layers

__all__ = [
    "CheckpointError",
    "SNNCheckpoint",
    "TransferConfig",
    "apply_transfer_config",
    "freeze_layers",
    "load_checkpoint",
    "save_checkpoint",
    "unfreeze_layers",
]
