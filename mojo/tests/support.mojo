"""Builders for test inputs (zip archives, .npy members, checkpoint pairs) and helpers that turn
an operation's outcome into its code ("accept" when nothing was raised)."""

from std.os import makedirs

from checkpoint import Checkpoint, load_checkpoint, construct_checkpoint
from errors import CheckpointError
from hostvalue import decode
from json import Tree, parse_document, parse_message
from npy import LayerDecoders
from zip import (
    ArchiveFile, MemberSink, ZipEntry, check_integrity, crc32, read_directory, stream_members,
)

comptime TMP = "/tmp/snn-mojo-tests"


def bytes_of(text: String) -> List[UInt8]:
    var out = List[UInt8]()
    out.extend(text.as_bytes())
    return out^


def from_hex(text: String) -> List[UInt8]:
    var out = List[UInt8]()
    var b = text.as_bytes()
    for i in range(0, len(b) - 1, 2):
        out.append(UInt8(_nibble(b[i]) * 16 + _nibble(b[i + 1])))
    return out^


def _nibble(c: UInt8) -> Int:
    if c >= 0x61:
        return Int(c) - 0x61 + 10
    return Int(c) - 0x30


def put16(mut data: List[UInt8], at: Int, value: Int):
    data[at] = UInt8(value & 0xFF)
    data[at + 1] = UInt8((value >> 8) & 0xFF)


def put32(mut data: List[UInt8], at: Int, value: Int):
    put16(data, at, value & 0xFFFF)
    put16(data, at + 2, (value >> 16) & 0xFFFF)


def _le(mut out: List[UInt8], value: Int, width: Int):
    for k in range(width):
        out.append(UInt8((value >> (8 * k)) & 0xFF))


# ===----------------------------------------------------------------------=== #
# Zip
# ===----------------------------------------------------------------------=== #


@fieldwise_init
struct Member(Copyable, Movable):
    var name: String
    var data: List[UInt8]  # what is stored (raw deflate when method is 8)
    var plain_size: Int
    var crc: Int
    var method: Int


def stored(name: String, data: List[UInt8]) -> Member:
    return Member(name, data.copy(), len(data), crc32(Span(data)), 0)


def build_zip(members: List[Member]) -> List[UInt8]:
    """A zip file like Python's zipfile writes (no zip64), one local header per member."""
    var out = List[UInt8]()
    var offsets = List[Int]()
    for m in members:
        offsets.append(len(out))
        _le(out, 0x04034B50, 4)
        _le(out, 20, 2)
        _le(out, 0, 2)
        _le(out, m.method, 2)
        _le(out, 0, 4)
        _le(out, m.crc, 4)
        _le(out, len(m.data), 4)
        _le(out, m.plain_size, 4)
        _le(out, m.name.byte_length(), 2)
        _le(out, 0, 2)
        out.extend(m.name.as_bytes())
        out.extend(Span(m.data))
    var cd_offset = len(out)
    for i in range(len(members)):
        ref m = members[i]
        _le(out, 0x02014B50, 4)
        _le(out, 20, 2)
        _le(out, 20, 2)
        _le(out, 0, 2)
        _le(out, m.method, 2)
        _le(out, 0, 4)
        _le(out, m.crc, 4)
        _le(out, len(m.data), 4)
        _le(out, m.plain_size, 4)
        _le(out, m.name.byte_length(), 2)
        _le(out, 0, 2)
        _le(out, 0, 2)
        _le(out, 0, 2)
        _le(out, 0, 2)
        _le(out, 0, 4)
        _le(out, offsets[i], 4)
        out.extend(m.name.as_bytes())
    var cd_size = len(out) - cd_offset
    _le(out, 0x06054B50, 4)
    _le(out, 0, 4)
    _le(out, len(members), 2)
    _le(out, len(members), 2)
    _le(out, cd_size, 4)
    _le(out, cd_offset, 4)
    _le(out, 0, 2)
    return out^


def central_offset(data: List[UInt8]) -> Int:
    """Where the central directory starts (from the end record, no comment)."""
    var end = len(data) - 22
    return Int(data[end + 16]) | (Int(data[end + 17]) << 8) | (Int(data[end + 18]) << 16) | (
        Int(data[end + 19]) << 24)


def write_temp(data: List[UInt8], name: String = "t.npz") raises -> String:
    """`data` as the file TMP/name (the archive readers read files)."""
    makedirs(TMP, exist_ok=True)
    var path = String(TMP, "/", name)
    write_file(path, data)
    return path^


struct Collect(MemberSink):
    """A sink that keeps each member's bytes."""

    var members: List[List[UInt8]]

    def __init__(out self, n: Int):
        self.members = List[List[UInt8]](length=n, fill=List[UInt8]())

    def landing(mut self, member: Int) -> Span[UInt8, MutAnyOrigin]:
        return Span[UInt8, MutAnyOrigin]()

    def landed(mut self, member: Int, count: Int):
        pass

    def accept(mut self, member: Int, data: Span[UInt8, _]):
        self.members[member].extend(data)


def members_of(
    file: ArchiveFile, entries: List[ZipEntry]
) raises CheckpointError -> List[List[UInt8]]:
    """The entries' bytes through the archive pass, after their integrity checks."""
    var sink = Collect(len(entries))
    var found = stream_members(file, entries, sink, False)
    check_integrity(entries, found.problems, file.path)
    return sink.members.copy()


def zip_members(data: List[UInt8]) raises -> List[List[UInt8]]:
    """Every entry's bytes, in directory order, of the archive `data`."""
    var file = ArchiveFile(write_temp(data))
    return members_of(file, read_directory(file))


def zip_code(data: List[UInt8]) raises -> String:
    """The code of reading the directory and every member."""
    var file = ArchiveFile(write_temp(data))
    try:
        _ = members_of(file, read_directory(file))
        return "accept"
    except e:
        return e.code


# ===----------------------------------------------------------------------=== #
# Npy
# ===----------------------------------------------------------------------=== #


def npy_bytes(header_dict: String, data: List[UInt8], major: Int = 1) -> List[UInt8]:
    """A .npy member with this header dict text, padded like numpy, then the data."""
    var header = String(header_dict)
    var prefix = 10 if major == 1 else 12
    var total = prefix + header.byte_length() + 1
    while total % 64 != 0:
        header += " "
        total += 1
    header += "\n"
    var out: List[UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, UInt8(major), 0]
    _le(out, header.byte_length(), 2 if major == 1 else 4)
    out.extend(header.as_bytes())
    out.extend(Span(data))
    return out^


def f8_bytes(values: List[Float64]) -> List[UInt8]:
    var out = List[UInt8]()
    for v in values:
        var bits = Int(bitcast_u64(v))
        _le(out, bits, 8)
    return out^


def bitcast_u64(v: Float64) -> UInt64:
    from std.memory import bitcast
    return bitcast[DType.uint64](v)


def matrix_npy(rows: Int, cols: Int) -> List[UInt8]:
    var values = List[Float64]()
    for i in range(rows * cols):
        values.append(Float64(i) * 0.5 - 1.0)
    return npy_bytes(String("{'descr': '<f8', 'fortran_order': False, 'shape': (", rows, ", ", cols,
                            "), }"), f8_bytes(values))


def read_layers(
    members: List[List[UInt8]], names: List[String], inputs: List[Int], outputs: List[Int]
) raises CheckpointError -> List[List[Float64]]:
    """The array phase over whole members, fed as the archive pass feeds them, in odd-sized
    pieces (items split across pieces) or into the decoder's landing when it offers one."""
    var sizes = List[Int]()
    for ref member in members:
        sizes.append(len(member))
    var decoders = LayerDecoders(names, inputs, outputs, sizes)
    for i in range(len(members)):
        var at = 0
        while at < len(members[i]):
            var landing = decoders.landing(i)
            var n = min(7, len(members[i]) - at)
            if len(landing) > 0:
                n = min(n, len(landing))
                for k in range(n):
                    landing[k] = members[i][at + k]
                decoders.landed(i, n)
            else:
                decoders.accept(i, Span(members[i])[at : at + n])
            at += n
    return decoders.finish()


def read_one(data: List[UInt8], rows: Int, cols: Int) raises CheckpointError -> List[Float64]:
    """read_layers on a single layer "hidden" of `cols` inputs and `rows` outputs."""
    var members = List[List[UInt8]]()
    members.append(data.copy())
    var names: List[String] = ["hidden"]
    var inputs: List[Int] = [cols]
    var outputs: List[Int] = [rows]
    return read_layers(members, names, inputs, outputs)[0].copy()


def npy_code(data: List[UInt8], rows: Int, cols: Int) -> String:
    try:
        _ = read_one(data, rows, cols)
        return "accept"
    except e:
        return e.code


# ===----------------------------------------------------------------------=== #
# JSON, checkpoints
# ===----------------------------------------------------------------------=== #


def doc_code(text: String) -> String:
    try:
        _ = parse_document(text.as_bytes(), "t.json")
        return "accept"
    except e:
        return e.code


def doc_bytes_code(data: List[UInt8]) -> String:
    try:
        _ = parse_document(Span(data), "t.json")
        return "accept"
    except e:
        return e.code


def write_file(path: String, data: List[UInt8]) raises:
    with open(path, "w") as f:
        f.write_bytes(Span(data))


def write_pair(name: String, document: String, archive: List[UInt8]) raises -> String:
    """Write BASE.json and BASE.npz under the test folder; return BASE."""
    var folder = String(TMP, "/", name)
    makedirs(folder, exist_ok=True)
    var base = String(folder, "/checkpoint")
    write_file(base + ".json", bytes_of(document))
    write_file(base + ".npz", archive)
    return base


def two_layer_document(extra: String = "") -> String:
    """A valid document for layers hidden (3 -> 4) and out (4 -> 2); `extra` adds members."""
    return String(
        '{"layer_names": ["hidden", "out"], "layer_sizes": [[3, 4], [4, 2]], ',
        '"neuron_types": ["LIF", "LIF"], "frozen_layers": ["out"], "n_layers": 2, ',
        '"total_params": 20, "metadata": {"task": "mnist"}', extra, "}",
    )


def two_layer_archive() -> List[UInt8]:
    var members = List[Member]()
    members.append(stored("layer_0.npy", matrix_npy(4, 3)))
    members.append(stored("layer_1.npy", matrix_npy(2, 4)))
    return build_zip(members)


def load_code(base: String) -> String:
    try:
        _ = load_checkpoint(base)
        return "accept"
    except e:
        return e.code


def host(text: String) raises -> Tree:
    """Decode a request-style JSON text into host values (root = the decoded value)."""
    var tree = parse_message(text.as_bytes())
    var values = Tree()
    values.root = decode(tree, tree.root, values)
    return values^


def construct_code(state: String) raises -> String:
    var values = host(state)
    try:
        _ = construct_checkpoint(values, values.root)
        return "accept"
    except e:
        return e.code


def valid_state(replace_key: String = "", replace_value: String = "") -> String:
    """A valid construct state; one key's JSON text can be replaced (or added)."""
    var keys: List[String] = ["weights", "layer_names", "layer_sizes", "neuron_types", "metadata",
                              "frozen_layers"]
    var texts: List[String] = [
        '[{"$array": {"shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}}, [[0.5, 1.5]]]',
        '["a", "b"]',
        "[[3, 2], [2, 1]]",
        '["LIF", "LIF"]',
        '{"k": [1, 2.5, null, true, "x"]}',
        '["b"]',
    ]
    var out = String("{")
    var found = False
    for i in range(len(keys)):
        var text = texts[i]
        if keys[i] == replace_key:
            found = True
            if replace_value == "":
                continue
            text = replace_value
        if out.byte_length() > 1:
            out += ", "
        out += String('"', keys[i], '": ', text)
    if not found and replace_key != "":
        out += String(', "', replace_key, '": ', replace_value)
    out += "}"
    return out^
