//! The spec's `limits:` and `npy.accepted_dtypes`, in one place (tests/limits.rs keeps them
//! equal to `spec/checkpoint.yaml`).

/// Lexical nesting limit of the metadata document (`limits.json_max_depth`).
pub const JSON_MAX_DEPTH: usize = 64;
/// Every JSON integer, and every integer in in-memory metadata, lies within +/- this value
/// (`limits.max_safe_integer`, 2^53 - 1).
pub const MAX_SAFE_INTEGER: i128 = 9_007_199_254_740_991;
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
