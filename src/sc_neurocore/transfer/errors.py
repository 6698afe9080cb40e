"""The one exception every rejection raises, and the message template of every invariant.

The codes are the invariant IDs of ``spec/checkpoint.yaml``; the templates are the spec's
``message`` fields, verbatim (a test keeps the two in step). Users match on the message text, so
a template changes only together with the spec.
"""

from __future__ import annotations

from typing import Any, Final

MESSAGES: Final[dict[str, str]] = {
    "json.file.present": "Checkpoint metadata file not found: {path}",
    "json.encoding.utf8": "Checkpoint metadata is not valid UTF-8: {detail}",
    "json.encoding.bom": "Checkpoint metadata starts with a byte-order mark",
    "json.depth": "Checkpoint metadata nests deeper than {limit} levels",
    "json.syntax": "Checkpoint metadata is not valid JSON: {detail}",
    "json.nonfinite": "Checkpoint metadata contains a non-finite number literal ({token}), which is not JSON",
    "json.number.range": "Checkpoint metadata number {number} is out of range",
    "json.keys.unique": "Checkpoint metadata has duplicate key {key!r}",
    "schema.root.type": "Checkpoint metadata must be a JSON object, not {got}",
    "schema.keys.required": "Checkpoint metadata is missing required key {key!r}",
    "schema.keys.known": "Checkpoint metadata has unknown key {key!r}",
    "schema.layer_names.type": "Checkpoint layer_names must be a list of strings: {detail}",
    "schema.layer_sizes.type": "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: {detail}",
    "schema.neuron_types.type": "Checkpoint neuron_types must be a list of strings: {detail}",
    "schema.frozen_layers.type": "Checkpoint frozen_layers must be a list of strings: {detail}",
    "schema.n_layers.type": "Checkpoint n_layers must be an integer, not {got}",
    "schema.total_params.type": "Checkpoint total_params must be an integer, not {got}",
    "schema.metadata.type": "Checkpoint metadata must be a JSON object: {detail}",
    "schema.archive_sha256.type": "Checkpoint archive_sha256 must be 64 lowercase hex digits: {detail}",
    "schema.weights.type": "Checkpoint weights must be a list of numeric arrays: {detail}",
    "checkpoint.layer_names.nonempty": "Checkpoint layer name at index {index} is empty",
    "checkpoint.layer_names.unique": "Checkpoint layer_names must be unique: {name!r} appears more than once",
    "checkpoint.layer_sizes.count": "Checkpoint layer_sizes has {got} entries but there are {expected} layers",
    "checkpoint.layer_sizes.range": "Checkpoint layer {name!r} has {field} = {value}, outside [1, {maximum}]",
    "checkpoint.neuron_types.count": "Checkpoint neuron_types has {got} entries but there are {expected} layers (or pass none)",
    "checkpoint.frozen_layers.references": "Checkpoint frozen layer {name!r} is not a layer of this checkpoint",
    "checkpoint.weights.count": "Checkpoint has {got} weight matrices but there are {expected} layers",
    "checkpoint.n_layers.consistent": "Checkpoint n_layers is {got} but there are {expected} layers",
    "checkpoint.total_params.consistent": "Checkpoint total_params is {got} but the layer sizes give {expected}",
    "archive.file.present": "Checkpoint weight archive not found: {path}",
    "archive.digest": "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): {path}",
    "archive.zip.structure": "Checkpoint archive is not a valid zip file: {detail}",
    "archive.members.duplicate": "Checkpoint archive has member {member!r} more than once",
    "archive.members.unexpected": "Checkpoint archive has unexpected member {member!r}",
    "archive.members.missing": "Checkpoint archive has no member {member!r} for layer {name!r}",
    "archive.member.method": "Checkpoint archive member {member!r} uses unsupported {detail}",
    "archive.member.integrity": "Checkpoint archive member {member!r} is corrupt: {detail}",
    "array.npy.magic": "Checkpoint layer {name!r} ({member}) is not a .npy array: {detail}",
    "array.npy.header": "Checkpoint layer {name!r} ({member}) has a malformed .npy header: {detail}",
    "array.dtype.pickle": "Checkpoint layer {name!r} ({member}) holds a pickled object array, which is refused",
    "array.dtype": "Checkpoint layer {name!r} ({member}) has unsupported dtype {descr!r}",
    "array.shape.rank": "Checkpoint layer {name!r} weights must be 2-D, got shape {shape}",
    "array.shape.match": "Checkpoint layer {name!r} weights have shape {shape}, expected {expected}",
    "array.data.length": "Checkpoint layer {name!r} ({member}) has {got} data bytes, its header declares {expected}",
    "array.finite": "Checkpoint layer {name!r} has a non-finite weight at {position}",
    "transfer.freeze_until.type": "TransferConfig freeze_until must be a layer name or an integer, not {got}",
    "transfer.freeze_until.range": "TransferConfig freeze_until must be >= -1, got {value}",
    "transfer.learning_rate.type": "TransferConfig {field} must be a number, not {got}",
    "transfer.learning_rate.range": "TransferConfig {field} must be finite and >= 0, got {value}",
    "transfer.selector.missing": "{operation} needs {selectors}",
    "transfer.layer_names.type": "{operation} layer_names must be a list of strings: {detail}",
    "transfer.layer_index.type": "freeze_layers until_index must be an integer, not {got}",
    "transfer.all_layers.type": "unfreeze_layers all_layers must be a boolean, not {got}",
    "transfer.layer_names.references": "{operation}: {name!r} is not a layer of this checkpoint",
    "transfer.layer_index.range": "{operation}: layer index {value} is outside [-1, {maximum}]",
}


class CheckpointError(ValueError):
    """A checkpoint, its files or a transfer request violate an invariant of the spec.

    Parameters
    ----------
    code
        The violated invariant's ID, e.g. ``"checkpoint.layer_names.unique"``.
    **fields
        Values for the invariant's message template (what was wrong and where).

    Attributes
    ----------
    code : str
        The invariant ID; stable across releases and languages, safe to match on.
    fields : dict
        The template values, for programs that want more than the message.
    """

    def __init__(self, code: str, **fields: Any) -> None:
        self.code = code
        self.fields = fields
        super().__init__(f"{MESSAGES[code].format(**fields)} [{code}]")


def type_name(value: object) -> str:
    """Name a value's type the way messages do (JSON names for JSON values)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
