"""Suites a domain adds to a full run, beside the corpus (``conformance.toml [domain.suites]``).

A suite is a function ``(SuiteContext) -> SuiteReport`` named by an entry point. It receives the
implementations as the corpus run prepared and started them, the cases, and the reference, and
can open its own testee sessions; the core stores its summary under the suite's name in the
results document, appends its Markdown to the report, and fails the gate on any of its problems.
The core knows nothing of what a suite checks (the checkpoint domain's producer × consumer
matrix is one).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snnconform.core._cases import Case, Expectation
from snnconform.core._config import Config, entry_point
from snnconform.core._protocol import SchemaValidator
from snnconform.core._runner import ImplementationRun, Reference
from snnconform.core._session import TesteeSession


@dataclass(frozen=True)
class SuiteContext:
    """What a suite may use: the run's implementations, cases, reference and settings."""

    config: Config
    runs: Sequence[ImplementationRun]
    cases: Sequence[Case]
    reference: Reference | None
    timeout: float
    spec_version: int | None
    validate_protocol: bool = False
    note: Callable[[str], None] = lambda line: None

    @property
    def started(self) -> list[ImplementationRun]:
        """The implementations whose testee started in the corpus run, in configuration order."""
        return [run for run in self.runs if run.runnable and run.started is not None]

    def session(self, run: ImplementationRun) -> TesteeSession:
        """A new session of ``run``'s testee (started on first use; the caller stops it)."""
        return TesteeSession(
            self.config.expand(run.impl.testee),
            self.config.root,
            spec_version=self.spec_version,
            timeout=self.timeout,
            startup_timeout=run.impl.startup_timeout,
            validator=SchemaValidator() if self.validate_protocol else None,
        )


@dataclass(frozen=True)
class SuiteReport:
    """A suite's result: figures for the results document, Markdown lines, gate problems."""

    summary: Mapping[str, Any]
    markdown: Sequence[str] = ()
    problems: Sequence[str] = field(default_factory=list)


Suite = Callable[[SuiteContext], SuiteReport]


def run_suites(context: SuiteContext) -> dict[str, SuiteReport]:
    """Run every configured suite; a suite that raises is a gate problem, not a traceback."""
    reports: dict[str, SuiteReport] = {}
    for name, target in context.config.domain.suites.items():
        suite: Suite = entry_point(target, f"[domain.suites] {name}")
        context.note(f"suite {name}: {target}")
        try:
            reports[name] = suite(context)
        except Exception as exc:  # noqa: BLE001 - a broken suite fails the gate with its reason
            last = traceback.format_exception_only(exc)[-1].strip()
            reports[name] = SuiteReport({"error": last}, problems=[f"suite {name} raised {last}"])
    return reports


def case_of(case_id: str, ops: Sequence[Mapping[str, Any]]) -> Case:
    """A case a suite builds at run time: it is judged by the suite, so it expects nothing."""
    return Case(case_id, "suite", tuple(ops), Expectation("accept", None, None, ()), (), {})
