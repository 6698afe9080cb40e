"""The schema.* and checkpoint.* invariants, shared by loading and constructing (Python:
`_fields.py`), and the array.shape.*/array.finite checks both surfaces run on the matrices.

`check_fields` runs them in spec order for either surface: LOAD judges the parsed metadata
document, CONSTRUCT the constructor's decoded host values. Checks of one surface only are
guarded by it, so reading top to bottom gives the spec's order. Where an invariant has several
subjects (layers, keys), all subjects are checked before the next invariant.
"""

from errors import *
from json import (
    Tree,
    K_NULL,
    K_BOOL,
    K_INT,
    K_FLOAT,
    K_STRING,
    K_ARRAY,
    K_OBJECT,
    K_TUPLE,
    K_NDARRAY,
    kind_name,
)
from limits import (
    LAYER_FEATURES_MIN,
    LAYER_FEATURES_MAX,
    JSON_INTEGER_MIN,
    JSON_INTEGER_MAX,
    METADATA_MAX_DEPTH,
    WEIGHT_MAX_DEPTH,
)

# The two surfaces of the spec that build a checkpoint.
comptime LOAD = 0
comptime CONSTRUCT = 1


def required_keys() -> List[String]:
    return ["layer_names", "layer_sizes", "neuron_types", "frozen_layers", "n_layers",
            "total_params", "metadata"]


def known_keys() -> List[String]:
    var keys = required_keys()
    keys.append("archive_sha256")
    return keys^


struct Fields(Movable):
    """Validated checkpoint fields; weights only on the construct surface."""

    var layer_names: List[String]
    # (input_features, output_features) per layer, and each one's literal text for messages.
    var inputs: List[Int]
    var outputs: List[Int]
    var size_literals: List[String]
    var neuron_types: List[String]
    # Sorted by UTF-8 bytes, unique (after the references check).
    var frozen_layers: List[String]
    # The metadata object's node in the judged tree; -1 when construct took the default.
    var metadata_root: Int
    # 64 lowercase hex digits, or "" when the document has none.
    var archive_sha256: String
    # Construct: each weight's shape and row-major values.
    var weight_shapes: List[List[Int]]
    var weights: List[List[Float64]]

    def __init__(out self):
        self.layer_names = List[String]()
        self.inputs = List[Int]()
        self.outputs = List[Int]()
        self.size_literals = List[String]()
        self.neuron_types = List[String]()
        self.frozen_layers = List[String]()
        self.metadata_root = -1
        self.archive_sha256 = String()
        self.weight_shapes = List[List[Int]]()
        self.weights = List[List[Float64]]()


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


def _is_list(kind: Int) -> Bool:
    return kind == K_ARRAY or kind == K_TUPLE


# ===----------------------------------------------------------------------=== #
# schema.* and checkpoint.*, in spec order
# ===----------------------------------------------------------------------=== #


def check_fields(
    values: Tree, node: Int, surface: Int, path: String = ""
) raises CheckpointError -> Fields:
    """Run the schema and checkpoint invariants of `surface` over the object `node`.

    `values` is the parsed document (LOAD, `path` names it in messages) or the decoded
    constructor state (CONSTRUCT: an absent field takes its default, null is refused like any
    other wrong type, as Python's None is).

    Raises:
        CheckpointError: The first violated invariant, in spec order.
    """
    if surface == LOAD:
        _check_document_keys(values, node, path)
    var fields = Fields()
    fields.layer_names = string_list(values, values.get(node, "layer_names"),
                                     SCHEMA_LAYER_NAMES_TYPE, "layer_names")
    size_pairs(values, values.get(node, "layer_sizes"), fields)
    var types_node = values.get(node, "neuron_types")
    if types_node >= 0:
        fields.neuron_types = string_list(values, types_node, SCHEMA_NEURON_TYPES_TYPE,
                                          "neuron_types")
    var frozen = List[String]()
    var frozen_node = values.get(node, "frozen_layers")
    if frozen_node >= 0:
        frozen = string_list(values, frozen_node, SCHEMA_FROZEN_LAYERS_TYPE, "frozen_layers")
    if surface == LOAD:
        _check_integer(values, values.get(node, "n_layers"), SCHEMA_N_LAYERS_TYPE, "n_layers")
        _check_integer(values, values.get(node, "total_params"), SCHEMA_TOTAL_PARAMS_TYPE,
                       "total_params")
    fields.metadata_root = values.get(node, "metadata")
    if fields.metadata_root >= 0:
        _check_metadata(values, fields.metadata_root, surface)
    if surface == LOAD:
        fields.archive_sha256 = _archive_sha256(values, values.get(node, "archive_sha256"))
    else:
        _weights(values, values.get(node, "weights"), fields)

    check_layers(fields.layer_names, fields.inputs, fields.outputs, fields.size_literals,
                 fields.neuron_types, frozen)
    if surface == CONSTRUCT:
        _check_weights_count(len(fields.weight_shapes), len(fields.layer_names))
    if surface == LOAD:
        _check_counts(values, node, fields)
    fields.frozen_layers = sorted_unique(frozen)
    return fields^


def check_state(values: Tree, state: Int) raises CheckpointError -> Fields:
    """Every invariant of the construct surface, in spec order, over decoded host values."""
    var fields = check_fields(values, state, CONSTRUCT)
    check_ranks(fields.layer_names, fields.weight_shapes)
    check_shapes(fields.layer_names, fields.inputs, fields.outputs, fields.weight_shapes)
    check_finite(fields.layer_names, fields.inputs, fields.weights)
    return fields^


def check_checkpoint(
    layer_names: List[String],
    inputs: List[Int],
    outputs: List[Int],
    neuron_types: List[String],
    frozen_layers: List[String],
    metadata: Tree,
    metadata_root: Int,
    weights: List[List[Float64]],
) raises CheckpointError:
    """Every invariant of the construct surface, in spec order, over a checkpoint's typed
    fields: the writer's own validation, since the fields may have changed after construction.

    The types hold by construction; of schema.* what remains is the strings' content and the
    metadata. A matrix is its row-major values, so a wrong number of them is array.shape.match.
    """
    string_texts(layer_names, SCHEMA_LAYER_NAMES_TYPE, "layer_names")
    string_texts(neuron_types, SCHEMA_NEURON_TYPES_TYPE, "neuron_types")
    string_texts(frozen_layers, SCHEMA_FROZEN_LAYERS_TYPE, "frozen_layers")
    _check_metadata(metadata, metadata_root, CONSTRUCT)
    var literals = List[String]()
    for i in range(min(len(inputs), len(outputs))):
        literals.append(String(inputs[i]))
        literals.append(String(outputs[i]))
    check_layers(layer_names, inputs, outputs, literals, neuron_types, frozen_layers)
    _check_weights_count(len(weights), len(layer_names))
    for i in range(len(layer_names)):
        if len(weights[i]) != inputs[i] * outputs[i]:
            raise CheckpointError(ARRAY_SHAPE_MATCH, String(
                "Checkpoint layer ", quote(layer_names[i]), " weights have ", len(weights[i]),
                " values, expected (", outputs[i], ", ", inputs[i], ")"))
    check_finite(layer_names, inputs, weights)


def _check_weights_count(n_weights: Int, n_layers: Int) raises CheckpointError:
    if n_weights != n_layers:
        raise CheckpointError(CHECKPOINT_WEIGHTS_COUNT, String(
            "Checkpoint has ", n_weights, " weight matrices but there are ", n_layers, " layers"))


def _check_document_keys(values: Tree, root: Int, path: String) raises CheckpointError:
    """schema.root.type, schema.keys.required, schema.keys.known."""
    if values.kind(root) != K_OBJECT:
        raise CheckpointError(SCHEMA_ROOT_TYPE, String(
            "Checkpoint metadata must be a JSON object, not ", kind_name(values.kind(root))))
    for key in required_keys():
        if values.get(root, key) < 0:
            raise CheckpointError(SCHEMA_KEYS_REQUIRED, String(
                "Checkpoint metadata is missing required key ", quote(key), " in ", path))
    var known = known_keys()
    for key in values.nodes[root].keys:
        if key not in known:
            raise CheckpointError(SCHEMA_KEYS_KNOWN, String(
                "Checkpoint metadata has unknown key ", quote(key), " in ", path))


def string_texts(items: List[String], code: String, field: String) raises CheckpointError:
    """In-memory strings hold Unicode scalar values only (schema.*.type of a list of strings)."""
    for i in range(len(items)):
        if not is_scalar_text(items[i]):
            raise CheckpointError(code, String(
                "Checkpoint ", field, " must be a list of strings: item ", i,
                " is a string with a lone surrogate"))


def string_list(
    values: Tree, index: Int, code: String, field: String
) raises CheckpointError -> List[String]:
    """A list (or tuple) of strings, or the error `code` (index -1: the field is missing)."""
    if index < 0:
        raise CheckpointError(code, String("Checkpoint ", field,
                                           " must be a list of strings: missing"))
    var kind = values.kind(index)
    if not _is_list(kind):
        raise CheckpointError(code, String("Checkpoint ", field, " must be a list of strings: got ",
                                           kind_name(kind)))
    var out = List[String]()
    for i in range(values.length(index)):
        var item = values.child(index, i)
        if values.kind(item) != K_STRING or not is_scalar_text(values.nodes[item].text):
            var what = kind_name(values.kind(item)) if values.kind(item) != K_STRING else String(
                "a string with a lone surrogate")
            raise CheckpointError(code, String("Checkpoint ", field,
                                               " must be a list of strings: item ", i, " is ",
                                               what))
        out.append(values.nodes[item].text)
    return out^


def size_pairs(values: Tree, index: Int, mut fields: Fields) raises CheckpointError:
    """layer_sizes: a list of 2-element lists (or tuples) of integers (not bool, not float)."""
    comptime PREFIX = "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: "
    if index < 0:
        raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(PREFIX, "missing"))
    var kind = values.kind(index)
    if not _is_list(kind):
        raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(PREFIX, "got ", kind_name(kind)))
    for i in range(values.length(index)):
        var pair = values.child(index, i)
        var pk = values.kind(pair)
        if not _is_list(pk) or values.length(pair) != 2:
            var what = kind_name(pk) if not _is_list(pk) else String(
                "a pair of length ", values.length(pair))
            raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(PREFIX, "item ", i, " is ", what))
        for side in range(2):
            var v = values.child(pair, side)
            if values.kind(v) != K_INT:
                raise CheckpointError(SCHEMA_LAYER_SIZES_TYPE, String(
                    PREFIX, "item ", i, " holds a ", kind_name(values.kind(v))))
            if side == 0:
                fields.inputs.append(values.nodes[v].as_int())
            else:
                fields.outputs.append(values.nodes[v].as_int())
            fields.size_literals.append(values.nodes[v].text)


def _check_integer(values: Tree, index: Int, code: String, field: String) raises CheckpointError:
    if values.kind(index) != K_INT:
        raise CheckpointError(code, String(
            "Checkpoint ", field, " must be an integer, not ", kind_name(values.kind(index))))


def _check_metadata(values: Tree, index: Int, surface: Int) raises CheckpointError:
    """schema.metadata.type: an object; in memory (construct) also strict JSON within limits."""
    var problem = String()
    if values.kind(index) != K_OBJECT:
        problem = String("got ", kind_name(values.kind(index)))
    elif surface == CONSTRUCT:
        problem = json_problem(values, index)
    if problem:
        raise CheckpointError(SCHEMA_METADATA_TYPE, String(
            "Checkpoint metadata must be a JSON object: ", problem))


def _archive_sha256(values: Tree, index: Int) raises CheckpointError -> String:
    """schema.archive_sha256.type: absent ("") or 64 lowercase hex digits."""
    if index < 0:
        return String()
    if values.kind(index) != K_STRING:
        raise CheckpointError(SCHEMA_ARCHIVE_SHA256_TYPE, String(
            "Checkpoint archive_sha256 must be 64 lowercase hex digits: got ",
            kind_name(values.kind(index))))
    var digest = values.nodes[index].text
    if not _is_lower_hex64(digest):
        raise CheckpointError(SCHEMA_ARCHIVE_SHA256_TYPE, String(
            "Checkpoint archive_sha256 must be 64 lowercase hex digits: got ", quote(digest)))
    return digest


def _is_lower_hex64(text: String) -> Bool:
    var b = text.as_bytes()
    if len(b) != 64:
        return False
    for c in b:
        if not ((c >= 0x30 and c <= 0x39) or (c >= 0x61 and c <= 0x66)):
            return False
    return True


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
    # (A typed checkpoint keeps inputs and outputs apart: both must have one entry per layer.)
    if len(inputs) != len(names) or len(outputs) != len(names):
        raise CheckpointError(CHECKPOINT_LAYER_SIZES_COUNT, String(
            "Checkpoint layer_sizes has ", max(len(inputs), len(outputs)),
            " entries but there are ", len(names), " layers"))
    for i in range(len(names)):
        for side in range(2):
            var value = inputs[i] if side == 0 else outputs[i]
            if value < LAYER_FEATURES_MIN or value > LAYER_FEATURES_MAX:
                raise CheckpointError(CHECKPOINT_LAYER_SIZES_RANGE, String(
                    "Checkpoint layer ", quote(names[i]), " has ",
                    "input_features" if side == 0 else "output_features", " = ",
                    size_literals[2 * i + side], ", outside [", LAYER_FEATURES_MIN, ", ",
                    LAYER_FEATURES_MAX, "]"))
    if len(neuron_types) != 0 and len(neuron_types) != len(names):
        raise CheckpointError(CHECKPOINT_NEURON_TYPES_COUNT, String(
            "Checkpoint neuron_types has ", len(neuron_types), " entries but there are ",
            len(names), " layers (or pass none)"))
    for name in frozen:
        if name not in seen:
            raise CheckpointError(CHECKPOINT_FROZEN_LAYERS_REFERENCES, String(
                "Checkpoint frozen layer ", quote(name), " is not a layer of this checkpoint"))


def _check_counts(values: Tree, root: Int, fields: Fields) raises CheckpointError:
    """checkpoint.n_layers.consistent and checkpoint.total_params.consistent (load only)."""
    var n = len(fields.layer_names)
    # Declared values are exact Int128s (anything in the JSON range), so nothing wraps.
    var n_declared = values.nodes[values.get(root, "n_layers")].int_value
    if n_declared != Int128(n):
        raise CheckpointError(CHECKPOINT_N_LAYERS_CONSISTENT, String(
            "Checkpoint n_layers is ", n_declared, " but there are ", n, " layers"))
    # Each product is below 2^62, so the exact sum of any number of layers fits Int128.
    var total = Int128(0)
    for i in range(n):
        total += Int128(fields.inputs[i]) * Int128(fields.outputs[i])
    var t_declared = values.nodes[values.get(root, "total_params")].int_value
    if t_declared != total:
        raise CheckpointError(CHECKPOINT_TOTAL_PARAMS_CONSISTENT, String(
            "Checkpoint total_params is ", t_declared, " but the layer sizes give ", total))


# ===----------------------------------------------------------------------=== #
# In-memory values (construct): metadata as strict JSON, weights as numeric arrays
# ===----------------------------------------------------------------------=== #


def json_problem(values: Tree, root: Int) -> String:
    """Why the object `root` is not strict JSON metadata within the spec's limits, or ""."""
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
            return String(path, " is an integer outside [", JSON_INTEGER_MIN, ", ",
                          JSON_INTEGER_MAX, "]")
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


def _weights(values: Tree, index: Int, mut fields: Fields) raises CheckpointError:
    """schema.weights.type: a list of numeric arrays ($array tags or nested lists of numbers)."""
    comptime PREFIX = "Checkpoint weights must be a list of numeric arrays: "
    if index < 0 or not _is_list(values.kind(index)):
        var got = "missing" if index < 0 else String("got ", kind_name(values.kind(index)))
        raise CheckpointError(SCHEMA_WEIGHTS_TYPE, String(PREFIX, got))
    for i in range(values.length(index)):
        var shape = List[Int]()
        var data = List[Float64]()
        var problem = _nested_array(values, values.child(index, i), shape, data)
        if problem:
            raise CheckpointError(SCHEMA_WEIGHTS_TYPE, String(PREFIX, "item ", i, " is ", problem))
        fields.weight_shapes.append(shape^)
        fields.weights.append(data^)


def _array_shape(values: Tree, index: Int, depth: Int) raises -> List[Int]:
    """The shape of a weight or of one of its items `depth` levels down (the weight itself is
    level 0 here); raises with the reason when it nests deeper than WEIGHT_MAX_DEPTH levels, is
    ragged, or holds a leaf that is not a number: a boolean, an integer outside the metadata
    range, an array inside a sequence."""
    var kind = values.kind(index)
    if kind == K_NDARRAY:
        if depth > 0:
            raise Error("an array inside a sequence")
        return values.nodes[index].shape.copy()
    if kind == K_FLOAT:
        return List[Int]()
    if kind == K_INT:
        if not values.nodes[index].valid:
            raise Error(String("an integer outside [", JSON_INTEGER_MIN, ", ", JSON_INTEGER_MAX,
                               "]"))
        return List[Int]()
    if kind == K_BOOL:
        raise Error("an element is a boolean")
    if not _is_list(kind):
        raise Error(String("an element is ", kind_name(kind)))
    if depth >= WEIGHT_MAX_DEPTH:
        raise Error(String("nested deeper than ", WEIGHT_MAX_DEPTH, " levels"))
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


# ===----------------------------------------------------------------------=== #
# The matrices (array phase, both surfaces)
# ===----------------------------------------------------------------------=== #


def check_ranks(names: List[String], shapes: List[List[Int]]) raises CheckpointError:
    """array.shape.rank over every layer."""
    for i in range(len(names)):
        if len(shapes[i]) != 2:
            raise CheckpointError(ARRAY_SHAPE_RANK, String(
                "Checkpoint layer ", quote(names[i]), " weights must be 2-D, got shape ",
                shape_repr(shapes[i])))


def check_shapes(
    names: List[String], inputs: List[Int], outputs: List[Int], shapes: List[List[Int]]
) raises CheckpointError:
    """array.shape.match over every layer: (output_features, input_features)."""
    for i in range(len(names)):
        if shapes[i][0] != outputs[i] or shapes[i][1] != inputs[i]:
            raise CheckpointError(ARRAY_SHAPE_MATCH, String(
                "Checkpoint layer ", quote(names[i]), " weights have shape ",
                shape_repr(shapes[i]), ", expected (", outputs[i], ", ", inputs[i], ")"))


def check_finite(
    names: List[String], inputs: List[Int], weights: List[List[Float64]]
) raises CheckpointError:
    """array.finite over every layer; the position is reported in row-major order."""
    if _all_finite(weights):
        return  # the usual case, at memory speed; the loop below finds the first position
    for i in range(len(names)):
        for k in range(len(weights[i])):
            var v = weights[i][k]
            if v != v or v == Float64.MAX * 2.0 or v == -Float64.MAX * 2.0:
                var cols = inputs[i]
                raise CheckpointError(ARRAY_FINITE, String(
                    "Checkpoint layer ", quote(names[i]), " has a non-finite weight at (",
                    k // cols, ", ", k % cols, ")"))


def _all_finite(weights: List[List[Float64]]) -> Bool:
    """Whether every weight is finite: x * 0 is 0 for a finite x and NaN for an infinity or
    NaN, so the sum of those products is 0 exactly when all are finite (SIMD, no branch)."""
    comptime W = 8
    var acc = SIMD[DType.float64, W](0)
    var tail = Float64(0)
    for ref layer in weights:
        var p = layer.unsafe_ptr()
        var i = 0
        while i + W <= len(layer):
            acc += p.unsafe_load[width=W](i) * 0.0
            i += W
        while i < len(layer):
            tail += p.unsafe_offset(i)[] * 0.0
            i += 1
    return acc.reduce_add() + tail == 0.0
