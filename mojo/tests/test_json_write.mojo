"""Tests for json_write.mojo: the canonical spelling of strings, integers and floats, and the
layout of the metadata document (json.dumps with indent=2)."""

from std.testing import assert_equal, assert_true, TestSuite

from json import parse_document, parse_message
from json import Tree, K_OBJECT
from json_write import write_float, write_string, write_value, write_document


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
    for value in values:
        var out = String()
        write_float(out, value)
        assert_equal(atof(out), value)
        assert_true(out.find(".") >= 0 or out.find("e") >= 0, out)


def test_write_float_spells_as_python_repr() raises:
    # Each text is Python's repr of the float it reads as (atof rounds correctly), so writing
    # that float must give the text back: shortest digits, positional for exponents -4..15.
    var reprs: List[String] = [
        "0.1", "0.30000000000000004", "1e-05", "0.0001", "0.0001234", "1e+16",
        "1000000000000000.0", "123.0", "-0.0", "0.0", "5e-324", "1e-323",
        "2.2250738585072014e-308", "1.7976931348623157e+308", "9007199254740992.0",
        "5.8559984316561544e+16", "3.8957031908619096e+16", "9999999999999998.0", "1e+22",
        "1e+21", "1.5e+300", "2.5e-07", "100.0", "1234567890123456.8",
        "1.2345678901234568e+16", "-1.5", "0.3333333333333333", "4.35", "1e-07",
        "0.000123456789", "9.223372036854776e+18", "1.8446744073709552e+19", "7e-10",
        "9.5367431640625e-07", "-2.5e-308", "5e-323",
    ]
    for text in reprs:
        var out = String()
        write_float(out, atof(text))
        assert_equal(out, text)
    # Other spellings of the same floats come out as repr spells them.
    var inputs: List[String] = ["1e16", "2e-5", "5e-324", "4.9e-324", "0.1e1", "9223372036854775808"]
    var expected: List[String] = ["1e+16", "2e-05", "5e-324", "5e-324", "1.0", "9.223372036854776e+18"]
    for i in range(len(inputs)):
        var out = String()
        write_float(out, atof(inputs[i]))
        assert_equal(out, expected[i])


def test_non_finite_floats_spell_as_python_in_messages() raises:
    var values: List[Float64] = [Float64.MAX * 2.0, -Float64.MAX * 2.0, 0.0 * (Float64.MAX * 2.0)]
    var texts: List[String] = ["inf", "-inf", "nan"]
    for i in range(3):
        var out = String()
        write_float(out, values[i])
        assert_equal(out, texts[i])


def test_indented_layout_is_json_dumps_indent_2() raises:
    var tree = parse_document('{"a": [], "b": {}, "c": [1, {"d": null, "e": [true, 2.5]}]}'.as_bytes(), "t.json")
    var out = String()
    write_value(out, tree, tree.root, 0)
    assert_equal(out, '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "d": null,\n'
                 + '      "e": [\n        true,\n        2.5\n      ]\n    }\n  ]\n}')


def test_document_keys_in_spec_order_digest_last() raises:
    # json.dumps({...}, indent=2) of the same document, from Python.
    var metadata = Tree()
    var root = metadata.add_container(K_OBJECT)
    var out = String()
    write_document(out, ["a"], [1], [2], List[String](), List[String](), metadata, root, "ab")
    assert_equal(out, '{\n  "layer_names": [\n    "a"\n  ],\n  "layer_sizes": [\n    [\n      1,\n'
                 + '      2\n    ]\n  ],\n  "neuron_types": [],\n  "frozen_layers": [],\n  "n_layers": 1,\n'
                 + '  "total_params": 2,\n  "metadata": {},\n  "archive_sha256": "ab"\n}')


def test_write_string_escapes() raises:
    var out = String()
    write_string(out, 'a"b\\c\n\x01é😀')
    assert_equal(out, '"a\\"b\\\\c\\n\\u0001\\u00e9\\ud83d\\ude00"')
    # json.dumps: \b \f \r \t as such, DEL escaped, "/" not.
    out = String()
    write_string(out, "\x08\x0c\r\t\x7f/~")
    assert_equal(out, '"\\b\\f\\r\\t\\u007f/~"')


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
