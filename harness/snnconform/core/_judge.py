"""Turn a testee's outcome for a case into a judgment: agreed, or which way it failed.

An answer agrees only when it equals the corpus's expectation *and* the reference's answer
(verdict, failing operation, code, each accepted operation's state). Everything that is not an
answer (crash, timeout, malformed line, errored, skipped, not run) is never agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Mapping, Sequence

from snnconform.core._cases import Case, summarize
from snnconform.core._diff import Difference, compare_results, without_messages
from snnconform.core._session import Outcome

Status = Literal[
    "agreed", "disagreed", "known", "skipped", "errored", "crashed", "timed_out", "malformed",
    "not_run",
]
FAILING: frozenset[str] = frozenset(
    {"disagreed", "skipped", "errored", "crashed", "timed_out", "malformed"}
)


@dataclass(frozen=True)
class Judgment:
    implementation: str
    case: Case
    status: Status
    outcome: Outcome
    vs_expect: Difference | None = None
    vs_reference: Difference | None = None
    signature: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""  # why a known divergence is expected
    note: str = ""  # e.g. how a known divergence changed

    @property
    def failing(self) -> bool:
        return self.status in FAILING

    def with_status(self, status: Status, **changes: Any) -> Judgment:
        return replace(self, status=status, **changes)

    def headline(self) -> str:
        """One line: what went wrong (or why it is fine)."""
        if self.status in ("agreed",):
            return "agreed"
        if self.vs_expect is not None:
            text = f"vs expectation {self.vs_expect.describe()}"
            if self.vs_reference is not None and self.vs_reference != self.vs_expect:
                text += f"; vs reference {self.vs_reference.describe()}"
        elif self.vs_reference is not None:
            text = f"vs reference {self.vs_reference.describe()}"
        else:
            text = self.outcome.detail
        if self.note:
            text = f"{self.note}; {text}"
        return text


def signature(outcome: Outcome, expect_diff: Difference | None, ref_diff: Difference | None,
              case: Case) -> dict[str, Any]:
    """The shape of a wrong answer, as known-divergences.toml records it."""
    if outcome.kind != "answered" or outcome.answer is None:
        return {"outcome": outcome.kind}
    results = [r.comparable() for r in outcome.answer.results]
    verdict, op_index, code = summarize(results)
    sig: dict[str, Any] = {"outcome": "answered", "verdict": verdict}
    if op_index is not None:
        sig["op_index"] = op_index
    if code is not None:
        sig["code"] = code
    difference = expect_diff or ref_diff
    expected = (case.expect.verdict, case.expect.op_index, case.expect.code)
    if difference is not None and (verdict, op_index, code) == expected:
        sig["path"] = difference.pointer  # same verdict, different state: say where
    return sig


def judge(
    implementation: str,
    case: Case,
    outcome: Outcome,
    reference: Sequence[Mapping[str, Any]] | None,
) -> Judgment:
    """Judge one outcome; ``reference`` is the reference's results (None: not available)."""
    if outcome.kind != "answered" or outcome.answer is None:
        status: Status = outcome.kind if outcome.kind != "answered" else "malformed"
        return Judgment(implementation, case, status, outcome, signature=signature(outcome, None, None, case))
    got = [r.comparable() for r in outcome.answer.results]
    vs_expect = compare_results(case.expect.results, got)
    vs_reference = (
        compare_results(without_messages(reference), got) if reference is not None else None
    )
    sig = signature(outcome, vs_expect, vs_reference, case)
    if vs_expect is None and vs_reference is None:
        return Judgment(implementation, case, "agreed", outcome, signature=sig)
    return Judgment(implementation, case, "disagreed", outcome, vs_expect, vs_reference, sig)
