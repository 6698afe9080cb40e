"""Hypothesis strategies for SNN checkpoints: valid ones, their files, hostile files, configs.

Use them in your own property tests; they need neither the fixture corpus nor
``conformance.toml``, only this package (with its ``harness`` extra) and ``sc_neurocore``::

    from hypothesis import given
    from snnconform.strategies import checkpoints, invalid_checkpoint_files

    @given(checkpoints(max_layers=3))
    def test_my_exporter_keeps_every_layer(checkpoint):
        assert len(my_export(checkpoint).layers) == checkpoint.n_layers

    @given(invalid_checkpoint_files(invariant="archive.member.integrity"))
    def test_my_loader_refuses_corrupt_members(files, tmp_path_factory):
        base = files.write(tmp_path_factory.mktemp("x") / "model")
        with pytest.raises(MyLoaderError):
            my_load(base)

They are the corpus generator's own strategies (``snnconform.checkpoint``: the valid drafts,
the case model and its byte-exact writers, the mutation registry the spec names), wrapped
with argument checks, so what your tests draw is what the conformance corpus is made of, and
it shrinks the same way: towards fewer layers, single features, zero weights, empty metadata.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from sc_neurocore.transfer import SNNCheckpoint, TransferConfig
from sc_neurocore.transfer._limits import LAYER_FEATURES_MAX
from snnconform.checkpoint import _hostvalue, _reference
from snnconform.checkpoint._casemodel import BASE_NAME, CaseModel, Draft
from snnconform.checkpoint._generator import Combo, combos, mutated_cases
from snnconform.checkpoint._spec import Spec, load_spec
from snnconform.checkpoint._strategies import drafts, transfer_ops

__all__ = [
    "CheckpointFiles",
    "InvalidTransferConfig",
    "checkpoint_files",
    "checkpoints",
    "file_invariants",
    "invalid_checkpoint_files",
    "transfer_configs",
    "transfer_invariants",
]


@dataclass(frozen=True)
class CheckpointFiles:
    """A checkpoint pair as bytes: ``BASE.json`` (metadata) and ``BASE.npz`` (weights).

    ``invariant`` is the spec invariant the pair violates (``None`` for a valid pair), and
    ``mutation`` the registry operator that made it so.
    """

    json: bytes
    npz: bytes
    invariant: str | None = None
    mutation: str | None = None

    def write(self, base: str | Path) -> Path:
        """Write ``BASE.json`` and ``BASE.npz`` (suffixes appended, folders created); returns
        ``base`` as a Path, ready for ``load_checkpoint``.

        >>> import tempfile
        >>> files = CheckpointFiles(json=b"{}", npz=b"")
        >>> base = files.write(Path(tempfile.mkdtemp()) / "model")
        >>> sorted(p.name for p in base.parent.iterdir())
        ['model.json', 'model.npz']
        """
        base = Path(base)
        base.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{base}.json").write_bytes(self.json)
        Path(f"{base}.npz").write_bytes(self.npz)
        return base


@dataclass(frozen=True)
class InvalidTransferConfig:
    """Keyword arguments that ``TransferConfig(**kwargs)`` refuses with ``invariant``."""

    kwargs: dict[str, Any]
    invariant: str
    mutation: str


# ------------------------------------------------------------------------------ arguments


def _check_sizes(min_layers: int, max_layers: int, max_features: int) -> None:
    """Fail at once, as Hypothesis does, with what to change."""
    for name, value in (("min_layers", min_layers), ("max_layers", max_layers),
                        ("max_features", max_features)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{name}={value!r} must be an int")
    if min_layers < 0:
        raise InvalidArgument(f"min_layers={min_layers} must be at least 0")
    if max_layers < min_layers:
        raise InvalidArgument(f"max_layers={max_layers} must be at least min_layers={min_layers}")
    if not 1 <= max_features <= LAYER_FEATURES_MAX:
        raise InvalidArgument(f"max_features={max_features} must be in [1, {LAYER_FEATURES_MAX}] "
                              "(and small: a layer holds up to max_features**2 weights)")


@cache
def _spec() -> Spec:
    return load_spec()


def _file_combos(invariant: str) -> list[Combo]:
    """The invariant's mutations that yield a pair of files on the load surface."""
    return [c for c in combos(_spec().invariant(invariant))
            if c.surface == "load" and c.transfer_kind is None and c.stage != "file"]


def _config_combos(invariant: str) -> list[Combo]:
    return [c for c in combos(_spec().invariant(invariant)) if c.transfer_kind == "transfer_config"]


def file_invariants() -> tuple[str, ...]:
    """The invariants ``invalid_checkpoint_files`` can violate, in spec order.

    Those of the construct and transfer surfaces are not among them (no file shows them), nor
    ``json.file.present`` and ``archive.file.present`` (a missing file is not bytes: write one
    file of a valid pair to test those).

    >>> "archive.member.integrity" in file_invariants(), "json.file.present" in file_invariants()
    (True, False)
    """
    return tuple(inv.id for inv in _spec().invariants if _file_combos(inv.id))


def transfer_invariants() -> tuple[str, ...]:
    """The invariants ``transfer_configs(valid=False, invariant=...)`` can violate.

    >>> "transfer.learning_rate.range" in transfer_invariants()
    True
    """
    return tuple(inv.id for inv in _spec().invariants if _config_combos(inv.id))


def _choose(invariant: str, valid: tuple[str, ...], what: str) -> None:
    if not isinstance(invariant, str) or invariant not in valid:
        known = {inv.id for inv in _spec().invariants}
        why = (f"cannot be violated by {what}" if isinstance(invariant, str) and invariant in known
               else "is not an invariant of the spec")
        raise InvalidArgument(f"invariant={invariant!r} {why}; choose one of: {', '.join(valid)}")


# ----------------------------------------------------------------------------- strategies


def _to_checkpoint(draft: Draft) -> SNNCheckpoint:
    return SNNCheckpoint(**CaseModel.from_draft(draft, "construct").state)


def checkpoints(
    *, min_layers: int = 0, max_layers: int = 4, max_features: int = 6
) -> st.SearchStrategy[SNNCheckpoint]:
    """Valid in-memory checkpoints with ``min_layers..max_layers`` layers of at most
    ``max_features`` inputs and outputs each.

    Names are any non-empty text, weights any finite floats (some drawn in a narrower dtype
    and widened), metadata free JSON up to the deepest nesting the spec allows, some layers
    frozen. Shrinks towards fewer layers, ``(1, 1)`` sizes, zero weights and empty metadata.

    >>> from hypothesis import find
    >>> find(checkpoints(), lambda c: c.n_layers >= 2).layer_sizes
    [(1, 1), (1, 1)]
    """
    _check_sizes(min_layers, max_layers, max_features)
    return drafts(min_layers, max_layers, max_features).map(_to_checkpoint)


def _render(case: CaseModel, folder: Path) -> tuple[CheckpointFiles, list[dict[str, Any]]]:
    """The case's files as bytes (written by the case model's own writers) and its ops."""
    ops = case.render(folder / "case", "case")
    files = CheckpointFiles((folder / "case" / f"{BASE_NAME}.json").read_bytes(),
                            (folder / "case" / f"{BASE_NAME}.npz").read_bytes())
    return files, ops


def _files(draft: Draft) -> CheckpointFiles:
    with tempfile.TemporaryDirectory(prefix="snn-strategies-") as folder:
        return _render(CaseModel.from_draft(draft, "load"), Path(folder))[0]


def checkpoint_files(
    *, min_layers: int = 0, max_layers: int = 4, max_features: int = 6
) -> st.SearchStrategy[CheckpointFiles]:
    """Valid checkpoint pairs as bytes, in every encoding a conforming reader must accept.

    Beyond what ``save_checkpoint`` writes: stored or deflated members in any order, Fortran
    order, ``.npy`` versions 1-3, every accepted dtype, zip64 records, compact or raw UTF-8
    JSON, with or without ``archive_sha256``.

    >>> from hypothesis import find
    >>> files = find(checkpoint_files(min_layers=1), lambda f: True)
    >>> files.npz.startswith(b"PK"), files.json.startswith(b"{"), files.invariant
    (True, True, None)
    """
    _check_sizes(min_layers, max_layers, max_features)
    return drafts(min_layers, max_layers, max_features).map(_files)


class _ReferenceDisagrees(AssertionError):
    """A drawn case does not show what it was built to show: a bug in the spec's mutation,
    the operator or the reference, never something to filter away."""


@st.composite
def _invalid_files(draw: st.DrawFn, combos_: tuple[Combo, ...]) -> CheckpointFiles:
    combo = draw(st.sampled_from(combos_))
    case = draw(mutated_cases((combo,)))
    with tempfile.TemporaryDirectory(prefix="snn-strategies-") as folder:
        files, ops = _render(case, Path(folder))
        results = _reference.execute_case({"ops": ops}, Path(folder))["results"]
    first = results[0]
    if first["verdict"] != "reject" or first.get("code") != combo.invariant.id:
        raise _ReferenceDisagrees(
            f"{combo.mutation.operator} {combo.mutation.params} was to violate "
            f"{combo.invariant.id}, but the reference answered {first.get('code', 'accept')}")
    return CheckpointFiles(files.json, files.npz, combo.invariant.id, combo.mutation.operator)


def invalid_checkpoint_files(*, invariant: str) -> st.SearchStrategy[CheckpointFiles]:
    """Checkpoint pairs that violate ``invariant``, and only it, as bytes.

    Each draw applies one of the spec's mutations for that invariant (from the same registry
    that builds the corpus) to a valid pair, and is checked against the reference, which must
    refuse it with exactly that code. ``file_invariants()`` lists the choices; any other value
    fails at once, saying why.

    >>> from hypothesis import find
    >>> files = find(invalid_checkpoint_files(invariant="json.syntax"), lambda f: True)
    >>> files.invariant
    'json.syntax'
    """
    _choose(invariant, file_invariants(), "a pair of files (see file_invariants())")
    return _invalid_files(tuple(_file_combos(invariant)))


def _valid_config(op: dict[str, Any]) -> TransferConfig:
    return TransferConfig(**op["config"])


@st.composite
def _invalid_configs(draw: st.DrawFn, combos_: tuple[Combo, ...]) -> InvalidTransferConfig:
    combo = draw(st.sampled_from(combos_))
    case = draw(mutated_cases((combo,)))
    op = _hostvalue.encode_op(case.ops[-1])  # as the corpus carries it, for the reference
    results = _reference.execute_case({"ops": [op]}, Path("."))["results"]
    if results[0]["verdict"] != "reject" or results[0].get("code") != combo.invariant.id:
        raise _ReferenceDisagrees(
            f"{combo.mutation.operator} {combo.mutation.params} was to violate "
            f"{combo.invariant.id}, but the reference answered {results[0].get('code', 'accept')}")
    kwargs = _hostvalue.decode(op["config"])
    return InvalidTransferConfig(kwargs, combo.invariant.id, combo.mutation.operator)


@overload
def transfer_configs(valid: Literal[True] = True, *,
                     invariant: None = None) -> st.SearchStrategy[TransferConfig]: ...
@overload
def transfer_configs(valid: Literal[False], *,
                     invariant: str | None = None) -> st.SearchStrategy[InvalidTransferConfig]: ...
def transfer_configs(
    valid: bool = True, *, invariant: str | None = None
) -> st.SearchStrategy[TransferConfig] | st.SearchStrategy[InvalidTransferConfig]:
    """Valid ``TransferConfig`` objects, or (``valid=False``) arguments the constructor refuses.

    Valid: ``freeze_until`` any index from -1 or any short text (a layer name: whether the
    layer exists is only known when the config is applied to a checkpoint), learning rates
    finite and non-negative (zero, subnormal, the defaults, anything up to 10), each sometimes
    left at its default. Invalid: drawn from the mutation registry for ``invariant`` (one of
    ``transfer_invariants()``; default any of them), checked against the reference like
    ``invalid_checkpoint_files``.

    >>> from hypothesis import find
    >>> find(transfer_configs(), lambda c: True)
    TransferConfig(freeze_until=0, lr_backbone=0.0, lr_head=0.01)
    >>> bad = find(transfer_configs(valid=False, invariant="transfer.freeze_until.range"),
    ...            lambda c: True)
    >>> from sc_neurocore.transfer import CheckpointError
    >>> try:
    ...     TransferConfig(**bad.kwargs)
    ... except CheckpointError as error:
    ...     print(error.code == bad.invariant == "transfer.freeze_until.range")
    True
    """
    if valid is True:
        if invariant is not None:
            raise InvalidArgument("invariant= only makes sense with valid=False")
        return transfer_ops([], kind="transfer_config").map(_valid_config)
    if valid is not False:
        raise InvalidArgument(f"valid={valid!r} must be True or False")
    chosen = transfer_invariants() if invariant is None else (invariant,)
    if invariant is not None:
        _choose(invariant, transfer_invariants(), "a TransferConfig (see transfer_invariants())")
    return _invalid_configs(tuple(c for inv in chosen for c in _config_combos(inv)))
