"""The one error every rejection raises: a spec invariant ID plus a message for people.

The codes are the invariant IDs of spec/checkpoint.yaml, listed in spec order in ALL_CODES;
test_errors.mojo fails when the two drift apart.
"""

# ===----------------------------------------------------------------------=== #
# Codes, in spec order
# ===----------------------------------------------------------------------=== #

comptime JSON_FILE_PRESENT = "json.file.present"
comptime JSON_ENCODING_UTF8 = "json.encoding.utf8"
comptime JSON_ENCODING_BOM = "json.encoding.bom"
comptime JSON_DEPTH = "json.depth"
comptime JSON_SYNTAX = "json.syntax"
comptime JSON_NONFINITE = "json.nonfinite"
comptime JSON_NUMBER_RANGE = "json.number.range"
comptime JSON_KEYS_UNIQUE = "json.keys.unique"
comptime SCHEMA_ROOT_TYPE = "schema.root.type"
comptime SCHEMA_KEYS_REQUIRED = "schema.keys.required"
comptime SCHEMA_KEYS_KNOWN = "schema.keys.known"
comptime SCHEMA_LAYER_NAMES_TYPE = "schema.layer_names.type"
comptime SCHEMA_LAYER_SIZES_TYPE = "schema.layer_sizes.type"
comptime SCHEMA_NEURON_TYPES_TYPE = "schema.neuron_types.type"
comptime SCHEMA_FROZEN_LAYERS_TYPE = "schema.frozen_layers.type"
comptime SCHEMA_N_LAYERS_TYPE = "schema.n_layers.type"
comptime SCHEMA_TOTAL_PARAMS_TYPE = "schema.total_params.type"
comptime SCHEMA_METADATA_TYPE = "schema.metadata.type"
comptime SCHEMA_ARCHIVE_SHA256_TYPE = "schema.archive_sha256.type"
comptime SCHEMA_WEIGHTS_TYPE = "schema.weights.type"
comptime CHECKPOINT_LAYER_NAMES_NONEMPTY = "checkpoint.layer_names.nonempty"
comptime CHECKPOINT_LAYER_NAMES_UNIQUE = "checkpoint.layer_names.unique"
comptime CHECKPOINT_LAYER_SIZES_COUNT = "checkpoint.layer_sizes.count"
comptime CHECKPOINT_LAYER_SIZES_RANGE = "checkpoint.layer_sizes.range"
comptime CHECKPOINT_NEURON_TYPES_COUNT = "checkpoint.neuron_types.count"
comptime CHECKPOINT_FROZEN_LAYERS_REFERENCES = "checkpoint.frozen_layers.references"
comptime CHECKPOINT_WEIGHTS_COUNT = "checkpoint.weights.count"
comptime CHECKPOINT_N_LAYERS_CONSISTENT = "checkpoint.n_layers.consistent"
comptime CHECKPOINT_TOTAL_PARAMS_CONSISTENT = "checkpoint.total_params.consistent"
comptime ARCHIVE_FILE_PRESENT = "archive.file.present"
comptime ARCHIVE_DIGEST = "archive.digest"
comptime ARCHIVE_ZIP_STRUCTURE = "archive.zip.structure"
comptime ARCHIVE_MEMBERS_DUPLICATE = "archive.members.duplicate"
comptime ARCHIVE_MEMBERS_UNEXPECTED = "archive.members.unexpected"
comptime ARCHIVE_MEMBERS_MISSING = "archive.members.missing"
comptime ARCHIVE_MEMBER_METHOD = "archive.member.method"
comptime ARCHIVE_MEMBER_INTEGRITY = "archive.member.integrity"
comptime ARRAY_NPY_MAGIC = "array.npy.magic"
comptime ARRAY_NPY_HEADER = "array.npy.header"
comptime ARRAY_DTYPE_PICKLE = "array.dtype.pickle"
comptime ARRAY_DTYPE = "array.dtype"
comptime ARRAY_SHAPE_RANK = "array.shape.rank"
comptime ARRAY_SHAPE_MATCH = "array.shape.match"
comptime ARRAY_DATA_LENGTH = "array.data.length"
comptime ARRAY_FINITE = "array.finite"
comptime TRANSFER_FREEZE_UNTIL_TYPE = "transfer.freeze_until.type"
comptime TRANSFER_FREEZE_UNTIL_RANGE = "transfer.freeze_until.range"
comptime TRANSFER_LEARNING_RATE_TYPE = "transfer.learning_rate.type"
comptime TRANSFER_LEARNING_RATE_RANGE = "transfer.learning_rate.range"
comptime TRANSFER_SELECTOR_MISSING = "transfer.selector.missing"
comptime TRANSFER_LAYER_NAMES_TYPE = "transfer.layer_names.type"
comptime TRANSFER_LAYER_INDEX_TYPE = "transfer.layer_index.type"
comptime TRANSFER_ALL_LAYERS_TYPE = "transfer.all_layers.type"
comptime TRANSFER_LAYER_NAMES_REFERENCES = "transfer.layer_names.references"
comptime TRANSFER_LAYER_INDEX_RANGE = "transfer.layer_index.range"


def all_codes() -> List[String]:
    """Every code this implementation can raise, in spec order."""
    return [
        JSON_FILE_PRESENT, JSON_ENCODING_UTF8, JSON_ENCODING_BOM, JSON_DEPTH, JSON_SYNTAX,
        JSON_NONFINITE, JSON_NUMBER_RANGE, JSON_KEYS_UNIQUE, SCHEMA_ROOT_TYPE,
        SCHEMA_KEYS_REQUIRED, SCHEMA_KEYS_KNOWN, SCHEMA_LAYER_NAMES_TYPE,
        SCHEMA_LAYER_SIZES_TYPE, SCHEMA_NEURON_TYPES_TYPE, SCHEMA_FROZEN_LAYERS_TYPE,
        SCHEMA_N_LAYERS_TYPE, SCHEMA_TOTAL_PARAMS_TYPE, SCHEMA_METADATA_TYPE,
        SCHEMA_ARCHIVE_SHA256_TYPE, SCHEMA_WEIGHTS_TYPE, CHECKPOINT_LAYER_NAMES_NONEMPTY,
        CHECKPOINT_LAYER_NAMES_UNIQUE, CHECKPOINT_LAYER_SIZES_COUNT,
        CHECKPOINT_LAYER_SIZES_RANGE, CHECKPOINT_NEURON_TYPES_COUNT,
        CHECKPOINT_FROZEN_LAYERS_REFERENCES, CHECKPOINT_WEIGHTS_COUNT,
        CHECKPOINT_N_LAYERS_CONSISTENT, CHECKPOINT_TOTAL_PARAMS_CONSISTENT,
        ARCHIVE_FILE_PRESENT, ARCHIVE_DIGEST, ARCHIVE_ZIP_STRUCTURE, ARCHIVE_MEMBERS_DUPLICATE,
        ARCHIVE_MEMBERS_UNEXPECTED, ARCHIVE_MEMBERS_MISSING, ARCHIVE_MEMBER_METHOD,
        ARCHIVE_MEMBER_INTEGRITY, ARRAY_NPY_MAGIC, ARRAY_NPY_HEADER, ARRAY_DTYPE_PICKLE,
        ARRAY_DTYPE, ARRAY_SHAPE_RANK, ARRAY_SHAPE_MATCH, ARRAY_DATA_LENGTH, ARRAY_FINITE,
        TRANSFER_FREEZE_UNTIL_TYPE, TRANSFER_FREEZE_UNTIL_RANGE, TRANSFER_LEARNING_RATE_TYPE,
        TRANSFER_LEARNING_RATE_RANGE, TRANSFER_SELECTOR_MISSING, TRANSFER_LAYER_NAMES_TYPE,
        TRANSFER_LAYER_INDEX_TYPE, TRANSFER_ALL_LAYERS_TYPE, TRANSFER_LAYER_NAMES_REFERENCES,
        TRANSFER_LAYER_INDEX_RANGE,
    ]


# ===----------------------------------------------------------------------=== #
# The error
# ===----------------------------------------------------------------------=== #


@fieldwise_init
struct CheckpointError(Copyable, Movable, Writable):
    """A checkpoint, its files or a transfer request violate an invariant of the spec.

    `code` is the invariant ID (stable, safe to match on); `message` says what was wrong and
    where (file, layer, key).
    """

    var code: String
    var message: String

    def write_to(self, mut writer: Some[Writer]):
        writer.write(self.message, " [", self.code, "]")


# ===----------------------------------------------------------------------=== #
# Message helpers: names and shapes the way the spec's message templates print them
# ===----------------------------------------------------------------------=== #


def quote(text: String) -> String:
    """Render a name the way the spec's messages do ({name!r}): single-quoted, escaped."""
    var out = String("'")
    for cp in text.codepoints():
        var c = Int(cp)
        if c == 0x27:
            out += "\\'"
        elif c == 0x5C:
            out += "\\\\"
        elif c < 0x20 or c == 0x7F:
            out += "\\x" + hex2(c)
        else:
            out += String(cp)
    out += "'"
    return out^


def hex2(value: Int) -> String:
    comptime HEX = "0123456789abcdef"
    var out = String()
    out += HEX[byte = (value >> 4) & 15]
    out += HEX[byte = value & 15]
    return out^


def shape_repr(shape: List[Int]) -> String:
    """A shape the way the spec's messages print it (a Python tuple): (), (3,), (2, 3)."""
    var out = String("(")
    for i in range(len(shape)):
        if i > 0:
            out += ", "
        out += String(shape[i])
    if len(shape) == 1:
        out += ","
    out += ")"
    return out^
