"""Tests for npy.mojo: magic, header grammar, dtypes and widening, shapes, data length, finiteness."""

from std.testing import assert_equal, assert_true, TestSuite

from npy import header_bytes
from support import (
    npy_bytes, npy_code, read_layers, read_one, matrix_npy, f8_bytes, from_hex, bytes_of,
)

comptime F8_2x3 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"


def _six() -> List[UInt8]:
    var values: List[Float64] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    return f8_bytes(values)


def test_writer_header_is_what_numpy_writes() raises:
    # numpy.lib.format.write_array_header_1_0: a 118-byte dict (length 0x0076), 128 bytes in all.
    var header = header_bytes(2, 3)
    assert_equal(len(header), 128)
    assert_true(header == npy_bytes(F8_2x3, List[UInt8]()))
    assert_equal(Int(header[8]), 0x76)
    assert_equal(Int(header[9]), 0)
    # The largest shape still fits in 128 bytes; the reader reads the writer's header back.
    assert_equal(len(header_bytes(2147483647, 2147483647)), 128)
    var member = header_bytes(1, 2)
    member.extend(Span(f8_bytes([0.5, -2.0])))
    var values = read_one(member, 1, 2)
    assert_equal(values[1], -2.0)


def _header(descr: String, fortran: String, shape: String) -> String:
    return String("{'descr': '", descr, "', 'fortran_order': ", fortran, ", 'shape': ", shape, ", }")


def test_reads_float64() raises:
    var values = read_one(npy_bytes(F8_2x3, _six()), 2, 3)
    assert_equal(len(values), 6)
    assert_equal(values[5], 6.0)
    # Versions 2.0 and 3.0 have a 4-byte header length.
    assert_equal(npy_code(npy_bytes(F8_2x3, _six(), 2), 2, 3), "accept")
    assert_equal(npy_code(npy_bytes(F8_2x3, _six(), 3), 2, 3), "accept")


def test_fortran_order_is_column_major() raises:
    var values = read_one(npy_bytes(_header("<f8", "True", "(2, 3)"), _six()), 2, 3)
    # Column-major data 1..6 is the matrix [[1, 3, 5], [2, 4, 6]].
    assert_equal(values[0], 1.0)
    assert_equal(values[1], 3.0)
    assert_equal(values[3], 2.0)
    assert_equal(values[5], 6.0)


def test_widening() raises:
    # >f8 1.0, <f4 0.1, <f2 smallest subnormal and -2.5, |i1 -1, >i2 -2, <u8 2^64-1, <i8 2^53+1.
    var v = read_one(npy_bytes(_header(">f8", "False", "(1, 1)"), from_hex("3ff0000000000000")), 1, 1)
    assert_equal(v[0], 1.0)
    v = read_one(npy_bytes(_header("<f4", "False", "(1, 1)"), from_hex("cdcccc3d")), 1, 1)
    assert_equal(v[0], Float64(Float32(0.1)))
    v = read_one(npy_bytes(_header("<f2", "False", "(1, 2)"), from_hex("010000c1")), 1, 2)
    assert_equal(v[0], 5.960464477539063e-08)
    assert_equal(v[1], -2.5)
    v = read_one(npy_bytes(_header("|i1", "False", "(1, 1)"), from_hex("ff")), 1, 1)
    assert_equal(v[0], -1.0)
    v = read_one(npy_bytes(_header(">i2", "False", "(1, 1)"), from_hex("fffe")), 1, 1)
    assert_equal(v[0], -2.0)
    v = read_one(npy_bytes(_header("<u8", "False", "(1, 1)"), from_hex("ffffffffffffffff")), 1, 1)
    assert_equal(v[0], 18446744073709551616.0)
    # 2^53 + 1 is a tie between 2^53 and 2^53 + 2: ties to even gives 2^53.
    v = read_one(npy_bytes(_header("<i8", "False", "(1, 1)"), from_hex("0100000000002000")), 1, 1)
    assert_equal(v[0], 9007199254740992.0)


def test_magic() raises:
    var good = npy_bytes(F8_2x3, _six())
    var bad = good.copy()
    bad[1] = 0x6E
    assert_equal(npy_code(bad, 2, 3), "array.npy.magic")
    bad = good.copy()
    bad[6] = 4
    assert_equal(npy_code(bad, 2, 3), "array.npy.magic")
    bad = good.copy()
    bad[7] = 1
    assert_equal(npy_code(bad, 2, 3), "array.npy.magic")
    assert_equal(npy_code(from_hex("934e554d"), 2, 3), "array.npy.magic")


def test_header_grammar() raises:
    var bad: List[String] = [
        "{'descr': '<f8', 'fortran_order': False}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3]}",
        "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}",
        "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3) + (1,)}",
        "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f8',\t'fortran_order': False, 'shape': (2, 3)}",
        "{\"descr\": '<f8', 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (02, 3)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1234567890123456789)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,, 3)}",
        "{}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}}",
    ]
    for h in bad:
        assert_equal(npy_code(npy_bytes(h, _six()), 2, 3), "array.npy.header", h)
    # No newline at the end.
    var no_newline = npy_bytes(F8_2x3, _six())
    no_newline[10 + 117] = 0x20
    assert_equal(npy_code(no_newline, 2, 3), "array.npy.header")
    # Header length past the end of the member.
    var long = npy_bytes(F8_2x3, _six())
    long[8] = 0xFF
    long[9] = 0xFF
    assert_equal(npy_code(long, 2, 3), "array.npy.header")
    # Spaces anywhere between tokens, no trailing comma, any key order: all fine.
    var ok: List[String] = [
        "{'shape':(2,3),'fortran_order':False,'descr':'<f8'}",
        "  { 'descr' : '<f8' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
    ]
    for h in ok:
        assert_equal(npy_code(npy_bytes(h, _six()), 2, 3), "accept", h)


def test_dtypes() raises:
    assert_equal(npy_code(npy_bytes(_header("|O", "False", "(2, 3)"), _six()), 2, 3), "array.dtype.pickle")
    # "O" and "" have no second character, so they are not object arrays (array.dtype.pickle).
    var refused: List[String] = ["|b1", "<c16", "<U1", "|S8", "=f8", "<f16", "<i1", "<M8[s]", "O", ""]
    for d in refused:
        assert_equal(npy_code(npy_bytes(_header(d, "False", "(2, 3)"), _six()), 2, 3), "array.dtype", d)


def _with_byte(var data: List[UInt8], placeholder: UInt8, byte: UInt8) -> List[UInt8]:
    """`data` with its first `placeholder` byte replaced by `byte`."""
    for i in range(len(data)):
        if data[i] == placeholder:
            data[i] = byte
            break
    return data^


def test_pickle_looks_at_the_second_decoded_character() raises:
    # 1.0 and 2.0 headers are Latin-1: the byte E9 is one character, "O" is second.
    for major in range(1, 3):
        var placeholder = npy_bytes(_header("#O", "False", "(2, 3)"), _six(), major)
        var latin1 = _with_byte(placeholder^, 0x23, 0xE9)
        assert_equal(npy_code(latin1, 2, 3), "array.dtype.pickle")
        # The UTF-8 bytes of "é" are two Latin-1 characters: "O" is third.
        assert_equal(npy_code(npy_bytes(_header("éO", "False", "(2, 3)"), _six(), major), 2, 3),
                     "array.dtype")
    # 3.0 headers are UTF-8: "é" is one character.
    assert_equal(npy_code(npy_bytes(_header("éO", "False", "(2, 3)"), _six(), 3), 2, 3),
                 "array.dtype.pickle")


def test_shapes_and_length() raises:
    assert_equal(npy_code(npy_bytes(_header("<f8", "False", "()"), _six()), 2, 3), "array.shape.rank")
    assert_equal(npy_code(npy_bytes(_header("<f8", "False", "(6,)"), _six()), 2, 3), "array.shape.rank")
    assert_equal(npy_code(npy_bytes(_header("<f8", "False", "(1, 2, 3)"), _six()), 2, 3), "array.shape.rank")
    assert_equal(npy_code(npy_bytes(_header("<f8", "False", "(3, 2)"), _six()), 2, 3), "array.shape.match")
    var long = _six()
    long.append(0)
    assert_equal(npy_code(npy_bytes(F8_2x3, long), 2, 3), "array.data.length")
    var short = _six()
    _ = short.pop()
    assert_equal(npy_code(npy_bytes(F8_2x3, short), 2, 3), "array.data.length")
    # A huge declared shape with no data: refused before anything is allocated.
    var huge = _header("<f8", "False", "(2147483647, 2147483647)")
    assert_equal(npy_code(npy_bytes(huge, _six()), 2147483647, 2147483647), "array.data.length")


def test_finite() raises:
    var values: List[Float64] = [1.0, 2.0, 3.0, 4.0, Float64.MAX * 2.0, 6.0]
    assert_equal(npy_code(npy_bytes(F8_2x3, f8_bytes(values)), 2, 3), "array.finite")
    # float16 infinity (0x7c00).
    assert_equal(npy_code(npy_bytes(_header("<f2", "False", "(1, 1)"), from_hex("007c")), 1, 1), "array.finite")


def _layers_code(first: List[UInt8], second: List[UInt8]) -> String:
    # Layers "a" (3 -> 2) and "b" (3 -> 2).
    var members = List[List[UInt8]]()
    members.append(first.copy())
    members.append(second.copy())
    var names: List[String] = ["a", "b"]
    var sizes: List[Int] = [3, 3]
    var rows: List[Int] = [2, 2]
    try:
        _ = read_layers(members, names, sizes, rows)
        return "accept"
    except e:
        return e.code


def test_each_invariant_over_every_layer_before_the_next() raises:
    var good = npy_bytes(F8_2x3, _six())
    var nonfinite: List[Float64] = [1.0, 2.0, 3.0, 4.0, Float64.MAX * 2.0, 6.0]
    var bad_magic = good.copy()
    bad_magic[1] = 0x6E
    # Layer 0 has a non-finite weight, layer 1 a bad magic: magic comes first in spec order.
    assert_equal(_layers_code(npy_bytes(F8_2x3, f8_bytes(nonfinite)), bad_magic), "array.npy.magic")
    # Layer 0's data is short, layer 1's dtype refused: dtype first.
    var short = _six()
    _ = short.pop()
    var refused = npy_bytes(_header("<c16", "False", "(2, 3)"), _six())
    assert_equal(_layers_code(npy_bytes(F8_2x3, short), refused), "array.dtype")
    # Layer 0's shape does not match, layer 1's rank is wrong: rank first.
    var rank1 = npy_bytes(_header("<f8", "False", "(6,)"), _six())
    assert_equal(_layers_code(npy_bytes(_header("<f8", "False", "(3, 2)"), _six()), rank1),
                 "array.shape.rank")
    assert_equal(_layers_code(good, good), "accept")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
