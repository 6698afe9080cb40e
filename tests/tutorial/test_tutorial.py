"""docs/tutorial.md cannot rot: every fenced code block runs, in order, in one folder.

Python blocks run in-process in one namespace; the folder they fill (the checkpoints) is then
opened by the Rust blocks (compiled against rust/snn_checkpoint in a temporary cargo project),
the Julia blocks (julia/julia.sh with the package from julia/), the Mojo blocks
(``mojo run -I mojo/src``) and the shell blocks (``snnconform check``), each as a reader would
run them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
RUNNABLE = ("python", "rust", "julia", "mojo", "sh")
SHOWN_ONLY = ("text", "console", "toml")
BLOCK = re.compile(r"^```([\w-]*)\n(.*?)^```$", re.M | re.S)


def blocks(language: str | None = None) -> list[str]:
    found = BLOCK.findall(TUTORIAL.read_text("utf-8"))
    return [code for tag, code in found if language is None or tag == language]


def run(command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, (
        f"`{' '.join(command)}` exited {done.returncode}\n--- stdout\n{done.stdout[-4000:]}"
        f"\n--- stderr\n{done.stderr[-4000:]}")
    return done


@pytest.fixture(scope="module")
def python_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The reader's folder after the Python blocks ran in it, in order, in one namespace, and
    what they printed."""
    here = tmp_path_factory.mktemp("tutorial")
    previous = Path.cwd()
    printed = io.StringIO()
    os.chdir(here)
    try:
        namespace: dict[str, object] = {"__name__": "tutorial"}
        with contextlib.redirect_stdout(printed):
            for index, code in enumerate(blocks("python")):
                exec(compile(code, f"{TUTORIAL}:python-block-{index + 1}", "exec"), namespace)
    finally:
        os.chdir(previous)
    yield here, printed.getvalue()


@pytest.fixture(scope="module")
def folder(python_run: tuple[Path, str]) -> Path:
    return python_run[0]


def readout_digest(output: str) -> str:
    """The digest a block printed as ``readout digest: HEX`` (every language prints it)."""
    found = re.findall(r"^readout digest: ?([0-9a-f]{64})$", output, re.M)
    assert len(found) == 1, output[-2000:]
    return found[0]


def test_every_block_is_runnable_or_plainly_shown() -> None:
    tags = [tag for tag, _ in BLOCK.findall(TUTORIAL.read_text("utf-8"))]
    assert tags and all(tag in RUNNABLE + SHOWN_ONLY for tag in tags), tags
    assert "docs/tutorial.md" in (ROOT / "README.md").read_text("utf-8")


def test_the_python_blocks_run_in_order(python_run: tuple[Path, str]) -> None:
    folder, printed = python_run
    assert len(blocks("python")) >= 6
    for name in ("pretrained", "finetuned"):
        assert (folder / f"{name}.json").is_file() and (folder / f"{name}.npz").is_file()
    assert readout_digest(printed)


@pytest.fixture(scope="module")
def rust_output(python_run: tuple[Path, str]) -> str:
    """What the Rust blocks printed, each compiled against the crate and run in the folder."""
    folder, _ = python_run
    project = folder.parent / "rust-project"
    (project / "src").mkdir(parents=True, exist_ok=True)
    crate = ROOT / "rust" / "snn_checkpoint"
    (project / "Cargo.toml").write_text(
        '[package]\nname = "tutorial"\nversion = "0.0.0"\nedition = "2021"\n\n'
        f'[dependencies]\nsnn_checkpoint = {{ path = "{crate}" }}\n\n[workspace]\n')
    shutil.copy(ROOT / "rust" / "Cargo.lock", project / "Cargo.lock")  # the crate's versions
    env = {"CARGO_TARGET_DIR": str(ROOT / "build" / "tutorial" / "cargo-target")}
    assert blocks("rust")
    printed = []
    for code in blocks("rust"):
        (project / "src" / "main.rs").write_text(code)
        done = run(["cargo", "run", "--quiet", "--manifest-path", str(project / "Cargo.toml")],
                   folder, timeout=1800, env=env)
        printed.append(done.stdout)
    return "".join(printed)


@pytest.mark.slow
def test_the_rust_blocks_run_against_the_crate(python_run: tuple[Path, str], rust_output: str,
                                               ) -> None:
    folder, printed = python_run
    assert readout_digest(rust_output) == readout_digest(printed)
    # What Rust saved, Python reads as the same checkpoint.
    from sc_neurocore.transfer import load_checkpoint

    assert load_checkpoint(folder / "from_rust").weight_sha256()[2] == readout_digest(printed)


@pytest.fixture(scope="module")
def julia_output(python_run: tuple[Path, str]) -> str:
    """What the Julia blocks printed, run by julia/julia.sh with the package on the load path."""
    folder, _ = python_run
    assert blocks("julia")
    env = {"JULIA_LOAD_PATH": f"{ROOT / 'julia'}:"}  # the package first, then the defaults
    printed = []
    for index, code in enumerate(blocks("julia")):
        script = folder.parent / f"tutorial-{index + 1}.jl"
        script.write_text(code)
        done = run([str(ROOT / "julia" / "julia.sh"), "--startup-file=no", str(script)], folder,
                   timeout=900, env=env)
        printed.append(done.stdout)
    return "".join(printed)


@pytest.mark.slow
def test_the_julia_blocks_run_with_the_package(python_run: tuple[Path, str], julia_output: str,
                                               ) -> None:
    folder, printed = python_run
    assert readout_digest(julia_output) == readout_digest(printed)
    from sc_neurocore.transfer import load_checkpoint

    assert load_checkpoint(folder / "from_julia").weight_sha256()[2] == readout_digest(printed)


# `mojo run` compiles just in time and finds system libraries only on an explicit -L.
MOJO_LINK = ["-Xlinker", "-L/usr/lib/x86_64-linux-gnu", "-Xlinker", "-lisal", "-Xlinker", "-lcrypto"]


@pytest.fixture(scope="module")
def mojo_output(python_run: tuple[Path, str]) -> str:
    """What the Mojo blocks printed, each run by ``mojo run -I mojo/src``."""
    folder, _ = python_run
    assert blocks("mojo")
    printed = []
    for index, code in enumerate(blocks("mojo")):
        script = folder.parent / f"tutorial_{index + 1}.mojo"
        script.write_text(code)
        done = run([str(ROOT / ".venv" / "bin" / "mojo"), "run", "-I", str(ROOT / "mojo" / "src"),
                    *MOJO_LINK, str(script)], folder, timeout=900)
        printed.append(done.stdout)
    return "".join(printed)


@pytest.mark.slow
def test_the_mojo_blocks_run_with_the_sources(python_run: tuple[Path, str], mojo_output: str,
                                              ) -> None:
    folder, printed = python_run
    assert readout_digest(mojo_output) == readout_digest(printed)
    from sc_neurocore.transfer import load_checkpoint

    assert load_checkpoint(folder / "from_mojo").weight_sha256()[2] == readout_digest(printed)


def test_the_mojo_command_in_the_text_is_the_one_tested() -> None:
    text = " ".join(TUTORIAL.read_text("utf-8").split())
    assert "-I /path/to/repo/mojo/src " + " ".join(MOJO_LINK) in text


@pytest.mark.slow
def test_the_shell_blocks_pass(python_run: tuple[Path, str], rust_output: str,
                               julia_output: str, mojo_output: str) -> None:
    """``snnconform check`` on the tutorial's files (the copies Rust, Julia and Mojo saved
    included): every available implementation agrees."""
    folder, _ = python_run
    assert {f"from_{language}.json" for language in ("rust", "julia", "mojo")} <= {
        p.name for p in folder.iterdir()}
    assert blocks("sh")
    path = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    for code in blocks("sh"):
        assert "snnconform check" in code
        before = sorted(p.name for p in folder.iterdir())
        done = run(["sh", "-e", "-c", code], folder, timeout=1800, env={"PATH": path})
        assert done.stdout.count("status: PASS") == code.count("snnconform check")
        assert re.search(r"^\S*torn +yes +reject archive\.digest", done.stdout, re.M)
        assert sorted(p.name for p in folder.iterdir()) == before  # it only read the files


def test_the_julia_command_in_the_text_is_the_one_tested() -> None:
    text = " ".join(TUTORIAL.read_text("utf-8").split())
    assert ("JULIA_LOAD_PATH=/path/to/repo/julia: /path/to/repo/julia/julia.sh --startup-file=no"
            in text)
