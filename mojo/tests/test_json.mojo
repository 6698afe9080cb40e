"""Tests for json.mojo: the strict reader, every json.* invariant in spec order."""

from std.testing import assert_equal, assert_true, TestSuite

from json import parse_document, parse_message, lexical_depth, utf8_error, K_INT, K_FLOAT
from support import doc_code, doc_bytes_code, bytes_of, from_hex


def _wrapped(hex_bytes: String) -> List[UInt8]:
    var out = bytes_of('{"a": "')
    out.extend(Span(from_hex(hex_bytes)))
    out.extend(bytes_of('"}'))
    return out^


def test_utf8_refusals() raises:
    # The spec's mutations: ff, overlong c0 af, surrogate ed a0 80, above U+10FFFF, lone
    # continuation, truncated sequence, fe, five-byte form.
    var bad: List[String] = ["ff", "c0af", "eda080", "f4908080", "80", "e282", "fe", "f888808080"]
    for h in bad:
        assert_equal(doc_bytes_code(_wrapped(h)), "json.encoding.utf8", h)
    assert_equal(doc_bytes_code(_wrapped("e282ac")), "accept")
    assert_equal(doc_bytes_code(_wrapped("f09f9880")), "accept")
    assert_equal(utf8_error(Span(from_hex("41e282"))), 1)


def test_bom_refused_after_utf8() raises:
    var doc = from_hex("efbbbf")
    doc.extend(bytes_of("{}"))
    assert_equal(doc_bytes_code(doc), "json.encoding.bom")
    doc.append(0xFF)
    assert_equal(doc_bytes_code(doc), "json.encoding.utf8")


def _nest(levels: Int, close: Bool) -> String:
    var out = String()
    for _ in range(levels):
        out += "["
    if close:
        for _ in range(levels):
            out += "]"
    return out^


def test_depth_is_lexical() raises:
    assert_equal(doc_code(_nest(64, True)), "accept")
    assert_equal(doc_code(_nest(65, True)), "json.depth")
    # Unclosed: still too deep, depth beats syntax.
    assert_equal(doc_code(_nest(65, False)), "json.depth")
    assert_equal(doc_code(_nest(64, False)), "json.syntax")
    # Brackets inside strings do not count; an escaped quote does not end the string.
    assert_equal(lexical_depth('["[[[\\"[[", {}]'.as_bytes()), 2)
    # Depth never goes below zero.
    assert_equal(lexical_depth("]]][".as_bytes()), 1)


def test_syntax_refusals() raises:
    var bad: List[String] = [
        '{"a": [1, 2}', '{"a": 1,}', "{'a': 1}", '{"a": 1 /* c */}', '{"a": 1} x', '{"a": 01}',
        '{"a": "x\ty"}', '{"a": "\\x"}', '{"a": "\\ud800"}', '{"a": "\\udc00\\ud800"}', "", "  \n",
        '{"a": 1.}', '{"a": -}', '{"a": .5}', '{"a": 1e}', '{"a" 1}', "[1,,2]", "[1 2]", '{"a":}',
        '{"a": tru}', '{"a": -NaN}', '{"a": "\\u12"}', "[}", '{"a": +1}', '{"a": "x"',
    ]
    for text in bad:
        assert_equal(doc_code(text), "json.syntax", text)
    assert_equal(doc_code('{"a": "\\ud83d\\ude00", "b": "\\u00E9"}'), "accept")
    assert_equal(doc_code(' \t\r\n{ } \n'), "accept")
    assert_equal(doc_code("5"), "accept")


def test_nonfinite_only_when_otherwise_valid() raises:
    assert_equal(doc_code('{"a": NaN}'), "json.nonfinite")
    assert_equal(doc_code('{"a": [Infinity, -Infinity]}'), "json.nonfinite")
    assert_equal(doc_code('{"a": NaN, "b": [1,]}'), "json.syntax")
    # NaN beats an out-of-range number and a duplicate key, wherever they are.
    assert_equal(doc_code('{"a": 1e400, "a": NaN}'), "json.nonfinite")


def _positions(literal: String) -> List[String]:
    """The literal as the document's root, in a nested object, and inside nested arrays."""
    return [literal, String('{"m": {"k": ', literal, "}}"), String("[1, [2, ", literal, "]]")]


def test_integer_range_is_int64_and_uint64() raises:
    var good: List[String] = ["-9223372036854775808", "9223372036854775807", "9223372036854775808",
                              "18446744073709551615", "9007199254740992", "-0", "0"]
    for literal in good:
        for text in _positions(literal):
            assert_equal(doc_code(text), "accept", text)
    var long = String("1") + String("0") * 5000
    var bad: List[String] = [
        "-237462374673276894279832749832423479823246327846", "-9223372036854775809",
        "18446744073709551616", "123456789012345678901234567890", "99999999999999999999",
        "-10000000000000000000", long, String("-", long),
    ]
    for literal in bad:
        for text in _positions(literal):
            assert_equal(doc_code(text), "json.number.range", text)


def test_integers_are_kept_exactly() raises:
    var tree = parse_document(
        "[-9223372036854775808, 18446744073709551615, 9223372036854775808, -0, 1764547200123456789]".as_bytes(),
        "t.json")
    var expected: List[Int128] = [Int128(-9223372036854775807) - 1, Int128(UInt64(18446744073709551615)),
                                  Int128(UInt64(9223372036854775808)), Int128(0),
                                  Int128(1764547200123456789)]
    for i in range(len(expected)):
        ref node = tree.nodes[tree.child(tree.root, i)]
        assert_equal(node.kind, K_INT)
        assert_true(node.valid)
        assert_true(node.int_value == expected[i], node.text)
    # Sizes and indices read an integer clamped to Int's range, so none wraps.
    assert_equal(tree.nodes[tree.child(tree.root, 1)].as_int(), Int.MAX)
    assert_equal(tree.nodes[tree.child(tree.root, 0)].as_int(), Int.MIN)


def test_float_range() raises:
    var bad: List[String] = ["[1e400]", "[-2.5e308]", "[1.8e308]"]
    for text in bad:
        assert_equal(doc_code(text), "json.number.range", text)
    var good: List[String] = ["[1e-400, 1.7976931348623157e308]", "[18446744073709551616.0]",
                              "[1e19, -9223372036854775809e0]"]
    for text in good:
        assert_equal(doc_code(text), "accept", text)
    assert_equal(doc_code('{"a": 1, "a": 1e999}'), "json.number.range")
    assert_equal(doc_code('{"a": 1, "a": 18446744073709551616}'), "json.number.range")


def test_duplicate_keys_after_unescaping() raises:
    assert_equal(doc_code('{"a": 1, "a": 2}'), "json.keys.unique")
    assert_equal(doc_code('{"a": 1, "\\u0061": 2}'), "json.keys.unique")
    assert_equal(doc_code('{"m": {"k": 1, "k": 2}}'), "json.keys.unique")
    assert_equal(doc_code('[{"k": 1}, {"k": 2}]'), "accept")


def test_integers_and_floats_are_kept_apart() raises:
    var tree = parse_document("[10, 10.0, 1e1, -0]".as_bytes(), "t.json")
    var root = tree.root
    assert_equal(tree.kind(tree.child(root, 0)), K_INT)
    assert_equal(tree.kind(tree.child(root, 1)), K_FLOAT)
    assert_equal(tree.kind(tree.child(root, 2)), K_FLOAT)
    assert_true(tree.nodes[tree.child(root, 3)].int_value == 0)


def test_deep_request_does_not_overflow_the_stack() raises:
    var tree = parse_message(_nest(100000, True).as_bytes())
    assert_equal(len(tree.nodes), 100000)


def test_request_integers_of_any_length() raises:
    # A request may carry any integer; beyond the JSON range it is marked, never wrapped.
    var tree = parse_message("[18446744073709551616, -1000000000000000000000000000000000000000000000000]".as_bytes())
    for i in range(2):
        ref node = tree.nodes[tree.child(tree.root, i)]
        assert_equal(node.kind, K_INT)
        assert_true(not node.valid)
    assert_equal(tree.nodes[tree.child(tree.root, 1)].text,
                 "-1000000000000000000000000000000000000000000000000")
    assert_true(tree.nodes[tree.child(tree.root, 1)].int_value < 0)


def test_request_keeps_lone_surrogates() raises:
    var tree = parse_message('["\\ud800x"]'.as_bytes())
    var node = tree.child(tree.root, 0)
    assert_true(not tree.nodes[node].valid)


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
