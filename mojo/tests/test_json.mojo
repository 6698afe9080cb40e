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


def test_number_range() raises:
    assert_equal(doc_code("[9007199254740991, -9007199254740991]"), "accept")
    var bad: List[String] = ["[9007199254740992]", "[-9007199254740992]", "[1e400]", "[-2.5e308]",
                             "[123456789012345678901234567890]", "[18446744073709551616]"]
    for text in bad:
        assert_equal(doc_code(text), "json.number.range", text)
    assert_equal(doc_code("[1e-400, 1.7976931348623157e308]"), "accept")
    assert_equal(doc_code('{"a": 1, "a": 1e999}'), "json.number.range")


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
    assert_equal(tree.nodes[tree.child(root, 3)].int_value, 0)


def test_deep_request_does_not_overflow_the_stack() raises:
    var tree = parse_message(_nest(100000, True).as_bytes())
    assert_equal(len(tree.nodes), 100000)


def test_request_keeps_lone_surrogates() raises:
    var tree = parse_message('["\\ud800x"]'.as_bytes())
    var node = tree.child(tree.root, 0)
    assert_true(not tree.nodes[node].valid)


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
