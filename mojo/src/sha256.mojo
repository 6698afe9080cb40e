"""SHA-256 through the system libcrypto (link with -lcrypto), as lowercase hex."""

from std.ffi import external_call


def _hex(digest: List[UInt8]) -> String:
    comptime HEX = "0123456789abcdef"
    var out = String(capacity_bytes=64)
    for b in digest:
        out += HEX[byte = Int(b >> 4)]
        out += HEX[byte = Int(b & 15)]
    return out^


def sha256_hex(data: Span[UInt8, _]) -> String:
    """The lowercase hex SHA-256 of some bytes."""
    var digest = List[UInt8](length=32, fill=0)
    _ = external_call["SHA256", Int](data.unsafe_ptr(), len(data), digest.unsafe_ptr())
    return _hex(digest)


def sha256_hex_float64(values: List[Float64]) -> String:
    """The spec's weight digest: SHA-256 of the values as little-endian IEEE-754 float64.

    Hashes the list's memory directly, which is little-endian on every target Mojo supports
    (x86-64, aarch64); test_sha256 pins a known digest so a big-endian port would fail loudly.
    """
    var digest = List[UInt8](length=32, fill=0)
    _ = external_call["SHA256", Int](values.unsafe_ptr(), len(values) * 8, digest.unsafe_ptr())
    return _hex(digest)
