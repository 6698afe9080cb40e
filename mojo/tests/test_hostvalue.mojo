"""Tests for hostvalue.mojo: the protocol's tags decode into the kinds the constructor judges."""

from std.testing import assert_equal, assert_true, assert_raises, TestSuite

from json import K_INT, K_FLOAT, K_TUPLE, K_SET, K_BYTES, K_MAP, K_OPAQUE, K_NDARRAY, K_OBJECT, K_ARRAY
from support import host


def test_tags() raises:
    var v = host('[{"$float": "NaN"}, {"$tuple": [1, "a"]}, {"$set": [1]}, {"$bytes": "00ff"}, '
                 + '{"$map": [[1, "x"]]}, {"$object": "object()"}, '
                 + '{"$array": {"shape": [2, 1], "data": [1.5, {"$float": "-Infinity"}]}}, '
                 + '{"$map": [["$k", 1]]}, {"a": {"$float": "Infinity"}}]')
    var r = v.root
    var kinds: List[Int] = [K_FLOAT, K_TUPLE, K_SET, K_BYTES, K_MAP, K_OPAQUE, K_NDARRAY, K_OBJECT, K_OBJECT]
    for i in range(len(kinds)):
        assert_equal(v.kind(v.child(r, i)), kinds[i])
    var nan = v.nodes[v.child(r, 0)].float_value
    assert_true(nan != nan)
    ref array = v.nodes[v.child(r, 6)]
    assert_equal(len(array.shape), 2)
    assert_equal(array.data[0], 1.5)
    assert_equal(array.data[1], -Float64.MAX * 2.0)
    # A $map with string keys is a plain dict, here one whose key starts with "$".
    assert_equal(v.nodes[v.child(r, 7)].keys[0], "$k")


def test_integers_of_any_size_decode_without_wrapping() raises:
    var v = host('[18446744073709551615, -9223372036854775808, 18446744073709551616, '
                 + '-9223372036854775809, 1000000000000000000000000000000, '
                 + '{"$tuple": [-1000000000000000000000000000000000000000000000000]}]')
    var r = v.root
    assert_true(v.nodes[v.child(r, 0)].valid)
    assert_true(v.nodes[v.child(r, 0)].int_value == Int128(UInt64(18446744073709551615)))
    assert_true(v.nodes[v.child(r, 1)].valid)
    assert_true(v.nodes[v.child(r, 1)].int_value == Int128(-9223372036854775807) - 1)
    for i in range(2, 5):
        ref node = v.nodes[v.child(r, i)]
        assert_equal(node.kind, K_INT)
        assert_true(not node.valid, node.text)
    assert_true(v.nodes[v.child(r, 2)].int_value > 0)
    assert_true(v.nodes[v.child(r, 3)].int_value < 0)
    assert_equal(v.nodes[v.child(r, 4)].text, "1000000000000000000000000000000")
    ref deep = v.nodes[v.child(v.child(r, 5), 0)]
    assert_true(not deep.valid)
    assert_equal(deep.text, "-1000000000000000000000000000000000000000000000000")


def test_malformed_encoding_is_an_error() raises:
    with assert_raises():
        _ = host('{"$float": "nan"}')
    with assert_raises():
        _ = host('{"$array": {"shape": [2, 2], "data": [1.0]}}')
    with assert_raises():
        _ = host('{"$nope": 1}')


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
