"""The domain plug-in: what the configured spec loader, corpus writer and reference provide.

The core only needs a spec's version and its invariant IDs in order, a function that writes a
corpus, a function that runs a case in-process, and (for ``snnconform check``) a function that
turns a user's arguments into inputs. ``conformance.toml [domain]`` names them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from snnconform.core._config import Config, ConfigError, entry_point


@dataclass(frozen=True)
class SpecInfo:
    spec_version: int
    invariants: tuple[str, ...]
    spec: Any  # the domain's own object, handed back to write_corpus


def load_spec_info(config: Config) -> SpecInfo:
    if config.domain.load_spec is None:
        raise ConfigError("conformance.toml [domain] has no load_spec = \"module:function\"")
    load = entry_point(config.domain.load_spec, "[domain] load_spec")
    try:
        spec = load(config.domain.spec) if config.domain.spec else load()
    except Exception as exc:  # noqa: BLE001 - a broken spec is reported, not a traceback
        raise ConfigError(f"the spec does not load: {type(exc).__name__}: {exc}") from None
    version = getattr(spec, "spec_version", None)
    invariants = getattr(spec, "invariants", None)
    if not isinstance(version, int) or invariants is None:
        raise ConfigError("load_spec must return an object with .spec_version and .invariants")
    return SpecInfo(version, tuple(str(inv.id) for inv in invariants), spec)


def reference_executor(config: Config) -> Callable[[Mapping[str, Any], Path], Mapping[str, Any]] | None:
    if config.domain.reference is None:
        return None
    return entry_point(config.domain.reference, "[domain] reference")


def corpus_figures(config: Config) -> dict[str, Any] | None:
    """The summary the generator wrote beside the corpus (corpus.json), if any."""
    path = config.fixtures / "corpus.json"
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    keys = ("cases", "valid", "invalid_targeted", "mixed", "invariants", "min_cases_per_invariant")
    source = data.get("coverage", data) if isinstance(data.get("coverage"), dict) else data
    if not all(k in source for k in keys):
        return None
    # Other classes a domain has (boundary, order, ...) follow the figures every corpus has.
    extra = {k: v for k, v in source.items() if k not in keys and isinstance(v, int)
             and not isinstance(v, bool) and k not in ("spec_version",)}
    return {**{k: source[k] for k in keys}, **extra}


def write_corpus(config: Config, spec: SpecInfo, out_dir: Path) -> Mapping[str, Any]:
    if config.domain.write_corpus is None:
        raise ConfigError("conformance.toml [domain] has no write_corpus = \"module:function\"")
    writer = entry_point(config.domain.write_corpus, "[domain] write_corpus")
    summary = writer(spec.spec, out_dir)
    if not isinstance(summary, Mapping):
        raise ConfigError("write_corpus must return the coverage summary as a mapping")
    return summary


class InputError(Exception):
    """The user's arguments to ``snnconform check`` name nothing the domain can check."""


@dataclass(frozen=True)
class CheckInput:
    """One thing to check: a case without an expectation, run from its own ``root``."""

    id: str  # what the user recognises (a path as typed); also the protocol's case id
    root: Path
    ops: tuple[Mapping[str, Any], ...]

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(str(op.get("op")) for op in self.ops)


def check_inputs(config: Config, arguments: Sequence[str]) -> list[CheckInput]:
    """The domain's inputs for the user's arguments, in order.

    The entry point takes the arguments as given and returns a sequence of
    ``{"id": str, "root": absolute folder, "ops": [operation, ...]}``; it raises
    ``ValueError`` with a one-line message for arguments it cannot honour (a missing file, a
    path without its pair), which becomes :class:`InputError`.
    """
    if config.domain.check_inputs is None:
        raise ConfigError("conformance.toml [domain] has no check_inputs = \"module:function\"")
    inputs = entry_point(config.domain.check_inputs, "[domain] check_inputs")
    try:
        raw = inputs(list(arguments))
    except ValueError as exc:
        lines = str(exc).strip().splitlines()
        raise InputError(lines[0] if lines else type(exc).__name__) from None
    found: list[CheckInput] = []
    seen: set[str] = set()
    for item in raw:
        try:
            entry = CheckInput(str(item["id"]), Path(item["root"]), tuple(item["ops"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"check_inputs returned a malformed input ({exc!r}); "
                              "each needs id, root and ops") from None
        if not entry.root.is_absolute() or not entry.ops:
            raise ConfigError(f"check_inputs: input {entry.id!r} needs an absolute root and ops")
        if entry.id in seen:
            raise ConfigError(f"check_inputs returned the input {entry.id!r} twice")
        seen.add(entry.id)
        found.append(entry)
    return found


def fuzz_source(config: Config) -> Callable[[Any, Path], Any]:
    """The domain's fuzz-source factory, ``(spec, corpus folder) -> FuzzSource``
    (``snnconform fuzz``, :mod:`snnconform.core._fuzz`)."""
    if config.domain.fuzz_source is None:
        raise ConfigError("conformance.toml [domain] has no fuzz_source = \"module:function\": "
                          "the domain cannot draw cases to fuzz with")
    return entry_point(config.domain.fuzz_source, "[domain] fuzz_source")
