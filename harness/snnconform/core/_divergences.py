"""known-divergences.toml: expected failures, each with a reason and the wrong answer expected.

An entry names an implementation and exactly one of ``case`` (an id or glob), ``invariant`` (an
ID or glob, matched against a case's ``covers``) or ``operation`` (an operation the testee
declares out of scope). ``got`` is the expected wrong answer: a subset of the failure's
signature (``outcome``, ``verdict``, ``op_index``, ``code``, ``path``). A listed failure that
now agrees, or fails differently, is reported and fails the gate, so the list cannot rot.
"""

from __future__ import annotations

import datetime
import json
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from snnconform.core._judge import Judgment

_SIGNATURE_KEYS = ("outcome", "verdict", "op_index", "code", "path")
_OUTCOMES = {"answered", "skipped", "errored", "crashed", "timed_out", "malformed"}


class DivergenceError(Exception):
    """known-divergences.toml is malformed."""


@dataclass(frozen=True)
class Divergence:
    implementation: str
    reason: str
    got: Mapping[str, Any]
    case: str | None = None
    invariant: str | None = None
    operation: str | None = None

    def matches(self, implementation: str, case_id: str, covers: Iterable[str],
                operations: Iterable[str]) -> bool:
        if implementation != self.implementation:
            return False
        if self.case is not None:
            return fnmatchcase(case_id, self.case)
        if self.invariant is not None:
            return any(fnmatchcase(c, self.invariant) for c in covers)
        return self.operation in set(operations)

    def expects(self, signature: Mapping[str, Any]) -> bool:
        return all(signature.get(key) == value for key, value in self.got.items())

    @property
    def scope(self) -> str:
        if self.case is not None:
            return f"case {self.case}"
        if self.invariant is not None:
            return f"invariant {self.invariant}"
        return f"operation {self.operation}"


def load_divergences(path: Path) -> list[Divergence]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DivergenceError(f"{path}: {exc}") from None
    entries: list[Divergence] = []
    for index, table in enumerate(data.get("divergence", [])):
        where = f"{path.name} [[divergence]] #{index + 1}"
        unknown = set(table) - {"implementation", "case", "invariant", "operation", "reason", "got"}
        if unknown:
            raise DivergenceError(f"{where}: unknown keys {sorted(unknown)}")
        scopes = [k for k in ("case", "invariant", "operation") if k in table]
        if len(scopes) != 1:
            raise DivergenceError(f"{where}: give exactly one of case, invariant, operation")
        for key in ("implementation", "reason", scopes[0]):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise DivergenceError(f"{where}: {key!r} must be a non-empty string")
        got = table.get("got", {"outcome": "skipped"} if scopes[0] == "operation" else None)
        if not isinstance(got, dict) or not got:
            raise DivergenceError(f"{where}: 'got' must be a table with the expected wrong answer")
        bad = set(got) - set(_SIGNATURE_KEYS)
        if bad:
            raise DivergenceError(f"{where}: got has unknown keys {sorted(bad)}")
        got = {"outcome": "answered", **got} if "outcome" not in got else dict(got)
        if got["outcome"] not in _OUTCOMES:
            raise DivergenceError(f"{where}: got.outcome must be one of {sorted(_OUTCOMES)}")
        entries.append(
            Divergence(
                implementation=table["implementation"],
                reason=table["reason"].strip(),
                got=got,
                case=table.get("case"),
                invariant=table.get("invariant"),
                operation=table.get("operation"),
            )
        )
    return entries


def apply_divergences(
    judgments: Sequence[Judgment], divergences: Sequence[Divergence]
) -> tuple[list[Judgment], list[str]]:
    """Mark expected failures as known; report listed failures that were fixed or changed."""
    out: list[Judgment] = []
    problems: list[str] = []
    for j in judgments:
        if j.status == "not_run":
            out.append(j)
            continue
        entry = next(
            (d for d in divergences
             if d.matches(j.implementation, j.case.id, j.case.covers, j.case.operations)),
            None,
        )
        if entry is None:
            out.append(j)
        elif j.status == "agreed":
            problems.append(
                f"{j.implementation}: case {j.case.id} now agrees but known-divergences.toml "
                f"lists it ({entry.scope}: {entry.reason}); remove the entry"
            )
            out.append(j.with_status("agreed", note="listed as a known divergence but agrees"))
        elif entry.expects(j.signature):
            out.append(j.with_status("known", reason=entry.reason))
        else:
            note = (
                f"fails differently than known-divergences.toml expects ({entry.scope}: expected "
                f"{render_got(entry.got)}, got {render_got(j.signature)})"
            )
            problems.append(f"{j.implementation}: case {j.case.id} {note}")
            out.append(j.with_status(j.status, note=note))
    return out, problems


def unused_entries(
    judgments: Sequence[Judgment], divergences: Sequence[Divergence], ran: Iterable[str]
) -> list[str]:
    """Entries for an implementation that ran which match no case at all (stale)."""
    ran = set(ran)
    return [
        f"{d.implementation}: known-divergences.toml entry for {d.scope} matches no case; remove it"
        for d in divergences
        if d.implementation in ran
        and not any(
            d.matches(j.implementation, j.case.id, j.case.covers, j.case.operations)
            for j in judgments
        )
    ]


def render_got(got: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k} = {json.dumps(got[k])}" for k in _SIGNATURE_KEYS if k in got) + "}"


# ------------------------------------------------------------------------------- rewriting


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON escapes, minus the surrogate pairs and DEL TOML forbids)."""
    body = json.dumps(text, ensure_ascii=False)[1:-1].replace("\x7f", "\\u007f")
    return f'"{body}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _toml_string(str(value))


def rewrite_entries(
    failures: Sequence[Mapping[str, Any]], old: Sequence[Divergence]
) -> list[Divergence]:
    """The list that makes ``failures`` (from a results file) exactly the known divergences.

    Old entries that still describe a failure are kept as written (so an invariant-wide entry
    stays one entry); other failures get a case entry, keeping the reason of an old entry that
    matched the case.
    """
    kept: list[Divergence] = []
    new: list[Divergence] = []
    for failure in failures:
        impl, case_id = failure["implementation"], failure["case"]
        covers, operations = failure.get("covers", []), failure.get("operations", [])
        sig = failure["signature"]
        matching = [d for d in old if d.matches(impl, case_id, covers, operations)]
        still = next((d for d in matching if d.expects(sig)), None)
        if still is not None:
            if still not in kept:
                kept.append(still)
            continue
        reason = matching[0].reason if matching else (
            f"NEW, explain before committing: {failure.get('summary', 'disagreement')}"
        )
        got = {k: sig[k] for k in _SIGNATURE_KEYS if k in sig}
        new.append(Divergence(impl, reason, got, case=case_id))
    return kept + new


def write_divergences(path: Path, entries: Sequence[Divergence]) -> None:
    today = datetime.date.today().isoformat()
    lines = [
        "# Known divergences: failures the gate expects, each with a reason and the wrong answer.",
        "# Scope: exactly one of `case` (id or glob), `invariant` (ID or glob, matched against a",
        "# case's covers) or `operation` (declared out of scope; expects outcome = \"skipped\").",
        "# `got`: the expected wrong answer (outcome, verdict, op_index, code, path). A listed",
        "# failure that agrees again, or fails differently, fails the gate.",
        f"# Rewritten by `snnconform divergences --rewrite` on {today}.",
    ]
    for entry in sorted(entries, key=lambda d: (d.implementation, d.scope)):
        lines.append("")
        lines.append("[[divergence]]")
        lines.append(f"implementation = {_toml_string(entry.implementation)}")
        for key in ("case", "invariant", "operation"):
            value = getattr(entry, key)
            if value is not None:
                lines.append(f"{key} = {_toml_string(value)}")
        lines.append(f"reason = {_toml_string(entry.reason)}")
        got = ", ".join(f"{k} = {_toml_value(entry.got[k])}" for k in _SIGNATURE_KEYS if k in entry.got)
        lines.append(f"got = {{ {got} }}")
    path.write_text("\n".join(lines) + "\n", "utf-8")
