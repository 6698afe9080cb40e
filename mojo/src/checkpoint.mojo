"""The in-memory checkpoint (SNNCheckpoint): construction from host values, loading from a
BASE.json / BASE.npz pair, and the observable state the testee reports.

Both entry points evaluate the invariants of their surface in spec order and raise the first
failure. Where an invariant has several subjects (layers, keys), all subjects are checked
before the next invariant.
"""

from std.os.path import isfile

from errors import *
from json import (
    Tree,
    Node,
    K_NULL,
    K_BOOL,
    K_INT,
    K_FLOAT,
    K_STRING,
    K_ARRAY,
    K_OBJECT,
    K_TUPLE,
    K_MAP,
    K_NDARRAY,
    MAX_SAFE_INTEGER,
    kind_name,
    parse_document,
    write_value,
    write_string,
)
from zip import ZipEntry, read_directory, extract
from npy import read_npy, shape_repr
from sha256 import sha256_hex, sha256_hex_float64

comptime LAYER_FEATURES_MAX = 2147483647
comptime METADATA_MAX_DEPTH = 63


def required_keys() -> List[String]:
    return ["layer_names", "layer_sizes", "neuron_types", "frozen_layers", "n_layers",
            "total_params", "metadata"]


def known_keys() -> List[String]:
    var keys = required_keys()
    keys.append("archive_sha256")
    return keys^


def sorted_unique(names: List[String]) -> List[String]:
    """Sorted by UTF-8 bytes (= code points), without duplicates."""
    var copy = names.copy()
    sort(copy)
    var out = List[String]()
    for name in copy:
        if len(out) == 0 or out[len(out) - 1] != name:
            out.append(name)
    return out^


def is_scalar_text(text: String) -> Bool:
    """False when the string holds a surrogate (WTF-8 from a lone \\u escape in a request)."""
    var b = text.as_bytes()
    for i in range(len(b) - 1):
        if b[i] == 0xED and b[i + 1] >= 0xA0:
            return False
    return True


# ===----------------------------------------------------------------------=== #
# The checkpoint
# ===----------------------------------------------------------------------=== #


struct Checkpoint(Copyable, Movable):
    """Weights (row-major float64, one matrix per layer) and the layer bookkeeping."""

    var weights: List[List[Float64]]
    var layer_names: List[String]
    var inputs: List[Int]
    var outputs: List[Int]
    var neuron_types: List[String]
    # The metadata object is node `metadata_root` of `metadata`.
    var metadata: Tree
    var metadata_root: Int
    # Sorted by UTF-8 bytes, unique.
    var frozen_layers: List[String]

    # ===------------------------------------------------------------------=== #
    # Life cycle
    # ===------------------------------------------------------------------=== #

    def __init__(out self):
        self.weights = List[List[Float64]]()
        self.layer_names = List[String]()
        self.inputs = List[Int]()
        self.outputs = List[Int]()
        self.neuron_types = List[String]()
        self.metadata = Tree()
        self.metadata_root = self.metadata.add_container(K_OBJECT)
        self.frozen_layers = List[String]()

    # ===------------------------------------------------------------------=== #
    # Methods
    # ===------------------------------------------------------------------=== #

    def n_layers(self) -> Int:
        return len(self.layer_names)

    def total_params(self) -> Int:
        var total = 0
        for i in range(len(self.inputs)):
            total += self.inputs[i] * self.outputs[i]
        return total

    def layer_index(self, name: String) -> Int:
        for i in range(len(self.layer_names)):
            if self.layer_names[i] == name:
                return i
        return -1

    def add_frozen(mut self, names: List[String]):
        var all = self.frozen_layers.copy()
        for name in names:
            all.append(name)
        self.frozen_layers = sorted_unique(all)

    def is_frozen(self, name: String) -> Bool:
        for f in self.frozen_layers:
            if f == name:
                return True
        return False

    def write_state(self, mut out: String, extra_key: String = "", extra: String = ""):
        """The protocol's observable state as a JSON object; `extra` is a raw JSON member."""
        out += '{"n_layers": '
        out += String(self.n_layers())
        out += ', "total_params": '
        out += String(self.total_params())
        out += ', "layer_names": '
        _write_strings(out, self.layer_names)
        out += ', "layer_sizes": ['
        for i in range(len(self.inputs)):
            if i > 0:
                out += ", "
            out += String("[", self.inputs[i], ", ", self.outputs[i], "]")
        out += '], "neuron_types": '
        _write_strings(out, self.neuron_types)
        out += ', "frozen_layers": '
        _write_strings(out, self.frozen_layers)
        out += ', "metadata": '
        write_value(out, self.metadata, self.metadata_root)
        out += ', "weight_sha256": ['
        for i in range(len(self.weights)):
            if i > 0:
                out += ", "
            out += '"'
            out += sha256_hex_float64(self.weights[i])
            out += '"'
        out += "]"
        if extra_key:
            out += ", "
            write_string(out, extra_key)
            out += ": "
            out += extra
        out += "}"


def _write_strings(mut out: String, items: List[String]):
    out += "["
    for i in range(len(items)):
        if i > 0:
            out += ", "
        write_string(out, items[i])
    out += "]"


# ===----------------------------------------------------------------------=== #
# Checks shared by load and construct (checkpoint phase)
# ===----------------------------------------------------------------------=== #


def check_layers(
    names: List[String],
    inputs: List[Int],
    outputs: List[Int],
    size_literals: List[String],
    neuron_types: List[String],
    frozen: List[String],
) raises CheckpointError:
    """checkpoint.layer_names.nonempty through checkpoint.frozen_layers.references.

    `size_literals` holds each feature count's literal text (input, output per layer) so that
    a value too large for Int is still reported as written.
    """
    for i in range(len(names)):
        if names[i].byte_length() == 0:
            raise CheckpointError(CHECKPOINT_LAYER_NAMES_NONEMPTY,
                                  String("Checkpoint layer name at index ", i, " is empty"))
    var seen = Dict[String, Bool]()
    for name in names:
        if name in seen:
            raise CheckpointError(CHECKPOINT_LAYER_NAMES_UNIQUE, String(
                "Checkpoint layer_names must be unique: ", quote(name), " appears more than once"))
        seen[name] = True
    if len(inputs) != len(names):
        raise CheckpointError(CHECKPOINT_LAYER_SIZES_COUNT, String(
            "Checkpoint layer_sizes has ", len(inputs), " entries but there are ", len(names),
            " layers"))
    for i in range(len(names)):
        for side in range(2):
            var value = inputs[i] if side == 0 else outputs[i]
            if value < 1 or value > LAYER_FEATURES_MAX:
                raise CheckpointError(CHECKPOINT_LAYER_SIZES_RANGE, String(
                    "Checkpoint layer ", quote(names[i]), " has ",
                    "input_features" if side == 0 else "output_features", " = ",
                    size_literals[2 * i + side], ", outside [1, ", LAYER_FEATURES_MAX, "]"))
    if len(neuron_types) != 0 and len(neuron_types) != len(names):
        raise CheckpointError(CHECKPOINT_NEURON_TYPES_COUNT, String(
            "Checkpoint neuron_types has ", len(neuron_types), " entries but there are ",
            len(names), " layers (or pass none)"))
    for name in frozen:
        if name not in seen:
            raise CheckpointError(CHECKPOINT_FROZEN_LAYERS_REFERENCES, String(
                "Checkpoint frozen layer ", quote(name), " is not a layer of this checkpoint"))


def _is_list(kind: Int) -> Bool:
    return kind == K_ARRAY or kind == K_TUPLE


def string_list(
    tree: Tree, index: Int, code: String, field: String
) raises CheckpointError -> List[String]:
    """A list (or tuple) of strings, or the error `code`."""
    var kind = tree.kind(index)
    if not _is_list(kind):
        raise CheckpointError(code, String("Checkpoint ", field, " must be a list of strings: got ",
                                           kind_name(kind)))
    var out = List[String]()
    for i in range(tree.length(index)):
        var item = tree.child(index, i)
        if tree.kind(item) != K_STRING or not is_scalar_text(tree.nodes[item].text):
            var what = kind_name(tree.kind(item)) if tree.kind(item) != K_STRING else String(
                "a string with a lone surrogate")
            raise CheckpointError(code, String("Checkpoint ", field,
                                               " must be a list of strings: item ", i, " is ",
                                               what))
        out.append(tree.nodes[item].text)
    return out^


def size_pairs(
    tree: Tree, index: Int, mut inputs: List[Int], mut outputs: List[Int],
    mut literals: List[String],
) raises CheckpointError:
    """layer_sizes: a list of 2-element lists (or tuples) of integers (not bool, not float)."""
    comptime PREFIX = "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: "
    var kind = tree.kind(index)
    if not _is_list(kind):
        raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(PREFIX, "got ", kind_name(kind)))
    for i in range(tree.length(index)):
        var pair = tree.child(index, i)
        var pk = tree.kind(pair)
        if not _is_list(pk) or tree.length(pair) != 2:
            var what = kind_name(pk) if not _is_list(pk) else String(
                "a pair of length ", tree.length(pair))
            raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(PREFIX, "item ", i, " is ", what))
        for side in range(2):
            var v = tree.child(pair, side)
            if tree.kind(v) != K_INT:
                raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(
                    PREFIX, "item ", i, " holds a ", kind_name(tree.kind(v))))
            if side == 0:
                inputs.append(tree.nodes[v].int_value)
            else:
                outputs.append(tree.nodes[v].int_value)
            literals.append(tree.nodes[v].text)


# ===----------------------------------------------------------------------=== #
# Load
# ===----------------------------------------------------------------------=== #


def _read_file(path: String, code: String, what: String) raises CheckpointError -> List[UInt8]:
    if not isfile(path):
        raise CheckpointError(code, String("Checkpoint ", what, " not found: ", path))
    try:
        with open(path, "r") as f:
            return f.read_bytes()
    except e:
        raise CheckpointError(code, String("Checkpoint ", what, " not found: ", path, " (", e, ")"))


def _is_lower_hex64(text: String) -> Bool:
    var b = text.as_bytes()
    if len(b) != 64:
        return False
    for c in b:
        if not ((c >= 0x30 and c <= 0x39) or (c >= 0x61 and c <= 0x66)):
            return False
    return True


def _member_name(index: Int) -> String:
    return String("layer_", index, ".npy")


def _layer_of_member(name: List[UInt8], n_layers: Int) -> Int:
    """The index i when name is exactly b"layer_{i}.npy" with 0 <= i < n_layers, else -1."""
    comptime PREFIX = "layer_"
    comptime SUFFIX = ".npy"
    var n = len(name)
    if n < 11:
        return -1
    for k in range(6):
        if name[k] != PREFIX.as_bytes()[k]:
            return -1
    for k in range(4):
        if name[n - 4 + k] != SUFFIX.as_bytes()[k]:
            return -1
    var digits = n - 10
    if digits > 18 or (digits > 1 and name[6] == 0x30):
        return -1
    var value = 0
    for k in range(6, n - 4):
        var c = name[k]
        if c < 0x30 or c > 0x39:
            return -1
        value = value * 10 + Int(c - 0x30)
    return value if value < n_layers else -1


def load_checkpoint(base: String) raises CheckpointError -> Checkpoint:
    """Read BASE.json and BASE.npz (suffixes appended, nothing stripped).

    Raises:
        CheckpointError: The first violated invariant of the load surface, in spec order.
    """
    var json_path = base + ".json"
    var npz_path = base + ".npz"
    var document = _read_file(json_path, JSON_FILE_PRESENT, "metadata file")
    var tree = parse_document(Span(document), json_path)
    var root = tree.root

    # ---- schema
    if tree.kind(root) != K_OBJECT:
        raise CheckpointError(SCHEMA_ROOT_TYPE, String(
            "Checkpoint metadata must be a JSON object, not ", kind_name(tree.kind(root))))
    for key in required_keys():
        if tree.get(root, key) < 0:
            raise CheckpointError(SCHEMA_KEYS_REQUIRED, String(
                "Checkpoint metadata is missing required key ", quote(key), " in ", json_path))
    var known = known_keys()
    for key in tree.nodes[root].keys:
        if key not in known:
            raise CheckpointError(SCHEMA_KEYS_KNOWN, String(
                "Checkpoint metadata has unknown key ", quote(key), " in ", json_path))
    var cp = Checkpoint()
    cp.layer_names = string_list(tree, tree.get(root, "layer_names"), SCHEMA_LAYER_NAMES_TYPE,
                                 "layer_names")
    var literals = List[String]()
    size_pairs(tree, tree.get(root, "layer_sizes"), cp.inputs, cp.outputs, literals)
    cp.neuron_types = string_list(tree, tree.get(root, "neuron_types"), SCHEMA_NEURON_TYPES_TYPE,
                                  "neuron_types")
    var frozen = string_list(tree, tree.get(root, "frozen_layers"), SCHEMA_FROZEN_LAYERS_TYPE,
                             "frozen_layers")
    var n_node = tree.get(root, "n_layers")
    if tree.kind(n_node) != K_INT:
        raise CheckpointError(SCHEMA_N_LAYERS_TYPE, String(
            "Checkpoint n_layers must be an integer, not ", kind_name(tree.kind(n_node))))
    var t_node = tree.get(root, "total_params")
    if tree.kind(t_node) != K_INT:
        raise CheckpointError(SCHEMA_TOTAL_PARAMS_TYPE, String(
            "Checkpoint total_params must be an integer, not ", kind_name(tree.kind(t_node))))
    var m_node = tree.get(root, "metadata")
    if tree.kind(m_node) != K_OBJECT:
        raise CheckpointError(SCHEMA_METADATA_TYPE, String(
            "Checkpoint metadata must be a JSON object: got ", kind_name(tree.kind(m_node))))
    var digest = String()
    var has_digest = False
    var d_node = tree.get(root, "archive_sha256")
    if d_node >= 0:
        if tree.kind(d_node) != K_STRING:
            raise CheckpointError(SCHEMA_ARCHIVE_SHA256_TYPE, String(
                "Checkpoint archive_sha256 must be 64 lowercase hex digits: got ",
                kind_name(tree.kind(d_node))))
        digest = tree.nodes[d_node].text
        if not _is_lower_hex64(digest):
            raise CheckpointError(SCHEMA_ARCHIVE_SHA256_TYPE, String(
                "Checkpoint archive_sha256 must be 64 lowercase hex digits: got ", quote(digest)))
        has_digest = True

    # ---- checkpoint
    check_layers(cp.layer_names, cp.inputs, cp.outputs, literals, cp.neuron_types, frozen)
    var n = cp.n_layers()
    var n_declared = tree.nodes[n_node].int_value
    if n_declared != n:
        raise CheckpointError(CHECKPOINT_N_LAYERS_CONSISTENT, String(
            "Checkpoint n_layers is ", n_declared, " but there are ", n, " layers"))
    # Each product is below 2^62; the running sum is capped well above any valid total.
    var total = 0
    for i in range(n):
        total += cp.inputs[i] * cp.outputs[i]
        if total > MAX_SAFE_INTEGER:
            total = MAX_SAFE_INTEGER + 1
    var t_declared = tree.nodes[t_node].int_value
    if t_declared != total:
        var shown = String(total) if total <= MAX_SAFE_INTEGER else String("more than ",
                                                                            MAX_SAFE_INTEGER)
        raise CheckpointError(CHECKPOINT_TOTAL_PARAMS_CONSISTENT, String(
            "Checkpoint total_params is ", t_declared, " but the layer sizes give ", shown))
    cp.frozen_layers = sorted_unique(frozen)
    cp.metadata_root = m_node
    cp.metadata = tree^

    # ---- archive
    var archive = _read_file(npz_path, ARCHIVE_FILE_PRESENT, "weight archive")
    if has_digest and sha256_hex(Span(archive)) != digest:
        raise CheckpointError(ARCHIVE_DIGEST, String(
            "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): ",
            npz_path))
    var entries = read_directory(Span(archive), npz_path)
    var seen = Dict[String, Bool]()
    for ref entry in entries:
        var key = String(from_utf8_lossy=Span(entry.name)) + String("/", len(entry.name))
        if key in seen:
            raise CheckpointError(ARCHIVE_MEMBERS_DUPLICATE, String(
                "Checkpoint archive has member ", quote(entry.display_name()), " more than once: ",
                npz_path))
        seen[key] = True
    var member_of = List[Int](length=n, fill=-1)
    for e in range(len(entries)):
        var layer = _layer_of_member(entries[e].name, n)
        if layer < 0:
            raise CheckpointError(ARCHIVE_MEMBERS_UNEXPECTED, String(
                "Checkpoint archive has unexpected member ", quote(entries[e].display_name()),
                ": ", npz_path))
        member_of[layer] = e
    for i in range(n):
        if member_of[i] < 0:
            raise CheckpointError(ARCHIVE_MEMBERS_MISSING, String(
                "Checkpoint archive has no member ", quote(_member_name(i)), " for layer ",
                quote(cp.layer_names[i]), ": ", npz_path))
    for i in range(n):
        ref entry = entries[member_of[i]]
        if entry.method != 0 and entry.method != 8:
            raise CheckpointError(ARCHIVE_MEMBER_METHOD, String(
                "Checkpoint archive member ", quote(entry.display_name()),
                " uses unsupported compression method ", entry.method, ": ", npz_path))
        if entry.flags & 0x41 != 0:
            raise CheckpointError(ARCHIVE_MEMBER_METHOD, String(
                "Checkpoint archive member ", quote(entry.display_name()),
                " uses unsupported encryption (flags ", hex(entry.flags), "): ", npz_path))
    var members = List[List[UInt8]]()
    for i in range(n):
        members.append(extract(Span(archive), entries[member_of[i]], npz_path))

    # ---- arrays: each layer up to its first failure; the earliest invariant wins.
    var codes = all_codes()
    var best_rank = len(codes)
    var best = CheckpointError(String(), String())
    for i in range(n):
        try:
            cp.weights.append(read_npy(Span(members[i]), cp.layer_names[i], _member_name(i),
                                       cp.outputs[i], cp.inputs[i]))
        except err:
            var rank = 0
            while rank < len(codes) and codes[rank] != err.code:
                rank += 1
            if rank < best_rank:
                best_rank = rank
                best = err^
    if best_rank < len(codes):
        raise best^
    return cp^


# ===----------------------------------------------------------------------=== #
# Construct
# ===----------------------------------------------------------------------=== #


def _metadata_problem(values: Tree, root: Int) -> String:
    """Why a host value is not strict JSON metadata, or "" when it is (see schema.metadata.type)."""
    if values.kind(root) != K_OBJECT:
        return String("got ", kind_name(values.kind(root)))
    var stack = List[Int]()
    var depths = List[Int]()
    var paths = List[String]()
    stack.append(root)
    depths.append(1)
    paths.append("metadata")
    while len(stack) > 0:
        var index = stack.pop()
        var depth = depths.pop()
        var path = paths.pop()
        ref node = values.nodes[index]
        var kind = node.kind
        if kind == K_INT and not node.valid:
            return String(path, " is an integer outside +/-", MAX_SAFE_INTEGER)
        if kind == K_FLOAT and (node.float_value != node.float_value
                                or node.float_value == Float64.MAX * 2.0
                                or node.float_value == -Float64.MAX * 2.0):
            return String(path, " is a non-finite float")
        if kind == K_STRING and not is_scalar_text(node.text):
            return String(path, " is a string with a lone surrogate")
        if kind == K_ARRAY or kind == K_OBJECT:
            if depth > METADATA_MAX_DEPTH:
                return String("nests deeper than ", METADATA_MAX_DEPTH, " containers")
            for i in range(len(node.kids)):
                if kind == K_OBJECT:
                    if not is_scalar_text(node.keys[i]):
                        return String(path, " has a key with a lone surrogate")
                    paths.append(String(path, "[", quote(node.keys[i]), "]"))
                else:
                    paths.append(String(path, "[", i, "]"))
                stack.append(node.kids[i])
                depths.append(depth + 1)
        elif kind != K_NULL and kind != K_BOOL and kind != K_INT and kind != K_FLOAT and kind != K_STRING:
            return String(path, " is a ", kind_name(kind), ", which is not JSON")
    return String()


comptime NUMPY_MAX_DIMS = 64


def _fits_numpy_integer(text: String) -> Bool:
    """Whether numpy would store this integer literal as int64 or uint64 (else: object)."""
    var b = text.as_bytes()
    var negative = len(b) > 0 and b[0] == 0x2D
    var digits = String(unsafe_from_utf8=b[1:]) if negative else text
    var n = digits.byte_length()
    if n < 19:
        return True
    if n == 19:
        return digits <= ("9223372036854775808" if negative else "9999999999999999999")
    return n == 20 and not negative and digits <= "18446744073709551615"


def _array_shape(values: Tree, index: Int, depth: Int) raises -> List[Int]:
    """The shape of a nested sequence (or an $array); raises with the reason when it is ragged
    or holds something other than numbers (a boolean is not a number here)."""
    var kind = values.kind(index)
    if kind == K_NDARRAY:
        return values.nodes[index].shape.copy()
    if kind == K_FLOAT:
        return List[Int]()
    if kind == K_INT:
        if not _fits_numpy_integer(values.nodes[index].text):
            raise Error("an integer too large for int64")
        return List[Int]()
    if kind == K_BOOL:
        raise Error("an element is a boolean")
    if not _is_list(kind):
        raise Error(String("an element is ", kind_name(kind)))
    if depth >= NUMPY_MAX_DIMS:
        raise Error(String("nested deeper than ", NUMPY_MAX_DIMS, " dimensions"))
    var shape = List[Int]()
    shape.append(values.length(index))
    for i in range(values.length(index)):
        var inner = _array_shape(values, values.child(index, i), depth + 1)
        if i == 0:
            shape.extend(Span(inner))
        else:
            var same = len(inner) == len(shape) - 1
            if same:
                for k in range(len(inner)):
                    if inner[k] != shape[k + 1]:
                        same = False
            if not same:
                raise Error("a ragged nested sequence")
    return shape^


def _flatten(values: Tree, index: Int, mut data: List[Float64]):
    var kind = values.kind(index)
    if kind == K_NDARRAY:
        data.extend(Span(values.nodes[index].data))
    elif kind == K_INT or kind == K_FLOAT:
        data.append(values.nodes[index].float_value)
    else:
        for i in range(values.length(index)):
            _flatten(values, values.child(index, i), data)


def _nested_array(
    values: Tree, index: Int, mut shape: List[Int], mut data: List[Float64]
) -> String:
    """An $array or a nested list/tuple of numbers as shape and row-major data; "" on success,
    else why it is not a numeric array."""
    var kind = values.kind(index)
    if kind != K_NDARRAY and not _is_list(kind):
        return String("got ", kind_name(kind))
    try:
        shape = _array_shape(values, index, 0)
    except e:
        return String(e)
    _flatten(values, index, data)
    return String()


def construct_checkpoint(values: Tree, state: Int) raises CheckpointError -> Checkpoint:
    """The SNNCheckpoint constructor over decoded host values (hostvalue.mojo).

    `state` is an object node with weights, layer_names, layer_sizes and optionally
    neuron_types, metadata, frozen_layers (absent: the default; null is refused like any
    other wrong type, as Python's None is).

    Raises:
        CheckpointError: The first violated invariant of the construct surface, in spec order.
    """
    var cp = Checkpoint()
    var names_node = values.get(state, "layer_names")
    var sizes_node = values.get(state, "layer_sizes")
    var weights_node = values.get(state, "weights")
    var types_node = values.get(state, "neuron_types")
    var meta_node = values.get(state, "metadata")
    var frozen_node = values.get(state, "frozen_layers")
    if names_node < 0:
        raise CheckpointError(SCHEMA_LAYER_NAMES_TYPE,
                              "Checkpoint layer_names must be a list of strings: missing")
    cp.layer_names = string_list(values, names_node, SCHEMA_LAYER_NAMES_TYPE, "layer_names")
    if sizes_node < 0:
        raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(
            "Checkpoint layer_sizes must be a list of (input_features, output_features) integer",
            " pairs: missing"))
    var literals = List[String]()
    size_pairs(values, sizes_node, cp.inputs, cp.outputs, literals)
    # Absent fields take their defaults; null is Python's None, which the types refuse.
    if types_node >= 0:
        cp.neuron_types = string_list(values, types_node, SCHEMA_NEURON_TYPES_TYPE, "neuron_types")
    var frozen = List[String]()
    if frozen_node >= 0:
        frozen = string_list(values, frozen_node, SCHEMA_FROZEN_LAYERS_TYPE, "frozen_layers")
    if meta_node >= 0:
        var problem = _metadata_problem(values, meta_node)
        if problem:
            raise CheckpointError(SCHEMA_METADATA_TYPE, String(
                "Checkpoint metadata must be a JSON object: ", problem))
    var shapes = List[List[Int]]()
    var datas = List[List[Float64]]()
    if weights_node < 0 or not _is_list(values.kind(weights_node)):
        var got = "missing" if weights_node < 0 else String("got ", kind_name(values.kind(weights_node)))
        raise CheckpointError(SCHEMA_WEIGHTS_TYPE, String(
            "Checkpoint weights must be a list of numeric arrays: ", got))
    for i in range(values.length(weights_node)):
        var shape = List[Int]()
        var data = List[Float64]()
        var problem = _nested_array(values, values.child(weights_node, i), shape, data)
        if problem:
            raise CheckpointError(SCHEMA_WEIGHTS_TYPE, String(
                "Checkpoint weights must be a list of numeric arrays: item ", i, " is ", problem))
        shapes.append(shape^)
        datas.append(data^)

    check_layers(cp.layer_names, cp.inputs, cp.outputs, literals, cp.neuron_types, frozen)
    var n = cp.n_layers()
    if len(shapes) != n:
        raise CheckpointError(CHECKPOINT_WEIGHTS_COUNT, String(
            "Checkpoint has ", len(shapes), " weight matrices but there are ", n, " layers"))
    for i in range(n):
        if len(shapes[i]) != 2:
            raise CheckpointError(ARRAY_SHAPE_RANK, String(
                "Checkpoint layer ", quote(cp.layer_names[i]), " weights must be 2-D, got shape ",
                shape_repr(shapes[i])))
    for i in range(n):
        if shapes[i][0] != cp.outputs[i] or shapes[i][1] != cp.inputs[i]:
            raise CheckpointError(ARRAY_SHAPE_MATCH, String(
                "Checkpoint layer ", quote(cp.layer_names[i]), " weights have shape ",
                shape_repr(shapes[i]), ", expected (", cp.outputs[i], ", ", cp.inputs[i], ")"))
    for i in range(n):
        for k in range(len(datas[i])):
            var v = datas[i][k]
            if v != v or v == Float64.MAX * 2.0 or v == -Float64.MAX * 2.0:
                var cols = cp.inputs[i]
                raise CheckpointError(ARRAY_FINITE, String(
                    "Checkpoint layer ", quote(cp.layer_names[i]), " has a non-finite weight at (",
                    k // cols, ", ", k % cols, ")"))
    cp.weights = datas^
    cp.frozen_layers = sorted_unique(frozen)
    if meta_node >= 0:
        cp.metadata = values.copy()
        cp.metadata_root = meta_node
    return cp^
