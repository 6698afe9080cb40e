"""Order cases: for every pair of invariants one input can violate together, a case violating
both whose expected code is the earlier one in spec order.

The candidate pairs come from the spec and the mutation registry: two invariants that apply to
the same operation and each have a mutation on it (:func:`order_candidates`). For each pair the
generator applies one mutation of each to one valid case (the earlier invariant's last, as for
mixed cases), trying the pairs of mutations in turn, and keeps the first case where

* the reference reports the earlier invariant A, and
* a copy of the reference in which A's check does not raise (:func:`skip_oracle`) goes on to
  report the later invariant B, possibly after skipping invariants between A and B that the
  case violates too.

The second condition is what makes the case pin the order: an implementation that checks B
before A answers B on it. A pair is left without a case only for a stated reason, recorded in
``corpus.json``: every attempt was *gated* (with A's check skipped, the reference cannot go on:
a missing file, text that is not UTF-8, a document that does not parse; B depends on what A
guards) or *conflicting* (one mutation undid the other, or the case met another invariant
first), after trying every pair of mutations.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import shutil
import struct
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import sc_neurocore.transfer
from hypothesis import strategies as st

from . import _reference
from ._casemodel import CaseModel, Draft
from ._mutations import OPERATORS
from ._spec import Invariant, Spec

# ----------------------------------------------------------------------------- the skip oracle

_SHADOW = "_snnconform_order_shadow"
_SKIPPED: set[str] = set()


def _maybe_raise(error: BaseException) -> None:
    """Stands for every ``raise`` of the shadow reference: a skipped code does not raise."""
    if getattr(error, "code", None) in _SKIPPED:
        return
    raise error


class _RaiseUnlessSkipped(ast.NodeTransformer):
    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        if node.exc is None:  # a bare re-raise stays as it is
            return node
        call = ast.Call(func=ast.Name("_snnconform_maybe_raise", ast.Load()), args=[node.exc], keywords=[])
        return ast.copy_location(ast.Expr(call), node)


class _ShadowLoader(importlib.abc.Loader):
    """Executes a reference module with every ``raise`` rewritten to :func:`_maybe_raise`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        tree = _RaiseUnlessSkipped().visit(ast.parse(self.path.read_text("utf-8"), str(self.path)))
        module.__dict__["_snnconform_maybe_raise"] = _maybe_raise
        exec(compile(ast.fix_missing_locations(tree), str(self.path), "exec"), module.__dict__)


class _ShadowFinder(importlib.abc.MetaPathFinder):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == _SHADOW:
            file = self.folder / "__init__.py"
            return importlib.util.spec_from_file_location(
                fullname, file, loader=_ShadowLoader(file), submodule_search_locations=[str(self.folder)])
        if fullname.startswith(_SHADOW + "."):
            file = self.folder / (fullname.rsplit(".", 1)[1] + ".py")
            return importlib.util.spec_from_file_location(fullname, file, loader=_ShadowLoader(file))
        return None


def skip_oracle() -> ModuleType:
    """A copy of the reference package (same source, separate modules) whose checks of the codes
    in :func:`skipping` do not raise: execution goes on as if they had passed."""
    if _SHADOW not in sys.modules:
        finder = _ShadowFinder(Path(sc_neurocore.transfer.__file__).parent)
        sys.meta_path.insert(0, finder)
        try:
            importlib.import_module(_SHADOW)
        finally:
            sys.meta_path.remove(finder)
    return sys.modules[_SHADOW]


@contextmanager
def skipping(codes: set[str]) -> Iterator[None]:
    _SKIPPED.clear()
    _SKIPPED.update(codes)
    try:
        yield
    finally:
        _SKIPPED.clear()


def first_rejection(ops: list[dict[str, Any]], root: Path, skipped: set[str]) -> tuple[int, str] | None:
    """(operation index, code) of the shadow reference's first rejection with ``skipped`` codes
    not raising, or None when it accepts. Any other exception propagates: the checks after the
    skipped ones could not be evaluated."""
    with skipping(skipped):
        results = _reference.execute_case({"ops": ops}, root, api=skip_oracle())["results"]
    last = results[-1]
    return (len(results) - 1, last["code"]) if last["verdict"] == "reject" else None


def later_outcome(ops: list[dict[str, Any]], root: Path, earlier: str, later: str, order: dict[str, int],
                  index: int) -> str:
    """Whether ``later`` is violated once ``earlier`` (and any code between them) is skipped:
    "pinned", "gated" (the shadow could not go on) or "conflicting"."""
    skipped = {earlier}
    for _ in range(len(order)):
        try:
            found = first_rejection(ops, root, skipped)
        except Exception:  # noqa: BLE001 (any failure: the rest cannot be evaluated)
            return "gated"
        if found is None or found[0] != index:
            return "conflicting"
        code = found[1]
        if code == later:
            return "pinned"
        if not order[earlier] < order[code] < order[later]:
            return "conflicting"
        skipped.add(code)
    return "conflicting"


# ----------------------------------------------------------------------------- candidate pairs


@dataclass(frozen=True)
class Candidate:
    """Two invariants of one operation, each with mutations on it, ``earlier`` first in spec order."""

    operation: str
    earlier: Invariant
    later: Invariant

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.operation, self.earlier.id, self.later.id)


def _operation(combo: Any) -> str:
    return str(combo.transfer_kind or combo.surface)


def order_candidates(spec: Spec, combos_of: Any) -> list[Candidate]:
    """Every (operation, A, B) with A before B in spec order, both with a combo on the operation."""
    on: dict[str, list[Invariant]] = {}
    for invariant in spec.invariants:
        for operation in dict.fromkeys(_operation(c) for c in combos_of(invariant)):
            on.setdefault(operation, []).append(invariant)
    return [Candidate(operation, a, b) for operation, invariants in on.items()
            for a, b in itertools.combinations(invariants, 2)]


MIN_ATTEMPTS = 4


def attempt_pairs(candidate: Candidate, combos_of: Any) -> list[tuple[Any, Any]]:
    """Every pair of combos of the candidate, interleaved so that the first attempts vary both
    mutations, repeated (with other draws) up to MIN_ATTEMPTS; the later combo runs on the
    earlier's first operation."""
    firsts = [c for c in combos_of(candidate.earlier) if _operation(c) == candidate.operation]
    seconds = [c for c in combos_of(candidate.later) if _operation(c) == candidate.operation]
    indexes = sorted(itertools.product(range(len(firsts)), range(len(seconds))), key=lambda ij: (sum(ij), ij))
    pairs = [(firsts[i], dataclasses.replace(seconds[j], surface=firsts[i].surface)) for i, j in indexes]
    return [pairs[n % len(pairs)] for n in range(max(len(pairs), MIN_ATTEMPTS))]


# ----------------------------------------------------------------------------- building cases


class NotApplicable(Exception):
    """One mutation could not be applied after the other (it needed what the other removed)."""


def merged_transfer_op(kind: str, targets: Sequence[str], names: list[str], base_op: Any) -> dict[str, Any]:
    """One valid transfer operation whose arguments every target's mutation can spoil."""
    op: dict[str, Any] = base_op(kind, targets[0], names)
    for target in targets[1:]:
        other = base_op(kind, target, names)
        for key in ("args", "config"):
            if key in other:
                op[key] = {**other[key], **op[key]}
    return op


def pick_draft(pool: Sequence[Draft], combos: Sequence[Any], start: int) -> Draft | None:
    """The first draft of the pool, from ``start`` on (wrapping), that every combo's mutation
    can start from; drawing one per attempt instead would make the order cases slow to build."""
    requirements = [OPERATORS[c.mutation.operator].requires(c.mutation.params) for c in combos]
    for offset in range(len(pool)):
        draft = pool[(start + offset) % len(pool)]
        if all(check(draft) for check in requirements):
            return draft
    return None


#: Phases whose invariants are judged per layer: "each over all of its subjects" means every
#: layer is checked for the earlier invariant before any layer for the later one.
PER_LAYER_PHASES = ("archive", "array")


@st.composite
def order_cases(draw: st.DrawFn, earlier: Any, later: Any, base_op: Any, draft: Draft,
                across: bool = False, later_only: bool = False) -> CaseModel | None:
    """``draft`` with ``later``'s mutation applied, then ``earlier``'s; None when the second
    cannot be applied after the first. ``across`` puts the later violation on layer 0 and the
    earlier on layer 1, so that an implementation judging layer by layer (every check of layer
    0 first) answers the later code; None when either mutation does not act on one layer.
    ``later_only`` stops after the later mutation (drawn exactly as with both)."""
    case = CaseModel.from_draft(copy.deepcopy(draft), earlier.surface)
    if earlier.transfer_kind:
        targets = [c.mutation.params.get("target", "") for c in (earlier, later)]
        case.ops.append(merged_transfer_op(earlier.transfer_kind, targets, draft.layer_names, base_op))
    try:
        for combo, layer in ((later, 0), (earlier, 1)):
            case.layer_hint = layer if across else None
            picked = len(case.picked_layers)
            OPERATORS[combo.mutation.operator].apply(case, combo.mutation.params, combo.invariant.extra, draw)
            if across and case.picked_layers[picked:] != [layer]:
                return None
            if later_only:
                break
    except (AssertionError, AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    case.layer_hint = None
    return case


def _judge(case: CaseModel, out_dir: Path, relative: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Render ``case`` under ``out_dir/relative``: (ops, the reference's results)."""
    ops = copy.deepcopy(case).render(out_dir / relative, relative)
    return ops, _reference.execute_case({"ops": ops}, out_dir)["results"]


def _rejects(results: list[dict[str, Any]], code: str, index: int) -> bool:
    last = results[-1]
    return last["verdict"] == "reject" and last["code"] == code and len(results) == index + 1


def try_case(case: CaseModel, candidate: Candidate, order: dict[str, int], out_dir: Path, case_id: str,
             later_alone: CaseModel | None = None) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Render ``case`` as ``case_id`` and judge it: (outcome, ops, reference results). The files
    stay only when the outcome is "pinned". With ``later_alone`` (the same case without the
    earlier violation, which then sits on another layer), the later violation is proven by the
    reference reporting it there instead of by the skip oracle."""
    relative = f"cases/{case_id}"
    index = 1 if candidate.operation not in ("load", "construct") else 0
    try:
        ops, results = _judge(case, out_dir, relative)
        alone = _judge(later_alone, out_dir, relative + "-later-alone")[1] if later_alone else None
    except (AssertionError, IndexError, KeyError, TypeError, ValueError, struct.error):
        # One edit broke what the other's rendering needs (a key it searches for, a field width).
        outcome, ops, results = "not_applicable", [], []
    else:
        if not _rejects(results, candidate.earlier.id, index):
            outcome = "conflicting"
        elif alone is not None:
            outcome = "pinned" if _rejects(alone, candidate.later.id, index) else "conflicting"
        else:
            outcome = later_outcome(ops, out_dir, candidate.earlier.id, candidate.later.id, order, index)
    shutil.rmtree(out_dir / (relative + "-later-alone"), ignore_errors=True)
    if outcome != "pinned":
        shutil.rmtree(out_dir / relative, ignore_errors=True)
    return outcome, ops, results
