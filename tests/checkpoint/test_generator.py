"""The spec loader, the fixture writers, the mutation registry and the committed corpus."""

from __future__ import annotations

import filecmp
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from snnconform.checkpoint import _generator, _mutations
from snnconform.checkpoint._fixturefiles import Npy, Pairs, Raw, ZipMember, ZipModel, dump_json
from snnconform.checkpoint._reference import execute_case
from snnconform.checkpoint._spec import DEFAULT_SPEC, REPO_ROOT, SpecError, load_spec

FIXTURES = REPO_ROOT / "fixtures"


def _spec_text(**replace: Any) -> dict[str, Any]:
    document = yaml.safe_load(DEFAULT_SPEC.read_text())
    document.update(replace)
    return document


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


# ----------------------------------------------------------------------------- the spec loader


def test_an_unknown_operator_is_refused_naming_where(tmp_path: Path) -> None:
    document = _spec_text()
    document["invariants"][3]["mutations"].append({"operator": "nest_deeper", "params": {}})
    with pytest.raises(SpecError, match=r"/invariants/3 \(json.depth\)/mutations/\d+: unknown mutation operator 'nest_deeper'"):
        load_spec(_write(tmp_path, document))


def test_an_invariant_without_mutations_is_refused_naming_the_path(tmp_path: Path) -> None:
    document = _spec_text()
    document["invariants"][5]["mutations"] = []
    with pytest.raises(SpecError, match=r"at /invariants/5/mutations: \[\] should be non-empty"):
        load_spec(_write(tmp_path, document))


def test_a_malformed_invariant_is_refused_by_the_schema(tmp_path: Path) -> None:
    document = _spec_text()
    document["invariants"][0]["phase"] = "parsing"
    with pytest.raises(SpecError, match=r"at /invariants/0/phase: 'parsing' is not one of"):
        load_spec(_write(tmp_path, document))


def test_duplicate_invariant_ids_are_refused(tmp_path: Path) -> None:
    document = _spec_text()
    document["invariants"].append(dict(document["invariants"][0]))
    with pytest.raises(SpecError, match="duplicate invariant id"):
        load_spec(_write(tmp_path, document))


def test_the_committed_spec_names_only_registered_operators_and_each_applies() -> None:
    spec = load_spec()
    assert spec.spec_version == 2
    for invariant in spec.invariants:
        assert _generator.combos(invariant), invariant.id


# ----------------------------------------------------------------------------- writers


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("matrix", [np.arange(6.0).reshape(2, 3), np.arange(6, dtype=">i4").reshape(3, 2).T,
                                    np.ones((1, 5), dtype="<f2")])
def test_npy_model_renders_what_numpy_writes(matrix: np.ndarray[Any, Any], version: tuple[int, int]) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, matrix, version=version)
    assert Npy.of(matrix, version).render() == buffer.getvalue()


def test_zip_model_is_read_by_numpy_in_both_styles() -> None:
    archive = ZipModel([
        ZipMember(b"layer_0.npy", Npy.of(np.arange(6.0).reshape(2, 3))),
        ZipMember(b"layer_1.npy", Npy.of(np.ones((3, 1))), method=0, numpy_style=False),
    ]).render()
    with np.load(io.BytesIO(archive)) as loaded:
        assert loaded["layer_0"].tolist() == [[0, 1, 2], [3, 4, 5]]
        assert loaded["layer_1"].shape == (3, 1)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids), max_leaves=10))
def test_dump_json_matches_json_dumps_indent_2(value: Any) -> None:
    assert dump_json(value) == json.dumps(value, indent=2)


def test_dump_json_writes_duplicates_and_raw_tokens() -> None:
    text = dump_json(Pairs([("a", 1), (Raw('"\\u0061"'), Raw("NaN"))]), indent=None)
    assert text == '{"a":1,"\\u0061":NaN}'


# ----------------------------------------------------------------------------- the registry


def test_a_new_invariant_of_a_known_kind_needs_yaml_only(tmp_path: Path) -> None:
    """A throwaway spec adds an invariant with generic operators and no Python code; the
    generator builds violating cases for it, which the reference refuses for that rule."""
    document = _spec_text()
    document["invariants"].append({
        "id": "schema.neuron_types.items", "phase": "schema", "surfaces": ["load", "construct"],
        "kind": "type", "rule": "Every neuron type is a string.", "message": "not a string",
        "mutations": [{"operator": "retype", "params": {"target": "/neuron_types/*", "expect": "string"}},
                      {"operator": "empty_string", "params": {"target": "/neuron_types/*"}}],
    })
    spec = load_spec(_write(tmp_path, document))
    invariant = spec.invariant("schema.neuron_types.items")
    combos = _generator.combos(invariant)
    assert [(c.mutation.operator, c.surface) for c in combos] == [
        ("retype", "load"), ("retype", "construct"), ("empty_string", "load"), ("empty_string", "construct")]
    codes = set()
    for index, combo in enumerate(combos):
        for number, case in enumerate(_generator._examples(_generator.mutated_cases((combo,)), 2, index)):
            relative = f"cases/{index}-{number}"
            ops = case.render(tmp_path / relative, relative)
            (result,) = execute_case({"ops": ops}, tmp_path)["results"]
            if combo.mutation.operator == "retype":
                codes.add(result["code"])
            else:
                assert result["verdict"] == "accept"  # "" is a valid neuron type
    assert codes == {"schema.neuron_types.type"}


def test_a_case_that_does_not_show_its_invariant_stops_generation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def harmless(case: Any, params: Any, invariant: Any, draw: Any) -> None:
        """Claims to violate an invariant but leaves the case valid."""

    monkeypatch.setitem(_mutations.OPERATORS, "harmless", _mutations.Operator(harmless, "value", frozenset({"load"})))
    document = _spec_text()
    (unique,) = [inv for inv in document["invariants"] if inv["id"] == "checkpoint.layer_names.unique"]
    document["invariants"] = [dict(unique, mutations=[{"operator": "harmless", "params": {}}])]
    spec = load_spec(_write(tmp_path, document))
    monkeypatch.setattr(_generator, "VALID_CASES", 1)
    with pytest.raises(_generator.GenerationError, match="built to show checkpoint.layer_names.unique"):
        _generator.write_corpus(spec, tmp_path / "corpus")


# ----------------------------------------------------------------------------- the corpus


def _corpus() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    summary = json.loads((FIXTURES / "corpus.json").read_text())
    lines = [json.loads(line) for line in (FIXTURES / "cases.jsonl").read_text().splitlines()]
    return summary, lines


def test_the_committed_corpus_is_not_stale() -> None:
    summary, _ = _corpus()
    assert summary["fingerprint"] == _generator._fingerprint(load_spec()), (
        "fixtures/ is stale against the spec, the generator or the reference: run `make fixtures`"
    )


def test_the_corpus_meets_its_coverage_targets() -> None:
    summary, lines = _corpus()
    assert summary["valid"] >= 200 and summary["mixed"] >= 50
    assert summary["min_cases_per_invariant"] >= 8
    assert summary["invariants"] == len(load_spec().invariants)
    assert len({line["id"] for line in lines}) == len(lines) == summary["cases"]
    targeted = [line for line in lines if line["class"] == "targeted"]
    for invariant in load_spec().invariants:
        mine = [line for line in targeted if line["covers"] == [invariant.id]]
        distinct = {json.dumps(line["origin"]["mutations"]) + str(line["origin"]["surface"]) +
                    json.dumps(line["ops"]) for line in mine}
        assert len(distinct) >= 8, invariant.id


def test_the_reference_passes_every_case_of_the_corpus() -> None:
    _, lines = _corpus()
    for line in lines:
        results = execute_case(line, FIXTURES)["results"]
        stripped = [{k: v for k, v in result.items() if k != "message"} for result in results]
        assert stripped == line["expect"]["results"], line["id"]


@pytest.mark.slow
def test_regenerating_the_corpus_gives_the_same_bytes(tmp_path: Path) -> None:
    _generator.write_corpus(load_spec(), tmp_path)
    comparison = filecmp.dircmp(FIXTURES, tmp_path, ignore=["README.md", "regressions"])  # fuzz finds
    differing: list[str] = []

    def walk(node: filecmp.dircmp[str], prefix: str) -> None:
        _, mismatch, errors = filecmp.cmpfiles(node.left, node.right, node.common_files, shallow=False)
        differing.extend(prefix + name for name in mismatch + errors + node.left_only + node.right_only)
        for name, child in node.subdirs.items():
            walk(child, f"{prefix}{name}/")

    walk(comparison, "")
    assert not differing, f"run `make fixtures`; these differ: {differing[:10]}"


def test_every_boundary_recipe_covers_limits_the_spec_has() -> None:
    from snnconform.checkpoint._boundaries import RECIPES

    limits = load_spec().limits
    assert [name for names in RECIPES for name in names if name not in limits] == []


@pytest.mark.parametrize("limit, step", [("json_integer_min", -1), ("json_integer_max", 1)])
def test_the_integer_limits_have_a_boundary_pair_on_every_surface(limit: str, step: int) -> None:
    _, lines = _corpus()
    value = load_spec().limits[limit]
    for surface, code in (("load", "json.number.range"), ("construct", "schema.metadata.type")):
        def verdicts(at: int) -> set[tuple[str, str | None]]:
            return {(line["expect"]["verdict"], line["expect"]["code"]) for line in lines
                    if line["class"] == "boundary" and line["origin"]["limit"] == limit
                    and line["origin"]["surface"] == surface and line["origin"]["value"] == at
                    and line["origin"]["place"] in ("root", "nested", "array")}

        assert verdicts(value) == {("accept", None)}, (limit, surface)
        assert verdicts(value + step) == {("reject", code)}, (limit, surface)
