"""The domain plug-in: what the configured spec loader, corpus writer and reference provide.

The core only needs a spec's version and its invariant IDs in order, a function that writes a
corpus, and a function that runs a case in-process. ``conformance.toml [domain]`` names them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

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
    return {k: source[k] for k in keys}


def write_corpus(config: Config, spec: SpecInfo, out_dir: Path) -> Mapping[str, Any]:
    if config.domain.write_corpus is None:
        raise ConfigError("conformance.toml [domain] has no write_corpus = \"module:function\"")
    writer = entry_point(config.domain.write_corpus, "[domain] write_corpus")
    summary = writer(spec.spec, out_dir)
    if not isinstance(summary, Mapping):
        raise ConfigError("write_corpus must return the coverage summary as a mapping")
    return summary
