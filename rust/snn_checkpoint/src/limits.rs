//! The spec's `limits:` and `npy.accepted_dtypes`, in one place (tests/limits.rs keeps them
//! equal to `spec/checkpoint.yaml`).

/// Lexical nesting limit of the metadata document (`limits.json_max_depth`).
pub const JSON_MAX_DEPTH: usize = 64;
/// The smallest JSON integer, and metadata integer (`limits.json_integer_min`, -2^63).
pub const JSON_INTEGER_MIN: i128 = -9_223_372_036_854_775_808;
/// The largest JSON integer, and metadata integer (`limits.json_integer_max`, 2^64 - 1), so
/// that every int64 and every uint64 is one.
pub const JSON_INTEGER_MAX: i128 = 18_446_744_073_709_551_615;
/// Smallest input_features / output_features (`limits.layer_features_min`).
pub const LAYER_FEATURES_MIN: i64 = 1;
/// Largest input_features / output_features (`limits.layer_features_max`, 2^31 - 1).
pub const LAYER_FEATURES_MAX: i64 = 2_147_483_647;
/// The lowest layer index (`limits.layer_index_min`): freeze_until's and until_index's -1
/// means "no layer"; the upper end, n_layers - 1, comes from the checkpoint.
pub const LAYER_INDEX_MIN: i128 = -1;
/// Container nesting limit of in-memory metadata, itself included
/// (`limits.metadata_max_depth`).
pub const METADATA_MAX_DEPTH: usize = 63;
/// Levels a weight given as nested sequences may nest, the weight itself being level 1
/// (`limits.weight_max_depth`): deeper is refused before any array is built.
pub const WEIGHT_MAX_DEPTH: usize = 32;
/// The largest finite float64 (`limits.float64_max`): a number is finite when its nearest
/// float64 is at most this in magnitude.
pub const FLOAT64_MAX: f64 = f64::MAX;
/// The longest `.npy` header a 1.0 length field (uint16) can state
/// (`limits.npy_header_length_max_v1`); readers impose no other cap.
pub const NPY_HEADER_LENGTH_MAX_V1: u64 = 65_535;
/// The longest `.npy` header a 2.0 or 3.0 length field (uint32) can state
/// (`limits.npy_header_length_max_v2`).
pub const NPY_HEADER_LENGTH_MAX_V2: u64 = 4_294_967_295;
/// Decimal digits of a `.npy` shape dimension (`limits.npy_dimension_digits_max`), so that
/// every dimension fits an int64; a longer one is refused whatever its value.
pub const NPY_DIMENSION_DIGITS_MAX: usize = 18;
/// The largest 16-bit zip field (`limits.zip_u16_max`): the longest end-record comment, and
/// where zip64 applies a placeholder for the zip64 end record's value.
pub const ZIP_U16_MAX: u64 = 0xFFFF;
/// The largest 32-bit zip field (`limits.zip_u32_max`): where zip64 applies, a placeholder
/// for the zip64 extra field's or end record's value.
pub const ZIP_U32_MAX: u64 = 0xFFFF_FFFF;
/// The `.npy` descrs that widen to float64, in spec order: `|` marks the one-byte types, `<`
/// little-endian, `>` big-endian; the letter is the kind and the digit the size in bytes.
pub const ACCEPTED_DTYPES: [&str; 20] = [
    "<f8", ">f8", "<f4", ">f4", "<f2", ">f2", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8",
    "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
];
