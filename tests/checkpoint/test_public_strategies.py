"""The public strategies (``snnconform.strategies``), used as a user's own test suite would."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import snnconform.strategies
from sc_neurocore.transfer import (
    CheckpointError,
    SNNCheckpoint,
    TransferConfig,
    apply_transfer_config,
    load_checkpoint,
    save_checkpoint,
)
from snnconform.checkpoint._generator import Combo
from snnconform.checkpoint._spec import load_spec
from snnconform.strategies import (
    CheckpointFiles,
    InvalidTransferConfig,
    _invalid_files,
    _ReferenceDisagrees,
    checkpoint_files,
    checkpoints,
    file_invariants,
    invalid_checkpoint_files,
    transfer_configs,
    transfer_invariants,
)

ROOT = Path(__file__).resolve().parents[2]
FEW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_files(files: CheckpointFiles) -> SNNCheckpoint:
    with tempfile.TemporaryDirectory() as folder:
        return load_checkpoint(files.write(Path(folder) / "model"))


# ----------------------------------------------------------------------------- valid ones


@FEW
@given(checkpoints(min_layers=1, max_layers=3, max_features=4))
def test_checkpoints_are_valid_and_within_bounds(checkpoint: SNNCheckpoint) -> None:
    assert 1 <= checkpoint.n_layers <= 3
    assert all(1 <= n <= 4 for pair in checkpoint.layer_sizes for n in pair)
    with tempfile.TemporaryDirectory() as folder:
        save_checkpoint(checkpoint, Path(folder) / "m")
        again = load_checkpoint(Path(folder) / "m")
    assert again.weight_sha256() == checkpoint.weight_sha256()
    assert again.layer_names == checkpoint.layer_names


@FEW
@given(checkpoint_files(max_layers=3), transfer_configs())
def test_checkpoint_files_load_and_take_a_config(files: CheckpointFiles, config: TransferConfig) -> None:
    assert files.invariant is None and files.mutation is None
    checkpoint = load_files(files)
    assert isinstance(config, TransferConfig)
    try:
        _, rates = apply_transfer_config(checkpoint, config)
    except CheckpointError as error:  # an index or name this checkpoint lacks: nothing else
        assert error.code in ("transfer.layer_index.range", "transfer.layer_names.references")
    else:
        assert len(rates) == checkpoint.n_layers


# Derandomized: which example shrinking starts from is then fixed, so the minimum it reaches
# does not depend on a random draw (from some, Hypothesis stops at a larger local minimum).
STEADY = settings(derandomize=True, database=None)


def test_shrinking_gives_a_minimal_checkpoint() -> None:
    found = find(checkpoints(), lambda c: c.n_layers >= 2, settings=STEADY)
    assert found.n_layers == 2 and found.layer_sizes == [(1, 1), (1, 1)]
    assert [w.tolist() for w in found.weights] == [[[0.0]], [[0.0]]]
    assert found.layer_names == ["0", "1"] and found.neuron_types == [] and found.frozen_layers == []
    wide = find(checkpoints(max_features=5), lambda c: any(i * o >= 6 for i, o in c.layer_sizes), settings=STEADY)
    assert wide.n_layers == 1 and wide.layer_sizes[0][0] * wide.layer_sizes[0][1] == 6


def test_shrinking_empties_the_metadata() -> None:
    assert find(checkpoints(), lambda c: c.n_layers >= 2, settings=STEADY).metadata == {}


# --------------------------------------------------------------------------- hostile ones


@pytest.mark.parametrize("invariant", file_invariants())
def test_every_file_invariant_is_refused_with_its_code(invariant: str) -> None:
    @FEW
    @given(invalid_checkpoint_files(invariant=invariant))
    def refused(files: CheckpointFiles) -> None:
        assert files.invariant == invariant and files.mutation
        with pytest.raises(CheckpointError) as error:
            load_files(files)
        assert error.value.code == invariant

    refused()


def test_every_load_phase_is_covered() -> None:
    phases = {inv.id.split(".")[0] for inv in load_spec().invariants}
    assert {i.split(".")[0] for i in file_invariants()} == phases - {"transfer"}
    assert "json.file.present" not in file_invariants()  # a missing file is not bytes


@pytest.mark.parametrize("invariant", transfer_invariants())
def test_every_config_invariant_is_refused_with_its_code(invariant: str) -> None:
    @FEW
    @given(transfer_configs(valid=False, invariant=invariant))
    def refused(bad: InvalidTransferConfig) -> None:
        assert bad.invariant == invariant
        with pytest.raises(CheckpointError) as error:
            TransferConfig(**bad.kwargs)
        assert error.value.code == invariant

    refused()


def test_a_mutation_that_shows_another_invariant_is_an_error_not_a_draw() -> None:
    spec = load_spec()
    syntax, depth = spec.invariant("json.syntax"), spec.invariant("json.depth")
    liar = Combo(syntax, depth.mutations[0], "load", None)  # builds json.depth, claims syntax
    with pytest.raises(_ReferenceDisagrees, match="was to violate json.syntax"):
        find(_invalid_files((liar,)), lambda files: True)


@pytest.mark.parametrize("call, message", [
    (lambda: invalid_checkpoint_files(invariant="json.nope"),
     "invariant='json.nope' is not an invariant of the spec; choose one of: json.encoding.utf8, "),
    (lambda: invalid_checkpoint_files(invariant="transfer.selector.missing"),
     "invariant='transfer.selector.missing' cannot be violated by a pair of files"),
    (lambda: invalid_checkpoint_files(invariant="json.file.present"),
     "invariant='json.file.present' cannot be violated by a pair of files"),
    (lambda: invalid_checkpoint_files(invariant="schema.weights.type"),  # construct only
     "cannot be violated by a pair of files"),
    (lambda: transfer_configs(valid=False, invariant="array.finite"),
     "invariant='array.finite' cannot be violated by a TransferConfig (see transfer_invariants()); "
     "choose one of: transfer.freeze_until.type, "),
    (lambda: transfer_configs(invariant="transfer.freeze_until.type"),  # type: ignore[call-overload]
     "invariant= only makes sense with valid=False"),
    (lambda: checkpoints(min_layers=3, max_layers=2), "max_layers=2 must be at least min_layers=3"),
    (lambda: checkpoint_files(max_features=0), "max_features=0 must be in [1, "),
    (lambda: checkpoints(min_layers=-1), "min_layers=-1 must be at least 0"),
    (lambda: checkpoints(max_layers=2.5), "max_layers=2.5 must be an int"),  # type: ignore[arg-type]
])
def test_bad_arguments_fail_at_once(call, message) -> None:
    with pytest.raises(InvalidArgument) as error:
        call()  # not when drawing: when the strategy is made
    assert message in str(error.value)


# -------------------------------------------------------------------- documented examples


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(snnconform.strategies, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Hypothesis strategies for your own tests", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's strategies section has no python block"
    return match.group(1)


@pytest.mark.slow
def test_the_readme_example_passes_in_a_bare_folder(tmp_path: Path) -> None:
    """Without the corpus or conformance.toml, as in a user's own project."""
    (tmp_path / "test_example.py").write_text(readme_example())
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    count = len(re.findall(r"^def test_", readme_example(), re.M))
    assert count >= 2 and f"{count} passed" in done.stdout
    assert not (tmp_path / "conformance.toml").exists() and not (tmp_path / "fixtures").exists()


@given(st.data())
@settings(max_examples=3, deadline=None)
def test_strategies_compose_with_data(data: st.DataObject) -> None:
    invariant = data.draw(st.sampled_from(file_invariants()))
    files = data.draw(invalid_checkpoint_files(invariant=invariant))
    assert files.invariant == invariant
