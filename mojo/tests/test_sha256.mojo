"""Tests for sha256.mojo: known digests, including the spec's float64 weight digest."""

from std.testing import assert_equal, TestSuite

from sha256 import Sha256, sha256_hex, sha256_hex_float64
from support import bytes_of


def test_known_vector() raises:
    assert_equal(sha256_hex(Span(bytes_of("abc"))),
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_incremental_equals_one_shot() raises:
    # A file is hashed while it is written, in pieces of any size (here: 0, 1, 2, ... bytes).
    var data = List[UInt8]()
    for i in range(5000):
        data.append(UInt8((i * 7919) % 251))
    var hasher = Sha256()
    var at = 0
    var piece = 0
    while at < len(data):
        var end = min(at + piece, len(data))
        hasher.update(Span(data)[at:end])
        at = end
        piece += 1
    assert_equal(hasher.hexdigest(), sha256_hex(Span(data)))
    var empty = Sha256()
    assert_equal(empty.hexdigest(),
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_weight_digest_is_little_endian_float64() raises:
    # hashlib.sha256(struct.pack("<2d", 1.0, -0.0)).hexdigest()
    var values: List[Float64] = [1.0, -0.0]
    assert_equal(sha256_hex_float64(values),
                 "5e9d905ef08923718da5998eb8ae14dc75a714656224d3753b679523d5a268d9")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
