"""The fine-tuning API: TransferConfig, freeze/unfreeze, apply_transfer_config.

Arguments arrive as decoded host values (hostvalue.mojo); an absent or null argument takes its
default. Every argument is validated, in spec order, before the checkpoint changes.
"""

from errors import *
from checkpoint import Checkpoint
from fields import is_scalar_text
from json import Tree, K_NULL, K_BOOL, K_INT, K_FLOAT, K_STRING, K_ARRAY, K_TUPLE, kind_name
from json_write import write_float, write_string
from limits import LAYER_INDEX_MIN


def _given(values: Tree, args: Int, name: String) -> Int:
    """The argument node, or -1 when it is absent (null is kept: it may be a wrong type)."""
    if args < 0:
        return -1
    return values.get(args, name)


def _arg(values: Tree, args: Int, name: String) -> Int:
    """The argument node, or -1 when it is absent or null (None is the selectors' default)."""
    if args < 0:
        return -1
    var index = values.get(args, name)
    if index >= 0 and values.kind(index) == K_NULL:
        return -1
    return index


def _finite(value: Float64) -> Bool:
    return value == value and value != Float64.MAX * 2.0 and value != -Float64.MAX * 2.0


# ===----------------------------------------------------------------------=== #
# TransferConfig
# ===----------------------------------------------------------------------=== #


struct TransferConfig(Copyable, Movable):
    """freeze_until (a layer name or an index >= -1) and the two learning rates."""

    var by_name: Bool
    var freeze_name: String
    # Saturated to Int's range; `freeze_literal` keeps what was written.
    var freeze_index: Int
    var freeze_literal: String
    var lr_backbone: Float64
    var lr_head: Float64

    def __init__(out self):
        self.by_name = False
        self.freeze_name = String()
        self.freeze_index = -1
        self.freeze_literal = "-1"
        self.lr_backbone = 0.0
        self.lr_head = 0.01

    def write_json(self, mut out: String):
        out += '{"freeze_until": '
        if self.by_name:
            write_string(out, self.freeze_name)
        elif self.freeze_index == Int.MAX or self.freeze_index == Int.MIN:
            # Saturated: the literal is the exact (Python int) value.
            out += self.freeze_literal
        else:
            out += String(self.freeze_index)
        out += ', "lr_backbone": '
        write_float(out, self.lr_backbone)
        out += ', "lr_head": '
        write_float(out, self.lr_head)
        out += "}"


def transfer_config(values: Tree, config: Int) raises CheckpointError -> TransferConfig:
    """Build and validate a TransferConfig from the `config` object node (-1: all defaults).

    Raises:
        CheckpointError: transfer.freeze_until.* or transfer.learning_rate.*, in spec order.
    """
    var cfg = TransferConfig()
    # TransferConfig(**config): an explicit null is None, which no field accepts.
    var freeze = _given(values, config, "freeze_until")
    var backbone = _given(values, config, "lr_backbone")
    var head = _given(values, config, "lr_head")
    if freeze >= 0:
        var kind = values.kind(freeze)
        if kind == K_STRING and is_scalar_text(values.nodes[freeze].text):
            cfg.by_name = True
            cfg.freeze_name = values.nodes[freeze].text
        elif kind == K_INT:
            cfg.freeze_index = values.nodes[freeze].as_int()
            cfg.freeze_literal = values.nodes[freeze].text
        else:
            raise CheckpointError(TRANSFER_FREEZE_UNTIL_TYPE, String(
                "TransferConfig freeze_until must be a layer name or an integer, not ",
                kind_name(kind)))
        if not cfg.by_name and cfg.freeze_index < LAYER_INDEX_MIN:
            raise CheckpointError(TRANSFER_FREEZE_UNTIL_RANGE, String(
                "TransferConfig freeze_until must be >= -1, got ", cfg.freeze_literal))
    var fields: List[String] = ["lr_backbone", "lr_head"]
    var nodes: List[Int] = [backbone, head]
    for i in range(2):
        if nodes[i] >= 0:
            var kind = values.kind(nodes[i])
            if kind != K_INT and kind != K_FLOAT:
                raise CheckpointError(TRANSFER_LEARNING_RATE_TYPE, String(
                    "TransferConfig ", fields[i], " must be a number, not ", kind_name(kind)))
    for i in range(2):
        if nodes[i] >= 0:
            # An integer rate converts to the nearest float64 (exact for any sane rate).
            var value = values.nodes[nodes[i]].float_value
            if not _finite(value) or value < 0.0:
                var shown = String()
                if values.kind(nodes[i]) == K_INT:
                    shown = values.nodes[nodes[i]].text
                else:
                    write_float(shown, value)
                raise CheckpointError(TRANSFER_LEARNING_RATE_RANGE, String(
                    "TransferConfig ", fields[i], " must be finite and >= 0, got ", shown))
            if i == 0:
                cfg.lr_backbone = value
            else:
                cfg.lr_head = value
    return cfg^


def apply_transfer_config(
    mut cp: Checkpoint, values: Tree, config: Int
) raises CheckpointError -> List[Float64]:
    """Freeze layers 0..k (k from freeze_until) and return one learning rate per layer.

    Raises:
        CheckpointError: a TransferConfig error, then transfer.layer_names.references or
        transfer.layer_index.range.
    """
    var cfg = transfer_config(values, config)
    var n = cp.n_layers()
    var k = cfg.freeze_index
    if cfg.by_name:
        k = cp.layer_index(cfg.freeze_name)
        if k < 0:
            raise CheckpointError(TRANSFER_LAYER_NAMES_REFERENCES, String(
                "apply_transfer_config: ", quote(cfg.freeze_name),
                " is not a layer of this checkpoint"))
    elif k < LAYER_INDEX_MIN or k >= n:
        raise CheckpointError(TRANSFER_LAYER_INDEX_RANGE, String(
            "apply_transfer_config: layer index ", cfg.freeze_literal, " is outside [-1, ", n - 1,
            "]"))
    var names = List[String]()
    for i in range(k + 1):
        names.append(cp.layer_names[i])
    cp.add_frozen(names)
    var rates = List[Float64]()
    for i in range(n):
        rates.append(cfg.lr_backbone if cp.is_frozen(cp.layer_names[i]) else cfg.lr_head)
    return rates^


# ===----------------------------------------------------------------------=== #
# Freeze / unfreeze
# ===----------------------------------------------------------------------=== #


def _names_arg(
    values: Tree, index: Int, operation: String
) raises CheckpointError -> List[String]:
    var kind = values.kind(index)
    if kind != K_ARRAY and kind != K_TUPLE:
        raise CheckpointError(TRANSFER_LAYER_NAMES_TYPE, String(
            operation, " layer_names must be a list of strings: got ", kind_name(kind)))
    var out = List[String]()
    for i in range(values.length(index)):
        var item = values.child(index, i)
        if values.kind(item) != K_STRING or not is_scalar_text(values.nodes[item].text):
            raise CheckpointError(TRANSFER_LAYER_NAMES_TYPE, String(
                operation, " layer_names must be a list of strings: item ", i, " is ",
                kind_name(values.kind(item))))
        out.append(values.nodes[item].text)
    return out^


def _check_references(cp: Checkpoint, names: List[String], operation: String) raises CheckpointError:
    for name in names:
        if cp.layer_index(name) < 0:
            raise CheckpointError(TRANSFER_LAYER_NAMES_REFERENCES, String(
                operation, ": ", quote(name), " is not a layer of this checkpoint"))


def freeze_layers(mut cp: Checkpoint, values: Tree, args: Int) raises CheckpointError:
    """Add the named layers and layers 0..until_index to the frozen set.

    Raises:
        CheckpointError: transfer.selector.missing, .layer_names.type, .layer_index.type,
        .layer_names.references, .layer_index.range (spec order).
    """
    comptime OP = "freeze_layers"
    var names_node = _arg(values, args, "layer_names")
    var until_node = _arg(values, args, "until_index")
    if names_node < 0 and until_node < 0:
        raise CheckpointError(TRANSFER_SELECTOR_MISSING,
                              "freeze_layers needs layer_names or until_index")
    var names = List[String]()
    if names_node >= 0:
        names = _names_arg(values, names_node, OP)
    var until = -1
    var until_text = String("-1")
    if until_node >= 0:
        if values.kind(until_node) != K_INT:
            raise CheckpointError(TRANSFER_LAYER_INDEX_TYPE, String(
                "freeze_layers until_index must be an integer, not ",
                kind_name(values.kind(until_node))))
        until = values.nodes[until_node].as_int()
        until_text = values.nodes[until_node].text
    _check_references(cp, names, OP)
    var n = cp.n_layers()
    if until < LAYER_INDEX_MIN or until >= n:
        raise CheckpointError(TRANSFER_LAYER_INDEX_RANGE, String(
            "freeze_layers: layer index ", until_text, " is outside [-1, ", n - 1, "]"))
    for i in range(until + 1):
        names.append(cp.layer_names[i])
    cp.add_frozen(names)


def unfreeze_layers(mut cp: Checkpoint, values: Tree, args: Int) raises CheckpointError:
    """Remove the named layers from the frozen set, or all of them when all_layers is true.

    Raises:
        CheckpointError: transfer.selector.missing, .layer_names.type, .all_layers.type,
        .layer_names.references (spec order).
    """
    comptime OP = "unfreeze_layers"
    var names_node = _arg(values, args, "layer_names")
    var all_node = _given(values, args, "all_layers")
    # Only a real True selects everything (Python: all_layers is not True).
    var all_given = all_node >= 0 and values.kind(all_node) == K_BOOL and values.nodes[all_node].flag
    if names_node < 0 and not all_given:
        raise CheckpointError(TRANSFER_SELECTOR_MISSING,
                              "unfreeze_layers needs layer_names or all_layers=True")
    var names = List[String]()
    if names_node >= 0:
        names = _names_arg(values, names_node, OP)
    var all_layers = False
    if all_node >= 0:
        if values.kind(all_node) != K_BOOL:
            raise CheckpointError(TRANSFER_ALL_LAYERS_TYPE, String(
                "unfreeze_layers all_layers must be a boolean, not ",
                kind_name(values.kind(all_node))))
        all_layers = values.nodes[all_node].flag
    _check_references(cp, names, OP)
    if all_layers:
        cp.frozen_layers = List[String]()
        return
    var kept = List[String]()
    for f in cp.frozen_layers:
        var drop = False
        for name in names:
            if name == f:
                drop = True
        if not drop:
            kept.append(f)
    cp.frozen_layers = kept^
