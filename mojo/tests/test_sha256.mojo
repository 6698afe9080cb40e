"""Tests for sha256.mojo: known digests, including the spec's float64 weight digest."""

from std.testing import assert_equal, TestSuite

from sha256 import sha256_hex, sha256_hex_float64
from support import bytes_of


def test_known_vector() raises:
    assert_equal(sha256_hex(Span(bytes_of("abc"))),
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_weight_digest_is_little_endian_float64() raises:
    # hashlib.sha256(struct.pack("<2d", 1.0, -0.0)).hexdigest()
    var values: List[Float64] = [1.0, -0.0]
    assert_equal(sha256_hex_float64(values),
                 "5e9d905ef08923718da5998eb8ae14dc75a714656224d3753b679523d5a268d9")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
