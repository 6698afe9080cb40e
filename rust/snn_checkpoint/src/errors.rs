//! The one error type: every rejection names the spec invariant it violates, and its message
//! fills that invariant's template (the spec's `message`, verbatim; tests/errors.rs keeps the
//! codes, their order and the templates in step with `spec/checkpoint.yaml`). A save adds
//! the one other way to fail, the file system's (`SaveError`).

use std::fmt;

macro_rules! invariants {
    ($( $(#[$doc:meta])* $variant:ident => $id:literal, $template:literal, )*) => {
        /// An invariant of `spec/checkpoint.yaml`, declared in spec order.
        ///
        /// The derived ordering is the spec order, so "the first failing invariant" is the
        /// minimum of the failures found.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Invariant {
            $( $(#[$doc])* $variant, )*
        }

        impl Invariant {
            /// Every invariant, in spec order.
            pub const ALL: &'static [Invariant] = &[$(Invariant::$variant,)*];

            /// The spec's stable ID, e.g. `"json.syntax"`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Invariant::$variant => $id,)*
                }
            }

            /// The spec's message template: `{field}` takes a value as it is, `{field!r}` as
            /// Python's `repr` of its text.
            pub fn template(self) -> &'static str {
                match self {
                    $(Invariant::$variant => $template,)*
                }
            }
        }
    };
}

invariants! {
    /// BASE.json exists and is a regular file.
    JsonFilePresent => "json.file.present",
        "Checkpoint metadata file not found: {path}",
    /// The document is valid UTF-8.
    JsonEncodingUtf8 => "json.encoding.utf8",
        "Checkpoint metadata is not valid UTF-8: {detail}",
    /// The document does not start with a byte-order mark.
    JsonEncodingBom => "json.encoding.bom",
        "Checkpoint metadata starts with a byte-order mark",
    /// The lexical nesting depth is at most 64.
    JsonDepth => "json.depth",
        "Checkpoint metadata nests deeper than {limit} levels",
    /// The document is one RFC 8259 value (NaN/Infinity tolerated here).
    JsonSyntax => "json.syntax",
        "Checkpoint metadata is not valid JSON: {detail}",
    /// No NaN, Infinity or -Infinity token.
    JsonNonfinite => "json.nonfinite",
        "Checkpoint metadata contains a non-finite number literal ({token}), which is not JSON",
    /// Integers in [-2^63, 2^64 - 1], other numbers finite as float64.
    JsonNumberRange => "json.number.range",
        "Checkpoint metadata number {number} is out of range",
    /// No object repeats a key (after unescaping).
    JsonKeysUnique => "json.keys.unique",
        "Checkpoint metadata has duplicate key {key!r}",
    /// The document is a JSON object.
    SchemaRootType => "schema.root.type",
        "Checkpoint metadata must be a JSON object, not {got}",
    /// Every required top-level key is present.
    SchemaKeysRequired => "schema.keys.required",
        "Checkpoint metadata is missing required key {key!r}",
    /// Every top-level key is known.
    SchemaKeysKnown => "schema.keys.known",
        "Checkpoint metadata has unknown key {key!r}",
    /// layer_names is a list of strings.
    SchemaLayerNamesType => "schema.layer_names.type",
        "Checkpoint layer_names must be a list of strings: {detail}",
    /// layer_sizes is a list of integer pairs.
    SchemaLayerSizesType => "schema.layer_sizes.type",
        "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: {detail}",
    /// neuron_types is a list of strings.
    SchemaNeuronTypesType => "schema.neuron_types.type",
        "Checkpoint neuron_types must be a list of strings: {detail}",
    /// frozen_layers is a list of strings.
    SchemaFrozenLayersType => "schema.frozen_layers.type",
        "Checkpoint frozen_layers must be a list of strings: {detail}",
    /// n_layers is an integer literal.
    SchemaNLayersType => "schema.n_layers.type",
        "Checkpoint n_layers must be an integer, not {got}",
    /// total_params is an integer literal.
    SchemaTotalParamsType => "schema.total_params.type",
        "Checkpoint total_params must be an integer, not {got}",
    /// metadata is a (strict) JSON object.
    SchemaMetadataType => "schema.metadata.type",
        "Checkpoint metadata must be a JSON object: {detail}",
    /// archive_sha256 is 64 lowercase hex digits.
    SchemaArchiveSha256Type => "schema.archive_sha256.type",
        "Checkpoint archive_sha256 must be 64 lowercase hex digits: {detail}",
    /// weights is a list of numeric arrays.
    SchemaWeightsType => "schema.weights.type",
        "Checkpoint weights must be a list of numeric arrays: {detail}",
    /// Every layer name is non-empty.
    CheckpointLayerNamesNonempty => "checkpoint.layer_names.nonempty",
        "Checkpoint layer name at index {index} is empty",
    /// Layer names are unique.
    CheckpointLayerNamesUnique => "checkpoint.layer_names.unique",
        "Checkpoint layer_names must be unique: {name!r} appears more than once",
    /// One layer_sizes entry per layer.
    CheckpointLayerSizesCount => "checkpoint.layer_sizes.count",
        "Checkpoint layer_sizes has {got} entries but there are {expected} layers",
    /// Feature counts lie in [1, 2^31 - 1].
    CheckpointLayerSizesRange => "checkpoint.layer_sizes.range",
        "Checkpoint layer {name!r} has {field} = {value}, outside [1, {maximum}]",
    /// neuron_types is empty or one per layer.
    CheckpointNeuronTypesCount => "checkpoint.neuron_types.count",
        "Checkpoint neuron_types has {got} entries but there are {expected} layers (or pass none)",
    /// Every frozen layer is a layer.
    CheckpointFrozenLayersReferences => "checkpoint.frozen_layers.references",
        "Checkpoint frozen layer {name!r} is not a layer of this checkpoint",
    /// One weight matrix per layer.
    CheckpointWeightsCount => "checkpoint.weights.count",
        "Checkpoint has {got} weight matrices but there are {expected} layers",
    /// n_layers equals the number of layers.
    CheckpointNLayersConsistent => "checkpoint.n_layers.consistent",
        "Checkpoint n_layers is {got} but there are {expected} layers",
    /// total_params equals the sum of the layer sizes' products.
    CheckpointTotalParamsConsistent => "checkpoint.total_params.consistent",
        "Checkpoint total_params is {got} but the layer sizes give {expected}",
    /// BASE.npz exists and is a regular file.
    ArchiveFilePresent => "archive.file.present",
        "Checkpoint weight archive not found: {path}",
    /// archive_sha256, when present, matches the archive bytes.
    ArchiveDigest => "archive.digest",
        "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): {path}",
    /// The archive is a well-formed single-disk zip.
    ArchiveZipStructure => "archive.zip.structure",
        "Checkpoint archive is not a valid zip file: {detail}",
    /// No member name appears twice.
    ArchiveMembersDuplicate => "archive.members.duplicate",
        "Checkpoint archive has member {member!r} more than once",
    /// Every member is some layer's `layer_{i}.npy`.
    ArchiveMembersUnexpected => "archive.members.unexpected",
        "Checkpoint archive has unexpected member {member!r}",
    /// Every layer has its member.
    ArchiveMembersMissing => "archive.members.missing",
        "Checkpoint archive has no member {member!r} for layer {name!r}",
    /// Members are stored or deflated, never encrypted.
    ArchiveMemberMethod => "archive.member.method",
        "Checkpoint archive member {member!r} uses unsupported {detail}",
    /// Member data matches its sizes and CRC-32.
    ArchiveMemberIntegrity => "archive.member.integrity",
        "Checkpoint archive member {member!r} is corrupt: {detail}",
    /// The member starts with the .npy magic and a known version.
    ArrayNpyMagic => "array.npy.magic",
        "Checkpoint layer {name!r} ({member}) is not a .npy array: {detail}",
    /// The .npy header is well-formed.
    ArrayNpyHeader => "array.npy.header",
        "Checkpoint layer {name!r} ({member}) has a malformed .npy header: {detail}",
    /// The dtype is not a pickled object array.
    ArrayDtypePickle => "array.dtype.pickle",
        "Checkpoint layer {name!r} ({member}) holds a pickled object array, which is refused",
    /// The dtype is one of the accepted ones.
    ArrayDtype => "array.dtype",
        "Checkpoint layer {name!r} ({member}) has unsupported dtype {descr!r}",
    /// The array is 2-D.
    ArrayShapeRank => "array.shape.rank",
        "Checkpoint layer {name!r} weights must be 2-D, got shape {shape}",
    /// The array's shape is (output_features, input_features).
    ArrayShapeMatch => "array.shape.match",
        "Checkpoint layer {name!r} weights have shape {shape}, expected {expected}",
    /// The data is exactly as long as the header declares.
    ArrayDataLength => "array.data.length",
        "Checkpoint layer {name!r} ({member}) has {got} data bytes, its header declares {expected}",
    /// Every weight is finite.
    ArrayFinite => "array.finite",
        "Checkpoint layer {name!r} has a non-finite weight at {position}",
    /// freeze_until is a string or an integer.
    TransferFreezeUntilType => "transfer.freeze_until.type",
        "TransferConfig freeze_until must be a layer name or an integer, not {got}",
    /// An integer freeze_until is >= -1.
    TransferFreezeUntilRange => "transfer.freeze_until.range",
        "TransferConfig freeze_until must be >= -1, got {value}",
    /// Learning rates are numbers.
    TransferLearningRateType => "transfer.learning_rate.type",
        "TransferConfig {field} must be a number, not {got}",
    /// Learning rates are finite and >= 0.
    TransferLearningRateRange => "transfer.learning_rate.range",
        "TransferConfig {field} must be finite and >= 0, got {value}",
    /// freeze/unfreeze got a selector.
    TransferSelectorMissing => "transfer.selector.missing",
        "{operation} needs {selectors}",
    /// layer_names argument is a list of strings.
    TransferLayerNamesType => "transfer.layer_names.type",
        "{operation} layer_names must be a list of strings: {detail}",
    /// until_index is an integer.
    TransferLayerIndexType => "transfer.layer_index.type",
        "freeze_layers until_index must be an integer, not {got}",
    /// all_layers is a boolean.
    TransferAllLayersType => "transfer.all_layers.type",
        "unfreeze_layers all_layers must be a boolean, not {got}",
    /// Every named layer exists.
    TransferLayerNamesReferences => "transfer.layer_names.references",
        "{operation}: {name!r} is not a layer of this checkpoint",
    /// A layer index lies in [-1, n_layers).
    TransferLayerIndexRange => "transfer.layer_index.range",
        "{operation}: layer index {value} is outside [-1, {maximum}]",
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A rejection: the violated invariant and a message saying what was wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointError {
    /// The violated invariant.
    pub invariant: Invariant,
    /// The invariant's template filled with the values of this rejection (file, layer, key).
    pub message: String,
}

impl CheckpointError {
    /// Builds the error for `invariant`, filling its template with `fields` (name, value).
    pub fn new(invariant: Invariant, fields: &[(&str, &dyn fmt::Display)]) -> Self {
        CheckpointError {
            invariant,
            message: render(invariant.template(), fields),
        }
    }

    /// The spec ID of the violated invariant (the protocol's `code`).
    pub fn code(&self) -> &'static str {
        self.invariant.id()
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckpointError {}

/// Why `save_checkpoint` wrote nothing, or did not finish: the checkpoint breaks a construct
/// invariant (nothing was written), or the file system failed (the file being written keeps
/// its previous content, and no temporary file is left).
#[derive(Debug)]
pub enum SaveError {
    /// The first violated construct invariant, in spec order.
    Invalid(CheckpointError),
    /// Creating a folder, writing, syncing or renaming failed.
    Io(std::io::Error),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::Invalid(e) => e.fmt(f),
            SaveError::Io(e) => write!(f, "cannot save the checkpoint: {e}"),
        }
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SaveError::Invalid(e) => Some(e),
            SaveError::Io(e) => Some(e),
        }
    }
}

impl From<CheckpointError> for SaveError {
    fn from(e: CheckpointError) -> Self {
        SaveError::Invalid(e)
    }
}

impl From<std::io::Error> for SaveError {
    fn from(e: std::io::Error) -> Self {
        SaveError::Io(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// `fail!(Invariant, field = value, ...)`: the `CheckpointError` for that invariant, its
/// template filled with the named values (anything `Display`).
macro_rules! fail {
    ($inv:ident $(, $field:ident = $value:expr)* $(,)?) => {
        $crate::errors::CheckpointError::new(
            $crate::errors::Invariant::$inv,
            &[$((stringify!($field), &$value as &dyn ::std::fmt::Display)),*],
        )
    };
}
pub(crate) use fail;

/// Fills `{field}` and `{field!r}` placeholders; a placeholder without a value stays as written
/// (the corpus test fails on any such message).
fn render(template: &str, fields: &[(&str, &dyn fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        let placeholder = &rest[open + 1..close];
        let (field, as_repr) = match placeholder.strip_suffix("!r") {
            Some(field) => (field, true),
            None => (placeholder, false),
        };
        match fields.iter().find(|(name, _)| *name == field) {
            Some((_, value)) if as_repr => out.push_str(&repr(&value.to_string())),
            Some((_, value)) => out.push_str(&value.to_string()),
            None => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Python's `repr` of a string, as the templates' `{field!r}` and messages' key paths use.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
