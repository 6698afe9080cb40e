//! The one error type: every rejection names the spec invariant it violates.

use std::fmt;

macro_rules! invariants {
    ($( $(#[$doc:meta])* $variant:ident => $id:literal, )*) => {
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
        }
    };
}

invariants! {
    /// BASE.json exists and is a regular file.
    JsonFilePresent => "json.file.present",
    /// The document is valid UTF-8.
    JsonEncodingUtf8 => "json.encoding.utf8",
    /// The document does not start with a byte-order mark.
    JsonEncodingBom => "json.encoding.bom",
    /// The lexical nesting depth is at most 64.
    JsonDepth => "json.depth",
    /// The document is one RFC 8259 value (NaN/Infinity tolerated here).
    JsonSyntax => "json.syntax",
    /// No NaN, Infinity or -Infinity token.
    JsonNonfinite => "json.nonfinite",
    /// Integers within +/-(2^53 - 1), other numbers finite as float64.
    JsonNumberRange => "json.number.range",
    /// No object repeats a key (after unescaping).
    JsonKeysUnique => "json.keys.unique",
    /// The document is a JSON object.
    SchemaRootType => "schema.root.type",
    /// Every required top-level key is present.
    SchemaKeysRequired => "schema.keys.required",
    /// Every top-level key is known.
    SchemaKeysKnown => "schema.keys.known",
    /// layer_names is a list of strings.
    SchemaLayerNamesType => "schema.layer_names.type",
    /// layer_sizes is a list of integer pairs.
    SchemaLayerSizesType => "schema.layer_sizes.type",
    /// neuron_types is a list of strings.
    SchemaNeuronTypesType => "schema.neuron_types.type",
    /// frozen_layers is a list of strings.
    SchemaFrozenLayersType => "schema.frozen_layers.type",
    /// n_layers is an integer literal.
    SchemaNLayersType => "schema.n_layers.type",
    /// total_params is an integer literal.
    SchemaTotalParamsType => "schema.total_params.type",
    /// metadata is a (strict) JSON object.
    SchemaMetadataType => "schema.metadata.type",
    /// archive_sha256 is 64 lowercase hex digits.
    SchemaArchiveSha256Type => "schema.archive_sha256.type",
    /// weights is a list of numeric arrays.
    SchemaWeightsType => "schema.weights.type",
    /// Every layer name is non-empty.
    CheckpointLayerNamesNonempty => "checkpoint.layer_names.nonempty",
    /// Layer names are unique.
    CheckpointLayerNamesUnique => "checkpoint.layer_names.unique",
    /// One layer_sizes entry per layer.
    CheckpointLayerSizesCount => "checkpoint.layer_sizes.count",
    /// Feature counts lie in [1, 2^31 - 1].
    CheckpointLayerSizesRange => "checkpoint.layer_sizes.range",
    /// neuron_types is empty or one per layer.
    CheckpointNeuronTypesCount => "checkpoint.neuron_types.count",
    /// Every frozen layer is a layer.
    CheckpointFrozenLayersReferences => "checkpoint.frozen_layers.references",
    /// One weight matrix per layer.
    CheckpointWeightsCount => "checkpoint.weights.count",
    /// n_layers equals the number of layers.
    CheckpointNLayersConsistent => "checkpoint.n_layers.consistent",
    /// total_params equals the sum of the layer sizes' products.
    CheckpointTotalParamsConsistent => "checkpoint.total_params.consistent",
    /// BASE.npz exists and is a regular file.
    ArchiveFilePresent => "archive.file.present",
    /// archive_sha256, when present, matches the archive bytes.
    ArchiveDigest => "archive.digest",
    /// The archive is a well-formed single-disk zip.
    ArchiveZipStructure => "archive.zip.structure",
    /// No member name appears twice.
    ArchiveMembersDuplicate => "archive.members.duplicate",
    /// Every member is some layer's `layer_{i}.npy`.
    ArchiveMembersUnexpected => "archive.members.unexpected",
    /// Every layer has its member.
    ArchiveMembersMissing => "archive.members.missing",
    /// Members are stored or deflated, never encrypted.
    ArchiveMemberMethod => "archive.member.method",
    /// Member data matches its sizes and CRC-32.
    ArchiveMemberIntegrity => "archive.member.integrity",
    /// The member starts with the .npy magic and a known version.
    ArrayNpyMagic => "array.npy.magic",
    /// The .npy header is well-formed.
    ArrayNpyHeader => "array.npy.header",
    /// The dtype is not a pickled object array.
    ArrayDtypePickle => "array.dtype.pickle",
    /// The dtype is one of the accepted ones.
    ArrayDtype => "array.dtype",
    /// The array is 2-D.
    ArrayShapeRank => "array.shape.rank",
    /// The array's shape is (output_features, input_features).
    ArrayShapeMatch => "array.shape.match",
    /// The data is exactly as long as the header declares.
    ArrayDataLength => "array.data.length",
    /// Every weight is finite.
    ArrayFinite => "array.finite",
    /// freeze_until is a string or an integer.
    TransferFreezeUntilType => "transfer.freeze_until.type",
    /// An integer freeze_until is >= -1.
    TransferFreezeUntilRange => "transfer.freeze_until.range",
    /// Learning rates are numbers.
    TransferLearningRateType => "transfer.learning_rate.type",
    /// Learning rates are finite and >= 0.
    TransferLearningRateRange => "transfer.learning_rate.range",
    /// freeze/unfreeze got a selector.
    TransferSelectorMissing => "transfer.selector.missing",
    /// layer_names argument is a list of strings.
    TransferLayerNamesType => "transfer.layer_names.type",
    /// until_index is an integer.
    TransferLayerIndexType => "transfer.layer_index.type",
    /// all_layers is a boolean.
    TransferAllLayersType => "transfer.all_layers.type",
    /// Every named layer exists.
    TransferLayerNamesReferences => "transfer.layer_names.references",
    /// A layer index lies in [-1, n_layers).
    TransferLayerIndexRange => "transfer.layer_index.range",
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
    /// A message for people (file, layer, key).
    pub message: String,
}

impl CheckpointError {
    /// Builds an error for `invariant` with `message`.
    pub fn new(invariant: Invariant, message: impl Into<String>) -> Self {
        CheckpointError {
            invariant,
            message: message.into(),
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

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// Builds a `CheckpointError` with a formatted message.
#[macro_export]
#[doc(hidden)]
macro_rules! fail {
    ($inv:ident, $($arg:tt)*) => {
        $crate::error::CheckpointError::new($crate::error::Invariant::$inv, format!($($arg)*))
    };
}

/// Python-like `repr` of a string, as the spec's `{name!r}` message fields use.
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

/// `repr` of raw bytes that are usually UTF-8 (zip member names).
pub fn repr_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => repr(s),
        Err(_) => {
            let mut out = String::from("b'");
            for &x in b {
                if (0x20..0x7f).contains(&x) && x != b'\'' && x != b'\\' {
                    out.push(x as char);
                } else {
                    out.push_str(&format!("\\x{x:02x}"));
                }
            }
            out.push('\'');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes equal the spec's IDs, in the spec's order, without duplicates.
    #[test]
    fn codes_match_spec_ids_in_order() {
        let spec = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/checkpoint.yaml"
        ))
        .expect("spec/checkpoint.yaml is readable");
        let ids: Vec<&str> = spec
            .lines()
            .filter_map(|l| l.strip_prefix("  - id: "))
            .map(str::trim)
            .collect();
        let ours: Vec<&str> = Invariant::ALL.iter().map(|i| i.id()).collect();
        assert_eq!(ours, ids);
        let mut sorted = ours.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ours.len());
    }

    #[test]
    fn repr_quotes_like_python() {
        assert_eq!(repr("abc"), "'abc'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("a\nb"), "'a\\nb'");
        assert_eq!(repr_bytes(b"\xffx"), "b'\\xffx'");
    }
}
