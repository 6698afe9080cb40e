"""The JSON writer: the canonical spelling of values, for the observable state and for the
checkpoint's metadata document (the spec's save.writer.document).

Strings are ASCII-only with \\u escapes (Python's json.dumps with ensure_ascii), integers are
plain digits, exact, and floats are spelled as Python's repr spells them (shortest round-trip
digits). Mojo 1.2 has no JSON writer in its standard library, and its own Float64 formatting is
not always round-trip safe (values near 1e16 print one digit short), so floats are formatted
here from their exact decimal expansion.
"""

from std.memory import bitcast

from json import Tree, K_NULL, K_BOOL, K_INT, K_FLOAT, K_STRING, K_OBJECT


# ===----------------------------------------------------------------------=== #
# Floats
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


def _reads_back(digits: List[UInt8], scale: Int, bits: UInt64) -> Bool:
    """Whether the decimal `digits` x 10^scale parses (atof rounds correctly) to these bits."""
    var text = String(unsafe_from_utf8=Span(digits))
    text += "e"
    text += String(scale)
    try:
        return bitcast[DType.uint64](atof(text)) == bits
    except:
        return False


def _plus_one(digits: List[UInt8]) -> List[UInt8]:
    """The decimal digit string plus one ("199" -> "200", "99" -> "100")."""
    var out = digits.copy()
    var i = len(out) - 1
    while i >= 0:
        if out[i] != 0x39:
            out[i] += 1
            return out^
        out[i] = 0x30
        i -= 1
    out.insert(0, 0x31)
    return out^


def _above_half(rest: Span[UInt8, _]) -> Int:
    """Compare the dropped digits `rest` with one half of their last kept place: -1 below,
    0 exactly half, 1 above."""
    if len(rest) == 0 or rest[0] < 0x35:
        return -1
    if rest[0] > 0x35:
        return 1
    for i in range(1, len(rest)):
        if rest[i] != 0x30:
            return 1
    return 0


def _shortest(value: Float64) -> Tuple[List[UInt8], Int]:
    """A finite, positive float as (D, x): D the shortest digit string that reads back as the
    same float64 (the closest to the exact value among those, ties to an even last digit, as
    Python's repr chooses), no trailing zeros; x the decimal exponent of D's first digit."""
    var exact = _exact_decimal(value)
    var digits = exact[0]
    var all = digits.as_bytes()
    var n = len(all)
    var x = exact[1] + n - 1
    var bits = bitcast[DType.uint64](value)
    var chosen = List[UInt8]()
    for p in range(1, n + 1):
        var low = List[UInt8](capacity=p + 1)
        low.extend(all[0:p])
        var high = _plus_one(low)
        var low_ok = _reads_back(low, x - p + 1, bits)
        var high_ok = _reads_back(high, x - p + 1, bits)
        if not (low_ok or high_ok):
            continue
        var side = _above_half(all[p:n])
        var odd = (low[p - 1] - 0x30) % 2 == 1
        if high_ok and (not low_ok or side > 0 or (side == 0 and odd)):
            if len(high) > p:
                x += 1
            chosen = high^
        else:
            chosen = low^
        break
    while len(chosen) > 1 and chosen[len(chosen) - 1] == 0x30:
        _ = chosen.pop()
    return (chosen^, x)


def write_float(mut out: String, value: Float64):
    """Python's repr(float), which json.dumps writes: the shortest round-trip digits D with
    decimal exponent x, positional when -4 <= x < 16 (with ".0" when integral), else
    D[0][.D[1:]]e±XX (1e-05, 1e+16, 0.1, -0.0, 123.0, 5e-324); nan, inf and -inf as Python
    spells them (only in messages: such values are refused before any document is written)."""
    if value != value:
        out += "nan"
        return
    var bits = bitcast[DType.uint64](value)
    if bits >> 63 == 1:
        out += "-"
    var magnitude = bitcast[DType.float64](bits & 0x7FFFFFFFFFFFFFFF)
    if magnitude == 0.0:
        out += "0.0"
        return
    if (bits >> 52) & 0x7FF == 0x7FF:
        out += "inf"
        return
    var shortest = _shortest(magnitude)
    var d = String(unsafe_from_utf8=Span(shortest[0]))
    var x = shortest[1]
    var n = d.byte_length()
    if x < -4 or x >= 16:
        out += d[byte=0]
        if n > 1:
            out += "."
            out += d[byte=1:]
        out += "e-" if x < 0 else "e+"
        var exponent = String(abs(x))
        if exponent.byte_length() < 2:
            out += "0"
        out += exponent
    elif x < 0:
        out += "0."
        for _ in range(-x - 1):
            out += "0"
        out += d
    else:
        out += d[byte=0 : min(n, x + 1)]
        for _ in range(x + 1 - n):
            out += "0"
        out += "."
        if n > x + 1:
            out += d[byte = x + 1 :]
        else:
            out += "0"


# ===----------------------------------------------------------------------=== #
# Strings and values
# ===----------------------------------------------------------------------=== #


def _escape(mut out: String, cp: Int):
    """One code point outside printable ASCII, or a quote or backslash, as json.dumps escapes it:
    the short escapes, else \\u and four lowercase hex digits (a surrogate pair above U+FFFF)."""
    comptime HEX = "0123456789abcdef"
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
    elif cp == 0x08:
        out += "\\b"
    elif cp == 0x0C:
        out += "\\f"
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


def write_string(mut out: String, text: String):
    """A JSON string literal; non-ASCII as \\u escapes, WTF-8 surrogates back to escapes."""
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
        _escape(out, cp)
        i += width
        run = i
    if run < n:
        out += String(unsafe_from_utf8=bytes[run:n])
    out += '"'


def _next_item(mut out: String, position: Int, level: Int):
    """What precedes item `position` of a container: ", " between items on one line (level -1),
    or json.dumps(indent=2)'s "," and a new line indented for the items at `level` + 1."""
    if position > 0:
        out += "," if level >= 0 else ", "
    if level >= 0:
        _new_line(out, level + 1)


def _new_line(mut out: String, level: Int):
    out += "\n"
    for _ in range(level):
        out += "  "


def write_value(mut out: String, tree: Tree, index: Int, level: Int = -1):
    """Write a JSON value (K_NULL..K_OBJECT) from the tree: on one line (level -1, the
    observable state's layout), or laid out as json.dumps(indent=2) does, the value's first
    line being at indentation `level`. Called only on accepted values, whose depth is bounded
    by the spec, so recursion is safe here."""
    ref node = tree.nodes[index]
    var kind = node.kind
    if kind == K_NULL:
        out += "null"
    elif kind == K_BOOL:
        out += "true" if node.flag else "false"
    elif kind == K_INT:
        # Exact: an integer is never converted through float64 (beyond the JSON range, where
        # the value saturated, the literal).
        out += String(node.int_value) if node.valid else node.text
    elif kind == K_FLOAT:
        write_float(out, node.float_value)
    elif kind == K_STRING:
        write_string(out, node.text)
    else:
        var is_object = kind == K_OBJECT
        out += "{" if is_object else "["
        for i in range(len(node.kids)):
            _next_item(out, i, level)
            if is_object:
                write_string(out, node.keys[i])
                out += ": "
            write_value(out, tree, node.kids[i], level + 1 if level >= 0 else -1)
        if level >= 0 and len(node.kids) > 0:
            _new_line(out, level)
        out += "}" if is_object else "]"


# ===----------------------------------------------------------------------=== #
# The metadata document
# ===----------------------------------------------------------------------=== #


def _strings(mut out: String, items: List[String], level: Int):
    out += "["
    for i in range(len(items)):
        _next_item(out, i, level)
        write_string(out, items[i])
    if len(items) > 0:
        _new_line(out, level)
    out += "]"


def _key(mut out: String, position: Int, key: String):
    _next_item(out, position, 0)
    write_string(out, key)
    out += ": "


def write_document(
    mut out: String,
    layer_names: List[String],
    inputs: List[Int],
    outputs: List[Int],
    neuron_types: List[String],
    frozen_layers: List[String],
    metadata: Tree,
    metadata_root: Int,
    archive_sha256: String,
):
    """The canonical metadata document (the spec's save.writer.document): what
    json.dumps(document, indent=2, ensure_ascii=True) writes for the keys in spec order,
    archive_sha256 last, metadata keys in their order; no trailing newline."""
    out += "{"
    _key(out, 0, "layer_names")
    _strings(out, layer_names, 1)
    _key(out, 1, "layer_sizes")
    out += "["
    var total = 0
    for i in range(len(inputs)):
        total += inputs[i] * outputs[i]
        _next_item(out, i, 1)
        out += "["
        _next_item(out, 0, 2)
        out += String(inputs[i])
        _next_item(out, 1, 2)
        out += String(outputs[i])
        _new_line(out, 2)
        out += "]"
    if len(inputs) > 0:
        _new_line(out, 1)
    out += "]"
    _key(out, 2, "neuron_types")
    _strings(out, neuron_types, 1)
    _key(out, 3, "frozen_layers")
    _strings(out, frozen_layers, 1)
    _key(out, 4, "n_layers")
    out += String(len(layer_names))
    _key(out, 5, "total_params")
    out += String(total)
    _key(out, 6, "metadata")
    write_value(out, metadata, metadata_root, 1)
    _key(out, 7, "archive_sha256")
    write_string(out, archive_sha256)
    out += "\n}"
