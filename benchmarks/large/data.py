"""Sizes, layer shapes and the generated checkpoint pairs.

A checkpoint of N bytes of float64 weights has ``LAYERS`` layers of N / LAYERS bytes each, shaped
as close to square as a power-of-two column count allows, alternating ``(r, c)`` and ``(c, r)``
so that consecutive layers chain (one layer's outputs are the next one's inputs).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np

LAYERS = 4
SEED = 20261215
MIB = 2**20
UNITS = {"K": 2**10, "M": 2**20, "G": 2**30}
DATA_KINDS = ("random", "zeros")
COMPRESSIONS = ("stored", "deflate")


def parse_size(text: str) -> int:
    """``"64M"`` (MiB), ``"1.5G"`` (GiB), ``"1536M"`` or a plain byte count -> bytes."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = UNITS.get(text[-1:], 1)
    number = float(text[:-1] if text[-1:] in UNITS else text)
    nbytes = int(number * scale)
    if nbytes <= 0 or nbytes % (8 * LAYERS):
        raise ValueError(f"size {text!r}: must be a positive multiple of {8 * LAYERS} bytes")
    return nbytes


def label(nbytes: int) -> str:
    """``64 MiB``, ``1.5 GiB``: the unit that keeps the number small."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:g} {unit}"
    return f"{nbytes} B"


def shapes(nbytes: int) -> list[tuple[int, int]]:
    """Weight matrix shapes ``(output_features, input_features)`` of the layers."""
    count = nbytes // 8 // LAYERS
    columns = 2 ** round(math.log2(math.sqrt(count)))
    while count % columns:
        columns //= 2
    rows = count // columns
    return [(rows, columns) if i % 2 == 0 else (columns, rows) for i in range(LAYERS)]


def weights(nbytes: int, kind: str) -> list[np.ndarray]:
    """The layers' float64 weights: seeded standard normal (``random``) or ``zeros``."""
    if kind == "zeros":
        return [np.zeros(shape) for shape in shapes(nbytes)]
    rng = np.random.default_rng(SEED)
    return [rng.standard_normal(shape) for shape in shapes(nbytes)]


def write_pair(base: Path, layers: list[np.ndarray], compression: str, level: int) -> int | None:
    """Save the pair with the Python reference; returns the level used (None: no level yet)."""
    from sc_neurocore.transfer import SNNCheckpoint, save_checkpoint

    checkpoint = SNNCheckpoint(weights=layers, layer_names=[f"layer{i}" for i in range(len(layers))],
                               layer_sizes=[(w.shape[1], w.shape[0]) for w in layers],
                               metadata={"benchmark": "bench_large"})
    if "level" in inspect.signature(save_checkpoint).parameters:
        save_checkpoint(checkpoint, base, compression=compression, level=level)
        return level
    save_checkpoint(checkpoint, base, compression=compression)
    return None
