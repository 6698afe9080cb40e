"""The JSON writer: the canonical spelling of the observable state's values.

Strings are ASCII-only with \\u escapes (Python's json.dumps with ensure_ascii), integers are
plain digits, and floats are the shortest text that reads back to the same float64 bit
pattern, always with a '.' or an exponent. Mojo 1.2 has no JSON writer in its standard library,
and its own Float64 formatting is not always round-trip safe (see write_float).
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


# ===----------------------------------------------------------------------=== #
# Strings and values
# ===----------------------------------------------------------------------=== #


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
        # Exact: an integer is never converted through float64 (beyond the JSON range, where
        # the value saturated, the literal).
        out += String(node.int_value) if node.valid else node.text
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
