"""NumPy's .npy format: magic, version, the restricted header grammar, accepted dtypes widened
to float64 (float16 included), byte order and Fortran order.

`read_npy` evaluates the array.* invariants of one member in spec order. The data length is
checked against the header's shape before anything is allocated for the values.
"""

from std.memory import bitcast

from json import utf8_error
from errors import (
    CheckpointError,
    ARRAY_NPY_MAGIC,
    ARRAY_NPY_HEADER,
    ARRAY_DTYPE_PICKLE,
    ARRAY_DTYPE,
    ARRAY_SHAPE_RANK,
    ARRAY_SHAPE_MATCH,
    ARRAY_DATA_LENGTH,
    ARRAY_FINITE,
    quote,
)


@fieldwise_init
struct NpyHeader(Copyable, Movable):
    """The three keys of a .npy header."""

    var descr: String
    var fortran_order: Bool
    var shape: List[Int]


def shape_repr(shape: List[Int]) -> String:
    """A shape the way Python prints a tuple: (), (3,), (2, 3)."""
    var out = String("(")
    for i in range(len(shape)):
        if i > 0:
            out += ", "
        out += String(shape[i])
    if len(shape) == 1:
        out += ","
    out += ")"
    return out^


def _where(layer: String, member: String) -> String:
    return String("Checkpoint layer ", quote(layer), " (", member, ")")


def _header_error(layer: String, member: String, detail: String) -> CheckpointError:
    return CheckpointError(
        ARRAY_NPY_HEADER, String(_where(layer, member), " has a malformed .npy header: ", detail)
    )


# ===----------------------------------------------------------------------=== #
# Header grammar
# ===----------------------------------------------------------------------=== #


struct _HeaderParser:
    var text: List[UInt8]
    var pos: Int
    var layer: String
    var member: String

    def __init__(out self, var text: List[UInt8], layer: String, member: String):
        self.text = text^
        self.pos = 0
        self.layer = layer
        self.member = member

    def fail(self, what: String) -> CheckpointError:
        return _header_error(self.layer, self.member, String(what, " at header byte ", self.pos))

    def spaces(mut self):
        while self.pos < len(self.text) and self.text[self.pos] == 0x20:
            self.pos += 1

    def peek(self) -> Int:
        if self.pos < len(self.text):
            return Int(self.text[self.pos])
        return -1

    def expect(mut self, c: Int, what: String) raises CheckpointError:
        if self.peek() != c:
            raise self.fail(String("expected ", what))
        self.pos += 1

    def word(mut self, w: StringSlice) -> Bool:
        var bytes = w.as_bytes()
        if self.pos + len(bytes) > len(self.text):
            return False
        for k in range(len(bytes)):
            if self.text[self.pos + k] != bytes[k]:
                return False
        self.pos += len(bytes)
        return True

    def quoted(mut self) raises CheckpointError -> String:
        # "'" <characters other than ' and \> "'"
        self.expect(0x27, "a quoted string")
        var start = self.pos
        while True:
            var c = self.peek()
            if c < 0:
                raise self.fail("unterminated string")
            if c == 0x5C:
                raise self.fail("a backslash in a string")
            if c == 0x27:
                break
            self.pos += 1
        var out = String(from_utf8_lossy=Span(self.text)[start : self.pos])
        self.pos += 1
        return out^

    def integer(mut self) raises CheckpointError -> Int:
        # "0" | [1-9][0-9]*
        var c = self.peek()
        if c == 0x30:
            self.pos += 1
            return 0
        if c < 0x31 or c > 0x39:
            raise self.fail("expected a non-negative integer")
        # At most 18 digits, like the reference's token pattern: no dimension can be larger.
        var value = 0
        var digits = 0
        while self.peek() >= 0x30 and self.peek() <= 0x39:
            value = value * 10 + (self.peek() - 0x30)
            digits += 1
            if digits > 18:
                raise self.fail("a dimension with more than 18 digits")
            self.pos += 1
        return value

    def shape(mut self) raises CheckpointError -> List[Int]:
        # "(" ")" | "(" int "," ")" | "(" int ("," int)+ [","] ")"
        self.expect(0x28, "'(' to open the shape tuple")
        var dims = List[Int]()
        self.spaces()
        if self.peek() == 0x29:
            self.pos += 1
            return dims^
        dims.append(self.integer())
        self.spaces()
        if self.peek() == 0x29:
            raise self.fail("a one-element shape needs a trailing ','")
        while True:
            self.expect(0x2C, "',' or ')' in the shape tuple")
            self.spaces()
            if self.peek() == 0x29:
                self.pos += 1
                return dims^
            dims.append(self.integer())
            self.spaces()
            if self.peek() == 0x29:
                self.pos += 1
                return dims^

    def parse(mut self) raises CheckpointError -> NpyHeader:
        var descr = String()
        var fortran = False
        var shape = List[Int]()
        var seen_descr = False
        var seen_fortran = False
        var seen_shape = False
        self.spaces()
        self.expect(0x7B, "'{'")
        while True:
            self.spaces()
            if self.peek() == 0x7D and (seen_descr or seen_fortran or seen_shape):
                # A trailing comma before '}' is allowed; an empty dict is not.
                break
            if self.word("'descr'"):
                if seen_descr:
                    raise self.fail("'descr' given twice")
                seen_descr = True
                self.spaces()
                self.expect(0x3A, "':'")
                self.spaces()
                descr = self.quoted()
            elif self.word("'fortran_order'"):
                if seen_fortran:
                    raise self.fail("'fortran_order' given twice")
                seen_fortran = True
                self.spaces()
                self.expect(0x3A, "':'")
                self.spaces()
                if self.word("True"):
                    fortran = True
                elif self.word("False"):
                    fortran = False
                else:
                    raise self.fail("fortran_order must be True or False")
            elif self.word("'shape'"):
                if seen_shape:
                    raise self.fail("'shape' given twice")
                seen_shape = True
                self.spaces()
                self.expect(0x3A, "':'")
                self.spaces()
                shape = self.shape()
            else:
                raise self.fail("expected 'descr', 'fortran_order' or 'shape'")
            self.spaces()
            if self.peek() == 0x2C:
                self.pos += 1
                continue
            if self.peek() == 0x7D:
                break
            raise self.fail("expected ',' or '}'")
        self.pos += 1
        self.spaces()
        if self.peek() != 0x0A or self.pos != len(self.text) - 1:
            raise self.fail("expected the header to end with '}', spaces and one newline")
        if not (seen_descr and seen_fortran and seen_shape):
            var missing = "'descr'" if not seen_descr else (
                "'fortran_order'" if not seen_fortran else "'shape'")
            raise _header_error(self.layer, self.member, String("missing key ", missing))
        return NpyHeader(descr, fortran, shape^)


# ===----------------------------------------------------------------------=== #
# Reading
# ===----------------------------------------------------------------------=== #


def _accepted(descr: String) -> Bool:
    if descr == "|i1" or descr == "|u1":
        return True
    var b = descr.as_bytes()
    if len(b) != 3 or (b[0] != 0x3C and b[0] != 0x3E):
        return False
    var kind = b[1]
    var size = b[2]
    if kind == 0x66:
        return size == 0x32 or size == 0x34 or size == 0x38
    if kind == 0x69 or kind == 0x75:
        return size == 0x32 or size == 0x34 or size == 0x38
    return False


def _half_to_double(h: Int) -> Float64:
    var sign = -1.0 if (h >> 15) & 1 == 1 else 1.0
    var exp = (h >> 10) & 0x1F
    var mant = h & 0x3FF
    if exp == 0:
        # Subnormal: mant * 2^-24, exact.
        return sign * Float64(mant) * 5.9604644775390625e-08
    if exp == 31:
        if mant == 0:
            return sign * (Float64.MAX * 2.0)
        return Float64.MAX * 2.0 - Float64.MAX * 2.0
    var bits = UInt64(exp - 15 + 1023) << 52 | UInt64(mant) << 42
    var value = bitcast[DType.float64](bits)
    return sign * value


def _load_bits(data: Span[UInt8, _], at: Int, size: Int, big: Bool) -> UInt64:
    var v = UInt64(0)
    if big:
        for k in range(size):
            v = (v << 8) | UInt64(data[at + k])
    else:
        for k in range(size):
            v |= UInt64(data[at + k]) << UInt64(8 * k)
    return v


def _widen(bits: UInt64, kind: Int, size: Int) -> Float64:
    if kind == 0x66:  # f
        if size == 8:
            return bitcast[DType.float64](bits)
        if size == 4:
            return Float64(bitcast[DType.float32](UInt32(bits)))
        return _half_to_double(Int(bits))
    if kind == 0x69:  # i
        if size == 1:
            return Float64(Int(bitcast[DType.int8](UInt8(bits))))
        if size == 2:
            return Float64(Int(bitcast[DType.int16](UInt16(bits))))
        if size == 4:
            return Float64(Int(bitcast[DType.int32](UInt32(bits))))
        # int64 -> float64 rounds to nearest, ties to even (the hardware conversion).
        return Float64(bitcast[DType.int64](bits))
    return Float64(bits)


def read_npy(
    member: Span[UInt8, _], layer: String, member_name: String, rows: Int, cols: Int
) raises CheckpointError -> List[Float64]:
    """Read one layer's .npy member as a row-major (rows, cols) float64 matrix.

    Raises:
        CheckpointError: The first array.* invariant the member violates, in spec order.
    """
    var n = len(member)
    if n < 8:
        raise CheckpointError(ARRAY_NPY_MAGIC, String(_where(layer, member_name),
                              " is not a .npy array: only ", n, " bytes"))
    var magic = "NUMPY".as_bytes()
    for k in range(6):
        if (k == 0 and member[0] != 0x93) or (k > 0 and member[k] != magic[k - 1]):
            raise CheckpointError(ARRAY_NPY_MAGIC, String(_where(layer, member_name),
                                  " is not a .npy array: bad magic"))
    var major = Int(member[6])
    var minor = Int(member[7])
    if minor != 0 or major < 1 or major > 3:
        raise CheckpointError(ARRAY_NPY_MAGIC, String(_where(layer, member_name),
                              " is not a .npy array: unsupported version ", major, ".", minor))
    var header_start = 10 if major == 1 else 12
    if n < header_start:
        raise _header_error(layer, member_name, "the header length does not fit in the member")
    var header_len = Int(member[8]) | (Int(member[9]) << 8)
    if major != 1:
        header_len |= (Int(member[10]) << 16) | (Int(member[11]) << 24)
    if header_len > n - header_start:
        raise _header_error(layer, member_name, String("the header length ", header_len,
                            " runs past the member's ", n, " bytes"))
    var text = List[UInt8](capacity=header_len)
    text.extend(member[header_start : header_start + header_len])
    if major == 3:
        if utf8_error(Span(text)) >= 0:
            raise _header_error(layer, member_name, "the version 3.0 header is not UTF-8")
    # Latin-1 decodes any byte; the grammar only admits ASCII outside the descr string anyway.
    var parser = _HeaderParser(text^, layer, member_name)
    var header = parser.parse()
    var descr = header.descr
    var db = descr.as_bytes()
    # The type character follows the byte-order character: descr[1], as the reference reads it.
    if len(db) > 1 and db[1] == 0x4F:
        raise CheckpointError(ARRAY_DTYPE_PICKLE, String(_where(layer, member_name),
                              " holds a pickled object array, which is refused"))
    if not _accepted(descr):
        raise CheckpointError(ARRAY_DTYPE, String(_where(layer, member_name),
                              " has unsupported dtype ", quote(descr)))
    if len(header.shape) != 2:
        raise CheckpointError(ARRAY_SHAPE_RANK, String("Checkpoint layer ", quote(layer),
                              " weights must be 2-D, got shape ", shape_repr(header.shape)))
    if header.shape[0] != rows or header.shape[1] != cols:
        raise CheckpointError(ARRAY_SHAPE_MATCH, String("Checkpoint layer ", quote(layer),
                              " weights have shape ", shape_repr(header.shape), ", expected (",
                              rows, ", ", cols, ")"))
    var size = Int(db[2] - 0x30) if len(db) == 3 and db[2] >= 0x30 and db[2] <= 0x39 else 1
    var kind = Int(db[1])
    var data_start = header_start + header_len
    var got = n - data_start
    # rows and cols are at most 2^31 - 1, so their product fits; the byte count may not.
    var count = rows * cols
    if got % size != 0 or got // size != count:
        raise CheckpointError(ARRAY_DATA_LENGTH, String(_where(layer, member_name), " has ", got,
                              " data bytes, its header declares ", count, " x ", size))
    var big = db[0] == 0x3E
    var values = List[Float64](length=count, fill=0.0)
    for i in range(count):
        var v = _widen(_load_bits(member, data_start + i * size, size, big), kind, size)
        if header.fortran_order:
            # Column-major: element i is (i % rows, i // rows).
            values[(i % rows) * cols + i // rows] = v
        else:
            values[i] = v
    for i in range(count):
        var v = values[i]
        if v != v or v == Float64.MAX * 2.0 or v == -Float64.MAX * 2.0:
            raise CheckpointError(ARRAY_FINITE, String("Checkpoint layer ", quote(layer),
                                  " has a non-finite weight at (", i // cols, ", ", i % cols, ")"))
    return values^
