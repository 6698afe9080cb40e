"""Shared fixtures: a throw-away repository wired to the toy domain and the miniatures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # toydomain and miniatures are plain modules beside the tests

import toydomain  # noqa: E402

from snnconform.core._cli import main  # noqa: E402

MINIATURES = HERE / "miniatures.py"


def impl_table(name: str, miniature: str | None = None, **extra: str) -> str:
    lines = [
        "[[implementation]]",
        f'name = "{name}"',
        f'testee = "{{python}} {MINIATURES} {miniature or name}"',
        f'install = "install {name} with: apt-get install {name}"',
        "startup_timeout = 10",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


class ToyRepo:
    """A temporary repository: conformance.toml, a toy corpus, results under results/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        toydomain.write_corpus(toydomain.load_spec(), root / "fixtures")
        self.impls: list[str] = []
        self.divergences = ""
        self.harness = ""  # extra [harness] lines
        self.domain = ""  # extra [domain] lines
        self.tables = ""  # extra tables after [domain], e.g. [fuzz]

    def add(self, name: str, miniature: str | None = None, **extra: str) -> ToyRepo:
        self.impls.append(impl_table(name, miniature, **extra))
        return self

    def write(self, timeout: float = 2.0) -> Path:
        config = self.root / "conformance.toml"
        config.write_text(
            "[harness]\n"
            f"timeout = {timeout}\n"
            'results = "results"\n' + self.harness +
            "[domain]\n"
            'load_spec = "toydomain:load_spec"\n'
            'write_corpus = "toydomain:write_corpus"\n'
            'reference = "toydomain:execute_case"\n'
            'check_inputs = "toydomain:check_inputs"\n' + self.domain + "\n" + self.tables
            + "\n".join(self.impls)
        )
        (self.root / "known-divergences.toml").write_text(self.divergences)
        return config

    def run(self, *args: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
        """`snnconform run` with the results written to results/; (exit code, document)."""
        config = self.write(timeout)
        code = main(["run", "--config", str(config), "--quiet", "--no-bench",
                     "--results", str(self.root / "results"), *args])
        doc = json.loads((self.root / "results" / "bench_transfer.json").read_text())
        return code, doc

    def cli(self, *args: str) -> int:
        return main([args[0], "--config", str(self.write()), *args[1:]])


@pytest.fixture
def toy(tmp_path: Path) -> ToyRepo:
    return ToyRepo(tmp_path)


@pytest.fixture
def failures() -> Callable[[dict[str, Any], str], dict[str, dict[str, Any]]]:
    """The document's disagreements for one implementation, by case id."""

    def pick(doc: dict[str, Any], impl: str) -> dict[str, dict[str, Any]]:
        return {d["case"]: d for d in doc["disagreements"] if d["implementation"] == impl}

    return pick
