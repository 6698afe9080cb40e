"""Byte-level mutations of valid checkpoint files, for ``snnconform fuzz``.

The corpus's mutation operators (:mod:`._mutations`) each break one invariant on purpose; these
break files blindly, at every layer a reader meets: raw bytes (bit flips, truncation, splicing
two files, deleted or repeated runs), JSON tokens (huge or non-finite numbers, odd strings,
values nested past the depth limits, duplicated or missing members), the zip (members
duplicated, reordered, renamed to look-alike or non-UTF-8 names, other methods, flags and
CRCs, zip64 sizes up to 2^64 - 1, central records duplicated or edited field by field) and the
``.npy`` headers (dimensions with more digits or past every integer width, spaces before ``{``,
other dtypes, versions and header lengths, data too short or too long, non-finite values).

A :class:`Mutation` is a name and a tuple of small integers; :func:`apply` reads each integer
modulo whatever it indexes (an offset, a member, a table of interesting values), so a mutation
stays meaningful on any file, composes with any other, and shrinks by moving its integers
toward zero (tables list their simplest entries first). A mutation that meets a file it cannot
read (a zip that no longer parses) leaves it unchanged. The interesting numbers come from the
spec's limits (each limit, one below, one above) plus the seams of the integer widths.
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._fixturefiles import Npy, ZipModel, npy_header_text
from ._fuzzfiles import CentralDirectory, parse_npz, set_central_field, set_zip64_extra

Params = tuple[int, ...]


@dataclass(frozen=True)
class Mutation:
    """One edit of one file: a registered mutator's name and its integer parameters."""

    name: str
    params: Params

    def to_json(self) -> list[Any]:
        return [self.name, *self.params]


@dataclass
class Context:
    """What a mutation may consult besides the bytes it edits."""

    tables: Tables
    other: Callable[[int, str], bytes]  # (seed index, "json" or "npz") -> that seed's file
    npz: bytes = b""  # the archive as finally written (for a digest that matches it)


# ----------------------------------------------------------------------------- the tables


def _seams() -> set[int]:
    return {0, 1, 2, 2**7, 2**8, 2**15, 2**16, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53,
            2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**18 - 1, 10**18, 10**19, 10**30}


@dataclass(frozen=True)
class Tables:
    """Interesting values, simplest first, derived from the spec's limits."""

    ints: tuple[int, ...]
    depths: tuple[int, ...]
    json_tokens: tuple[bytes, ...] = field(default=())

    @classmethod
    def from_limits(cls, limits: Mapping[str, int]) -> Tables:
        numbers = _seams() | {value + step for value in limits.values() for step in (-1, 0, 1)}
        ints = tuple(sorted(numbers | {-n for n in numbers}, key=lambda n: (abs(n), n < 0)))
        depth_limits = [value for name, value in limits.items() if "depth" in name]
        depths = sorted({1, 2, 31, 32, 33, 100, 1000} |
                        {value + step for value in depth_limits for step in (-1, 0, 1)})
        tokens = tuple(str(n).encode() for n in ints) + _JSON_TOKENS
        return cls(ints, tuple(depths), tokens)


_JSON_TOKENS = (
    b"-0", b"0.0", b"-0.0", b"1.0", b"0.5", b"1e400", b"-1e400", b"1e-400", b"5e-324",
    b"1E2", b"1e+2", b"1.7976931348623157e308", b"NaN", b"Infinity", b"-Infinity", b"01", b"-01",
    b".5", b"5.", b"+1", b"0x10", b"1_0", b"true", b"false", b"null", b'""', b'"layer_0"',
    b'"\\ud800"', b'"\\udc00\\ud800"', b'"\\u0000"', b'"\\uD83D\\uDE00"', b'"\\x41"', b"'a'",
    b'"\t"', b'"' + b"x" * 1000 + b'"', b"[]", b"{}", b"[1, 2]", b'{"a": 1}', b"[[1, 2]]",
    b"[1, 2, 3]", b'["a", "a"]', b"[1.5, 2]", b"[true, 1]", b"[[1, 2], [3, 4]]",
)
_KEYS = (b"layer_names", b"layer_sizes", b"neuron_types", b"frozen_layers", b"n_layers",
         b"total_params", b"metadata", b"archive_sha256", b"extra", b"", b"layer_names ",
         b"Layer_names", b"metadata\\u0000")
_ENCODINGS = (b"\xef\xbb\xbf", b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
              b"\x00", b"\xfe\xff", b"\xc3")
_WHITESPACE = (b"", b"\t", b"\r\n", b"\n\n", b"\x0b", b"\x0c", b"\xc2\xa0", b"\xe2\x80\xa8")
_BLOBS = (b"\x00", b"\xff", b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06",
          b"\x93NUMPY", b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\xff\xff\xff\xff",
          b"\x00\x00\x00\x80", b"\x7f\xff\xff\xff\xff\xff\xff\xff")
_NAMES = (b"layer_0.npy", b"layer_1.npy", b"layer_2.npy", b"layer_10.npy", b"layer_00.npy",
          b"layer_01.npy", b"layer_0", b"layer_0.npy.npy", b"LAYER_0.npy", b"layer_0.NPY",
          b"layer_-0.npy", b"layer_+0.npy", b"layer_ 0.npy", b"../layer_0.npy", b"/layer_0.npy",
          b"layer_0.npy\x00", b"layer_\xff.npy", b"layer_\xfe.npy", b"layer_\xc3\xa9.npy",
          b"layer_\xe9.npy", b"layer_\xd9\xa0.npy", b"layer_\xef\xbc\x90.npy", b"", b"layer_0.npz",
          b"layer_4294967296.npy", b"layer_18446744073709551616.npy", b"weights.pkl")
_METHODS = (0, 8, 1, 9, 12, 14, 93, 99)
_FLAG_BITS = (0, 3, 11, 6, 13, 1, 2)
_DESCRS = ("<f8", ">f8", "<f4", "<f2", "|i1", "<i8", "<u8", ">u8", "|u1", "f8", "f", "<", "",
           "|f8", "=f8", "<d", "<f16", "<c16", "|b1", "<U1", "|S1", "|V8", "|O", "<M8[s]",
           "float64", " <f8", "<f8 ", "<i16")
_FORTRAN = ("False", "True", "0", "1", "'False'", "None", "false", "FALSE")
_DIM_TEXTS = ("0", "1", "2", "00", "01", "007", "-1", "-0", "+1", " 1", "1 ", "1L", "1.0",
              "True", "0x1", "1_0", "\u0661", "1e3", "None")
_SHAPE_FORMS = ("({a}, {b})", "({a},)", "()", "({a}, {b}, 1)", "(1, {a}, {b})", "[{a}, {b}]",
                "({a},{b})", "( {a} , {b} )", "({a}, {b},)", "({b}, {a})", "{a}")
_HEADER_EDITS = ("spaces_before", "tab_before", "space_after_brace", "double_quotes",
                 "no_trailing_comma", "reordered", "extra_key", "duplicate_key", "missing_key",
                 "trailing_text", "newline_inside", "nested_dict", "unicode_key")
_VERSIONS = ((1, 0), (2, 0), (3, 0), (4, 0), (0, 0), (1, 1), (2, 1), (255, 255))
_LENGTH_DELTAS = (-1, 1, -64, 64, -16, 16, 4096, -4096)
_SPECIAL_VALUES = (float("nan"), float("inf"), -float("inf"), -0.0, 5e-324, 1.7976931348623157e308)
#: The central record fields a mutation may set (others keep the file parseable enough to
#: be interesting), and values relative to the current one or absolute.
_CENTRAL_EDITABLE = (7, 8, 9, 16, 4, 3, 13, 2, 14, 15)
_ZIP64_SLOTS = (0, 1, 2)


# ----------------------------------------------------------------------------- JSON tokens

_TOKEN = re.compile(
    rb'"(?:[^"\\]|\\.)*"|-?(?:Infinity|[0-9][0-9.eE+-]*)|true|false|null|NaN|[\[\]{}:,]|\s+|.', re.S
)
_SIGNIFICANT = re.compile(
    rb'"(?:[^"\\]|\\.)*"|-?(?:Infinity|[0-9][0-9.eE+-]*)|true|false|null|NaN|[\[\]{}:,]|[^\s]', re.S
)


def _tokens(data: bytes) -> list[tuple[int, int]]:
    return [match.span() for match in _TOKEN.finditer(data)]


def _is_space(data: bytes, span: tuple[int, int]) -> bool:
    return data[span[0] : span[1]].isspace()


def _significant(data: bytes) -> list[tuple[int, int]]:
    return [match.span() for match in _SIGNIFICANT.finditer(data)]


def _value_end(data: bytes, tokens: list[tuple[int, int]], index: int) -> int:
    """The end offset of the value starting at significant token ``index``."""
    first = data[tokens[index][0] : tokens[index][1]]
    if first not in (b"[", b"{"):
        return tokens[index][1]
    depth = 0
    for start, end in tokens[index:]:
        char = data[start:end]
        depth += char in (b"[", b"{")
        depth -= char in (b"]", b"}")
        if depth == 0:
            return end
    return len(data)


def _value_starts(data: bytes, tokens: list[tuple[int, int]]) -> list[int]:
    """Significant-token indexes where a value starts (keys excluded)."""
    starts = []
    for index, (start, end) in enumerate(tokens):
        text = data[start:end]
        if text in (b"]", b"}", b":", b","):
            continue
        following = data[tokens[index + 1][0] : tokens[index + 1][1]] if index + 1 < len(tokens) else b""
        if text.startswith(b'"') and following == b":":
            continue
        starts.append(index)
    return starts


def _members(data: bytes, tokens: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(key token index, member start offset, member end offset) of every object member."""
    found = []
    for index in range(len(tokens) - 2):
        start, end = tokens[index]
        if data[start : start + 1] == b'"' and data[tokens[index + 1][0] : tokens[index + 1][1]] == b":":
            found.append((index, start, _value_end(data, tokens, index + 2)))
    return found


def json_token(data: bytes, params: Params, context: Context) -> bytes:
    tokens = _significant(data)
    starts = _value_starts(data, tokens)
    if not starts:
        return data
    index = starts[params[0] % len(starts)]
    start, end = tokens[index][0], _value_end(data, tokens, index)
    table = context.tables.json_tokens
    return data[:start] + table[params[1] % len(table)] + data[end:]


def json_nest(data: bytes, params: Params, context: Context) -> bytes:
    """Wrap one value in ``params[1]`` more levels of arrays, objects, or both alternately."""
    tokens = _significant(data)
    starts = _value_starts(data, tokens)
    if not starts:
        return data
    index = starts[params[0] % len(starts)]
    start, end = tokens[index][0], _value_end(data, tokens, index)
    depth, style = min(params[1], 5000), params[2] % 3
    opener = [b"[" if (style == 0 or (style == 2 and level % 2)) else b'{"d": ' for level in range(depth)]
    closer = [b"]" if text == b"[" else b"}" for text in reversed(opener)]
    return data[:start] + b"".join(opener) + data[start:end] + b"".join(closer) + data[end:]


def json_member(data: bytes, params: Params, context: Context) -> bytes:
    """Duplicate, drop, re-value or rename one object member."""
    tokens = _significant(data)
    members = _members(data, tokens)
    if not members:
        return data
    key_index, start, end = members[params[0] % len(members)]
    action, choice = params[1] % 4, params[2]
    if action == 0:
        return data[:end] + b", " + data[start:end] + data[end:]
    if action == 1:
        after = data[end:].lstrip()
        if after.startswith(b","):
            return data[:start] + after[1:]
        before = data[:start].rstrip()
        return (before[:-1] if before.endswith(b",") else before) + data[end:]
    if action == 2:
        table = context.tables.json_tokens
        value_start = tokens[key_index + 2][0]
        return data[:value_start] + table[choice % len(table)] + data[end:]
    key_end = tokens[key_index][1]
    return data[:start] + b'"' + _KEYS[choice % len(_KEYS)] + b'"' + data[key_end:]


def json_top(data: bytes, params: Params, context: Context) -> bytes:
    """Add a member to the root object (a duplicate when the key is already there)."""
    position = data.find(b"{")
    if position < 0:
        return data
    table = context.tables.json_tokens
    member = b'"' + _KEYS[params[0] % len(_KEYS)] + b'": ' + table[params[1] % len(table)]
    rest = data[position + 1 :]
    joiner = b", " if rest.strip()[:1] not in (b"}", b"") else b""
    return data[: position + 1] + member + joiner + rest


def json_encoding(data: bytes, params: Params, context: Context) -> bytes:
    kind = params[0] % (len(_ENCODINGS) + 1)
    if kind == len(_ENCODINGS):
        return data.decode("utf-8", "replace").encode("utf-16")
    offset = 0 if kind == 0 else params[1] % (len(data) + 1)
    return data[:offset] + _ENCODINGS[kind] + data[offset:]


def json_whitespace(data: bytes, params: Params, context: Context) -> bytes:
    spaces = [span for span in _tokens(data) if _is_space(data, span)]
    if not spaces:
        return data
    start, end = spaces[params[0] % len(spaces)]
    return data[:start] + _WHITESPACE[params[1] % len(_WHITESPACE)] + data[end:]


def json_fix_digest(data: bytes, params: Params, context: Context) -> bytes:
    """Make ``archive_sha256`` match the archive as written, so that the archive's own
    checks are reached (a mutated archive otherwise fails the digest first)."""
    digest = hashlib.sha256(context.npz).hexdigest().encode()
    return re.sub(rb'("archive_sha256"\s*:\s*)"[0-9a-fA-F]*"', rb'\g<1>"' + digest + b'"', data, count=1)


# ----------------------------------------------------------------------------- raw bytes


def bytes_flip(data: bytes, params: Params, context: Context) -> bytes:
    if not data:
        return data
    offset = params[0] % len(data)
    return data[:offset] + bytes([data[offset] ^ (1 << (params[1] % 8))]) + data[offset + 1 :]


def bytes_truncate(data: bytes, params: Params, context: Context) -> bytes:
    return data[: params[0] % (len(data) + 1)]


def bytes_splice(data: bytes, params: Params, context: Context, file: str = "") -> bytes:
    other = context.other(params[0], file)
    return data[: params[1] % (len(data) + 1)] + other[params[2] % (len(other) + 1) :]


def bytes_delete(data: bytes, params: Params, context: Context) -> bytes:
    offset = params[0] % (len(data) + 1)
    return data[:offset] + data[offset + 1 + params[1] % 64 :]


def bytes_insert(data: bytes, params: Params, context: Context) -> bytes:
    offset = params[0] % (len(data) + 1)
    return data[:offset] + _BLOBS[params[1] % len(_BLOBS)] + data[offset:]


def bytes_duplicate(data: bytes, params: Params, context: Context) -> bytes:
    offset = params[0] % (len(data) + 1)
    run = data[offset : offset + 1 + params[1] % 256]
    return data[: offset + len(run)] + run + data[offset + len(run) :]


# ----------------------------------------------------------------------------- the zip


def _with_model(edit: Callable[[ZipModel, Params, Context], None]) -> Callable[[bytes, Params, Context], bytes]:
    def apply(data: bytes, params: Params, context: Context) -> bytes:
        model = parse_npz(data)
        if model is None or not model.members:
            return data
        edit(model, params, context)
        return model.render()

    apply.__name__ = edit.__name__
    apply.__doc__ = edit.__doc__
    return apply


def _member_edit(model: ZipModel, params: Params, context: Context) -> None:
    """Duplicate, drop, move or rename a member; change its method, flags, CRC, local name or
    signature; add bytes after its compressed stream or after its content."""
    members = model.members
    index, action, choice = params[0] % len(members), params[1] % 11, params[2]
    member = members[index]
    if action == 0:
        members.insert(choice % (len(members) + 1), copy.deepcopy(member))
    elif action == 1:
        del members[index]
    elif action == 2:
        other = choice % len(members)
        members[index], members[other] = members[other], members[index]
    elif action == 3:
        member.name = _NAMES[choice % len(_NAMES)]
    elif action == 4:
        member.compressed = member.stream()
        member.method = _METHODS[choice % len(_METHODS)]
    elif action == 5:
        member.flags |= 1 << _FLAG_BITS[choice % len(_FLAG_BITS)]
    elif action == 6:
        member.crc = zlib.crc32(member.content()) ^ (1 << (choice % 32))
    elif action == 7:
        member.local_name = _NAMES[choice % len(_NAMES)]
    elif action == 8:
        member.local_signature = b"PK\x03\x05"
    elif action == 9:
        member.compressed = member.stream() + bytes([choice % 256]) * (1 + choice % 7)
    else:
        member.payload = member.content() + bytes(1 + choice % 16)


def _member_size(model: ZipModel, params: Params, context: Context) -> None:
    """Declare another uncompressed or compressed size: one off, the 32-bit seams, or the
    zip64 extremes (2^63 - 1, 2^63, 2^64 - 1)."""
    member = model.members[params[0] % len(model.members)]
    real = len(member.content()) if params[1] % 2 == 0 else len(member.stream())
    sizes = (real - 1, real + 1, 0, 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1)
    value = max(sizes[params[2] % len(sizes)], 0)
    if params[1] % 2 == 0:
        member.uncompressed_size = value
    else:
        member.compressed_size = value
    if value >= 0xFFFFFFFF:
        model.zip64 = True  # only zip64 fields hold these


def _model_edit(model: ZipModel, params: Params, context: Context) -> None:
    """Switch to zip64 records, claim other disks, miscount entries, misplace the directory,
    or make the first entry's data overlap the second's."""
    action, choice = params[0] % 5, params[1]
    if action == 0:
        model.zip64 = not model.zip64
    elif action == 1:
        model.disk_number = 1 + choice % 3
    elif action == 2:
        model.entry_count_delta = (1, -1, 2, 0xFFFF)[choice % 4]
    elif action == 3:
        model.cd_offset_delta = (1, -1, 4, -46, 0x10000)[choice % 5]
    else:
        model.extend_first_entry_by_next = True


# ----------------------------------------------------------------------------- .npy members


def _npy_of(model: ZipModel, index: int) -> Npy | None:
    payload = model.members[index % len(model.members)].payload
    return payload if isinstance(payload, Npy) else None


def _header_parts(npy: Npy) -> dict[str, str]:
    return {"descr": repr(npy.descr), "fortran_order": str(npy.fortran_order), "shape": repr(npy.shape)}


def _header(parts: Mapping[str, str], edit: str = "") -> str:
    items = list(parts.items())
    if edit == "reordered":
        items = items[::-1]
    elif edit == "extra_key":
        items.append(("extra", "1"))
    elif edit == "duplicate_key":
        items.append(items[0])
    elif edit == "missing_key":
        items = items[1:]
    elif edit == "unicode_key":
        items[0] = ("d\u00e9scr", items[0][1])
    quote = '"' if edit == "double_quotes" else "'"
    body = ", ".join(f"{quote}{key}{quote}: {value}" for key, value in items)
    text = "{" + (" " if edit == "space_after_brace" else "") + body
    text += "}" if edit == "no_trailing_comma" else ", }"
    if edit == "nested_dict":
        text = "{'header': " + text + "}"
    prefix = {"spaces_before": "  ", "tab_before": "\t", "newline_inside": ""}.get(edit, "")
    if edit == "newline_inside":
        text = text.replace(", ", ",\n", 1)
    return prefix + text + ("#" if edit == "trailing_text" else "")


def _npy_shape(model: ZipModel, params: Params, context: Context) -> None:
    """Write the shape in another form, or one dimension as another literal: more digits,
    the integer seams and the spec's limits, signs, spaces, other bases and digit scripts."""
    npy = _npy_of(model, params[0])
    if npy is None:
        return
    dims = [str(d) for d in npy.shape] + ["1", "1"]
    numbers = [str(n) for n in context.tables.ints if n >= 0] + list(_DIM_TEXTS)
    form = _SHAPE_FORMS[params[1] % len(_SHAPE_FORMS)]
    if params[2] % 2:
        dims[params[1] % 2] = numbers[params[3] % len(numbers)]
        form = _SHAPE_FORMS[0]
    parts = {**_header_parts(npy), "shape": form.format(a=dims[0], b=dims[1])}
    npy.header_text = _header(parts)


def _npy_header(model: ZipModel, params: Params, context: Context) -> None:
    """Another dtype, fortran_order literal, header layout, version, length field or end."""
    npy = _npy_of(model, params[0])
    if npy is None:
        return
    action, choice = params[1] % 6, params[2]
    parts = _header_parts(npy)
    if action == 0:
        parts["descr"] = repr(_DESCRS[choice % len(_DESCRS)])
        npy.header_text = _header(parts)
    elif action == 1:
        parts["fortran_order"] = _FORTRAN[choice % len(_FORTRAN)]
        npy.header_text = _header(parts)
    elif action == 2:
        npy.header_text = _header(parts, _HEADER_EDITS[choice % len(_HEADER_EDITS)])
    elif action == 3:
        npy.version = _VERSIONS[choice % len(_VERSIONS)]
    elif action == 4:
        npy.header_length_delta = _LENGTH_DELTAS[choice % len(_LENGTH_DELTAS)]
    else:
        npy.newline = ("\r", " ", "\n\n", "")[choice % 4]


def _npy_data(model: ZipModel, params: Params, context: Context) -> None:
    """Cut or extend the data, or set one value to NaN, an infinity, -0.0 or an extreme."""
    npy = _npy_of(model, params[0])
    if npy is None:
        return
    action, choice = params[1] % 3, params[2]
    if action == 0:
        npy.data = npy.data[: -(1 + choice % 16)]
    elif action == 1:
        npy.data = npy.data + bytes(1 + choice % 16)
    else:
        dtype = np.dtype(npy.descr)
        values = np.frombuffer(npy.data, dtype=dtype).copy()
        if values.size == 0 or dtype.kind != "f":
            return
        with np.errstate(over="ignore"):
            values.flat[choice % values.size] = _SPECIAL_VALUES[params[3] % len(_SPECIAL_VALUES)]
        npy.data = values.tobytes()


def central_record(data: bytes, params: Params, context: Context) -> bytes:
    """Duplicate a central record (the copy's CRC flipped or not), swap or drop records, or
    set one field of a record, or one zip64 size or offset, to an interesting value."""
    directory = CentralDirectory.parse(data)
    if directory is None or not directory.records:
        return data
    records = directory.records
    index, action, choice = params[0] % len(records), params[1] % 5, params[2]
    record = records[index]
    if action == 0:
        twin = set_central_field(record, 7, struct.unpack("<I", record[16:20])[0] ^ (choice % 2))
        records.insert(index + 1, twin)
    elif action == 1:
        other = choice % len(records)
        records[index], records[other] = records[other], records[index]
    elif action == 2:
        del records[index]
    elif action == 3:
        field_index = _CENTRAL_EDITABLE[choice % len(_CENTRAL_EDITABLE)]
        value = context.tables.ints[params[3] % len(context.tables.ints)]
        records[index] = set_central_field(record, field_index, value)
    else:
        value = abs(context.tables.ints[params[3] % len(context.tables.ints)])
        records[index] = set_zip64_extra(record, _ZIP64_SLOTS[choice % 3], value)
    return directory.render()


# ----------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Mutator:
    """A registered mutation: which file it edits, how many parameters, how often drawn."""

    file: str  # "json", "npz" or "any"
    arity: int
    apply: Callable[[bytes, Params, Context], bytes]
    weight: float = 1.0
    depth_param: int | None = None  # the parameter drawn from the nesting depths


MUTATORS: dict[str, Mutator] = {
    "json_token": Mutator("json", 2, json_token, 3.0),
    "json_nest": Mutator("json", 3, json_nest, 1.5, depth_param=1),
    "json_member": Mutator("json", 3, json_member, 2.0),
    "json_top": Mutator("json", 2, json_top, 1.0),
    "json_encoding": Mutator("json", 2, json_encoding, 0.5),
    "json_whitespace": Mutator("json", 2, json_whitespace, 0.5),
    "zip_member": Mutator("npz", 3, _with_model(_member_edit), 3.0),
    "zip_size": Mutator("npz", 3, _with_model(_member_size), 1.5),
    "zip_model": Mutator("npz", 2, _with_model(_model_edit), 1.0),
    "npy_shape": Mutator("npz", 4, _with_model(_npy_shape), 2.5),
    "npy_header": Mutator("npz", 3, _with_model(_npy_header), 2.5),
    "npy_data": Mutator("npz", 4, _with_model(_npy_data), 1.5),
    "central_record": Mutator("npz", 4, central_record, 2.0),
    "bytes_flip": Mutator("any", 2, bytes_flip, 1.5),
    "bytes_truncate": Mutator("any", 1, bytes_truncate, 0.7),
    "bytes_splice": Mutator("any", 3, bytes_splice, 0.7),
    "bytes_delete": Mutator("any", 2, bytes_delete, 0.7),
    "bytes_insert": Mutator("any", 2, bytes_insert, 0.7),
    "bytes_duplicate": Mutator("any", 2, bytes_duplicate, 0.5),
}
FIX_DIGEST = "json_fix_digest"


def draw_mutation(rng: random.Random, file: str, tables: Tables) -> tuple[str, Mutation]:
    """A random mutation of ``file`` ("json" or "npz"); returns (the file it edits, it)."""
    names = [name for name, m in MUTATORS.items() if m.file in (file, "any")]
    name = rng.choices(names, weights=[MUTATORS[n].weight for n in names])[0]
    mutator = MUTATORS[name]
    params = [rng.randrange(1 << 16) for _ in range(mutator.arity)]
    if mutator.depth_param is not None:
        params[mutator.depth_param] = rng.choice(tables.depths)
    return file, Mutation(name, tuple(params))


def apply(file: str, data: bytes, mutation: Mutation, context: Context) -> bytes:
    """``data`` after ``mutation``; unchanged when the mutation cannot apply to it."""
    if mutation.name == FIX_DIGEST:
        return json_fix_digest(data, mutation.params, context)
    mutator = MUTATORS[mutation.name]
    try:
        if mutator.apply is bytes_splice:
            return bytes_splice(data, mutation.params, context, file)
        return mutator.apply(data, mutation.params, context)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, struct.error, zlib.error,
            UnicodeError, MemoryError):
        return data
