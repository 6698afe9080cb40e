"""A strict RFC 8259 reader and a small writer, over an index-linked value tree.

The reader is iterative (an explicit stack, no recursion), so no input can overflow the call
stack. In `strict` mode (the metadata document) it enforces the spec's json.* invariants in
spec order: UTF-8, byte-order mark, lexical depth, syntax, non-finite tokens, number range,
duplicate keys. Syntax errors are raised at once; NaN/Infinity tokens, out-of-range numbers and
duplicate keys are only recorded while parsing and judged afterwards, because a syntax error
anywhere in the document beats them all.
"""

from errors import (
    CheckpointError,
    JSON_ENCODING_UTF8,
    JSON_ENCODING_BOM,
    JSON_DEPTH,
    JSON_SYNTAX,
    JSON_NONFINITE,
    JSON_NUMBER_RANGE,
    JSON_KEYS_UNIQUE,
    quote,
)


from std.memory import bitcast

comptime MAX_DEPTH = 64
comptime MAX_SAFE_INTEGER = 9007199254740991

# Node kinds. The first seven are JSON's; the rest only come from the protocol's host-value
# encoding (hostvalue.mojo), so that the constructor can refuse them by kind.
comptime K_NULL = 0
comptime K_BOOL = 1
comptime K_INT = 2
comptime K_FLOAT = 3
comptime K_STRING = 4
comptime K_ARRAY = 5
comptime K_OBJECT = 6
comptime K_TUPLE = 7
comptime K_SET = 8
comptime K_BYTES = 9
comptime K_MAP = 10
comptime K_OPAQUE = 11
comptime K_NDARRAY = 12


def kind_name(kind: Int) -> String:
    """Name a kind the way the spec's messages do (JSON names for JSON values)."""
    if kind == K_NULL:
        return "null"
    if kind == K_BOOL:
        return "boolean"
    if kind == K_INT:
        return "integer"
    if kind == K_FLOAT:
        return "float"
    if kind == K_STRING:
        return "string"
    if kind == K_ARRAY:
        return "array"
    if kind == K_OBJECT:
        return "object"
    if kind == K_TUPLE:
        return "tuple"
    if kind == K_SET:
        return "set"
    if kind == K_BYTES:
        return "bytes"
    if kind == K_MAP:
        return "mapping"
    if kind == K_OPAQUE:
        return "object()"
    return "ndarray"


# ===----------------------------------------------------------------------=== #
# The value tree
# ===----------------------------------------------------------------------=== #


@fieldwise_init
struct Node(Copyable, Movable):
    """One value. Containers hold their children as indices into the tree's node list."""

    var kind: Int
    # K_BOOL: the value.
    var flag: Bool
    # K_INT: the value, saturated to Int's range when the literal is larger.
    var int_value: Int
    # K_FLOAT (and K_INT, rounded): the value as float64.
    var float_value: Float64
    # K_STRING: the value; K_INT/K_FLOAT: the literal; K_BYTES: hex; K_OPAQUE: description.
    var text: String
    # K_INT: within +/- MAX_SAFE_INTEGER. K_STRING: made of Unicode scalar values only.
    # K_MAP: every key is a string.
    var valid: Bool
    # Containers: child node indices (K_MAP: key, value, key, value, ...).
    var kids: List[Int]
    # K_OBJECT: the member keys, parallel to kids.
    var keys: List[String]
    # K_NDARRAY: shape and row-major data.
    var shape: List[Int]
    var data: List[Float64]

    @staticmethod
    def of(kind: Int) -> Node:
        return Node(
            kind, False, 0, 0.0, String(), True, List[Int](), List[String](), List[Int](),
            List[Float64]()
        )


struct Tree(Copyable, Movable):
    """A list of nodes; index 0 is never special, `root` says where the value starts."""

    var nodes: List[Node]
    var root: Int

    def __init__(out self):
        self.nodes = List[Node]()
        self.root = -1

    def add(mut self, var node: Node) -> Int:
        self.nodes.append(node^)
        return len(self.nodes) - 1

    def kind(self, index: Int) -> Int:
        return self.nodes[index].kind

    def length(self, index: Int) -> Int:
        return len(self.nodes[index].kids)

    def child(self, index: Int, position: Int) -> Int:
        return self.nodes[index].kids[position]

    def get(self, index: Int, key: String) -> Int:
        """The member `key` of object `index`, or -1 (the last one if repeated)."""
        ref node = self.nodes[index]
        var found = -1
        for i in range(len(node.keys)):
            if node.keys[i] == key:
                found = node.kids[i]
        return found

    def add_string(mut self, text: String) -> Int:
        var node = Node.of(K_STRING)
        node.text = text
        return self.add(node^)

    def add_int(mut self, value: Int) -> Int:
        var node = Node.of(K_INT)
        node.int_value = value
        node.float_value = Float64(value)
        node.text = String(value)
        node.valid = value <= MAX_SAFE_INTEGER and value >= -MAX_SAFE_INTEGER
        return self.add(node^)

    def add_float(mut self, value: Float64) -> Int:
        var node = Node.of(K_FLOAT)
        node.float_value = value
        return self.add(node^)

    def add_bool(mut self, value: Bool) -> Int:
        var node = Node.of(K_BOOL)
        node.flag = value
        return self.add(node^)

    def add_null(mut self) -> Int:
        return self.add(Node.of(K_NULL))

    def add_container(mut self, kind: Int) -> Int:
        return self.add(Node.of(kind))

    def append(mut self, container: Int, item: Int):
        self.nodes[container].kids.append(item)

    def set_member(mut self, container: Int, key: String, item: Int):
        self.nodes[container].keys.append(key)
        self.nodes[container].kids.append(item)


# ===----------------------------------------------------------------------=== #
# Reader
# ===----------------------------------------------------------------------=== #


def _syntax(what: String, where: String, pos: Int) -> CheckpointError:
    return CheckpointError(
        JSON_SYNTAX,
        String("Checkpoint metadata is not valid JSON: ", where, ": byte ", pos, ": ", what),
    )


def utf8_error(data: Span[UInt8, _]) -> Int:
    """The offset of the first byte that breaks RFC 3629 UTF-8, or -1 when all is valid."""
    var i = 0
    var n = len(data)
    while i < n:
        var b = Int(data[i])
        if b < 0x80:
            i += 1
            continue
        var need: Int
        var lo = 0x80
        var hi = 0xBF
        if b >= 0xC2 and b <= 0xDF:
            need = 1
        elif b == 0xE0:
            need = 2
            lo = 0xA0
        elif b == 0xED:
            # U+D800..U+DFFF are not scalar values.
            need = 2
            hi = 0x9F
        elif b >= 0xE1 and b <= 0xEF:
            need = 2
        elif b == 0xF0:
            need = 3
            lo = 0x90
        elif b >= 0xF1 and b <= 0xF3:
            need = 3
        elif b == 0xF4:
            need = 3
            hi = 0x8F
        else:
            return i
        if i + need >= n:
            return i
        var c1 = Int(data[i + 1])
        if c1 < lo or c1 > hi:
            return i
        for k in range(2, need + 1):
            var c = Int(data[i + k])
            if c < 0x80 or c > 0xBF:
                return i
        i += need + 1
    return -1


def lexical_depth(data: Span[UInt8, _]) -> Int:
    """The spec's json.depth measure: bracket nesting outside strings, floored at zero."""
    var depth = 0
    var deepest = 0
    var in_string = False
    var i = 0
    var n = len(data)
    while i < n:
        var c = data[i]
        if in_string:
            if c == 0x5C:
                i += 1
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c == 0x5B or c == 0x7B:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif c == 0x5D or c == 0x7D:
            if depth > 0:
                depth -= 1
        i += 1
    return deepest


@fieldwise_init
struct Findings(Copyable, Movable):
    """What the parser saw that is syntactically fine but refused afterwards, first of each."""

    var nonfinite: String
    var has_nonfinite: Bool
    var out_of_range: String
    var has_out_of_range: Bool
    var duplicate_key: String
    var has_duplicate_key: Bool


struct _Frame(Copyable, Movable):
    var node: Int
    var is_object: Bool
    var seen: Dict[String, Bool]

    def __init__(out self, node: Int, is_object: Bool):
        self.node = node
        self.is_object = is_object
        self.seen = Dict[String, Bool]()


def _is_ws(c: UInt8) -> Bool:
    return c == 0x20 or c == 0x09 or c == 0x0A or c == 0x0D


def _hex_value(c: UInt8) -> Int:
    if c >= 0x30 and c <= 0x39:
        return Int(c) - 0x30
    if c >= 0x61 and c <= 0x66:
        return Int(c) - 0x61 + 10
    if c >= 0x41 and c <= 0x46:
        return Int(c) - 0x41 + 10
    return -1


def _push_utf8(mut out: List[UInt8], cp: Int):
    # Surrogates (lone, protocol mode only) come out as WTF-8, which the writer turns back into
    # \u escapes.
    if cp < 0x80:
        out.append(UInt8(cp))
    elif cp < 0x800:
        out.append(UInt8(0xC0 | (cp >> 6)))
        out.append(UInt8(0x80 | (cp & 0x3F)))
    elif cp < 0x10000:
        out.append(UInt8(0xE0 | (cp >> 12)))
        out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (cp & 0x3F)))
    else:
        out.append(UInt8(0xF0 | (cp >> 18)))
        out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (cp & 0x3F)))


def _matches(data: Span[UInt8, _], pos: Int, word: StringSlice) -> Bool:
    var bytes = word.as_bytes()
    if pos + len(bytes) > len(data):
        return False
    for k in range(len(bytes)):
        if data[pos + k] != bytes[k]:
            return False
    return True


struct Parser:
    """Parses one document. `strict` is the metadata-document mode (see the module doc)."""

    var tree: Tree
    var findings: Findings
    var strict: Bool
    var where: String

    def __init__(out self, strict: Bool, where: String):
        self.tree = Tree()
        self.findings = Findings(String(), False, String(), False, String(), False)
        self.strict = strict
        self.where = where

    def take_tree(mut self) -> Tree:
        var out = Tree()
        swap(out, self.tree)
        return out^

    def parse_string(
        mut self, data: Span[UInt8, _], start: Int, mut valid: Bool
    ) raises CheckpointError -> Tuple[String, Int]:
        """Parse the string whose opening quote is at `start`; return it and the next offset."""
        var out = List[UInt8]()
        var i = start + 1
        var n = len(data)
        valid = True
        while True:
            if i >= n:
                raise _syntax("unterminated string", self.where, start)
            var c = data[i]
            if c == 0x22:
                i += 1
                break
            if c < 0x20:
                raise _syntax("control character in string", self.where, i)
            if c != 0x5C:
                out.append(c)
                i += 1
                continue
            if i + 1 >= n:
                raise _syntax("unterminated escape", self.where, i)
            var e = data[i + 1]
            if e == 0x22 or e == 0x5C or e == 0x2F:
                out.append(e)
            elif e == 0x62:
                out.append(0x08)
            elif e == 0x66:
                out.append(0x0C)
            elif e == 0x6E:
                out.append(0x0A)
            elif e == 0x72:
                out.append(0x0D)
            elif e == 0x74:
                out.append(0x09)
            elif e == 0x75:
                var cp = self._hex4(data, i)
                i += 6
                if cp >= 0xD800 and cp <= 0xDBFF:
                    var paired = False
                    if i + 1 < n and data[i] == 0x5C and data[i + 1] == 0x75:
                        var low = self._hex4(data, i)
                        if low >= 0xDC00 and low <= 0xDFFF:
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                            paired = True
                    if not paired:
                        if self.strict:
                            raise _syntax("a \\u escape is a lone surrogate", self.where, i - 6)
                        valid = False
                elif cp >= 0xDC00 and cp <= 0xDFFF:
                    if self.strict:
                        raise _syntax("a \\u escape is a lone surrogate", self.where, i - 6)
                    valid = False
                _push_utf8(out, cp)
                continue
            else:
                raise _syntax("invalid escape", self.where, i)
            i += 2
        return (String(unsafe_from_utf8=Span(out)), i)

    def _hex4(self, data: Span[UInt8, _], at: Int) raises CheckpointError -> Int:
        # `at` is the backslash of a \uXXXX escape.
        if at + 6 > len(data):
            raise _syntax("truncated \\u escape", self.where, at)
        var cp = 0
        for k in range(2, 6):
            var h = _hex_value(data[at + k])
            if h < 0:
                raise _syntax("invalid \\u escape", self.where, at)
            cp = cp * 16 + h
        return cp

    def parse_number(mut self, data: Span[UInt8, _], start: Int) raises CheckpointError -> Int:
        """Parse the number at `start` into a node; return the offset after it."""
        var n = len(data)
        var i = start
        if data[i] == 0x2D:
            i += 1
            if _matches(data, i, "Infinity"):
                self._nonfinite("-Infinity")
                _ = self.tree.add_float(-Float64.MAX * 2.0)
                return i + 8
        if i >= n:
            raise _syntax("expected a digit", self.where, i)
        var digits_start = i
        if data[i] == 0x30:
            i += 1
        elif data[i] >= 0x31 and data[i] <= 0x39:
            while i < n and data[i] >= 0x30 and data[i] <= 0x39:
                i += 1
        else:
            raise _syntax("expected a digit", self.where, i)
        var int_digits = i - digits_start
        var is_float = False
        if i < n and data[i] == 0x2E:
            i += 1
            var frac = i
            while i < n and data[i] >= 0x30 and data[i] <= 0x39:
                i += 1
            if i == frac:
                raise _syntax("expected a digit after '.'", self.where, i)
            is_float = True
        if i < n and (data[i] == 0x65 or data[i] == 0x45):
            i += 1
            if i < n and (data[i] == 0x2B or data[i] == 0x2D):
                i += 1
            var exp = i
            while i < n and data[i] >= 0x30 and data[i] <= 0x39:
                i += 1
            if i == exp:
                raise _syntax("expected a digit in the exponent", self.where, i)
            is_float = True
        var literal = String(unsafe_from_utf8=data[start:i])
        if is_float:
            var value: Float64
            try:
                value = atof(literal)
            except:
                raise _syntax("unreadable number", self.where, start)
            var node = Node.of(K_FLOAT)
            node.float_value = value
            node.text = literal
            if value == Float64.MAX * 2.0 or value == -Float64.MAX * 2.0:
                self._out_of_range(literal)
            _ = self.tree.add(node^)
            return i
        var node = Node.of(K_INT)
        node.text = literal
        var negative = data[start] == 0x2D
        if int_digits > 18:
            # Too long for Int: saturate, keep the literal for messages.
            node.int_value = Int.MIN if negative else Int.MAX
            node.valid = False
        else:
            var value = 0
            for k in range(digits_start, i):
                value = value * 10 + Int(data[k] - 0x30)
            node.int_value = -value if negative else value
            node.valid = value <= MAX_SAFE_INTEGER
        if not node.valid:
            self._out_of_range(literal)
        try:
            node.float_value = atof(literal)
        except:
            node.float_value = Float64(node.int_value)
        _ = self.tree.add(node^)
        return i

    def _nonfinite(mut self, token: String):
        if not self.findings.has_nonfinite:
            self.findings.nonfinite = token
            self.findings.has_nonfinite = True

    def _out_of_range(mut self, literal: String):
        if not self.findings.has_out_of_range:
            self.findings.out_of_range = literal
            self.findings.has_out_of_range = True

    def parse_value(mut self, data: Span[UInt8, _], pos: Int) raises CheckpointError -> Int:
        """Parse a scalar at `pos` (not a container) into a node; return the next offset."""
        var n = len(data)
        if pos >= n:
            raise _syntax("expected a value, found the end", self.where, pos)
        var c = data[pos]
        if c == 0x22:
            var valid = True
            var parsed = self.parse_string(data, pos, valid)
            var node = Node.of(K_STRING)
            node.text = parsed[0]
            node.valid = valid
            _ = self.tree.add(node^)
            return parsed[1]
        if c == 0x2D or (c >= 0x30 and c <= 0x39):
            return self.parse_number(data, pos)
        if _matches(data, pos, "true"):
            _ = self.tree.add_bool(True)
            return pos + 4
        if _matches(data, pos, "false"):
            _ = self.tree.add_bool(False)
            return pos + 5
        if _matches(data, pos, "null"):
            _ = self.tree.add_null()
            return pos + 4
        if _matches(data, pos, "NaN"):
            self._nonfinite("NaN")
            _ = self.tree.add_float(Float64.MAX * 2.0 - Float64.MAX * 2.0)
            return pos + 3
        if _matches(data, pos, "Infinity"):
            self._nonfinite("Infinity")
            _ = self.tree.add_float(Float64.MAX * 2.0)
            return pos + 8
        raise _syntax("expected a value", self.where, pos)

    def parse(mut self, data: Span[UInt8, _]) raises CheckpointError:
        """Parse the whole document into self.tree (syntax errors raise at once)."""
        var n = len(data)
        var stack = List[_Frame]()
        var pos = 0
        var pending_key = String()
        while True:
            # ---- a value is expected at pos
            while pos < n and _is_ws(data[pos]):
                pos += 1
            if pos >= n:
                raise _syntax("expected a value, found the end", self.where, pos)
            var c = data[pos]
            var index: Int
            var opened = False
            if c == 0x7B or c == 0x5B:
                index = self.tree.add_container(K_OBJECT if c == 0x7B else K_ARRAY)
                opened = True
                pos += 1
            else:
                pos = self.parse_value(data, pos)
                index = len(self.tree.nodes) - 1
            # attach to the parent
            if len(stack) == 0:
                self.tree.root = index
            elif stack[len(stack) - 1].is_object:
                ref top = stack[len(stack) - 1]
                if pending_key in top.seen:
                    if not self.findings.has_duplicate_key:
                        self.findings.duplicate_key = pending_key
                        self.findings.has_duplicate_key = True
                else:
                    top.seen[pending_key] = True
                self.tree.set_member(top.node, pending_key, index)
            else:
                self.tree.append(stack[len(stack) - 1].node, index)
            var need_value = False
            if opened:
                stack.append(_Frame(index, c == 0x7B))
                while pos < n and _is_ws(data[pos]):
                    pos += 1
                if pos < n and (data[pos] == 0x7D or data[pos] == 0x5D):
                    if (data[pos] == 0x7D) != (c == 0x7B):
                        raise _syntax("mismatched bracket", self.where, pos)
                    pos += 1
                    _ = stack.pop()
                elif c == 0x7B:
                    pos = self._key(data, pos, pending_key)
                    need_value = True
                else:
                    need_value = True
            # ---- after a value: close containers or move to the next member
            while not need_value:
                while pos < n and _is_ws(data[pos]):
                    pos += 1
                if len(stack) == 0:
                    if pos != n:
                        raise _syntax("extra data after the document", self.where, pos)
                    return
                if pos >= n:
                    raise _syntax("unexpected end of the document", self.where, pos)
                var d = data[pos]
                var is_object = stack[len(stack) - 1].is_object
                if d == 0x2C:
                    pos += 1
                    if is_object:
                        while pos < n and _is_ws(data[pos]):
                            pos += 1
                        pos = self._key(data, pos, pending_key)
                    need_value = True
                elif (d == 0x7D and is_object) or (d == 0x5D and not is_object):
                    pos += 1
                    _ = stack.pop()
                else:
                    raise _syntax(
                        "expected ',' or '}'" if is_object else "expected ',' or ']'",
                        self.where,
                        pos,
                    )

    def _key(
        mut self, data: Span[UInt8, _], pos: Int, mut key: String
    ) raises CheckpointError -> Int:
        # Parses `"key" :` and returns the offset after the colon.
        var n = len(data)
        if pos >= n or data[pos] != 0x22:
            raise _syntax("expected a double-quoted key", self.where, pos)
        var valid = True
        var parsed = self.parse_string(data, pos, valid)
        key = parsed[0]
        var i = parsed[1]
        while i < n and _is_ws(data[i]):
            i += 1
        if i >= n or data[i] != 0x3A:
            raise _syntax("expected ':'", self.where, i)
        return i + 1


def parse_document(data: Span[UInt8, _], path: String) raises CheckpointError -> Tree:
    """Parse the metadata document's bytes, enforcing json.encoding.* through json.keys.unique.

    Raises:
        CheckpointError: With the first violated json.* invariant, in spec order.
    """
    var bad = utf8_error(data)
    if bad >= 0:
        raise CheckpointError(
            JSON_ENCODING_UTF8,
            String("Checkpoint metadata is not valid UTF-8: ", path, ": byte ", bad,
                   ": invalid or truncated sequence"),
        )
    if len(data) >= 3 and data[0] == 0xEF and data[1] == 0xBB and data[2] == 0xBF:
        raise CheckpointError(JSON_ENCODING_BOM, "Checkpoint metadata starts with a byte-order mark")
    if lexical_depth(data) > MAX_DEPTH:
        raise CheckpointError(
            JSON_DEPTH, String("Checkpoint metadata nests deeper than ", MAX_DEPTH, " levels")
        )
    var parser = Parser(True, path)
    parser.parse(data)
    ref f = parser.findings
    if f.has_nonfinite:
        raise CheckpointError(
            JSON_NONFINITE,
            String("Checkpoint metadata contains a non-finite number literal (", f.nonfinite,
                   "), which is not JSON"),
        )
    if f.has_out_of_range:
        raise CheckpointError(
            JSON_NUMBER_RANGE,
            String("Checkpoint metadata number ", f.out_of_range, " is out of range"),
        )
    if f.has_duplicate_key:
        raise CheckpointError(
            JSON_KEYS_UNIQUE,
            String("Checkpoint metadata has duplicate key ", quote(f.duplicate_key)),
        )
    return parser.take_tree()


def parse_message(data: Span[UInt8, _]) raises CheckpointError -> Tree:
    """Parse one protocol line: any depth, any integer (saturated), lone surrogates kept."""
    if utf8_error(data) >= 0:
        raise _syntax("invalid UTF-8", "request", utf8_error(data))
    var parser = Parser(False, "request")
    parser.parse(data)
    return parser.take_tree()


# ===----------------------------------------------------------------------=== #
# Writer
# ===----------------------------------------------------------------------=== #


def _exact_decimal(value: Float64) -> Tuple[String, Int]:
    """|value| exactly as (digits, k): the decimal integer `digits` times 10^k."""
    var bits = bitcast[DType.uint64](value)
    var biased = Int((bits >> 52) & 0x7FF)
    var mantissa = bits & 0xFFFFFFFFFFFFF
    var exp2: Int
    if biased == 0:
        exp2 = -1074
    else:
        mantissa |= UInt64(1) << 52
        exp2 = biased - 1075
    # Little-endian limbs in base 10^9.
    var limbs = List[UInt64]()
    limbs.append(mantissa % 1_000_000_000)
    limbs.append((mantissa // 1_000_000_000) % 1_000_000_000)
    limbs.append(mantissa // 1_000_000_000_000_000_000)
    var k = 0
    var steps = exp2 if exp2 > 0 else -exp2
    if exp2 < 0:
        # m * 2^-n = m * 5^n / 10^n
        k = exp2
    while steps > 0:
        var chunk = min(steps, 13)
        var factor = UInt64(1)
        for _ in range(chunk):
            factor *= UInt64(2) if exp2 > 0 else UInt64(5)
        var carry = UInt64(0)
        for i in range(len(limbs)):
            var x = limbs[i] * factor + carry
            limbs[i] = x % 1_000_000_000
            carry = x // 1_000_000_000
        while carry > 0:
            limbs.append(carry % 1_000_000_000)
            carry //= 1_000_000_000
        steps -= chunk
    var text = String()
    var started = False
    var i = len(limbs) - 1
    while i >= 0:
        var part = String(limbs[i])
        if started:
            for _ in range(9 - part.byte_length()):
                text += "0"
            text += part
        elif limbs[i] != 0:
            text += part
            started = True
        i -= 1
    if not started:
        text = "0"
    return (text^, k)


def _round_trip_repr(value: Float64) -> String:
    """The shortest d.ddde±x that parses back to `value`, from the exact decimal expansion.

    Mojo 1.2's own Float64 formatting is occasionally not round-trip safe (seen for values
    near 1e16), so write_float falls back to this exact search.
    """
    var exact = _exact_decimal(value)
    var exact_text = exact[0]
    var scale = exact[1]
    var digits = exact_text.as_bytes()
    var n = len(digits)
    var sign = String("-") if value < 0 else String()
    for p in range(1, 18):
        if p > n:
            break
        # Candidates with p significant digits: truncated, and truncated + 1 ulp of digit p.
        var base = List[Int]()
        for i in range(p):
            base.append(Int(digits[i]) - 0x30)
        for bump in range(2):
            var cand = base.copy()
            var exp10 = scale + n - 1
            if bump == 1:
                var j = p - 1
                while j >= 0:
                    cand[j] += 1
                    if cand[j] < 10:
                        break
                    cand[j] = 0
                    j -= 1
                if j < 0:
                    cand.insert(0, 1)
                    _ = cand.pop()
                    exp10 += 1
            var text = String(sign)
            text += String(cand[0])
            text += "."
            if len(cand) == 1:
                text += "0"
            for i in range(1, len(cand)):
                text += String(cand[i])
            text += "e"
            text += String(exp10)
            try:
                if bitcast[DType.uint64](atof(text)) == bitcast[DType.uint64](value):
                    return text^
            except:
                pass
    # 17 significant digits always round-trip; reaching here means n <= 17 digits were exact.
    var text = String(sign)
    text += String(unsafe_from_utf8=digits[0:1])
    text += "."
    text += String(unsafe_from_utf8=digits[1:n]) if n > 1 else String("0")
    text += "e"
    text += String(scale + n - 1)
    return text^


def write_float(mut out: String, value: Float64):
    """Round-trip digits, always with a '.' or an exponent (1.0, -0.0, 1e+22)."""
    var text = String(value)
    try:
        if bitcast[DType.uint64](atof(text)) != bitcast[DType.uint64](value):
            text = _round_trip_repr(value)
    except:
        text = _round_trip_repr(value)
    var plain = True
    for b in text.as_bytes():
        if b == 0x2E or b == 0x65 or b == 0x45 or b == 0x6E or b == 0x69:
            plain = False
    out += text
    if plain:
        out += ".0"


def write_string(mut out: String, text: String):
    """A JSON string literal; non-ASCII as \\u escapes, WTF-8 surrogates back to escapes."""
    comptime HEX = "0123456789abcdef"
    out += '"'
    var bytes = text.as_bytes()
    var n = len(bytes)
    var i = 0
    var run = 0
    while i < n:
        var b = Int(bytes[i])
        if b >= 0x20 and b < 0x7F and b != 0x22 and b != 0x5C:
            i += 1
            continue
        if run < i:
            out += String(unsafe_from_utf8=bytes[run:i])
        var cp: Int
        var width: Int
        if b < 0x80:
            cp = b
            width = 1
        elif b < 0xE0:
            cp = ((b & 0x1F) << 6) | (Int(bytes[i + 1]) & 0x3F)
            width = 2
        elif b < 0xF0:
            cp = ((b & 0x0F) << 12) | ((Int(bytes[i + 1]) & 0x3F) << 6) | (Int(bytes[i + 2]) & 0x3F)
            width = 3
        else:
            cp = ((b & 0x07) << 18) | ((Int(bytes[i + 1]) & 0x3F) << 12) | (
                (Int(bytes[i + 2]) & 0x3F) << 6) | (Int(bytes[i + 3]) & 0x3F)
            width = 4
        if cp == 0x22:
            out += '\\"'
        elif cp == 0x5C:
            out += "\\\\"
        elif cp == 0x0A:
            out += "\\n"
        elif cp == 0x0D:
            out += "\\r"
        elif cp == 0x09:
            out += "\\t"
        else:
            var units = List[Int]()
            if cp >= 0x10000:
                units.append(0xD800 + ((cp - 0x10000) >> 10))
                units.append(0xDC00 + ((cp - 0x10000) & 0x3FF))
            else:
                units.append(cp)
            for u in units:
                out += "\\u"
                out += HEX[byte = (u >> 12) & 15]
                out += HEX[byte = (u >> 8) & 15]
                out += HEX[byte = (u >> 4) & 15]
                out += HEX[byte = u & 15]
        i += width
        run = i
    if run < n:
        out += String(unsafe_from_utf8=bytes[run:n])
    out += '"'


def write_value(mut out: String, tree: Tree, index: Int):
    """Write a JSON value (K_NULL..K_OBJECT) from the tree; called only on accepted values,
    whose depth is bounded by the spec, so recursion is safe here."""
    ref node = tree.nodes[index]
    var kind = node.kind
    if kind == K_NULL:
        out += "null"
    elif kind == K_BOOL:
        out += "true" if node.flag else "false"
    elif kind == K_INT:
        out += String(node.int_value)
    elif kind == K_FLOAT:
        write_float(out, node.float_value)
    elif kind == K_STRING:
        write_string(out, node.text)
    elif kind == K_OBJECT:
        out += "{"
        for i in range(len(node.kids)):
            if i > 0:
                out += ", "
            write_string(out, node.keys[i])
            out += ": "
            write_value(out, tree, node.kids[i])
        out += "}"
    else:
        out += "["
        for i in range(len(node.kids)):
            if i > 0:
                out += ", "
            write_value(out, tree, node.kids[i])
        out += "]"
