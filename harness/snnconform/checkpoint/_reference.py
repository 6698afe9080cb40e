"""Runs a case's operations with the Python reference, answering as a testee would.

This adapter is the checkpoint domain's half of the Python testee (``python -m
snnconform.checkpoint.testee``) and the oracle the fixture generator checks every case against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import sc_neurocore.transfer
from sc_neurocore.transfer import SNNCheckpoint, TransferConfig

from . import _hostvalue

OPERATIONS = (
    "load",
    "construct",
    "freeze_layers",
    "unfreeze_layers",
    "transfer_config",
    "apply_transfer_config",
    "save",
)


def observe(checkpoint: SNNCheckpoint) -> dict[str, Any]:
    """The observable state the protocol reports for an accepted operation."""
    return {
        "n_layers": checkpoint.n_layers,
        "total_params": checkpoint.total_params,
        "layer_names": list(checkpoint.layer_names),
        "layer_sizes": [list(pair) for pair in checkpoint.layer_sizes],
        "neuron_types": list(checkpoint.neuron_types),
        "frozen_layers": list(checkpoint.frozen_layers),
        "metadata": checkpoint.metadata,
        "weight_sha256": checkpoint.weight_sha256(),
    }


def _file(path: Path) -> dict[str, Any]:
    """A saved file's digest and size, read in pieces (never a second copy of a large file)."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def _save(op: Mapping[str, Any], checkpoint: SNNCheckpoint | None, api: ModuleType) -> dict[str, Any]:
    """``save``: write the current checkpoint, or the unvalidated ``state`` given inline (the
    writer must then refuse it with the construct code), to ``out`` (+ .npz, .json)."""
    if "state" in op:
        checkpoint = SNNCheckpoint.__new__(SNNCheckpoint)
        checkpoint.__dict__.update({"neuron_types": [], "metadata": {}, "frozen_layers": [],
                                    **_hostvalue.decode(op["state"])})
    if checkpoint is None:
        raise ValueError("'save' needs a checkpoint or a state")
    out = op["out"]
    api.save_checkpoint(checkpoint, out, compression=op.get("compression", "deflate"), level=op.get("level", 1))
    return {"saved": {"npz": _file(Path(out + ".npz")), "json": _file(Path(out + ".json"))}}


def _config(op: Mapping[str, Any], api: ModuleType) -> TransferConfig:
    config: TransferConfig = api.TransferConfig(**_hostvalue.decode(op.get("config", {})))
    return config


def _run(op: Mapping[str, Any], root: Path, checkpoint: SNNCheckpoint | None,
         api: ModuleType) -> tuple[SNNCheckpoint | None, dict[str, Any]]:
    """Execute one operation; returns the (new) checkpoint and the accepted result's payload."""
    name = op["op"]
    if name == "load":
        checkpoint = api.load_checkpoint(root / op["base"])
    elif name == "construct":
        checkpoint = api.SNNCheckpoint(**_hostvalue.decode(op["state"]))
    elif name == "transfer_config":
        config = _config(op, api)
        return checkpoint, {"config": {
            "freeze_until": config.freeze_until,
            "lr_backbone": float(config.lr_backbone),
            "lr_head": float(config.lr_head),
        }}
    elif name == "save":
        return checkpoint, _save(op, checkpoint, api)
    elif checkpoint is None:
        raise ValueError(f"{name!r} needs a checkpoint: a case starts with load or construct")
    elif name == "freeze_layers":
        api.freeze_layers(checkpoint, **_hostvalue.decode(op.get("args", {})))
    elif name == "unfreeze_layers":
        api.unfreeze_layers(checkpoint, **_hostvalue.decode(op.get("args", {})))
    elif name == "apply_transfer_config":
        checkpoint, rates = api.apply_transfer_config(checkpoint, _config(op, api))
        return checkpoint, {"state": {**observe(checkpoint), "learning_rates": rates}}
    else:
        raise ValueError(f"unknown operation {name!r}")
    return checkpoint, {"state": observe(checkpoint)}


def execute_case(case: Mapping[str, Any], root: Path, api: ModuleType = sc_neurocore.transfer) -> dict[str, Any]:
    """Run ``case["ops"]`` in order, stopping at the first rejection.

    Returns ``{"results": [...]}`` as in a testee's ``run`` answer (without ``seq`` and ``id``).
    Anything other than a :class:`CheckpointError` propagates: it is a bug, not a verdict.
    ``api`` is the package to run (the order oracle passes a rewritten copy of the reference).
    """
    results: list[dict[str, Any]] = []
    checkpoint: SNNCheckpoint | None = None
    for op in case["ops"]:
        try:
            checkpoint, payload = _run(op, root, checkpoint, api)
        except api.CheckpointError as error:
            results.append({"op": op["op"], "verdict": "reject", "code": error.code, "message": str(error)})
            break
        results.append({"op": op["op"], "verdict": "accept", **payload})
    return {"results": results}
