"""Turns the spec into the fixture corpus: valid, targeted-invalid and mixed cases.

Every case is drawn through Hypothesis with a fixed seed and no example database, rendered to
real files, and run through the Python reference before it is written. A case whose verdict or
code differs from what it was built to show stops the generation: that is a bug in the spec, an
operator or the reference, and must not be papered over by dropping the case.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from . import _reference
from ._boundaries import boundaries, boundary_case
from ._casemodel import CaseModel, Draft, reset_dir
from ._mutations import OPERATORS
from ._order import (PER_LAYER_PHASES, Candidate, attempt_pairs, order_candidates, order_cases, pick_draft,
                     try_case)
from ._spec import REPO_ROOT, Invariant, Mutation, Spec
from ._strategies import drafts, valid_cases

VALID_CASES = 240
MIXED_CASES = 60
MIN_TARGETED = 8
CORPUS_SEED = 20261129
TRANSFER_KINDS = ("freeze_layers", "unfreeze_layers", "transfer_config", "apply_transfer_config")
_SOURCES = ("_generator.py", "_boundaries.py", "_order.py", "_strategies.py", "_casemodel.py", "_fixturefiles.py",
            "_hostvalue.py", "_reference.py", "_mutations/*.py")


class GenerationError(RuntimeError):
    """A generated case does not show what it was built to show."""


@dataclass(frozen=True, eq=False)
class Combo:
    """One way to apply one mutation: on which first operation, and which transfer operation."""

    invariant: Invariant
    mutation: Mutation
    surface: str  # the first operation: "load" or "construct"
    transfer_kind: str | None

    @property
    def stage(self) -> str:
        return OPERATORS[self.mutation.operator].stage

    @property
    def mixable(self) -> bool:
        """False for edits that rewrite what a neighbour edits (the whole document, the key
        list, a layer's size), so a neighbour's edit could no longer apply."""
        params = self.mutation.params
        return not (
            self.mutation.operator == "duplicate_key"
            or params.get("target") == "/"
            or params.get("delta") == "huge_shape"
        )


def combos(invariant: Invariant) -> list[Combo]:
    """Every (mutation, surface) pairing the invariant's surfaces and operators allow."""
    found = []
    for mutation in invariant.mutations:
        operator = OPERATORS[mutation.operator]
        target = mutation.params.get("target", "")
        if target.startswith(("/args", "/config")) or operator.surfaces == {"transfer"}:
            wanted = ("freeze_layers", "unfreeze_layers") if not target.startswith("/config") else (
                "transfer_config", "apply_transfer_config")
            kinds = [kind for kind in TRANSFER_KINDS if kind in invariant.surfaces and kind in wanted]
            for index, kind in enumerate(kinds):
                found.append(Combo(invariant, mutation, ("load", "construct")[index % 2], kind))
            continue
        for surface in ("load", "construct"):
            if surface in invariant.surfaces and surface in operator.surfaces:
                found.append(Combo(invariant, mutation, surface, None))
    return found


def base_transfer_op(kind: str, target: str, names: list[str]) -> dict[str, Any]:
    """A valid transfer operation whose argument at ``target`` a mutation will spoil."""
    first = names[:1]
    if kind == "freeze_layers":
        if target.startswith("/args/until_index"):
            return {"op": kind, "args": {"until_index": len(names) - 1}}
        return {"op": kind, "args": {"layer_names": first}}
    if kind == "unfreeze_layers":
        if target.startswith("/args/all_layers"):
            return {"op": kind, "args": {"layer_names": first, "all_layers": False}}
        return {"op": kind, "args": {"layer_names": first}}
    return {"op": kind, "config": {"freeze_until": -1, "lr_backbone": 0.0, "lr_head": 0.01}}


def _requirement(combo: Combo) -> Any:
    return OPERATORS[combo.mutation.operator].requires(combo.mutation.params)


@st.composite
def mutated_cases(draw: st.DrawFn, parts: tuple[Combo, ...]) -> CaseModel:
    """A valid case with each combo's mutation applied, the earliest invariant's last."""
    requirements = [_requirement(combo) for combo in parts]
    draft: Draft = draw(drafts().filter(lambda d: all(check(d) for check in requirements)))
    case = CaseModel.from_draft(draft, parts[0].surface)
    kinds = {combo.transfer_kind for combo in parts if combo.transfer_kind}
    for kind in kinds:
        target = next(c.mutation.params.get("target", "") for c in parts if c.transfer_kind == kind)
        case.ops.append(base_transfer_op(kind, target, draft.layer_names))
    # Applying the earliest invariant's mutation last lets it win where two edits meet.
    for combo in sorted(parts, key=lambda c: -c.invariant.order):
        operator = OPERATORS[combo.mutation.operator]
        operator.apply(case, combo.mutation.params, combo.invariant.extra, draw)
    return case


@contextmanager
def _without_local_constants() -> Iterator[None]:
    """Keep Hypothesis from mixing constants found in the loaded modules' source into draws.

    Hypothesis seeds some draws with literals harvested from every local module imported so
    far, so the same seed gave different cases depending on which modules happened to be
    loaded (the CLI, a script, a pytest session) and on any edit to their source. An empty pool
    makes the corpus a function of the seed, the strategies and the Hypothesis version only.
    """
    from hypothesis.internal.conjecture import providers

    original = providers._get_local_constants
    providers._get_local_constants = lambda: providers.Constants()  # type: ignore[attr-defined]
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def _examples(strategy: st.SearchStrategy[Any], count: int, seed_value: int, extra: int = 4) -> list[Any]:
    """``count`` examples of ``strategy``, the same ones on every run with the same versions
    (the last of ``count + extra`` drawn: the very first ones tend to be the simplest)."""
    found: list[Any] = []

    @settings(max_examples=count + extra, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(seed_value)
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    with _without_local_constants():
        collect()
    return found[-count:]


def _seed(*parts: object) -> int:
    return CORPUS_SEED + zlib.crc32("/".join(map(str, parts)).encode())


def _strip_messages(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in result.items() if key != "message"} for result in results]


class _Writer:
    """Renders cases, checks them against the reference, and collects manifest lines."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.lines: list[dict[str, Any]] = []

    def add(self, case_id: str, klass: str, case: CaseModel, expect_code: str | None,
            covers: list[str], origin: dict[str, Any]) -> None:
        relative = f"cases/{case_id}"
        ops = case.render(self.out_dir / relative, relative)
        results = _reference.execute_case({"ops": ops}, self.out_dir)["results"]
        last = results[-1]
        if expect_code is None:
            expected_index = None
            ok = len(results) == len(ops) and all(r["verdict"] == "accept" for r in results)
        else:
            expected_index = 0 if origin.get("op_index", 0) == 0 else len(ops) - 1
            ok = last["verdict"] == "reject" and last.get("code") == expect_code \
                and len(results) - 1 == expected_index
        if not ok:
            raise GenerationError(
                f"case {case_id} ({origin}) was built to show {expect_code or 'acceptance'}"
                f" but the reference answered {json.dumps(last)[:400]}"
            )
        self.record(case_id, klass, ops, results, expected_index, expect_code, covers, origin)

    def record(self, case_id: str, klass: str, ops: list[dict[str, Any]], results: list[dict[str, Any]],
               expected_index: int | None, expect_code: str | None, covers: list[str],
               origin: dict[str, Any]) -> None:
        """Add the manifest line of a case already rendered and checked."""
        self.lines.append({
            "id": case_id,
            "class": klass,
            "ops": ops,
            "expect": {
                "verdict": "accept" if expect_code is None else "reject",
                "op_index": expected_index,
                "code": expect_code,
                "results": _strip_messages(results),
            },
            "covers": covers,
            "origin": origin,
        })


def _origin(parts: Iterable[Combo], seed_value: int) -> dict[str, Any]:
    parts = list(parts)
    return {
        "mutations": [{"invariant": c.invariant.id, "operator": c.mutation.operator,
                       "params": c.mutation.params} for c in parts],
        "surface": parts[0].surface,
        "transfer_op": next((c.transfer_kind for c in parts if c.transfer_kind), None),
        "seed": seed_value,
    }


def _mixed_groups(all_combos: list[Combo]) -> list[list[tuple[Combo, ...]]]:
    """Kinds of combination whose edits cannot interfere: different files, members or
    operations. Each kind gets its share of the mixed cases."""
    early: list[Combo] = []
    archive: list[Combo] = []
    member: list[Combo] = []
    construct_values: list[Combo] = []
    construct_arrays: list[Combo] = []
    transfer: dict[str, list[Combo]] = {}
    for combo in all_combos:
        if not combo.mixable:
            continue
        if combo.transfer_kind:
            transfer.setdefault(combo.transfer_kind, []).append(combo)
        elif combo.surface == "construct":
            (construct_arrays if combo.stage == "member" else construct_values).append(combo)
        elif combo.stage in ("file", "text", "value"):
            early.append(combo)
        else:
            (archive if combo.stage == "archive" else member).append(combo)
    before_transfer: list[tuple[Combo, ...]] = []
    within_transfer: list[tuple[Combo, ...]] = []
    for kind_combos in transfer.values():
        firsts = [c for c in early + construct_values if c.surface == kind_combos[0].surface]
        before_transfer += [(a, b) for a in firsts for b in kind_combos]
        within_transfer += [(a, b) for a in kind_combos for b in kind_combos
                            if a.invariant.order < b.invariant.order]
    return [
        [(a, b) for a in early for b in archive],
        [(a, b) for a in early for b in member],
        [(a, b) for a in archive for b in member],
        [(a, b, c) for a in early for b in archive for c in member],
        [(a, b) for a in construct_values for b in construct_arrays],
        before_transfer,
        within_transfer,
    ]


def _spread(items: list[Any], count: int) -> list[Any]:
    """``count`` items spread evenly over the list (all of them if there are fewer)."""
    if len(items) <= count:
        return items
    return [items[(index * len(items)) // count] for index in range(count)]


def _fingerprint(spec: Spec) -> str:
    """What the corpus depends on: spec, generator and reference sources, tool versions."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    reference = REPO_ROOT / "src" / "sc_neurocore" / "transfer"
    files = [spec.path, REPO_ROOT / "spec" / "checkpoint.schema.json"]
    files += [path for pattern in _SOURCES for path in sorted(package.glob(pattern))]
    files += sorted(reference.glob("*.py"))
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for version in (hypothesis.__version__, np.__version__, zlib.ZLIB_RUNTIME_VERSION):
        digest.update(version.encode())
    return digest.hexdigest()


def write_corpus(spec: Spec, out_dir: Path) -> dict[str, Any]:
    """Regenerate the corpus in ``out_dir`` and return its coverage summary.

    Raises
    ------
    GenerationError
        When a case does not show what it was built to show.
    """
    reset_dir(out_dir / "cases")
    writer = _Writer(out_dir)
    valid_seed = _seed("valid")
    for index, draft in enumerate(_examples(valid_cases(), VALID_CASES, valid_seed)):
        surface = "construct" if index % 3 == 2 else "load"
        case = CaseModel.from_draft(draft, surface)
        writer.add(f"valid-{index:04d}", "valid", case, None, [],
                   {"surface": surface, "seed": valid_seed, "example": index})
    boundary_seed = _seed("boundary")
    (base,) = _examples(drafts(min_layers=1), 1, boundary_seed)
    for boundary in boundaries(spec):
        writer.add(f"boundary-{boundary.name}", "boundary", boundary_case(boundary, base), boundary.code,
                   [boundary.code] if boundary.code else [],
                   {"surface": boundary.surface, "seed": boundary_seed, "limit": boundary.limit,
                    "side": boundary.side, "value": boundary.origin_value, "place": boundary.place,
                    "op_index": 0 if boundary.surface == boundary.first else 1})
    all_combos: list[Combo] = []
    for invariant in spec.invariants:
        invariant_combos = combos(invariant)
        if not invariant_combos:
            raise GenerationError(f"{invariant.id}: no mutation applies to any of its surfaces")
        all_combos += invariant_combos
        target = max(MIN_TARGETED, len(invariant_combos))
        serial = 0
        for position, combo in enumerate(invariant_combos):
            count = target // len(invariant_combos) + (position < target % len(invariant_combos))
            seed_value = _seed(invariant.id, position)
            for case in _examples(mutated_cases((combo,)), count, seed_value):
                origin = {**_origin([combo], seed_value), "op_index": 1 if combo.transfer_kind else 0}
                writer.add(f"targeted-{invariant.id}-{serial:03d}", "targeted", case, invariant.id,
                           [invariant.id], origin)
                serial += 1
    order_summary = _write_order_cases(spec, writer)
    groups = [group for group in _mixed_groups(all_combos) if group]
    chosen = [
        parts for rank, group in enumerate(groups)
        for parts in _spread(group, MIXED_CASES // len(groups) + (rank < MIXED_CASES % len(groups)))
    ]
    for index, parts in enumerate(chosen):
        seed_value = _seed("mixed", index)
        (case,) = _examples(mutated_cases(parts), 1, seed_value)
        first = min(parts, key=lambda c: c.invariant.order)
        origin = {**_origin(parts, seed_value), "op_index": 1 if first.transfer_kind else 0}
        writer.add(f"mixed-{index:03d}", "mixed", case, first.invariant.id,
                   sorted({c.invariant.id for c in parts}, key=spec.invariant_ids.index), origin)
    return _finish(spec, out_dir, writer.lines, order_summary)


ORDER_POOL = 64


def _order_attempt(candidate: Candidate, attempt: int, parts: tuple[Combo, Combo], writer: _Writer,
                   pool: list[Draft], order: dict[str, int], across: bool) -> str:
    """Draw, render and judge one attempt at a case pinning ``candidate``; record it if it does."""
    seed_value = _seed("order", *candidate.key, attempt, *(["across"] if across else []))
    draft = pick_draft(pool, parts, seed_value)
    if draft is None:
        return "no_draft"
    (case,) = _examples(order_cases(*parts, base_transfer_op, draft, across), 1, seed_value, extra=1)
    if case is None:
        return "not_applicable"
    alone = None
    if across:
        (alone,) = _examples(order_cases(*parts, base_transfer_op, draft, across, later_only=True), 1,
                             seed_value, extra=1)
    out_dir = writer.out_dir
    case_id = f"order-{candidate.operation}-{candidate.earlier.id}-{candidate.later.id}"
    case_id += "-across-layers" if across else ""
    outcome, ops, results = try_case(case, candidate, order, out_dir, case_id, alone)
    if outcome == "pinned":
        index = len(results) - 1
        origin = {**_origin(parts, seed_value), "operation": candidate.operation, "attempt": attempt,
                  "op_index": index, **({"layers": {"later": 0, "earlier": 1}} if across else {})}
        writer.record(case_id, "order", ops, results, index, candidate.earlier.id,
                      [candidate.earlier.id, candidate.later.id], origin)
    return outcome


def _pin_order(candidate: Candidate, writer: _Writer, pool: list[Draft], order: dict[str, int],
               across: bool) -> Counter[str]:
    """Try the candidate's pairs of mutations until one case pins it; how the attempts ended."""
    outcomes: Counter[str] = Counter()
    gating: set[int] = set()  # earlier mutations whose skipped check left B unreachable
    for attempt, parts in enumerate(attempt_pairs(candidate, combos)):
        if id(parts[0].mutation) in gating:
            outcomes["gated"] += 1  # the same earlier mutation gates the later one again
            continue
        outcome = _order_attempt(candidate, attempt, parts, writer, pool, order, across)
        outcomes[outcome] += 1
        if outcome == "pinned":
            break
        if outcome == "gated":
            gating.add(id(parts[0].mutation))
    return outcomes


def _write_order_cases(spec: Spec, writer: _Writer) -> dict[str, Any]:
    """An order case for every candidate pair that one input can violate together; the others,
    with how every attempt ended, for corpus.json. Pairs of per-layer invariants also get a
    case with the two violations on different layers, the later one on the earlier layer."""
    order = {invariant.id: invariant.order for invariant in spec.invariants}
    candidates = order_candidates(spec, combos)
    pool = _examples(drafts(min_layers=2), ORDER_POOL, _seed("order-pool"))
    unpinned: dict[str, list[dict[str, Any]]] = {"gated": [], "conflicting": []}
    for candidate in candidates:
        outcomes = _pin_order(candidate, writer, pool, order, False)
        if not outcomes["pinned"]:
            attempts = sum(outcomes.values())
            # Gated: whenever both mutations could be applied, the later check was unreachable.
            kind = "gated" if outcomes["gated"] and not outcomes["conflicting"] else "conflicting"
            unpinned[kind].append({"operation": candidate.operation, "earlier": candidate.earlier.id,
                                   "later": candidate.later.id, "attempts": attempts,
                                   "outcomes": dict(sorted(outcomes.items()))})
    pinned = len(candidates) - len(unpinned["gated"]) - len(unpinned["conflicting"])
    per_layer = [c for c in candidates if c.operation == "load"
                 and c.earlier.phase in PER_LAYER_PHASES and c.later.phase in PER_LAYER_PHASES]
    across = sum(_pin_order(candidate, writer, pool, order, True)["pinned"] for candidate in per_layer)
    return {"candidates": len(candidates), "pinned": pinned, **unpinned,
            "across_layers": {"candidates": len(per_layer), "pinned": across}}


def _finish(spec: Spec, out_dir: Path, lines: list[dict[str, Any]],
            order_summary: dict[str, Any]) -> dict[str, Any]:
    with (out_dir / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")  # ASCII: no Unicode line breaks inside a line
    summary = coverage(spec, lines)
    summary["order_pairs"] = order_summary
    summary["fingerprint"] = _fingerprint(spec)
    (out_dir / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def coverage(spec: Spec, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The corpus's coverage figures (what ``snnconform fixtures`` prints)."""
    classes = Counter(line["class"] for line in lines)
    targeted = Counter(line["covers"][0] for line in lines if line["class"] == "targeted")
    mixed = Counter(code for line in lines if line["class"] == "mixed" for code in line["covers"])
    ordered = Counter(code for line in lines if line["class"] == "order" for code in line["covers"])
    per_invariant = {inv.id: {"targeted": targeted[inv.id], "mixed": mixed[inv.id], "order": ordered[inv.id]}
                     for inv in spec.invariants}
    return {
        "spec_version": spec.spec_version,
        "cases": len(lines),
        "valid": classes["valid"],
        "boundary": classes["boundary"],
        "invalid_targeted": classes["targeted"],
        "mixed": classes["mixed"],
        "order": classes["order"],
        "invariants": len(spec.invariants),
        "min_cases_per_invariant": min(targeted[inv.id] for inv in spec.invariants),
        "per_invariant": per_invariant,
        "settings": {"seed": CORPUS_SEED, "valid_cases": VALID_CASES, "mixed_cases": MIXED_CASES,
                     "min_targeted": MIN_TARGETED},
    }
