"""Loading ``spec/checkpoint.yaml``: validated against its JSON Schema, with clear errors.

A spec that names a mutation operator the generator does not know, or an invariant without any,
is refused here, so a typo in the YAML fails at load time and not halfway through generation.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SPEC = REPO_ROOT / "spec" / "checkpoint.yaml"
SCHEMA_FILE = "checkpoint.schema.json"


class SpecError(ValueError):
    """The spec file is malformed; the message names the offending path."""


@dataclass(frozen=True)
class Mutation:
    """One way to violate an invariant: a registered operator and its parameters."""

    operator: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Invariant:
    """One rule of the spec, with its place in the evaluation order."""

    id: str
    order: int
    phase: str
    surfaces: tuple[str, ...]
    kind: str
    rule: str
    message: str
    mutations: tuple[Mutation, ...]
    extra: dict[str, Any] = field(default_factory=dict)  # target, expect, minimum, maximum …


@dataclass(frozen=True)
class Spec:
    """The whole spec: version, limits, invariants in order, and the raw document."""

    spec_version: int
    limits: dict[str, int]
    invariants: tuple[Invariant, ...]
    document: dict[str, Any]
    path: Path

    def invariant(self, invariant_id: str) -> Invariant:
        for invariant in self.invariants:
            if invariant.id == invariant_id:
                return invariant
        raise KeyError(invariant_id)

    @property
    def invariant_ids(self) -> list[str]:
        return [invariant.id for invariant in self.invariants]


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(part) for part in path)


def load_spec(path: Path | None = None, operators: Collection[str] | None = None) -> Spec:
    """Read, validate and index a spec.

    Parameters
    ----------
    path
        The YAML file; defaults to the repository's ``spec/checkpoint.yaml``. Its JSON Schema is
        ``checkpoint.schema.json`` in the repository's ``spec/`` folder.
    operators
        Names of the mutation operators the caller can apply; defaults to the generator's
        registry. Every mutation must name one of them.

    Raises
    ------
    SpecError
        Naming the path in the document that is wrong and why.
    """
    path = path or DEFAULT_SPEC
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc}") from None
    schema = json.loads((REPO_ROOT / "spec" / SCHEMA_FILE).read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        raise SpecError(f"{path}: at {_pointer(first.absolute_path)}: {first.message}")
    if operators is None:
        from ._mutations import OPERATORS

        operators = OPERATORS.keys()
    invariants = []
    seen: set[str] = set()
    for order, raw in enumerate(document["invariants"]):
        where = f"{path}: at /invariants/{order} ({raw['id']})"
        if raw["id"] in seen:
            raise SpecError(f"{where}: duplicate invariant id")
        seen.add(raw["id"])
        for index, mutation in enumerate(raw["mutations"]):
            if mutation["operator"] not in operators:
                raise SpecError(
                    f"{where}/mutations/{index}: unknown mutation operator"
                    f" {mutation['operator']!r}; known: {', '.join(sorted(operators))}"
                )
        core = {"id", "phase", "surfaces", "kind", "rule", "message", "mutations"}
        invariants.append(
            Invariant(
                id=raw["id"],
                order=order,
                phase=raw["phase"],
                surfaces=tuple(raw["surfaces"]),
                kind=raw["kind"],
                rule=raw["rule"],
                message=raw["message"],
                mutations=tuple(Mutation(m["operator"], m["params"]) for m in raw["mutations"]),
                extra={key: value for key, value in raw.items() if key not in core},
            )
        )
    return Spec(document["spec_version"], document["limits"], tuple(invariants), document, path)
