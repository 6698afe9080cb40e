"""A fixture case before it becomes files: the model that mutation operators edit.

A :class:`CaseModel` holds the first operation's inputs (a metadata document and an archive
model for ``load``, constructor arguments for ``construct``) and the transfer operations after
it, all as Python values. :meth:`CaseModel.render` writes the files and returns the protocol
operations, so an operator never has to patch bytes it did not describe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import _hostvalue
from ._fixturefiles import Npy, Pairs, Raw, ZipMember, ZipModel, dump_json

BASE_NAME = "checkpoint"


@dataclass
class Draft:
    """A valid checkpoint and the (valid) encoding choices for its files."""

    weights: list[np.ndarray[Any, Any]]  # in the dtype the archive stores
    layer_names: list[str]
    layer_sizes: list[tuple[int, int]]
    neuron_types: list[str]
    metadata: dict[str, Any]
    frozen_layers: list[str]
    fortran: list[bool]
    npy_versions: list[tuple[int, int]]
    methods: list[int]
    numpy_style: list[bool]
    member_order: list[int]
    with_digest: bool
    compact_json: bool
    ascii_json: bool  # False: non-ASCII characters written as raw UTF-8, not \u escapes
    zip64: bool
    ops: list[dict[str, Any]] = field(default_factory=list)
    # Spaces before each .npy header's "{" (npy.header_grammar allows them).
    npy_leading_spaces: list[int] = field(default_factory=list)


@dataclass
class CaseModel:
    """One case, editable in place by mutation operators."""

    surface: str  # "load" or "construct"
    document: dict[str, Any] | Pairs | Raw  # Raw: the whole document's text, verbatim
    archive: ZipModel
    state: dict[str, Any]
    ops: list[dict[str, Any]]
    compact_json: bool = False
    ascii_json: bool = True
    # archive_sha256: None = absent, "auto" = of the final archive, a callable = computed from
    # the final archive, anything else = written as is (a mutation's wrong value).
    digest: Any = None
    text_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)
    archive_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)
    file_actions: dict[str, str] = field(default_factory=dict)  # "metadata"/"archive" -> action
    # The layer the next operator acts on, when an order case places two violations on chosen
    # layers (see _order); the layers operators picked, in order.
    layer_hint: int | None = None
    picked_layers: list[int] = field(default_factory=list)

    @classmethod
    def from_draft(cls, draft: Draft, surface: str) -> CaseModel:
        as_float = [np.asarray(w, dtype=np.float64) for w in draft.weights]
        members = []
        for index in draft.member_order:
            matrix = draft.weights[index]
            if draft.fortran[index]:
                matrix = np.asfortranarray(matrix)
            npy = Npy.of(matrix, draft.npy_versions[index])
            if draft.npy_leading_spaces:
                npy.leading_spaces = draft.npy_leading_spaces[index]
            members.append(
                ZipMember(
                    f"layer_{index}.npy".encode(),
                    npy,
                    method=draft.methods[index],
                    numpy_style=draft.numpy_style[index],
                )
            )
        document: dict[str, Any] = {
            "layer_names": list(draft.layer_names),
            "layer_sizes": [list(pair) for pair in draft.layer_sizes],
            "neuron_types": list(draft.neuron_types),
            "frozen_layers": list(draft.frozen_layers),
            "n_layers": len(draft.layer_names),
            "total_params": sum(i * o for i, o in draft.layer_sizes),
            "metadata": draft.metadata,
        }
        state = {
            "weights": as_float,
            "layer_names": list(draft.layer_names),
            "layer_sizes": [list(pair) for pair in draft.layer_sizes],
            "neuron_types": list(draft.neuron_types),
            "metadata": draft.metadata,
            "frozen_layers": list(draft.frozen_layers),
        }
        return cls(
            surface=surface,
            document=document,
            archive=ZipModel(members, zip64=draft.zip64),
            state=state,
            ops=[dict(op) for op in draft.ops],
            compact_json=draft.compact_json,
            ascii_json=draft.ascii_json,
            digest="auto" if draft.with_digest else None,
        )

    # ------------------------------------------------------------------ helpers for operators

    @property
    def n_layers(self) -> int:
        return len(self.state["layer_names"])

    def member(self, layer: int) -> ZipMember:
        name = f"layer_{layer}.npy".encode()
        return next(member for member in self.archive.members if member.name == name)

    def npy(self, layer: int) -> Npy:
        payload = self.member(layer).payload
        assert isinstance(payload, Npy)
        return payload

    # ------------------------------------------------------------------ rendering

    def render(self, case_dir: Path, relative: str) -> list[dict[str, Any]]:
        """Write the files (load surface) and return the protocol operations."""
        if self.surface == "construct":
            first: dict[str, Any] = {"op": "construct", "state": _hostvalue.encode(self.state)}
        else:
            case_dir.mkdir(parents=True, exist_ok=True)
            archive = self.archive.render()
            for edit in self.archive_edits:
                archive = edit(archive)
            document = self.document
            if self.digest is not None:
                if callable(self.digest):
                    digest = self.digest(archive)
                elif self.digest == "auto":
                    digest = hashlib.sha256(archive).hexdigest()
                else:
                    digest = self.digest
                if isinstance(document, Pairs):
                    document.items.append(("archive_sha256", digest))
                elif isinstance(document, dict):
                    document = {**document, "archive_sha256": digest}
            indent = None if self.compact_json else 2
            text = dump_json(document, indent, ensure_ascii=self.ascii_json).encode("utf-8")
            for edit in self.text_edits:
                text = edit(text)
            paths = {"metadata": case_dir / f"{BASE_NAME}.json", "archive": case_dir / f"{BASE_NAME}.npz"}
            paths["metadata"].write_bytes(text)
            paths["archive"].write_bytes(archive)
            for file, action in self.file_actions.items():
                _apply_file_action(paths[file], action)
            first = {"op": "load", "base": f"{relative}/{BASE_NAME}"}
        return [first, *(_hostvalue.encode_op(op) for op in self.ops)]


def _apply_file_action(path: Path, action: str) -> None:
    if action == "delete":
        path.unlink()
    elif action == "directory":
        path.unlink()
        path.mkdir()
        # git does not keep empty folders; a marker file keeps this one in the corpus.
        (path / "README").write_text("A folder where a file is expected.\n")
    else:
        raise ValueError(f"unknown file action {action!r}")


def reset_dir(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        os.unlink(path)


__all__ = ["BASE_NAME", "CaseModel", "Draft", "reset_dir"]
