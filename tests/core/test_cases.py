"""Reading the corpus and selecting cases."""

from __future__ import annotations

import json

import pytest
import toydomain

from snnconform.core._cases import CorpusError, Selection, load_cases, parse_shard


@pytest.fixture
def corpus(tmp_path):
    toydomain.write_corpus(toydomain.load_spec(), tmp_path)
    return tmp_path / "cases.jsonl"


def test_load_keeps_file_order_and_validates(corpus):
    cases = load_cases(corpus, validate=True)
    assert [c.id for c in cases] == [c[0] for c in toydomain.CASES]
    assert cases[2].expect.code == "toy.negative" and cases[2].operations == {"set", "add"}


def test_inconsistent_expectation_is_refused(corpus):
    lines = corpus.read_text().splitlines()
    case = json.loads(lines[2])
    case["expect"]["code"] = "toy.overflow"
    corpus.write_text("\n".join([lines[0], json.dumps(case)]) + "\n")
    with pytest.raises(CorpusError, match=r"cases.jsonl:2: case reject-1: expect says"):
        load_cases(corpus)


def test_duplicate_ids_are_refused(corpus):
    first = corpus.read_text().splitlines()[0]
    corpus.write_text(first + "\n" + first + "\n")
    with pytest.raises(CorpusError, match="duplicate case id 'ok-1'"):
        load_cases(corpus)


def test_schema_validation_names_the_member(corpus):
    case = json.loads(corpus.read_text().splitlines()[0])
    case["class"] = "weird"
    corpus.write_text(json.dumps(case) + "\n")
    with pytest.raises(CorpusError, match="/class"):
        load_cases(corpus, validate=True)


def test_selection(corpus):
    cases = load_cases(corpus)
    assert [c.id for c in Selection(case_patterns=("ok-*",)).apply(cases)] == ["ok-1", "ok-2", "ok-3"]
    assert [c.id for c in Selection(invariant_patterns=("toy.over*",)).apply(cases)] == ["overflow-1"]
    shards = [Selection(shard=(k, 3)).apply(cases) for k in (1, 2, 3)]
    assert sorted(c.id for s in shards for c in s) == sorted(c.id for c in cases)
    assert not Selection().is_filtered and Selection(shard=(1, 2)).is_filtered


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/2/3"])
def test_bad_shards(text):
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)
