"""conformance.html without a browser: self-contained, escaped, capped; written by every command
that writes results (the browser test, test_report_browser.py, checks what a person sees)."""

from __future__ import annotations

import base64
import copy
import html
import json
import re
from pathlib import Path

from snnconform.core import _html
from snnconform.core._html import case_files, render_html

ENTRY = {
    "implementation": "julia", "case": "victim-1", "kind": "disagreed",
    "summary": "vs expectation at /results/1/code: values differ", "pointer": "/results/1/code",
    "expected": '"toy.negative"', "got": '"toy.overflow"', "vs_reference": None,
    "signature": {"outcome": "answered"}, "known_divergence": None, "covers": ["toy.negative"],
    "operations": ["add", "set"], "rerun": "snnconform run --impl julia --case victim-1",
    "answer": [{"op": "set", "verdict": "accept"}],
}
DOC = {
    "status": "fail", "failed_checks": ["julia: 1 case(s) disagreed"], "spec_version": 1,
    "protocol_version": 1, "corpus": {"cases": 2},
    "implementations": {"python": {"version": "1"}, "julia": {"version": "1"}},
    "matrix": {"toy.negative": {"python": {"cases": 1, "agreed": 1}, "julia": {"cases": 1, "agreed": 0}}},
    "disagreements": [ENTRY], "environment": {},
}


def test_the_page_is_self_contained():
    page = render_html(DOC)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"<(link|img|iframe)\b", page)
    assert not re.search(r"\b(src|href)\s*=", page)  # every script and style is inline
    assert page.count("<script") == 2 and page.count("<style>") == 1


def test_hostile_text_is_escaped_everywhere():
    doc = copy.deepcopy(DOC)
    evil = '</script><script>alert(1)</script>'
    doc["disagreements"][0].update(case=evil, summary=evil, stderr=evil, answer=[{"op": evil}])
    doc["failed_checks"] = [evil]
    page = render_html(doc)
    assert "alert(1)</script>" not in page
    assert page.count("<script") == 2


def test_case_files_are_capped_and_stay_inside_the_corpus(tmp_path: Path):
    folder = tmp_path / "cases" / "c-1"
    folder.mkdir(parents=True)
    big = bytes(range(256)) * 64
    (folder / "big.bin").write_bytes(big)
    (folder / "sub").mkdir()
    (folder / "sub" / "small.json").write_bytes(b"{}")
    (tmp_path / "secret.txt").write_text("outside")
    [first, second] = case_files([tmp_path], "c-1")
    assert (first["name"], first["size"]) == ("big.bin", len(big))
    assert base64.b64decode(first["b64"]) == big[: _html.MAX_FILE_BYTES]
    assert (second["name"], base64.b64decode(second["b64"])) == ("sub/small.json", b"{}")
    assert case_files([tmp_path], "..") == [] and case_files([tmp_path], "../..") == []
    assert case_files([tmp_path], "no-such-case") == [] and case_files([], "c-1") == []


def test_a_regression_case_s_files_come_from_the_regression_corpus(tmp_path: Path):
    corpus, regressions = tmp_path / "fixtures", tmp_path / "fixtures" / "regressions"
    (regressions / "cases" / "regression-1").mkdir(parents=True)
    (regressions / "cases" / "regression-1" / "pair.json").write_bytes(b"[]")
    (corpus / "cases").mkdir()
    [found] = case_files([corpus, regressions], "regression-1")
    assert (found["name"], base64.b64decode(found["b64"])) == ("pair.json", b"[]")
    assert case_files([corpus], "regression-1") == []


def test_only_the_first_cases_are_detailed(monkeypatch):
    monkeypatch.setattr(_html, "MAX_CASES", 1)
    doc = copy.deepcopy(DOC)
    doc["disagreements"].append({**ENTRY, "case": "victim-2"})
    page = render_html(doc)
    assert 'id="case-victim-1"' in page and 'id="case-victim-2"' not in page
    assert "1 more case(s) with disagreements are not shown here" in page


def test_without_the_corpus_the_page_still_says_what_it_knows():
    page = render_html(DOC)
    assert "(the case is not in the corpus)" in page and "operations: add, set" in page
    assert "first difference from the expectation at" in page


def test_report_writes_the_html_of_a_saved_run(toy, tmp_path):
    toy.add("lie_code")
    code, _ = toy.run()
    assert code == 1
    written = (toy.root / "results" / "conformance.html").read_text()
    assert 'id="case-victim-1"' in written and '{"op": "add", "value": -5}' in html.unescape(written)
    out = tmp_path / "again.html"
    saved = str(toy.root / "results" / "bench_transfer.json")
    assert toy.cli("report", "--from", saved, "--html", str(out)) == 1
    assert out.read_text() == written
    doc = json.loads(Path(saved).read_text())
    [entry] = doc["disagreements"]
    assert entry["answer"][-1] == {"op": "add", "verdict": "reject", "code": "toy.overflow",
                                   "message": "add: the counter would be -4 (< 0)"}
