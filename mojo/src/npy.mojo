"""NumPy's .npy format: magic, version, the restricted header grammar, accepted dtypes widened
to float64 (float16 included), byte order and Fortran order.

`read_layers` is the load surface's array phase: each array.* invariant over every layer before
the next, in spec order. The data length is checked against the header's shape before anything
is allocated for the values.
"""

from std.ffi import external_call
from std.memory import bitcast

from errors import (
    CheckpointError,
    ARRAY_NPY_MAGIC,
    ARRAY_NPY_HEADER,
    ARRAY_DTYPE_PICKLE,
    ARRAY_DTYPE,
    ARRAY_DATA_LENGTH,
    quote,
)
from fields import check_ranks, check_shapes, check_finite
from json import utf8_error
from limits import is_accepted_dtype, NPY_DIMENSION_DIGITS_MAX
from zip import MemberSink, layer_member_name


@fieldwise_init
struct NpyHeader(Copyable, Movable):
    """The three keys of a .npy header, and where the data starts in the member."""

    var descr: String
    var fortran_order: Bool
    var shape: List[Int]
    var data_start: Int


def _where(layer: String, member: String) -> String:
    return String("Checkpoint layer ", quote(layer), " (", member, ")")


def _header_error(layer: String, member: String, detail: String) -> CheckpointError:
    return CheckpointError(
        ARRAY_NPY_HEADER, String(_where(layer, member), " has a malformed .npy header: ", detail)
    )


# ===----------------------------------------------------------------------=== #
# Header grammar
# ===----------------------------------------------------------------------=== #


def _keys() -> List[String]:
    """The header's keys, in the order the messages name them."""
    return ["'descr'", "'fortran_order'", "'shape'"]


struct _HeaderParser:
    var text: List[UInt8]
    # Format 1.0 and 2.0 headers are Latin-1 (one byte, one character), 3.0 headers UTF-8.
    var latin1: Bool
    var pos: Int
    var layer: String
    var member_name: String

    def __init__(out self, var text: List[UInt8], latin1: Bool, layer: String, member: String):
        self.text = text^
        self.latin1 = latin1
        self.pos = 0
        self.layer = layer
        self.member_name = member

    def fail(self, what: String) -> CheckpointError:
        return _header_error(self.layer, self.member_name, String(what, " at header byte ", self.pos))

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

    def word(mut self, w: String) -> Bool:
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
        var raw = Span(self.text)[start : self.pos]
        self.pos += 1
        if not self.latin1:
            return String(unsafe_from_utf8=raw)  # checked as UTF-8 before parsing
        var utf8 = List[UInt8](capacity=2 * len(raw))
        for b in raw:
            if b < 0x80:
                utf8.append(b)
            else:
                utf8.append(0xC0 | (b >> 6))
                utf8.append(0x80 | (b & 0x3F))
        return String(unsafe_from_utf8=Span(utf8))

    def integer(mut self) raises CheckpointError -> Int:
        # "0" | [1-9][0-9]*
        var c = self.peek()
        if c == 0x30:
            self.pos += 1
            return 0
        if c < 0x31 or c > 0x39:
            raise self.fail("expected a non-negative integer")
        # At most NPY_DIMENSION_DIGITS_MAX digits whatever the value, so every one fits an Int.
        var value = 0
        var digits = 0
        while self.peek() >= 0x30 and self.peek() <= 0x39:
            value = value * 10 + (self.peek() - 0x30)
            digits += 1
            if digits > NPY_DIMENSION_DIGITS_MAX:
                raise self.fail(String("a dimension with more than ", NPY_DIMENSION_DIGITS_MAX,
                                       " digits"))
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
        # "{" member ("," member)* [","] "}" spaces "\n", each key exactly once.
        var header = NpyHeader(String(), False, List[Int](), 0)
        var seen = List[Bool](length=3, fill=False)
        self.spaces()
        self.expect(0x7B, "'{'")
        while True:
            self.spaces()
            if self.peek() == 0x7D and (seen[0] or seen[1] or seen[2]):
                # A trailing comma before '}' is allowed; an empty dict is not.
                break
            self.member(header, seen)
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
        for key in range(3):
            if not seen[key]:
                raise _header_error(self.layer, self.member_name,
                                    String("missing key ", _keys()[key]))
        return header^

    def member(mut self, mut header: NpyHeader, mut seen: List[Bool]) raises CheckpointError:
        # key ":" value, for one of the three keys (an index into _keys()).
        var keys = _keys()
        var key = -1
        for k in range(3):
            if key < 0 and self.word(keys[k]):
                key = k
        if key < 0:
            raise self.fail("expected 'descr', 'fortran_order' or 'shape'")
        if seen[key]:
            raise self.fail(String(keys[key], " given twice"))
        seen[key] = True
        self.spaces()
        self.expect(0x3A, "':'")
        self.spaces()
        if key == 0:
            header.descr = self.quoted()
        elif key == 1:
            if self.word("True"):
                header.fortran_order = True
            elif self.word("False"):
                header.fortran_order = False
            else:
                raise self.fail("fortran_order must be True or False")
        else:
            header.shape = self.shape()


# ===----------------------------------------------------------------------=== #
# Widening
# ===----------------------------------------------------------------------=== #


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


# ===----------------------------------------------------------------------=== #
# The array phase: each invariant over every layer before the next
# ===----------------------------------------------------------------------=== #


def check_headers(
    prefixes: List[List[UInt8]], sizes: List[Int], names: List[String], inputs: List[Int],
    outputs: List[Int],
) raises CheckpointError -> List[NpyHeader]:
    """The array invariants that the members' headers decide, each over every layer before the
    next, in spec order (array.finite, on the values, comes after them): each layer's parsed
    header. `prefixes[i]` holds member i's first bytes through its header (all of them when the
    member is shorter), `sizes[i]` the member's length.

    Raises:
        CheckpointError: The first of those array.* invariants violated.
    """
    var n = len(names)
    var member_names = List[String]()
    for i in range(n):
        member_names.append(layer_member_name(i))
    for i in range(n):
        check_magic(Span(prefixes[i]), names[i], member_names[i])
    var headers = List[NpyHeader]()
    for i in range(n):
        headers.append(parse_header(Span(prefixes[i]), sizes[i], names[i], member_names[i]))
    for i in range(n):
        check_not_pickled(headers[i], names[i], member_names[i])
    for i in range(n):
        check_accepted_dtype(headers[i], names[i], member_names[i])
    var shapes = List[List[Int]]()
    for ref header in headers:
        shapes.append(header.shape.copy())
    check_ranks(names, shapes)
    check_shapes(names, inputs, outputs, shapes)
    for i in range(n):
        check_data_length(sizes[i], headers[i], names[i], member_names[i])
    return headers^


def check_magic(member: Span[UInt8, _], layer: String, member_name: String) raises CheckpointError:
    """array.npy.magic: the magic string, then version 1.0, 2.0 or 3.0."""
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


def parse_header(
    member: Span[UInt8, _], size: Int, layer: String, member_name: String
) raises CheckpointError -> NpyHeader:
    """array.npy.header: the header length, its encoding and the dict grammar. `member` holds
    the member's first bytes (through the header, when it fits), `size` is its length."""
    var n = size
    var major = Int(member[6])
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
    # The grammar only admits ASCII outside the descr string, whose characters are decoded.
    var parser = _HeaderParser(text^, major != 3, layer, member_name)
    var header = parser.parse()
    header.data_start = header_start + header_len
    return header^


def check_not_pickled(header: NpyHeader, layer: String, member_name: String) raises CheckpointError:
    """array.dtype.pickle: the descr's second character (a decoded character, after the
    byte-order character) is "O"; a shorter descr has none."""
    var second = -1
    var position = 0
    for cp in header.descr.codepoints():
        if position == 1:
            second = Int(cp)
            break
        position += 1
    if second == 0x4F:
        raise CheckpointError(ARRAY_DTYPE_PICKLE, String(_where(layer, member_name),
                              " holds a pickled object array, which is refused"))


def check_accepted_dtype(
    header: NpyHeader, layer: String, member_name: String
) raises CheckpointError:
    """array.dtype: one of the spec's accepted dtypes."""
    if not is_accepted_dtype(header.descr):
        raise CheckpointError(ARRAY_DTYPE, String(_where(layer, member_name),
                              " has unsupported dtype ", quote(header.descr)))


def _item_size(descr: String) -> Int:
    # Accepted descrs end with their byte count ("<f8"); "|i1" and "|u1" too.
    var db = descr.as_bytes()
    return Int(db[2] - 0x30)


def check_data_length(
    member_size: Int, header: NpyHeader, layer: String, member_name: String
) raises CheckpointError:
    """array.data.length: exactly rows * cols items follow the header (shape already matched,
    so rows and cols are at most 2^31 - 1 and their product fits; the byte count may not)."""
    var size = _item_size(header.descr)
    var got = member_size - header.data_start
    var count = header.shape[0] * header.shape[1]
    if got % size != 0 or got // size != count:
        raise CheckpointError(ARRAY_DATA_LENGTH, String(_where(layer, member_name), " has ", got,
                              " data bytes, its header declares ", count, " x ", size))


# ===----------------------------------------------------------------------=== #
# Streaming: the members into their matrices
# ===----------------------------------------------------------------------=== #

# The member's states during the pass.
comptime _HEADER = 0  # collecting the magic, version, header length and header
comptime _DATA = 1  # the header passed on its own: data goes into the matrix
comptime _IGNORED = 2  # the header failed: the ordered checks report it at the end


def _prefix_wanted(prefix: List[UInt8], size: Int) -> Int:
    """How many of the member's first bytes the header checks read: 12 (enough for magic,
    version and either length field), then through the header when its length fits."""
    var wanted = min(size, 12)
    if len(prefix) < wanted:
        return wanted
    if len(prefix) < 10 or prefix[0] != 0x93 or prefix[6] < 1 or prefix[6] > 3:
        return len(prefix)  # array.npy.magic (or .header) decides on these bytes
    var start = 10 if prefix[6] == 1 else 12
    var header_len = Int(prefix[8]) | (Int(prefix[9]) << 8)
    if start == 12:
        if len(prefix) < 12:
            return len(prefix)
        header_len |= (Int(prefix[10]) << 16) | (Int(prefix[11]) << 24)
    if header_len > size - start:
        return len(prefix)
    return max(start + header_len, len(prefix))


struct _Layer(Movable):
    """One layer's member during the pass."""

    var state: Int
    var size: Int  # the member's declared (uncompressed) length
    var prefix: List[UInt8]
    var header: NpyHeader
    var values: List[Float64]
    var got: Int  # data bytes converted (items whole: a split item waits in `carry`)
    var carry: List[UInt8]

    def __init__(out self, size: Int):
        self.state = _HEADER
        self.size = size
        self.prefix = List[UInt8]()
        self.header = NpyHeader(String(), False, List[Int](), 0)
        self.values = List[Float64]()
        self.got = 0
        self.carry = List[UInt8]()

    def in_place(self) -> Bool:
        """Whether the data bytes are the matrix's own bytes (little-endian float64, C order)."""
        return self.header.descr == "<f8" and not self.header.fortran_order

    def data_bytes(self) -> Int:
        return len(self.values) * _item_size(self.header.descr)

    def convert(mut self, data: Span[UInt8, _]):
        """The next data bytes into the matrix; bytes past its end are dropped (the member is
        then longer than declared, which archive.member.integrity has refused)."""
        if self.in_place():
            var n = min(len(data), self.data_bytes() - self.got)
            if n > 0:
                var target = self.values.unsafe_ptr().unsafe_bitcast[UInt8]().unsafe_offset(self.got)
                _ = external_call["memcpy", Int](target, data.unsafe_ptr(), n)
                self.got += n
            return
        var size = _item_size(self.header.descr)
        var i = 0
        if len(self.carry) > 0:
            while len(self.carry) < size and i < len(data):
                self.carry.append(data[i])
                i += 1
            if len(self.carry) < size:
                return
            var whole = self.carry.copy()
            self.carry.clear()
            self._put(Span(whole), 0)
        while i + size <= len(data):
            self._put(data, i)
            i += size
        while i < len(data):
            self.carry.append(data[i])
            i += 1

    def _put(mut self, data: Span[UInt8, _], at: Int):
        # One item at data[at:] into its place in the row-major matrix.
        var db = self.header.descr.as_bytes()
        var size = _item_size(self.header.descr)
        var k = self.got // size
        if k >= len(self.values):
            return
        var v = _widen(_load_bits(data, at, size, db[0] == 0x3E), Int(db[1]), size)
        if self.header.fortran_order:
            # Column-major: item k is (k % rows, k // rows).
            var rows = self.header.shape[0]
            self.values[(k % rows) * self.header.shape[1] + k // rows] = v
        else:
            self.values[k] = v
        self.got += size


def _populate(start: Int, length: Int):
    """Map a new matrix's pages in one call (madvise MADV_POPULATE_WRITE; a hint, ignored by
    kernels before 5.14) rather than one page fault per 4 KiB as the pass fills it: the faults
    cost more than inflating zeros does."""
    comptime PAGE = 1 << 12
    var first = (start + PAGE - 1) & ~(PAGE - 1)
    var end = (start + length) & ~(PAGE - 1)
    if end > first:
        _ = external_call["madvise", Int32](first, end - first, Int32(23))


struct LayerDecoders(MemberSink):
    """Each layer's .npy member, streamed in by the archive pass (member i is layer i), into
    its row-major (output_features, input_features) float64 matrix."""

    var layers: List[_Layer]
    var names: List[String]
    var inputs: List[Int]
    var outputs: List[Int]

    def __init__(
        out self, names: List[String], inputs: List[Int], outputs: List[Int], sizes: List[Int]
    ):
        """`sizes`: each member's declared length (the directory's uncompressed size)."""
        self.layers = List[_Layer]()
        for size in sizes:
            self.layers.append(_Layer(size))
        self.names = names.copy()
        self.inputs = inputs.copy()
        self.outputs = outputs.copy()

    def landing(mut self, member: Int) -> Span[UInt8, MutAnyOrigin]:
        ref layer = self.layers[member]
        if layer.state != _DATA or not layer.in_place() or layer.got >= layer.data_bytes():
            return Span[UInt8, MutAnyOrigin]()
        var start = layer.values.unsafe_ptr().unsafe_bitcast[UInt8]().unsafe_offset(layer.got)
        return Span[UInt8, MutAnyOrigin](
            unsafe_ptr=start.unsafe_origin_cast[MutAnyOrigin](), length=layer.data_bytes() - layer.got)

    def landed(mut self, member: Int, count: Int):
        self.layers[member].got += count

    def accept(mut self, member: Int, data: Span[UInt8, _]):
        ref layer = self.layers[member]
        var at = 0
        if layer.state == _HEADER:
            var wanted = _prefix_wanted(layer.prefix, layer.size)
            while len(layer.prefix) < wanted and at < len(data):
                var take = min(wanted - len(layer.prefix), len(data) - at)
                layer.prefix.extend(data[at : at + take])
                at += take
                wanted = _prefix_wanted(layer.prefix, layer.size)
            if len(layer.prefix) < wanted:
                return
            self._start_data(member)
        if self.layers[member].state == _DATA and at < len(data):
            self.layers[member].convert(data[at:])

    def _start_data(mut self, member: Int):
        # The matrix is allocated only after this layer's header passes the checks on its own,
        # its data length agreeing with the declared size (which the file's bytes bound).
        ref layer = self.layers[member]
        layer.state = _IGNORED
        try:
            var headers = check_headers(
                [layer.prefix.copy()], [layer.size], [self.names[member]], [self.inputs[member]],
                [self.outputs[member]])
            layer.header = headers[0].copy()
        except:
            return
        layer.values = List[Float64](unsafe_uninit_length=layer.header.shape[0] * layer.header.shape[1])
        _populate(Int(layer.values.unsafe_ptr()), len(layer.values) * 8)
        layer.state = _DATA

    def finish(mut self) raises CheckpointError -> List[List[Float64]]:
        """The array phase, in spec order, once the pass is over: the matrices.

        Raises:
            CheckpointError: The first array.* invariant violated.
        """
        var prefixes = List[List[UInt8]]()
        var sizes = List[Int]()
        for i in range(len(self.layers)):
            prefixes.append(self.layers[i].prefix.copy())
            sizes.append(self.layers[i].size)
        _ = check_headers(prefixes, sizes, self.names, self.inputs, self.outputs)
        var weights = List[List[Float64]]()
        for i in range(len(self.layers)):
            # Every header passed, so every layer was decoded, all of its data present.
            var values = List[Float64]()
            swap(values, self.layers[i].values)
            weights.append(values^)
        check_finite(self.names, self.inputs, weights)
        return weights^


# ===----------------------------------------------------------------------=== #
# The writer's header
# ===----------------------------------------------------------------------=== #


def header_bytes(rows: Int, cols: Int) -> List[UInt8]:
    """The spec's writer header (save.writer.npy_header), as numpy.lib.format writes it for a
    C-ordered float64 matrix: version 1.0, padded with spaces so that the data starts at a
    multiple of 64 bytes."""
    var text = String("{'descr': '<f8', 'fortran_order': False, 'shape': (", rows, ", ", cols, "), }")
    # magic (6) + version (2) + length (2) + text + "\n"
    var unpadded = 10 + text.byte_length() + 1
    for _ in range((64 - unpadded % 64) % 64):
        text += " "
    text += "\n"
    var length = text.byte_length()
    var out: List[UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    out.append(UInt8(length & 0xFF))
    out.append(UInt8(length >> 8))
    out.extend(text.as_bytes())
    return out^
