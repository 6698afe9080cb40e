"""Freezing layers and turning a :class:`TransferConfig` into per-layer learning rates.

Every function validates all of its arguments (``transfer.*`` invariants, in spec order) before
it changes the checkpoint, so a rejected call leaves the checkpoint exactly as it was.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from ._fields import is_integer, is_text
from ._limits import FLOAT64_MAX, LAYER_INDEX_MIN
from .checkpoint import SNNCheckpoint
from .errors import CheckpointError, type_name


@dataclass
class TransferConfig:
    """How to fine-tune a pretrained checkpoint.

    Parameters
    ----------
    freeze_until : str or int, default -1
        Freeze layers ``0..k`` where ``k`` is this index, or the index of the layer with this
        name; ``-1`` freezes nothing.
    lr_backbone : float, default 0.0
        Learning rate of frozen layers; finite and ``>= 0``.
    lr_head : float, default 0.01
        Learning rate of trainable layers; finite and ``>= 0``.

    Raises
    ------
    CheckpointError
        ``transfer.freeze_until.*`` or ``transfer.learning_rate.*``.
    """

    freeze_until: str | int = -1
    lr_backbone: float = 0.0
    lr_head: float = 0.01

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the fields again (they may have been reassigned since construction)."""
        # The common case in exact types (an int or str index, float rates) is accepted here
        # without the slow ``numbers`` ABC checks; anything else, valid or not, takes the
        # general checks below, in spec order. 0 <= rate <= FLOAT64_MAX excludes NaN and inf.
        until, backbone, head = self.freeze_until, self.lr_backbone, self.lr_head
        if (
            (
                type(until) is int and until >= LAYER_INDEX_MIN
                or type(until) is str and is_text(until)
            )
            and type(backbone) is float and 0.0 <= backbone <= FLOAT64_MAX
            and type(head) is float and 0.0 <= head <= FLOAT64_MAX
        ):
            return
        if not (is_integer(self.freeze_until) or is_text(self.freeze_until)):
            raise CheckpointError("transfer.freeze_until.type", got=type_name(self.freeze_until))
        if is_integer(self.freeze_until) and int(self.freeze_until) < LAYER_INDEX_MIN:
            raise CheckpointError("transfer.freeze_until.range", value=self.freeze_until)
        rates = (("lr_backbone", self.lr_backbone), ("lr_head", self.lr_head))
        for name, rate in rates:
            if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
                raise CheckpointError("transfer.learning_rate.type", field=name, got=type_name(rate))
        for name, rate in rates:
            try:
                as_float = float(rate)
            except OverflowError:  # an int beyond float64 is not a finite rate either
                as_float = math.inf
            if not (math.isfinite(as_float) and as_float >= 0):
                raise CheckpointError("transfer.learning_rate.range", field=name, value=rate)


def _check_names(operation: str, layer_names: object) -> list[str] | None:
    if layer_names is None:
        return None
    if not isinstance(layer_names, (list, tuple)):
        raise CheckpointError(
            "transfer.layer_names.type", operation=operation, detail=f"got {type_name(layer_names)}"
        )
    for index, name in enumerate(layer_names):
        if not is_text(name):
            detail = f"item {index} is {type_name(name)}"
            raise CheckpointError("transfer.layer_names.type", operation=operation, detail=detail)
    return list(layer_names)


def _check_known(operation: str, checkpoint: SNNCheckpoint, names: Sequence[str]) -> None:
    known = set(checkpoint.layer_names)
    for name in names:
        if name not in known:
            raise CheckpointError("transfer.layer_names.references", operation=operation, name=name)


def _check_index(operation: str, checkpoint: SNNCheckpoint, index: int) -> None:
    if not LAYER_INDEX_MIN <= index < checkpoint.n_layers:
        raise CheckpointError(
            "transfer.layer_index.range",
            operation=operation, value=index, maximum=checkpoint.n_layers - 1,
        )


def freeze_layers(
    checkpoint: SNNCheckpoint,
    layer_names: Sequence[str] | None = None,
    until_index: int | None = None,
) -> SNNCheckpoint:
    """Add layers to the frozen set: the named ones and layers ``0..until_index``.

    Parameters
    ----------
    checkpoint : SNNCheckpoint
        Changed in place (and returned) once every argument is valid.
    layer_names : list of str, optional
        Names of layers to freeze.
    until_index : int, optional
        Freeze layers ``0..until_index`` inclusive; ``-1`` adds none.

    Raises
    ------
    CheckpointError
        ``transfer.selector.missing`` when neither selector is given, or another
        ``transfer.*`` invariant.
    """
    operation = "freeze_layers"
    if layer_names is None and until_index is None:
        raise CheckpointError(
            "transfer.selector.missing", operation=operation, selectors="layer_names or until_index"
        )
    names = _check_names(operation, layer_names) or []
    if until_index is not None and not is_integer(until_index):
        raise CheckpointError("transfer.layer_index.type", got=type_name(until_index))
    _check_known(operation, checkpoint, names)
    if until_index is not None:
        _check_index(operation, checkpoint, int(until_index))
        names += checkpoint.layer_names[: int(until_index) + 1]
    checkpoint.frozen_layers = sorted(set(checkpoint.frozen_layers) | set(names))
    return checkpoint


def unfreeze_layers(
    checkpoint: SNNCheckpoint,
    layer_names: Sequence[str] | None = None,
    all_layers: bool = False,
) -> SNNCheckpoint:
    """Remove layers from the frozen set: the named ones, or all of them.

    Parameters
    ----------
    checkpoint : SNNCheckpoint
        Changed in place (and returned) once every argument is valid.
    layer_names : list of str, optional
        Names of layers to unfreeze; names that are not frozen are left alone.
    all_layers : bool, default False
        Unfreeze every layer.

    Raises
    ------
    CheckpointError
        ``transfer.selector.missing`` when neither selector is given, or another
        ``transfer.*`` invariant.
    """
    operation = "unfreeze_layers"
    if layer_names is None and all_layers is not True:
        raise CheckpointError(
            "transfer.selector.missing", operation=operation, selectors="layer_names or all_layers=True"
        )
    names = _check_names(operation, layer_names) or []
    if not isinstance(all_layers, bool):
        raise CheckpointError("transfer.all_layers.type", got=type_name(all_layers))
    _check_known(operation, checkpoint, names)
    removed = set(checkpoint.layer_names) if all_layers else set(names)
    checkpoint.frozen_layers = sorted(set(checkpoint.frozen_layers) - removed)
    return checkpoint


def apply_transfer_config(
    checkpoint: SNNCheckpoint, config: TransferConfig
) -> tuple[SNNCheckpoint, list[float]]:
    """Freeze layers ``0..k`` as the config says and return one learning rate per layer.

    A frozen layer (frozen now or before) gets ``lr_backbone``, every other layer ``lr_head``.

    Returns
    -------
    checkpoint : SNNCheckpoint
        The same object, changed in place.
    learning_rates : list of float

    Raises
    ------
    CheckpointError
        An invalid config, an unknown layer name or an index outside ``[-1, n_layers - 1]``.
    """
    operation = "apply_transfer_config"
    config.validate()
    until = config.freeze_until
    names = checkpoint.layer_names
    if isinstance(until, str):
        _check_known(operation, checkpoint, [until])
        index = names.index(until)
    else:
        index = int(until)
        if not LAYER_INDEX_MIN <= index < len(names):  # _check_index's test, without a call when it passes
            _check_index(operation, checkpoint, index)
    frozen = {*checkpoint.frozen_layers, *names[: index + 1]}
    checkpoint.frozen_layers = sorted(frozen)
    backbone, head = float(config.lr_backbone), float(config.lr_head)
    return checkpoint, [backbone if name in frozen else head for name in names]
