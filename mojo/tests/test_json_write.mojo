"""Tests for json_write.mojo: the canonical spelling of strings, integers and floats."""

from std.testing import assert_equal, assert_true, TestSuite

from json import parse_document, parse_message
from json_write import write_float, write_string, write_value


def test_writes_back_what_the_reader_read() raises:
    var text = '{"a": [1, -0, 2.5, -0.0, "x\\u00e9\\ud83d\\ude00\\n"], "b": {"c": null, "d": true}, "e": 1e22}'
    var tree = parse_document(text.as_bytes(), "t.json")
    var out = String()
    write_value(out, tree, tree.root)
    assert_equal(out, '{"a": [1, 0, 2.5, -0.0, "x\\u00e9\\ud83d\\ude00\\n"], "b": {"c": null, "d": true}, "e": 1e+22}')


def test_integers_are_written_exactly() raises:
    # The issue's example: never through float64.
    var text = '{"seed": 18446744073709551615, "t_ns": 1764547200123456789, "neg": -9223372036854775808}'
    var tree = parse_document(text.as_bytes(), "t.json")
    var out = String()
    write_value(out, tree, tree.root)
    assert_equal(out, text)
    tree = parse_document("[9223372036854775808, 9007199254740993, -0, 0]".as_bytes(), "t.json")
    out = String()
    write_value(out, tree, tree.root)
    assert_equal(out, "[9223372036854775808, 9007199254740993, 0, 0]")


def test_lone_surrogates_from_a_request_are_escaped_again() raises:
    var tree = parse_message('["\\ud800x"]'.as_bytes())
    var out = String()
    write_value(out, tree, tree.root)
    assert_equal(out, '["\\ud800x"]')


def test_write_float_round_trips_with_point_or_exponent() raises:
    var values: List[Float64] = [1.0, -0.0, 0.1, 1e22, 5e-324, 1.7976931348623157e308,
                                 5.8559984316561544e16, 3.8957031908619096e16, 123456789.0]
    var texts: List[String] = ["1.0", "-0.0", "0.1", "1e+22", "5e-324", "1.7976931348623157e+308"]
    for i in range(len(values)):
        var out = String()
        write_float(out, values[i])
        assert_equal(atof(out), values[i])
        assert_true(out.find(".") >= 0 or out.find("e") >= 0, out)
        if i < len(texts):
            assert_equal(out, texts[i])


def test_write_string_escapes() raises:
    var out = String()
    write_string(out, 'a"b\\c\n\x01é😀')
    assert_equal(out, '"a\\"b\\\\c\\n\\u0001\\u00e9\\ud83d\\ude00"')


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
