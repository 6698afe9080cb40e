//! The spec's `limits:` and `npy.accepted_dtypes`, in one place (tests/limits.rs keeps them
//! equal to `spec/checkpoint.yaml`).

/// Lexical nesting limit of the metadata document (`limits.json_max_depth`).
pub const JSON_MAX_DEPTH: usize = 64;
/// The smallest JSON integer, and metadata integer (`limits.json_integer_min`, -2^63).
pub const JSON_INTEGER_MIN: i128 = -9_223_372_036_854_775_808;
/// The largest JSON integer, and metadata integer (`limits.json_integer_max`, 2^64 - 1), so
/// that every int64 and every uint64 is one.
pub const JSON_INTEGER_MAX: i128 = 18_446_744_073_709_551_615;
/// Largest input_features / output_features (`limits.layer_features_max`, 2^31 - 1).
pub const LAYER_FEATURES_MAX: i64 = 2_147_483_647;
/// Container nesting limit of in-memory metadata, itself included
/// (`limits.metadata_max_depth`).
pub const METADATA_MAX_DEPTH: usize = 63;

/// The `.npy` descrs that widen to float64, in spec order: `|` marks the one-byte types, `<`
/// little-endian, `>` big-endian; the letter is the kind and the digit the size in bytes.
pub const ACCEPTED_DTYPES: [&str; 20] = [
    "<f8", ">f8", "<f4", ">f4", "<f2", ">f2", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8",
    "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
];
