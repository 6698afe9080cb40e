"""The checkpoint domain's fuzz source: its mutations apply anywhere, its shrinking reaches
the minimal case, and ``snnconform fuzz`` finds a testee that dropped one check."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from sc_neurocore.transfer._json import lexical_depth
from snnconform.checkpoint import _fuzzhost
from snnconform.checkpoint._fuzz import Genome, source
from snnconform.checkpoint._fuzzfiles import CentralDirectory, parse_npz
from snnconform.checkpoint._fuzzmutators import MUTATORS, Context, Mutation, apply
from snnconform.checkpoint._spec import REPO_ROOT, load_spec
from snnconform.core._cli import main

HERE = Path(__file__).resolve().parent
FIXTURES = REPO_ROOT / "fixtures"


@pytest.fixture(scope="module")
def fuzz_source() -> Any:
    return source(load_spec(), FIXTURES)


def test_every_mutation_applies_to_every_kind_of_seed_without_raising(fuzz_source: Any) -> None:
    rng = random.Random(7)
    context = Context(fuzz_source.tables, fuzz_source._other)
    for seed in fuzz_source.seeds[::7]:
        for name, mutator in MUTATORS.items():
            params = tuple(rng.randrange(1 << 16) for _ in range(mutator.arity))
            for file in ("json", "npz") if mutator.file == "any" else (mutator.file,):
                data = seed.json if file == "json" else seed.npz
                assert isinstance(apply(file, data, Mutation(name, params), context), bytes)


def test_the_zip_readers_give_back_the_corpus_files(fuzz_source: Any) -> None:
    valid = [fuzz_source.seeds[i] for i in fuzz_source.valid]
    for seed in valid:
        directory = CentralDirectory.parse(seed.npz)
        assert directory is not None and directory.render() == seed.npz, seed.case_id
        model = parse_npz(seed.npz)
        assert model is not None and model.render() == seed.npz, seed.case_id


def test_zip64_sizes_reach_the_extremes_the_issue_names(fuzz_source: Any) -> None:
    # A plain (not yet zip64) archive with a member: the mutation must add the zip64 fields itself.
    seed = next(seed for seed in (fuzz_source.seeds[i] for i in fuzz_source.valid)
                if (d := CentralDirectory.parse(seed.npz)) is not None and not d.zip64 and d.records)
    context = Context(fuzz_source.tables, fuzz_source._other)
    for choice, size in ((7, 2**63 - 1), (8, 2**63), (9, 2**64 - 1)):
        data = apply("npz", seed.npz, Mutation("zip_size", (0, 0, choice)), context)
        directory = CentralDirectory.parse(data)
        assert directory is not None and directory.zip64
        assert size.to_bytes(8, "little") in directory.records[0]


def test_a_nesting_depth_shrinks_to_exactly_one_past_the_limit() -> None:
    ops = [{"op": "construct", "state": {"weights": [_fuzzhost.nest(1.5, 80)], "layer_names": ["a"],
                                          "layer_sizes": [[1, 1]]}}]

    def depth(value: Any) -> int:
        if not isinstance(value, list):
            return 0
        return 1 + (depth(value[0]) if value else 0)

    smallest = _fuzzhost.simplify(ops, _fuzzhost.removable_path, _fuzzhost.frozen_path,
                                  lambda trial: depth(trial[0]["state"]["weights"]) > 33)
    # 34 levels of lists (the innermost empty), every other value as simple as it gets.
    assert smallest[0]["state"] == {"weights": _fuzzhost.nest([], 33), "layer_names": [],
                                    "layer_sizes": []}


def test_drawn_cases_are_reproducible_from_the_seed(fuzz_source: Any, tmp_path: Path) -> None:
    def draw_all(rng: random.Random) -> list[Any]:
        return [(c.ops, c.files) for c in (fuzz_source.draw(rng, tmp_path / str(i)) for i in range(60))]

    first = [(ops[1:] if ops and ops[0]["op"] == "load" else ops, files)
             for ops, files in draw_all(random.Random(11))]
    second = [(ops[1:] if ops and ops[0]["op"] == "load" else ops, files)
              for ops, files in draw_all(random.Random(11))]
    assert first == second
    assert isinstance(Genome("bytes", 0), Genome)


@pytest.mark.slow
def test_a_testee_that_drops_the_depth_check_is_found_and_shrunk(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "conformance.toml"
    config.write_text(f"""
[harness]
fixtures = "{FIXTURES}"
regressions = "regressions"
results = "results"
[domain]
spec = "{REPO_ROOT / 'spec' / 'checkpoint.yaml'}"
load_spec = "snnconform.checkpoint._spec:load_spec"
reference = "snnconform.checkpoint._reference:execute_case"
fuzz_source = "snnconform.checkpoint._fuzz:source"

[[implementation]]
name = "deep"
testee = "{{python}} {HERE / 'deep_testee.py'}"
install = "-"
""")
    code = main(["fuzz", "--config", str(config), "--seed", "4", "--cases", "1500", "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (finding,) = [f for f in report["finding_details"] if f["problems"] == ["deep: misses json.depth"]]
    assert finding["status"] == "written" and finding["occurrences"] > 1
    lines = [json.loads(line) for line in (tmp_path / "regressions" / "cases.jsonl").read_text().splitlines()]
    line = next(line for line in lines if line["id"] == finding["regression"])
    assert line["id"].startswith("regression-json.depth-") and len(line["ops"]) == 1
    assert line["expect"]["code"] == "json.depth" and line["expect"]["op_index"] == 0
    assert "json_nest" in [mutation[1] for mutation in line["origin"]["mutations"]]
    document = (FIXTURES / (line["ops"][0]["base"] + ".json")).resolve().read_text()
    assert lexical_depth(document) == 65  # exactly one level past the limit
    assert finding["shrunk_size"] < finding["original_size"]


def test_a_case_shrunk_to_an_unchanged_corpus_pair_is_that_corpus_case(fuzz_source: Any,
                                                                     tmp_path: Path) -> None:
    index = fuzz_source.valid[0]
    seed = fuzz_source.seeds[index]
    unchanged = fuzz_source.render(Genome("bytes", index, (), seed.after), tmp_path / "a")
    assert fuzz_source.corpus_case(unchanged) == seed.case_id
    flipped = Genome("bytes", index, (("json", Mutation("bytes_flip", (3, 1))),), seed.after)
    assert fuzz_source.corpus_case(fuzz_source.render(flipped, tmp_path / "b")) is None
    fewer = Genome("bytes", index, (), seed.after + ({"op": "transfer_config", "config": {}},))
    assert fuzz_source.corpus_case(fuzz_source.render(fewer, tmp_path / "c")) is None
