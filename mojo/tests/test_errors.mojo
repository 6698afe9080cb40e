"""The codes this implementation raises are exactly the spec's invariant IDs, in spec order."""

from std.testing import assert_equal, assert_true, TestSuite

from errors import all_codes, CheckpointError, quote, shape_repr

comptime SPEC = "../spec/checkpoint.yaml"


def _spec_ids() raises -> List[String]:
    var ids = List[String]()
    var text = open(SPEC, "r").read()
    for line in text.splitlines():
        var s = String(line)
        if s.startswith("  - id: "):
            ids.append(String(s.removeprefix("  - id: ").strip()))
    return ids^


def test_codes_equal_spec_ids_in_order() raises:
    var spec = _spec_ids()
    var mine = all_codes()
    assert_equal(len(spec), 55)
    assert_equal(len(mine), len(spec))
    for i in range(len(spec)):
        assert_equal(mine[i], spec[i])


def test_codes_are_unique() raises:
    var mine = all_codes()
    for i in range(len(mine)):
        for j in range(i + 1, len(mine)):
            assert_true(mine[i] != mine[j], String("duplicate code ", mine[i]))


def test_error_renders_message_and_code() raises:
    var e = CheckpointError("json.syntax", "Checkpoint metadata is not valid JSON: x")
    assert_equal(String(e), "Checkpoint metadata is not valid JSON: x [json.syntax]")
    assert_equal(quote("it's"), "'it\\'s'")


def test_shapes_print_as_python_tuples() raises:
    assert_equal(shape_repr(List[Int]()), "()")
    assert_equal(shape_repr([6]), "(6,)")
    assert_equal(shape_repr([2, 3]), "(2, 3)")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
