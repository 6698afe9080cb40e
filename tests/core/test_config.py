"""conformance.toml: the one place implementations are configured."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from snnconform.core._config import ConfigError, entry_point, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_config_is_valid():
    config = load_config(ROOT / "conformance.toml")
    python = config.implementation("python")
    assert python.testee == "{python} -m snnconform.checkpoint.testee"
    assert config.expand(python.testee) == f"{shlex.quote(sys.executable)} -m snnconform.checkpoint.testee"
    assert config.fixtures == ROOT / "fixtures" and config.timeout > 0


def write(tmp_path, text):
    path = tmp_path / "conformance.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[implementation]]\nname = "a"\ntestee = "t"\n', "'install'"),
        ('[[implementation]]\nname = "a"\ntestee = "t"\ninstall = "i"\ncolour = "x"\n', "unknown keys"),
        ('[[implementation]]\nname = "a"\ntestee = "t"\ninstall = "i"\n' * 2, "duplicate"),
        ('[harness]\ntimeout = -1\n', "positive number"),
        ("[harness\n", "conformance.toml"),
    ],
)
def test_bad_configs(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words):
        load_config(write(tmp_path, text))


def test_root_placeholder_and_unknown_names(tmp_path):
    config = load_config(write(tmp_path, '[[implementation]]\nname = "a"\ntestee = "t"\ninstall = "i"\n'))
    assert config.expand("cd {root}") == f"cd {shlex.quote(str(tmp_path))}"
    with pytest.raises(ConfigError, match="no implementation named 'b'"):
        config.implementation("b")


@pytest.mark.parametrize(("spec", "words"), [("nodots", "module:function"),
                                             ("no_such_module_x:f", "cannot import"),
                                             ("json:no_such_function", "has no function")])
def test_entry_points(spec, words):
    with pytest.raises(ConfigError, match=words):
        entry_point(spec, "[domain] reference")
