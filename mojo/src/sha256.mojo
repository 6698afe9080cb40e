"""SHA-256 through the system libcrypto (link with -lcrypto), as lowercase hex: one-shot, of a file
(read in pieces), or incremental (`Sha256`) so that a file is hashed while it is read."""

from std.ffi import external_call

# sizeof(SHA256_CTX) is 112 bytes (8 + 2 + 16 + 2 uint32 words); the buffer is rounded up.
comptime _CTX_WORDS = 16


def _hex(digest: List[UInt8]) -> String:
    comptime HEX = "0123456789abcdef"
    var out = String(capacity_bytes=64)
    for b in digest:
        out += HEX[byte = Int(b >> 4)]
        out += HEX[byte = Int(b & 15)]
    return out^


struct Sha256(Movable):
    """An incremental SHA-256 (libcrypto's SHA256_Init / _Update / _Final)."""

    var ctx: List[UInt64]

    def __init__(out self):
        self.ctx = List[UInt64](length=_CTX_WORDS, fill=0)
        _ = external_call["SHA256_Init", Int32](self.ctx.unsafe_ptr())

    def update(mut self, data: Span[UInt8, _]):
        _ = external_call["SHA256_Update", Int32](self.ctx.unsafe_ptr(), data.unsafe_ptr(), len(data))

    def hexdigest(mut self) -> String:
        """The lowercase hex digest of everything updated so far; ends the computation."""
        var digest = List[UInt8](length=32, fill=0)
        _ = external_call["SHA256_Final", Int32](digest.unsafe_ptr(), self.ctx.unsafe_ptr())
        return _hex(digest)


def sha256_hex(data: Span[UInt8, _]) -> String:
    """The lowercase hex SHA-256 of some bytes."""
    var hasher = Sha256()
    hasher.update(data)
    return hasher.hexdigest()


def sha256_file(path: String) raises -> String:
    """The lowercase hex SHA-256 of a file's bytes, read in 1 MiB pieces."""
    var hasher = Sha256()
    with open(path, "r") as f:
        while True:
            var piece = f.read_bytes(1 << 20)
            if len(piece) == 0:
                break
            hasher.update(Span(piece))
    return hasher.hexdigest()


def float64_bytes(values: List[Float64]) -> Span[UInt8, origin_of(values)]:
    """The values' memory as bytes: little-endian IEEE-754 float64 on every target Mojo supports
    (x86-64, aarch64); test_sha256 pins a known digest so that a big-endian port fails loudly."""
    return Span[UInt8, origin_of(values)](
        unsafe_ptr=values.unsafe_ptr().unsafe_bitcast[UInt8](), length=len(values) * 8
    )


def sha256_hex_float64(values: List[Float64]) -> String:
    """The spec's weight digest: SHA-256 of the values as little-endian IEEE-754 float64."""
    return sha256_hex(float64_bytes(values))
