"""The metadata document's C-speed scans against the spec's rules, on small and big input."""

from __future__ import annotations

import random

import pytest

from sc_neurocore.transfer import CheckpointError
from sc_neurocore.transfer._json import decode_document, lexical_depth


def _depth_by_the_rule(data: bytes) -> int:
    """json.depth exactly as the spec words it, one character at a time."""
    depth = deepest = 0
    in_string = escaped = False
    for char in data.decode("utf-8"):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def test_depth_agrees_with_the_rule_on_random_documents() -> None:
    rng = random.Random(15)
    alphabet = ['[', ']', '{', '}', '"', '\\', 'a', '1', ',', ':', 'é']
    for _ in range(3000):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))).encode()
        assert lexical_depth(data) == _depth_by_the_rule(data), data


@pytest.mark.parametrize(("data", "depth"), [
    (b"", 0),
    (b"]]]][[", 2),  # floored at zero, then two levels
    (b'["[[[", [1]]', 2),  # brackets in a string do not count
    (b'["\\"[[", [1]]', 2),  # an escaped quote does not end the string
    (b'["\\\\", [[1]]]', 3),  # an escaped backslash does not escape the quote
    (b'[1, "[[[[', 1),  # an unterminated string runs to the end
    (b'"\\', 0),  # a lone backslash at the very end
])
def test_depth_cases(data: bytes, depth: int) -> None:
    assert lexical_depth(data) == depth == _depth_by_the_rule(data)


def test_depth_across_chunks_of_the_scan() -> None:
    # Far past one scan chunk (2^20 brackets), with the deepest point in a later chunk.
    data = b"[]" * 700_000 + b"[" * 1_500_000 + b"]" * 1_500_000
    assert lexical_depth(data) == 1_500_000


def _code(data: bytes) -> str | None:
    try:
        decode_document(data, "doc.json")
    except CheckpointError as error:
        return error.code
    return None


def test_a_deep_document_of_megabytes_is_refused_for_depth() -> None:
    assert _code(b"[" * 4_000_000 + b"]" * 4_000_000) == "json.depth"
    assert _code(b'{"a":' * 65 + b"1" + b"}" * 65) == "json.depth"
    assert _code(b'{"a":' * 64 + b"1" + b"}" * 64) is None


def test_a_big_flat_document_is_parsed_and_judged() -> None:
    numbers = b",".join([b"1", b"-2.5e-300", b"18446744073709551615", b"-9223372036854775808"] * 250_000)
    assert _code(b'{"a": [' + numbers + b"]}") is None
    assert _code(b'{"a": [' + numbers + b", 18446744073709551616]}") == "json.number.range"


@pytest.mark.parametrize(("literal", "code"), [
    (b"18446744073709551615", None),
    (b"18446744073709551616", "json.number.range"),
    (b"-9223372036854775808", None),
    (b"-9223372036854775809", "json.number.range"),
    (b"1" * 5000, "json.number.range"),  # past int()'s digit limit
    (b"1e308", None),
    (b"1e309", "json.number.range"),
    (b"1.7976931348623158e308", None),
    (b"1.7976931348623159e308", "json.number.range"),
    (b"1" * 400 + b".5", "json.number.range"),
    (b"0.0e400", None),
    (b"1e-400", None),
    (b"1234567890123456789e-5", None),
    (b"NaN", "json.nonfinite"),
    (b"-Infinity", "json.nonfinite"),
])
def test_number_literals(literal: bytes, code: str | None) -> None:
    assert _code(b'{"k": [0, ' + literal + b', "NaN 1e999"]}') == code


@pytest.mark.parametrize(("string", "code"), [
    (rb'"\ud83d\ude00"', None),  # a pair
    (rb'"\ud83d"', "json.syntax"),  # a lone high surrogate
    (rb'"\ude00\ud83d"', "json.syntax"),  # low before high
    (rb'"\\ud83d"', None),  # an escaped backslash, then plain text
    (rb'"\\\ud83d\ude00"', None),
    (rb'"\ud83d\u0041"', "json.syntax"),
])
def test_lone_surrogate_escapes(string: bytes, code: str | None) -> None:
    assert _code(b'{"k": ' + string + b"}") == code
    assert _code(b"{" + string + b": 1}") == code


def test_the_order_syntax_nonfinite_range_keys() -> None:
    assert _code(b'{"a": NaN, "a": 1e400, ') == "json.syntax"
    assert _code(b'{"a": 1e400, "a": NaN}') == "json.nonfinite"
    assert _code(b'{"a": 1e400, "a": 2}') == "json.number.range"
    assert _code(b'{"a": 1, "b": {"c": 2, "c": 3}}') == "json.keys.unique"
