"""The in-memory checkpoint (SNNCheckpoint): construction from host values, loading from a
BASE.json / BASE.npz pair, and the observable state the testee reports.

Both entry points raise the first violated invariant of their surface in spec order; the
checks themselves live in the modules of their phase (json, fields, zip, npy).
"""

from std.os.path import isfile

from errors import CheckpointError, JSON_FILE_PRESENT, ARCHIVE_FILE_PRESENT, ARCHIVE_DIGEST
from fields import Fields, LOAD, check_fields, check_state, sorted_unique
from json import Tree, K_OBJECT, parse_document
from json_write import write_value, write_string
from npy import read_layers
from sha256 import sha256_hex, sha256_hex_float64
from zip import layer_members


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

    def __init__(
        out self, fields: Fields, var weights: List[List[Float64]], var values: Tree
    ):
        """From validated fields; the metadata is node fields.metadata_root of `values` (an
        empty object when that is -1)."""
        self.metadata_root = fields.metadata_root
        self.weights = weights^
        self.layer_names = fields.layer_names.copy()
        self.inputs = fields.inputs.copy()
        self.outputs = fields.outputs.copy()
        self.neuron_types = fields.neuron_types.copy()
        self.frozen_layers = fields.frozen_layers.copy()
        self.metadata = values^
        if self.metadata_root < 0:
            self.metadata = Tree()
            self.metadata_root = self.metadata.add_container(K_OBJECT)

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
# Load and construct
# ===----------------------------------------------------------------------=== #


def load_checkpoint(base: String) raises CheckpointError -> Checkpoint:
    """Read BASE.json and BASE.npz (suffixes appended, nothing stripped).

    Raises:
        CheckpointError: The first violated invariant of the load surface, in spec order.
    """
    var json_path = base + ".json"
    var npz_path = base + ".npz"
    # json
    var text = _read_file(json_path, JSON_FILE_PRESENT, "metadata file")
    var document = parse_document(Span(text), json_path)
    # schema, checkpoint
    var fields = check_fields(document, document.root, LOAD, json_path)
    # archive
    var archive = _read_file(npz_path, ARCHIVE_FILE_PRESENT, "weight archive")
    _check_digest(archive, fields.archive_sha256, npz_path)
    var members = layer_members(Span(archive), fields.layer_names, npz_path)
    # array
    var weights = read_layers(members, fields.layer_names, fields.inputs, fields.outputs)
    return Checkpoint(fields, weights^, document^)


def construct_checkpoint(values: Tree, state: Int) raises CheckpointError -> Checkpoint:
    """The SNNCheckpoint constructor over decoded host values (hostvalue.mojo).

    `state` is an object node with weights, layer_names, layer_sizes and optionally
    neuron_types, metadata, frozen_layers.

    Raises:
        CheckpointError: The first violated invariant of the construct surface, in spec order.
    """
    var fields = check_state(values, state)
    var weights = List[List[Float64]]()
    swap(weights, fields.weights)
    var metadata = values.copy() if fields.metadata_root >= 0 else Tree()
    return Checkpoint(fields, weights^, metadata^)


def _read_file(path: String, code: String, what: String) raises CheckpointError -> List[UInt8]:
    if not isfile(path):
        raise CheckpointError(code, String("Checkpoint ", what, " not found: ", path))
    try:
        with open(path, "r") as f:
            return f.read_bytes()
    except e:
        raise CheckpointError(code, String("Checkpoint ", what, " not found: ", path, " (", e, ")"))


def _check_digest(archive: List[UInt8], digest: String, path: String) raises CheckpointError:
    """archive.digest: when the document records the archive's SHA-256, the archive has it."""
    if digest and sha256_hex(Span(archive)) != digest:
        raise CheckpointError(ARCHIVE_DIGEST, String(
            "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): ",
            path))
