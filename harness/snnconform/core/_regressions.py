"""The regression corpus: minimal cases ``snnconform fuzz`` found, kept and run forever.

It lives in its own folder (``conformance.toml [harness] regressions``, e.g.
``fixtures/regressions``) with the corpus's format: a ``cases.jsonl`` whose operations name
files under ``cases/<id>/``, relative to the main corpus's folder, so that every command runs
these cases exactly like the generated ones, after them. The generator never writes there.

Every expectation is the reference's answer, as for the generated corpus. A case on which the
reference itself raises has no expectation yet: it waits in ``pending.jsonl`` (a gate problem)
until the reference is fixed and ``snnconform fixtures`` refreshes the folder, which also
recomputes every expectation after a deliberate change of the spec.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from snnconform.core._cases import Case, CorpusError, case_from_json, load_cases, summarize
from snnconform.core._config import Config
from snnconform.core._diff import without_messages

Reference = Callable[[Mapping[str, Any], Path], Mapping[str, Any]]

CASES_NAME = "cases.jsonl"
PENDING_NAME = "pending.jsonl"
CLASS = "regression"


def corpus_cases(config: Config, *, validate: bool = False) -> list[Case]:
    """The generated corpus's cases, then the regression cases; ids unique across both."""
    cases = load_cases(config.fixtures / CASES_NAME, validate=validate)
    extra = regression_cases(config, validate=validate)
    seen = {case.id for case in cases}
    for case in extra:
        if case.id in seen:
            raise CorpusError(f"{config.regressions}: case id {case.id!r} is also in the corpus")
    return cases + extra


def regression_cases(config: Config, *, validate: bool = False) -> list[Case]:
    """The regression corpus's cases (none when it is not configured or still empty)."""
    path = _path(config, CASES_NAME)
    return load_cases(path, validate=validate) if path is not None and path.is_file() else []


def pending_entries(config: Config) -> list[dict[str, Any]]:
    """Regression cases waiting for an expectation (the reference raised on them)."""
    path = _path(config, PENDING_NAME)
    return _read_lines(path) if path is not None and path.is_file() else []


def corpus_bytes(config: Config) -> bytes:
    """What ``corpus_sha256`` digests: the corpus's cases.jsonl, then the regressions' one."""
    data = (config.fixtures / CASES_NAME).read_bytes()
    path = _path(config, CASES_NAME)
    return data + path.read_bytes() if path is not None and path.is_file() else data


def pending_problems(config: Config) -> list[str]:
    """One gate problem per pending regression case."""
    return [
        f"regression case {entry.get('id')} has no expectation: the reference raised "
        f"{entry.get('reference_error', '?')} (fix the reference, then `snnconform fixtures`)"
        for entry in pending_entries(config)
    ]


def _path(config: Config, name: str) -> Path | None:
    return config.regressions / name if config.regressions is not None else None


def _read_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if raw.strip():
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise CorpusError(f"{path}:{number}: not JSON ({exc})") from None
            if not isinstance(value, dict) or not isinstance(value.get("ops"), list):
                raise CorpusError(f"{path}:{number}: expected an object with ops")
            lines.append(value)
    return lines


def _write_lines(path: Path, lines: Sequence[Mapping[str, Any]]) -> None:
    if not lines:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # ASCII JSON: no Unicode line separator can split a line.
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")


def _entry(case_id: str, ops: Sequence[Mapping[str, Any]], origin: Mapping[str, Any],
           reference: Reference, root: Path) -> tuple[dict[str, Any], str | None]:
    """A regression case's manifest line with the reference's answer as its expectation, or,
    when the reference raises, its pending line and the error."""
    try:
        raw = reference({"id": case_id, "ops": list(ops)}, root)
        results = without_messages(list(raw["results"]))
    except Exception as exc:  # noqa: BLE001 - a reference bug: keep the case, without expectation
        error = traceback.format_exception_only(exc)[-1].strip()
        return {"id": case_id, "class": CLASS, "ops": list(ops), "origin": dict(origin),
                "reference_error": error}, error
    verdict, op_index, code = summarize(results)
    line = {
        "id": case_id,
        "class": CLASS,
        "ops": list(ops),
        "expect": {"verdict": verdict, "op_index": op_index, "code": code, "results": results},
        "covers": [code] if code else [],
        "origin": dict(origin),
    }
    case_from_json(line, f"regression {case_id}")  # the corpus's own consistency checks
    return line, None


def _store(config: Config, entries: Sequence[tuple[dict[str, Any], str | None]],
           replace_all: bool) -> None:
    """Write entries into cases.jsonl or pending.jsonl (by whether they have an error),
    replacing lines with the same id, or every line with ``replace_all``."""
    assert config.regressions is not None
    ids = {line["id"] for line, _ in entries}
    for name, pending in ((CASES_NAME, False), (PENDING_NAME, True)):
        path = config.regressions / name
        kept = [] if replace_all or not path.is_file() else [
            line for line in _read_lines(path) if line.get("id") not in ids]
        _write_lines(path, kept + [line for line, error in entries if (error is not None) == pending])


def add_case(config: Config, case_id: str, ops: Sequence[Mapping[str, Any]],
             origin: Mapping[str, Any], reference: Reference) -> str | None:
    """Record a case whose files are already written, with the reference's expectation.

    Returns None when it went into cases.jsonl, or the reference's error when it has to wait
    in pending.jsonl. A line with the same id (the same content found again) is replaced.
    """
    entry = _entry(case_id, ops, origin, reference, config.fixtures.resolve())
    _store(config, [entry], replace_all=False)
    return entry[1]


def refresh(config: Config, reference: Reference) -> dict[str, int]:
    """Recompute every regression case's expectation with the reference and promote the
    pending cases it now answers; returns the counts (cases, changed, pending)."""
    if config.regressions is None:
        return {"cases": 0, "changed": 0, "pending": 0}
    path = config.regressions / CASES_NAME
    old = (_read_lines(path) if path.is_file() else []) + pending_entries(config)
    new = [_entry(str(line["id"]), line["ops"], line.get("origin") or {}, reference,
                  config.fixtures.resolve()) for line in old]
    _store(config, new, replace_all=True)
    changed = sum(before.get("expect") != after.get("expect") for before, (after, _) in zip(old, new))
    pending = sum(error is not None for _, error in new)
    return {"cases": len(new) - pending, "changed": changed, "pending": pending}
