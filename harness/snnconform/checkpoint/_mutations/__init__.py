"""The registry of mutation operators the spec names.

An operator edits a valid :class:`CaseModel` so that it violates one invariant. Generic
constraint kinds (type, unique, references, range, finite, count) have generic operators that
work from a JSON-pointer-like ``target`` (``*`` picks an item), so a new invariant of a known
kind needs YAML only. Operators draw their choices through Hypothesis, so shrinking and
replaying work as for any other strategy.
"""

from __future__ import annotations

from . import _archive, _document, _members, _values  # noqa: F401  (importing registers)
from ._registry import OPERATORS, STAGES, Operator, operator

__all__ = ["OPERATORS", "STAGES", "Operator", "operator"]
