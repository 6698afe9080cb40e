"""The checkpoint domain's fuzz source (``conformance.toml [domain] fuzz_source``).

``snnconform fuzz`` (the loop is the core's, :mod:`snnconform.core._fuzz`) asks this source for
cases of four kinds, cheap ones most often:

- ``bytes``: a file pair of the corpus with one to three byte-level mutations
  (:mod:`._fuzzmutators`: raw bytes, JSON tokens, zip members and records, ``.npy`` headers),
  loaded and then put through the corpus case's own transfer operations;
- ``host``: a corpus pair loaded, then transfer operations with random arguments, or a
  ``construct`` of a corpus state with odd fields, then such operations (:mod:`._fuzzhost`);
- ``strategy``: the corpus generator's own Hypothesis strategies, a valid case
  (``valid_cases``) or one with one or two mutations of the spec's registry applied
  (``mutated_cases`` over any ``combos``, including pairs the corpus never mixes), drawn in
  seeded batches (:mod:`snnconform.fuzzdraw`).

A ``bytes`` or ``host`` case is a :class:`Genome` (seed pair, mutations, operations), rendered
to files once per case. Shrinking a genome is delta debugging on its parts: drop mutations
and operations, move to smaller seed pairs, bring nesting depths and other integers down by
binary search, then simplify the operations' values (:func:`._fuzzhost.simplify`), as long
as the finding persists. A ``strategy`` case shrinks with Hypothesis's shrinker.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from snnconform.fuzzdraw import Batches, Example, shrink as hypothesis_shrink

from . import _fuzzhost as host
from ._casemodel import BASE_NAME, CaseModel
from ._fuzzmutators import FIX_DIGEST, MUTATORS, Context, Mutation, Tables, apply, draw_mutation
from ._generator import Combo, combos, mutated_cases
from ._spec import Spec
from ._strategies import valid_cases

#: What rendering a drawn pair of registered mutations may raise when the edits do not compose.
_UNRENDERABLE = (KeyError, IndexError, ValueError, TypeError, AttributeError, AssertionError)
#: How often each kind of case is drawn (cheap kinds dominate: see the module docstring).
KIND_WEIGHTS = {"bytes": 70, "host": 29, "strategy": 1}
MAX_SEED_BYTES = 64 * 1024  # larger corpus pairs are not worth mutating at speed
SMALLER_SEEDS = 12  # seeds tried when shrinking toward a smaller pair


@dataclass(frozen=True)
class Seed:
    """A corpus file pair to mutate, with the operations its case ran after loading it."""

    case_id: str
    json: bytes
    npz: bytes
    after: tuple[Any, ...]
    valid: bool

    @property
    def size(self) -> int:
        return len(self.json) + len(self.npz)


@dataclass(frozen=True)
class Genome:
    """A ``bytes`` or ``host`` case: a seed pair (None: a ``construct``), mutations of its
    files (applied to the archive first, then the document) and the operations."""

    kind: str
    seed: int | None
    mutations: tuple[tuple[str, Mutation], ...] = ()
    ops: tuple[Any, ...] = ()  # after the load; with no seed, starting with construct


@dataclass
class CheckpointCase:
    """A drawn or shrunk case as the core sees it (:class:`snnconform.core._fuzz.FuzzCase`)."""

    id: str
    root: Path
    ops: tuple[Any, ...]
    label: str
    files: tuple[bytes, bytes] = (b"", b"")  # the document and the archive as written
    genome: Genome | None = None
    example: Example[Any] | None = None
    extra_origin: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def operations(self) -> frozenset[str]:
        return frozenset(str(op.get("op")) for op in self.ops)

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for data in self.files:
            digest.update(hashlib.sha256(data).digest())
        ops = [{k: v for k, v in op.items() if k != "base"} for op in self.ops]
        digest.update(json.dumps(ops, sort_keys=True).encode())
        return digest.hexdigest()

    @property
    def size(self) -> int:
        return sum(map(len, self.files)) + len(json.dumps(list(self.ops)))

    @property
    def origin(self) -> Mapping[str, Any]:
        return {"kind": self.label, **self.extra_origin}


class CheckpointFuzzSource:
    """Draws, renders, shrinks and writes checkpoint fuzz cases (one per fuzzing lane)."""

    def __init__(self, spec: Spec, fixtures: Path) -> None:
        self.tables = Tables.from_limits(spec.limits)
        self.seeds, self.states = _read_corpus(fixtures)
        if not self.seeds:
            raise ValueError(f"{fixtures}: no corpus pair to mutate (run `snnconform fixtures`)")
        self.by_size = sorted(range(len(self.seeds)), key=lambda i: self.seeds[i].size)
        self.valid = [i for i, s in enumerate(self.seeds) if s.valid] or list(range(len(self.seeds)))
        self.combos: list[Combo] = [c for inv in spec.invariants for c in combos(inv)]
        self.strategy = _models(tuple(self.combos))
        self.batches: Batches[CaseModel | None] = Batches(self.strategy, size=40)
        self.count = 0
        self.folders: set[Path] = set()

    # ------------------------------------------------------------------------- drawing

    def draw(self, rng: random.Random, scratch: Path) -> CheckpointCase:
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        self.count += 1
        if kind == "strategy":
            example = self.batches.next(rng)
            try:
                return self._strategy_case(example, scratch / "strategy")
            except _UNRENDERABLE:
                kind = "bytes"  # two edits that do not compose (one rewrote what the other edits)
        genome = self._bytes_genome(rng) if kind == "bytes" else self._host_genome(rng)
        return self.render(genome, scratch / "draw")

    def _bytes_genome(self, rng: random.Random) -> Genome:
        index = rng.choice(self.valid) if rng.random() < 0.75 else rng.randrange(len(self.seeds))
        seed = self.seeds[index]
        mutations = [draw_mutation(rng, rng.choice(("json", "npz")), self.tables)
                     for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        if b'"archive_sha256"' in seed.json and any(f == "npz" for f, _ in mutations) \
                and rng.random() < 0.8:
            mutations.append(("json", Mutation(FIX_DIGEST, ())))
        return Genome("bytes", index, tuple(mutations), seed.after)

    def _host_genome(self, rng: random.Random) -> Genome:
        if rng.random() < 0.5 or not self.states:
            index = rng.choice(self.valid)
            names = _names(self.seeds[index])
            ops = [host.transfer_op(rng, self.tables, names) for _ in range(rng.choice((1, 1, 2, 3)))]
            return Genome("host", index, (), tuple(ops))
        first = host.construct_op(rng, self.tables, rng.choice(self.states))
        names = host.as_list(first["state"].get("layer_names"))
        ops = [host.transfer_op(rng, self.tables, names) for _ in range(rng.choice((0, 0, 1, 2)))]
        return Genome("host", None, (), (first, *ops))

    # ------------------------------------------------------------------------- rendering

    def files(self, genome: Genome) -> tuple[bytes, bytes]:
        """The genome's document and archive (nothing for a construct)."""
        if genome.seed is None:
            return b"", b""
        seed = self.seeds[genome.seed]
        context = Context(self.tables, self._other)
        npz = seed.npz
        for file, mutation in genome.mutations:
            if file == "npz":
                npz = apply(file, npz, mutation, context)
        context.npz = npz
        document = seed.json
        for file, mutation in genome.mutations:
            if file == "json":
                document = apply(file, document, mutation, context)
        return document, npz

    def render(self, genome: Genome, folder: Path, relative: str = ".") -> CheckpointCase:
        document, archive = self.files(genome)
        ops: tuple[Any, ...] = genome.ops
        if genome.seed is not None:
            if folder not in self.folders:  # mkdir costs more than the writes
                folder.mkdir(parents=True, exist_ok=True)
                self.folders.add(folder)
            (folder / f"{BASE_NAME}.json").write_bytes(document)
            (folder / f"{BASE_NAME}.npz").write_bytes(archive)
            ops = ({"op": "load", "base": f"{relative}/{BASE_NAME}"}, *ops)
        origin = {
            "seed_case": self.seeds[genome.seed].case_id if genome.seed is not None else None,
            "mutations": [[file, *m.to_json()] for file, m in genome.mutations],
        }
        return CheckpointCase(f"fuzz-{genome.kind}-{self.count}", folder, tuple(ops), genome.kind,
                              (document, archive), genome=genome, extra_origin=origin)

    def _other(self, index: int, file: str) -> bytes:
        seed = self.seeds[index % len(self.seeds)]
        return seed.json if file == "json" else seed.npz

    def _strategy_case(self, example: Example[Any], folder: Path, relative: str = ".") -> CheckpointCase:
        if example.value is None:
            raise ValueError("the drawn mutations did not apply")
        model = copy.deepcopy(example.value)  # rendering edits the model (the digest)
        shutil.rmtree(folder, ignore_errors=True)  # a file may have been made a folder
        ops = model.render(folder, relative)
        paths = [folder / f"{BASE_NAME}{suffix}" for suffix in (".json", ".npz")]
        # A file may be missing, or a folder, on purpose (the archive.file.present operators).
        document, archive = (path.read_bytes() if path.is_file() else b"" for path in paths)
        return CheckpointCase(f"fuzz-strategy-{self.count}", folder, tuple(ops), "strategy",
                              (document, archive),
                              example=example, extra_origin={"surface": model.surface})

    # ------------------------------------------------------------------------- shrinking

    def shrink(self, case: CheckpointCase, still_fails: Callable[[CheckpointCase], bool]) -> CheckpointCase:
        folder = case.root.parent / "shrink"
        shutil.rmtree(folder, ignore_errors=True)
        self.folders = {made for made in self.folders if folder not in made.parents}
        counter = iter(range(10**9))

        def fails(candidate: CheckpointCase) -> bool:
            try:
                return still_fails(candidate)
            except Exception:  # noqa: BLE001 - a candidate that breaks the harness is no smaller case
                return False

        if case.example is not None:
            def model_fails(model: Any) -> bool:
                try:
                    candidate = self._strategy_case(Example(model, ()), folder / str(next(counter)))
                except _UNRENDERABLE:
                    return False
                return fails(candidate)

            smallest = hypothesis_shrink(self.strategy, case.example, model_fails)
            if smallest is None:
                return case
            return self._strategy_case(Example(smallest, ()), folder / "final")
        assert case.genome is not None
        genome = shrink_genome(self, case.genome,
                               lambda g: fails(self.render(g, folder / str(next(counter)))))
        return self.render(genome, folder / "final")

    # ------------------------------------------------------------------------- regressions

    def corpus_case(self, case: CheckpointCase) -> str | None:
        """The corpus case ``case`` is when shrinking removed every change to it."""
        genome = case.genome
        if genome is None or genome.seed is None or genome.mutations:
            return None
        seed = self.seeds[genome.seed]
        return seed.case_id if tuple(genome.ops) == seed.after else None

    def write_regression(self, case: CheckpointCase, case_dir: Path, relative: str) -> list[dict[str, Any]]:
        if case.example is not None:
            ops = self._strategy_case(case.example, case_dir, relative).ops
        else:
            assert case.genome is not None
            ops = self.render(case.genome, case_dir, relative).ops
        return [dict(op) for op in ops]


# ----------------------------------------------------------------------------- shrinking


def shrink_genome(source: CheckpointFuzzSource, genome: Genome,
                  fails: Callable[[Genome], bool]) -> Genome:
    """Delta debugging on a genome's parts until no step makes it smaller (see the module).

    A step is kept when the finding persists and the case gets strictly smaller: its size
    (rendered files and operations) first, then the sum of its mutation parameters. Dropping
    a truncation, or moving a parameter, could otherwise trade a simpler genome for bigger
    files, and two steps could undo each other forever.
    """

    def key(candidate: Genome) -> tuple[int, int]:
        size = sum(map(len, source.files(candidate))) + len(json.dumps(list(candidate.ops)))
        return size, sum(sum(m.params) for _, m in candidate.mutations)

    def better(current: Genome, trial: Genome) -> bool:
        return key(trial) < key(current) and fails(trial)

    while True:
        before = genome
        genome = _drop_each(genome, "mutations", better)
        genome = _drop_each(genome, "ops", better, keep_first=genome.seed is None)
        genome = _smaller_seed(source, genome, better)
        genome = _smaller_params(genome, better)
        genome = _simpler_ops(genome, better)
        if genome == before:
            return genome


Better = Callable[[Genome, Genome], bool]  # (current, trial): keep the trial?


def _drop_each(genome: Genome, part: str, better: Better, keep_first: bool = False) -> Genome:
    items: tuple[Any, ...] = getattr(genome, part)
    index = len(items) - 1
    while index >= (1 if keep_first else 0):
        rest = items[:index] + items[index + 1 :]
        trial = replace(genome, mutations=rest) if part == "mutations" else replace(genome, ops=rest)
        if better(genome, trial):
            genome, items = trial, rest
        index -= 1
    return genome


def _smaller_seed(source: CheckpointFuzzSource, genome: Genome, better: Better) -> Genome:
    """The first of the smallest valid seed pairs, then of the smallest of all, on which the
    mutations still fail (and give smaller files)."""
    if genome.seed is None:
        return genome
    valid = [index for index in source.by_size if source.seeds[index].valid]
    for index in dict.fromkeys(valid[:SMALLER_SEEDS] + source.by_size[:SMALLER_SEEDS]):
        trial = replace(genome, seed=index)
        if index != genome.seed and better(genome, trial):
            return trial
    return genome


def _smaller_params(genome: Genome, better: Better) -> Genome:
    """Every mutation parameter toward zero; a nesting depth by binary search (the smallest
    depth that still fails is the limit plus one)."""
    for position in range(len(genome.mutations)):
        for slot in range(len(genome.mutations[position][1].params)):
            genome = _smaller_param(genome, position, slot, better)
    return genome


def _smaller_param(genome: Genome, position: int, slot: int, better: Better) -> Genome:
    file, mutation = genome.mutations[position]
    value = mutation.params[slot]

    def with_value(new: int) -> Genome:
        params = (*mutation.params[:slot], new, *mutation.params[slot + 1 :])
        changed = (*genome.mutations[:position], (file, Mutation(mutation.name, params)),
                   *genome.mutations[position + 1 :])
        return replace(genome, mutations=changed)

    mutator = MUTATORS.get(mutation.name)
    if mutator is not None and mutator.depth_param == slot:
        low, high = 0, value  # high fails; low is below the floor
        while high - low > 1:
            middle = (low + high) // 2
            if better(genome, with_value(middle)):
                high = middle
            else:
                low = middle
        return with_value(high)
    for candidate in (0, value // 2):
        if candidate < value and better(genome, with_value(candidate)):
            return with_value(candidate)
    return genome


def _simpler_ops(genome: Genome, better: Better) -> Genome:
    if not genome.ops:
        return genome
    ops = host.simplify(list(genome.ops), host.removable_path, host.frozen_path,
                        lambda trial: better(genome, replace(genome, ops=tuple(trial))))
    return replace(genome, ops=tuple(ops))


# ----------------------------------------------------------------------------- the corpus


def _read_corpus(fixtures: Path) -> tuple[list[Seed], list[dict[str, Any]]]:
    """Every corpus pair small enough to mutate, and every valid constructor state."""
    seeds: list[Seed] = []
    states: list[dict[str, Any]] = []
    manifest = fixtures / "cases.jsonl"
    if not manifest.is_file():
        return seeds, states
    for raw in manifest.read_text("utf-8").splitlines():
        line = json.loads(raw)
        first = line["ops"][0]
        if first["op"] == "construct" and line["class"] == "valid":
            states.append(first["state"])
        if first["op"] != "load":
            continue
        base = fixtures / first["base"]
        paths = [base.with_name(base.name + suffix) for suffix in (".json", ".npz")]
        if not all(path.is_file() for path in paths) or sum(p.stat().st_size for p in paths) > MAX_SEED_BYTES:
            continue
        seeds.append(Seed(line["id"], paths[0].read_bytes(), paths[1].read_bytes(),
                          tuple(line["ops"][1:]), line["class"] == "valid"))
    return seeds, states


def _names(seed: Seed) -> list[Any]:
    try:
        names = json.loads(seed.json).get("layer_names", [])
    except (ValueError, AttributeError):
        return []
    return names if isinstance(names, list) else []


# ----------------------------------------------------------------------------- strategies


def _models(all_combos: tuple[Combo, ...]) -> st.SearchStrategy[CaseModel | None]:
    """The generator's strategies: a valid case, or one with one or two registered mutations
    of one surface applied (None when the pair of edits does not compose)."""

    @st.composite
    def models(draw: st.DrawFn) -> CaseModel | None:
        if draw(st.integers(0, 9)) < 3 or not all_combos:
            draft = draw(valid_cases())
            return CaseModel.from_draft(draft, draw(st.sampled_from(["load", "construct"])))
        first = draw(st.sampled_from(all_combos))
        parts = [first]
        if draw(st.booleans()):
            same = [c for c in all_combos if c.surface == first.surface and c is not first]
            parts.append(draw(st.sampled_from(same)))
        try:
            return draw(mutated_cases(tuple(parts)))
        except _UNRENDERABLE:
            return None  # two edits that cannot both apply: nothing to learn here

    return models()


def source(spec: Spec, fixtures: Path) -> CheckpointFuzzSource:
    """``[domain] fuzz_source``: a source of checkpoint cases for one fuzzing lane."""
    return CheckpointFuzzSource(spec, fixtures)
