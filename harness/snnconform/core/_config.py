"""``conformance.toml``: where things are, the domain plug-ins, and every implementation.

Commands are shell command lines run by ``/bin/sh -c`` with the repository root (the folder of
the config file) as working directory. ``{python}`` stands for the interpreter running the
harness (the venv's), ``{root}`` for the repository root; both are shell-quoted.
"""

from __future__ import annotations

import importlib
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

CONFIG_NAME = "conformance.toml"


class ConfigError(Exception):
    """The configuration is missing, malformed or names something that does not exist."""


@dataclass(frozen=True)
class Implementation:
    """One implementation under test; adding a language is one of these plus a testee."""

    name: str
    testee: str
    install: str
    probe: str | None = None
    setup: str | None = None
    build: str | None = None
    unit_tests: str | None = None
    # The quickest build that makes the testee (the mutation self-test rebuilds per mutant).
    mutation_build: str | None = None
    # False: the mutation self-test skips it (e.g. the same code as another implementation).
    mutation: bool = True
    startup_timeout: float = 60.0
    build_timeout: float = 3600.0


@dataclass(frozen=True)
class Domain:
    """What the cases mean: entry points as ``module:function``, plus the spec path."""

    spec: Path | None
    load_spec: str | None
    write_corpus: str | None
    reference: str | None
    check_inputs: str | None = None  # `snnconform check`: the user's arguments -> inputs
    # Suites a full run adds beside the corpus: name -> entry point (core/_suites.py).
    suites: Mapping[str, str] = field(default_factory=dict)
    # `snnconform fuzz`: (spec, corpus folder) -> a source of cases to fuzz with (core/_fuzz.py).
    fuzz_source: str | None = None


@dataclass(frozen=True)
class FuzzSettings:
    """``[fuzz]``: the bounded, fixed-seed fuzz pass that ends a full ``snnconform run``.

    ``enabled`` is False when the table is absent: a run then has no fuzz pass.
    """

    enabled: bool = False
    seconds: float = 45.0
    cases: int | None = None
    seed: int = 2026
    jobs: int = 1


@dataclass(frozen=True)
class Config:
    root: Path
    fixtures: Path
    results: Path
    logs: Path
    known_divergences: Path
    timeout: float
    domain: Domain
    benchmarks: Mapping[str, str]
    implementations: tuple[Implementation, ...]
    # Cases the fuzzer found (their own cases.jsonl + cases/), run after the corpus; None: none.
    regressions: Path | None = None
    fuzz: FuzzSettings = field(default_factory=FuzzSettings)

    def expand(self, command: str) -> str:
        return command.replace("{python}", shlex.quote(sys.executable)).replace(
            "{root}", shlex.quote(str(self.root))
        )

    def implementation(self, name: str) -> Implementation:
        for impl in self.implementations:
            if impl.name == name:
                return impl
        known = ", ".join(i.name for i in self.implementations)
        raise ConfigError(f"no implementation named {name!r} in {CONFIG_NAME} (known: {known})")


def find_config(start: Path | None = None) -> Path:
    """``conformance.toml`` in ``start`` (default: the working directory) or a parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no {CONFIG_NAME} in {here} or its parents (pass --config PATH)")


def _string(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key!r} must be a non-empty string")
    return value


def _optional(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key!r} must be a string")
    return value or None


def _number(table: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: {key!r} must be a positive number")
    return float(value)


_IMPL_KEYS = {"name", "probe", "setup", "build", "unit_tests", "testee", "install", "mutation_build", "mutation",
              "startup_timeout", "build_timeout"}


def _suites(table: object, where: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(f'{where} must map names to "module:function" strings')
    return dict(table)


def _fuzz_settings(table: object, where: str) -> FuzzSettings:
    if table is None:
        return FuzzSettings()
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(table) - {"seconds", "cases", "seed", "jobs"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (known: cases, jobs, seconds, seed)")
    for key in ("cases", "seed", "jobs"):
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"{where}: {key!r} must be a non-negative integer")
    cases, jobs = table.get("cases"), table.get("jobs", 1)
    if cases == 0 or jobs < 1:
        raise ConfigError(f"{where}: 'cases' and 'jobs' must be at least 1")
    return FuzzSettings(True, _number(table, "seconds", where, 45.0), cases,
                        int(table.get("seed", 2026)), int(jobs))


def load_config(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    root = path.resolve().parent
    harness = data.get("harness", {})
    domain = data.get("domain", {})
    impls: list[Implementation] = []
    for index, table in enumerate(data.get("implementation", [])):
        where = f"{path.name} [[implementation]] #{index + 1}"
        unknown = set(table) - _IMPL_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(_IMPL_KEYS)})")
        impl = Implementation(
            name=_string(table, "name", where),
            testee=_string(table, "testee", where),
            install=_string(table, "install", where),
            probe=_optional(table, "probe", where),
            setup=_optional(table, "setup", where),
            build=_optional(table, "build", where),
            unit_tests=_optional(table, "unit_tests", where),
            mutation_build=_optional(table, "mutation_build", where),
            mutation=bool(table.get("mutation", True)),
            startup_timeout=_number(table, "startup_timeout", where, 60.0),
            build_timeout=_number(table, "build_timeout", where, 3600.0),
        )
        if any(other.name == impl.name for other in impls):
            raise ConfigError(f"{where}: duplicate implementation name {impl.name!r}")
        impls.append(impl)
    benchmarks = data.get("benchmarks", {})
    if not all(isinstance(v, str) for v in benchmarks.values()):
        raise ConfigError(f"{path.name} [benchmarks]: every entry must be a command string")
    spec = domain.get("spec")
    regressions = _optional(harness, "regressions", f"{path.name} [harness]")
    return Config(
        root=root,
        fixtures=root / harness.get("fixtures", "fixtures"),
        results=root / harness.get("results", "benchmarks/results"),
        logs=root / harness.get("logs", "build/snnconform"),
        known_divergences=root / harness.get("known_divergences", "known-divergences.toml"),
        timeout=_number(harness, "timeout", f"{path.name} [harness]", 10.0),
        domain=Domain(
            spec=root / spec if spec else None,
            load_spec=domain.get("load_spec"),
            write_corpus=domain.get("write_corpus"),
            reference=domain.get("reference"),
            check_inputs=domain.get("check_inputs"),
            suites=_suites(domain.get("suites", {}), f"{path.name} [domain.suites]"),
            fuzz_source=_optional(domain, "fuzz_source", f"{path.name} [domain]"),
        ),
        benchmarks=dict(benchmarks),
        implementations=tuple(impls),
        regressions=root / regressions if regressions else None,
        fuzz=_fuzz_settings(data.get("fuzz"), f"{path.name} [fuzz]"),
    )


def entry_point(spec: str, what: str) -> Callable[..., Any]:
    """Import ``module:function`` named in the config."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what}: {spec!r} is not of the form module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import {module_name!r} ({exc})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"{what}: {module_name!r} has no function {attr!r}")
    return function  # type: ignore[no-any-return]
