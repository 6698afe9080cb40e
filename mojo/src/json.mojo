"""The strict reader of the metadata document (every json.* invariant) and the value tree it
builds, which also carries the protocol's host values (hostvalue.mojo).

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
from limits import JSON_MAX_DEPTH, JSON_INTEGER_MIN, JSON_INTEGER_MAX

# The digits of 2^64 - 1, the longest magnitude in the JSON integer range; Int128 holds any
# literal this long exactly.
comptime _INTEGER_DIGITS_MAX = 20

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
    # K_INT: the value, exact for every literal of at most 20 digits (all of the JSON range),
    # saturated to Int128's range beyond (`text` keeps the literal).
    var int_value: Int128
    # K_FLOAT (and K_INT, rounded): the value as float64.
    var float_value: Float64
    # K_STRING: the value; K_INT/K_FLOAT: the literal; K_BYTES: hex; K_OPAQUE: description.
    var text: String
    # K_INT: within [JSON_INTEGER_MIN, JSON_INTEGER_MAX]. K_STRING: made of Unicode scalar values
    # only.
    # K_MAP: every key is a string.
    var valid: Bool
    # Containers: child node indices (K_MAP: key, value, key, value, ...).
    var kids: List[Int]
    # K_OBJECT: the member keys, parallel to kids.
    var keys: List[String]
    # K_NDARRAY: shape and row-major data.
    var shape: List[Int]
    var data: List[Float64]

    def as_int(self) -> Int:
        """A K_INT's value clamped to Int's range (for sizes and indices, whose own range
        checks then refuse a clamped value)."""
        if self.int_value > Int128(Int.MAX):
            return Int.MAX
        if self.int_value < Int128(Int.MIN):
            return Int.MIN
        return Int(self.int_value)

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


def _skip_ws(data: Span[UInt8, _], pos: Int) -> Int:
    var i = pos
    while i < len(data) and _is_ws(data[i]):
        i += 1
    return i


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
            self._add_float(literal, start)
        else:
            self._add_integer(literal, data[digits_start:i], data[start] == 0x2D)
        return i

    def _add_float(mut self, literal: String, start: Int) raises CheckpointError:
        # A literal with a fraction or exponent: out of range when it rounds to infinity.
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

    def _add_integer(mut self, literal: String, digits: Span[UInt8, _], negative: Bool):
        # A literal without fraction or exponent; `digits` is its magnitude. Judged by its
        # digit count first, so that no literal, however long, overflows or wraps.
        var node = Node.of(K_INT)
        node.text = literal
        if len(digits) > _INTEGER_DIGITS_MAX:
            node.int_value = Int128.MIN if negative else Int128.MAX
        else:
            var value = Int128(0)
            for c in digits:
                value = value * 10 + Int128(Int(c - 0x30))
            node.int_value = -value if negative else value
        node.valid = node.int_value >= JSON_INTEGER_MIN and node.int_value <= JSON_INTEGER_MAX
        if not node.valid:
            self._out_of_range(literal)
        try:
            node.float_value = atof(literal)
        except:
            node.float_value = Float64(node.int_value)
        _ = self.tree.add(node^)

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
            pos = _skip_ws(data, pos)
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
            self._attach(stack, pending_key, index)
            var need_value = False
            if opened:
                stack.append(_Frame(index, c == 0x7B))
                pos = _skip_ws(data, pos)
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
                pos = _skip_ws(data, pos)
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
                        pos = self._key(data, _skip_ws(data, pos), pending_key)
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

    def _attach(mut self, mut stack: List[_Frame], key: String, index: Int):
        # Node `index` becomes the root, the next item of the open array, or member `key` of
        # the open object (a repeated key is recorded for json.keys.unique).
        if len(stack) == 0:
            self.tree.root = index
        elif stack[len(stack) - 1].is_object:
            ref top = stack[len(stack) - 1]
            if key in top.seen:
                if not self.findings.has_duplicate_key:
                    self.findings.duplicate_key = key
                    self.findings.has_duplicate_key = True
            else:
                top.seen[key] = True
            self.tree.set_member(top.node, key, index)
        else:
            self.tree.append(stack[len(stack) - 1].node, index)

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
        var i = _skip_ws(data, parsed[1])
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
    if lexical_depth(data) > JSON_MAX_DEPTH:
        raise CheckpointError(
            JSON_DEPTH, String("Checkpoint metadata nests deeper than ", JSON_MAX_DEPTH, " levels")
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
    """Parse one protocol line: any depth, any integer literal (kept as text), lone surrogates kept."""
    if utf8_error(data) >= 0:
        raise _syntax("invalid UTF-8", "request", utf8_error(data))
    var parser = Parser(False, "request")
    parser.parse(data)
    return parser.take_tree()
