"""JSON comparison: exact integers and strings, bit-exact floats, key order ignored."""

from __future__ import annotations

import pytest

from snnconform.core._diff import compare_results, first_difference, without_messages


@pytest.mark.parametrize(
    ("expected", "got", "pointer", "reason"),
    [
        (1, 1.0, "", "integer vs float"),
        (1.0, 1, "", "float vs integer"),
        (0.0, -0.0, "", "float bits differ"),
        (True, 1, "", "boolean vs integer"),
        ("a", "A", "", "values differ"),
        ([1, 2], [1], "/1", "array length 2 vs 1"),
        ([1], [1, 2], "/1", "array length 1 vs 2"),
        ({"a": 1}, {}, "/a", "missing key"),
        ({}, {"b": 1}, "/b", "unexpected key"),
        ({"a/b": {"c~d": [0, 1]}}, {"a/b": {"c~d": [0, 2]}}, "/a~1b/c~0d/1", "values differ"),
        (0.1 + 0.2, 0.3, "", "float bits differ"),
    ],
)
def test_first_difference(expected, got, pointer, reason):
    found = first_difference(expected, got)
    assert found is not None and (found.pointer, found.reason) == (pointer, reason)


@pytest.mark.parametrize(
    "value",
    [{"b": 1, "a": [1.5, "x", None, True]}, float("nan"), 5e-324, -0.0, 2**53 - 1],
)
def test_equal_values_have_no_difference(value):
    assert first_difference(value, value) is None


def test_key_order_does_not_matter():
    assert first_difference({"a": 1, "b": 2}, {"b": 2, "a": 1}) is None


def test_compare_results_reports_under_results():
    expected = [{"op": "load", "verdict": "reject", "code": "json.syntax"}]
    got = without_messages([{"op": "load", "verdict": "reject", "code": "json.depth", "message": "m"}])
    found = compare_results(expected, got)
    assert found is not None
    assert found.describe() == 'at /results/0/code: values differ: expected "json.syntax", got "json.depth"'
