"""The producer × consumer matrix (a ``[domain.suites]`` entry): every writer's files are read
by every reader, as Arrow's integration suite runs each producer against each consumer.

For every accepted case of the corpus (loaded or constructed, after its transfer operations),
each implementation with a ``save`` capability writes the checkpoint twice, stored and deflated,
into a scratch folder of its own (never inside the corpus). Then:

- *writes*: the writer's answers equal the reference's (the state before the saves, and both
  saves accepted; the files are judged by the next two checks);
- *canonical_json*: each ``.json`` is byte-identical to the reference's, but for the
  ``archive_sha256`` line of deflated pairs (deflate bytes may differ between libraries);
- *stored_identical*: each stored ``.npz`` is byte-identical to the reference's;
- *cells*: each reader (every testee, plus plain ``numpy.load`` and ``json`` as an independent
  consumer) loads each writer's pair and reports the state the reference reports for its own
  pair: same fields, same weight digests;
- *refusals*: asked to save each construct-invalid state of the corpus, each writer refuses
  with the reference's code and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnconform.core._cases import Case
from snnconform.core._diff import compare_results, without_messages
from snnconform.core._runner import ImplementationRun
from snnconform.core._suites import SuiteContext, SuiteReport, case_of

COMPRESSIONS = ("stored", "deflate")
NUMPY = "numpy"
_DIGEST_LINE = re.compile(rb'\n  "archive_sha256": "[0-9a-f]{64}"')


@dataclass
class Tally:
    """agreed/total of one check, with the first failure kept for the report."""

    agreed: int = 0
    total: int = 0
    first_failure: str | None = None

    def add(self, ok: bool, detail: str = "") -> None:
        self.total += 1
        self.agreed += ok
        if not ok and self.first_failure is None:
            self.first_failure = detail

    def as_dict(self) -> dict[str, Any]:
        return {"agreed": self.agreed, "total": self.total}


@dataclass
class Product:
    """One writer's pair for one case and compression: where it is, what the writer answered."""

    case: Case
    compression: str
    folder: Path
    ok: bool = False


@dataclass
class _Expected:
    """The reference's own products of one case: its answers and the state it loads back."""

    results: list[dict[str, Any]]
    files: dict[str, Path]  # compression -> base path of the reference's pair
    loaded: dict[str, Any] = field(default_factory=dict)  # the load answer of its stored pair


def _saves(case: Case, folder: Path) -> list[dict[str, Any]]:
    return [{"op": "save", "out": str(folder / compression / "checkpoint"), "compression": compression}
            for compression in COMPRESSIONS]


def _reference_products(ctx: SuiteContext, cases: Sequence[Case], scratch: Path) -> dict[str, _Expected]:
    assert ctx.reference is not None
    root = ctx.config.fixtures.resolve()
    expected: dict[str, _Expected] = {}
    for case in cases:
        folder = scratch / case.id
        answer = ctx.reference({"id": case.id, "ops": [*case.ops, *_saves(case, folder)]}, root)
        results = without_messages(answer["results"])
        entry = _Expected(results, {c: folder / c / "checkpoint" for c in COMPRESSIONS})
        load = ctx.reference({"id": case.id, "ops": [{"op": "load", "base": "stored/checkpoint"}]}, folder)
        entry.loaded = without_messages(load["results"])[0]
        expected[case.id] = entry
    return expected


def _without_digest_line(path: Path) -> bytes:
    return _DIGEST_LINE.sub(b"", path.read_bytes())


class _Matrix:
    """The tallies, filled from several reader threads."""

    def __init__(self, writers: list[str], readers: list[str]) -> None:
        self.lock = threading.Lock()
        self.writes = {w: Tally() for w in writers}
        self.canonical_json = {w: Tally() for w in writers}
        self.stored_identical = {w: Tally() for w in writers}
        self.refusals = {w: Tally() for w in writers}
        self.cells = {w: {r: Tally() for r in readers} for w in writers}

    def summary(self) -> dict[str, Any]:
        def table(tallies: Mapping[str, Tally]) -> dict[str, Any]:
            return {name: tally.as_dict() for name, tally in tallies.items()}

        return {
            "writers": list(self.cells),
            "readers": list(next(iter(self.cells.values()), {})),
            "cells": {w: table(row) for w, row in self.cells.items()},
            "writes": table(self.writes),
            "canonical_json": table(self.canonical_json),
            "stored_identical": table(self.stored_identical),
            "refusals": table(self.refusals),
        }

    def problems(self) -> list[str]:
        checks = {"writes": self.writes, "canonical .json bytes": self.canonical_json,
                  "stored .npz bytes": self.stored_identical, "refusals": self.refusals}
        found = [f"producer_consumer: {w} {name} {t.agreed}/{t.total}: {t.first_failure}"
                 for name, tallies in checks.items() for w, t in tallies.items() if t.agreed < t.total]
        found += [f"producer_consumer: {r} reading {w}'s files {t.agreed}/{t.total}: {t.first_failure}"
                  for w, row in self.cells.items() for r, t in row.items() if t.agreed < t.total]
        return found


def _produce(ctx: SuiteContext, writer: ImplementationRun, cases: Sequence[Case],
             expected: Mapping[str, _Expected], scratch: Path, matrix: _Matrix) -> list[Product]:
    """The writer saves every case twice; its answers and files are checked on the way."""
    name = writer.impl.name
    products: list[Product] = []
    session = ctx.session(writer)
    root = ctx.config.fixtures.resolve()
    try:
        for case in cases:
            folder = scratch / case.id
            outcome = session.run_case(case_of(case.id, [*case.ops, *_saves(case, folder)]), root)
            reference = expected[case.id]
            got = [r.comparable() for r in outcome.answer.results] if outcome.answer else None
            difference = None if got is None else compare_results(
                _without_file_figures(reference.results), _without_file_figures(got))
            ok = got is not None and difference is None
            detail = f"{outcome.kind} {outcome.detail}" if got is None else \
                f"case {case.id} {difference.describe() if difference else ''}"
            with matrix.lock:
                matrix.writes[name].add(ok, detail)
            for compression in COMPRESSIONS:
                product = Product(case, compression, folder / compression, ok)
                if ok:
                    _check_files(name, product, reference.files[compression], matrix)
                products.append(product)
    finally:
        session.stop()
    return products


def _without_file_figures(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers with the saves' file figures left out: the files themselves are compared
    by ``_check_files`` (byte for byte where the spec guarantees it)."""
    return [{k: v for k, v in r.items() if k != "saved"} if r.get("op") == "save" else r for r in results]


def _check_files(writer: str, product: Product, reference: Path, matrix: _Matrix) -> None:
    base = product.folder / "checkpoint"
    label = f"case {product.case.id} ({product.compression})"
    try:
        same_json = _without_digest_line(Path(f"{base}.json")) == _without_digest_line(Path(f"{reference}.json"))
        if product.compression == "stored":
            same_json = same_json and Path(f"{base}.json").read_bytes() == Path(f"{reference}.json").read_bytes()
            same_npz = Path(f"{base}.npz").read_bytes() == Path(f"{reference}.npz").read_bytes()
            with matrix.lock:
                matrix.stored_identical[writer].add(same_npz, f"{label}: the .npz differs from the reference's")
    except OSError as exc:
        same_json = False
        label += f": {exc}"
    with matrix.lock:
        matrix.canonical_json[writer].add(same_json, f"{label}: the .json differs from the reference's")


def _numpy_state(base: Path) -> dict[str, Any]:
    """What plain numpy.load and json.loads read from a pair: the independent consumer."""
    document = json.loads(Path(f"{base}.json").read_text("utf-8"))
    with np.load(f"{base}.npz", allow_pickle=False) as archive:
        digests = [hashlib.sha256(np.ascontiguousarray(archive[f"layer_{i}"], dtype="<f8").tobytes()).hexdigest()
                   for i in range(len(document["layer_names"]))]
    keys = ("n_layers", "total_params", "layer_names", "layer_sizes", "neuron_types", "frozen_layers", "metadata")
    return {**{key: document[key] for key in keys}, "weight_sha256": digests}


def _consume(ctx: SuiteContext, reader: ImplementationRun | None, writer: str, products: Sequence[Product],
             expected: Mapping[str, _Expected], matrix: _Matrix) -> None:
    """One reader loads every product of one writer."""
    name = reader.impl.name if reader else NUMPY
    session = ctx.session(reader) if reader else None
    try:
        for product in products:
            want = expected[product.case.id].loaded
            label = f"case {product.case.id} ({product.compression})"
            if not product.ok:
                ok, detail = False, f"{label}: the writer failed"
            elif session is None:
                try:
                    state = _numpy_state(product.folder / "checkpoint")
                    difference = compare_results([want], [{"op": "load", "verdict": "accept", "state": state}])
                except (OSError, ValueError, KeyError) as exc:
                    difference, state = None, None
                    ok, detail = False, f"{label}: numpy.load failed: {exc}"
                else:
                    ok, detail = difference is None, f"{label} {difference.describe() if difference else ''}"
            else:
                outcome = session.run_case(case_of(product.case.id, [{"op": "load", "base": "checkpoint"}]),
                                           product.folder)
                got = [r.comparable() for r in outcome.answer.results] if outcome.answer else None
                difference = compare_results([want], got) if got is not None else None
                ok = got is not None and difference is None
                detail = f"{label}: {outcome.kind} {outcome.detail}" if got is None else \
                    f"{label} {difference.describe() if difference else ''}"
            with matrix.lock:
                matrix.cells[writer][name].add(ok, detail)
    finally:
        if session is not None:
            session.stop()


def _refuse(ctx: SuiteContext, writer: ImplementationRun, cases: Sequence[Case], scratch: Path,
            matrix: _Matrix) -> None:
    """Asked to save an invalid state, the writer refuses with the reference's code, writes nothing."""
    name = writer.impl.name
    session = ctx.session(writer)
    try:
        for case in cases:
            folder = scratch / case.id
            op = {"op": "save", "state": case.ops[0]["state"], "out": str(folder / "checkpoint")}
            outcome = session.run_case(case_of(case.id, [op]), ctx.config.fixtures.resolve())
            got = [r.comparable() for r in outcome.answer.results] if outcome.answer else None
            code = got[-1].get("code") if got else None
            left = sorted(p.name for p in folder.rglob("*")) if folder.exists() else []
            ok = code == case.expect.code and not left
            detail = f"case {case.id}: answered {code or outcome.kind}, expected {case.expect.code}" + \
                (f", left {left}" if left else "")
            with matrix.lock:
                matrix.refusals[name].add(ok, detail)
    finally:
        session.stop()


def _markdown(summary: Mapping[str, Any]) -> list[str]:
    readers = summary["readers"]
    lines = ["## Producer × consumer", "",
             "Each writer (row) saves every accepted case stored and deflated; each reader (column) "
             "loads the pair and must report the reference's state.", "",
             "| writer | " + " | ".join(readers) + " | canonical .json | stored .npz | refusals |",
             "|---|" + "---|" * (len(readers) + 3)]
    for writer, row in summary["cells"].items():
        cells = [f"{row[r]['agreed']}/{row[r]['total']}" for r in readers]
        extra = [f"{summary[k][writer]['agreed']}/{summary[k][writer]['total']}"
                 for k in ("canonical_json", "stored_identical", "refusals")]
        lines.append(f"| {writer} | " + " | ".join(cells + extra) + " |")
    return lines + [""]


def producer_consumer(ctx: SuiteContext) -> SuiteReport:
    started = ctx.started
    writers = [run for run in started if run.started and "save" in run.started.capabilities]
    readers = [run for run in started if run.started and "load" in run.started.capabilities]
    problems = [f"producer_consumer: {run.impl.name} cannot save (no 'save' capability)"
                for run in started if run not in writers]
    if ctx.reference is None:
        return SuiteReport({"error": "no reference"}, problems=["producer_consumer needs the reference"])
    sources = [case for case in ctx.cases if case.expect.verdict == "accept"]
    invalid = [case for case in ctx.cases if case.expect.op_index == 0 and case.ops[0].get("op") == "construct"]
    matrix = _Matrix([w.impl.name for w in writers], [r.impl.name for r in readers] + [NUMPY])
    scratch = Path(tempfile.mkdtemp(prefix="snnconform-matrix-"))
    try:
        expected = _reference_products(ctx, sources, scratch / "reference")
        products: dict[str, list[Product]] = {}
        for writer in writers:
            ctx.note(f"producer_consumer: {writer.impl.name} writes {len(sources)} cases, stored and deflated")
            products[writer.impl.name] = _produce(ctx, writer, sources, expected,
                                                  scratch / writer.impl.name, matrix)
            _refuse(ctx, writer, invalid, scratch / f"{writer.impl.name}-refusals", matrix)
        ctx.note(f"producer_consumer: {len(readers) + 1} readers load every writer's files")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(_consume, ctx, reader, writer, items, expected, matrix)
                       for reader in [*readers, None] for writer, items in products.items()]
            for future in futures:
                future.result()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = {**matrix.summary(), "cases": len(sources), "invalid_states": len(invalid),
               "compressions": list(COMPRESSIONS)}
    return SuiteReport(summary, _markdown(summary), problems + matrix.problems())
