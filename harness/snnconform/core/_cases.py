"""Cases from a corpus's ``cases.jsonl`` (fixtures/README.md), and how a run selects them.

A case is opaque to the core beyond its envelope: operations are JSON objects with an ``op``
name, the expectation is a list of results, ``covers`` lists invariant IDs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence


class CorpusError(Exception):
    """The corpus cannot be read, or a case contradicts itself."""


@dataclass(frozen=True)
class Expectation:
    """What a conforming testee answers: the summary and the results without messages."""

    verdict: str
    op_index: int | None
    code: str | None
    results: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Case:
    id: str
    klass: str
    ops: tuple[Mapping[str, Any], ...]
    expect: Expectation
    covers: tuple[str, ...]
    origin: Mapping[str, Any]

    @property
    def operations(self) -> frozenset[str]:
        """The operation names this case uses (what a testee must be capable of)."""
        return frozenset(str(op.get("op")) for op in self.ops)


def summarize(results: Sequence[Mapping[str, Any]]) -> tuple[str, int | None, str | None]:
    """(verdict, failing op index, code) of a result list: a rejection can only be last."""
    for index, result in enumerate(results):
        if result.get("verdict") == "reject":
            code = result.get("code")
            return "reject", index, code if isinstance(code, str) else None
    return "accept", None, None


def case_from_json(obj: Mapping[str, Any], where: str) -> Case:
    try:
        expect = obj["expect"]
        results = tuple(expect["results"])
        case = Case(
            id=str(obj["id"]),
            klass=str(obj["class"]),
            ops=tuple(obj["ops"]),
            expect=Expectation(expect["verdict"], expect["op_index"], expect["code"], results),
            covers=tuple(obj.get("covers", ())),
            origin=obj.get("origin") or {},
        )
    except (KeyError, TypeError) as exc:
        raise CorpusError(f"{where}: malformed case ({exc!r})") from None
    if not case.ops or not all(isinstance(op, dict) and isinstance(op.get("op"), str) for op in case.ops):
        raise CorpusError(f"{where}: case {case.id}: ops must be objects with an 'op' name")
    summary = summarize(results)
    declared = (case.expect.verdict, case.expect.op_index, case.expect.code)
    if summary != declared:
        raise CorpusError(
            f"{where}: case {case.id}: expect says {declared} but expect.results say {summary}"
        )
    return case


def load_cases(path: Path, *, validate: bool = False) -> list[Case]:
    """Every case of a ``cases.jsonl`` file, in file order; ids must be unique."""
    if not path.is_file():
        raise CorpusError(f"{path}: no corpus here (generate it with `snnconform fixtures`)")
    validator = None
    if validate:
        import jsonschema

        from snnconform.core._protocol import load_schema

        validator = jsonschema.Draft202012Validator(load_schema("case"))
    cases: list[Case] = []
    seen: set[str] = set()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                raise CorpusError(f"{where}: not JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise CorpusError(f"{where}: a case must be a JSON object")
            if validator is not None:
                from jsonschema.exceptions import best_match

                error = best_match(validator.iter_errors(obj))
                if error is not None:
                    pointer = "".join(f"/{p}" for p in error.absolute_path) or "/"
                    raise CorpusError(f"{where}: {pointer}: {error.message}")
            case = case_from_json(obj, where)
            if case.id in seen:
                raise CorpusError(f"{where}: duplicate case id {case.id!r}")
            seen.add(case.id)
            cases.append(case)
    return cases


@dataclass(frozen=True)
class Selection:
    """Which cases a run uses: id globs, invariant globs and a shard (all optional)."""

    case_patterns: tuple[str, ...] = ()
    invariant_patterns: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None

    @property
    def is_filtered(self) -> bool:
        return bool(self.case_patterns or self.invariant_patterns or self.shard)

    def apply(self, cases: Iterable[Case]) -> list[Case]:
        chosen = [
            case
            for case in cases
            if (not self.case_patterns or any(fnmatchcase(case.id, p) for p in self.case_patterns))
            and (
                not self.invariant_patterns
                or any(fnmatchcase(c, p) for c in case.covers for p in self.invariant_patterns)
            )
        ]
        if self.shard is not None:
            k, n = self.shard
            chosen = [case for i, case in enumerate(chosen) if i % n == k - 1]
        return chosen


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N: the K-th of N interleaved slices."""
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: need 1 <= K <= N")
    return k, n
