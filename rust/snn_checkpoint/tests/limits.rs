//! The limits and accepted dtypes equal `spec/checkpoint.yaml`'s.

mod common;

use snn_checkpoint::limits::{
    ACCEPTED_DTYPES, FLOAT64_MAX, JSON_INTEGER_MAX, JSON_INTEGER_MIN, JSON_MAX_DEPTH,
    LAYER_FEATURES_MAX, LAYER_FEATURES_MIN, LAYER_INDEX_MIN, METADATA_MAX_DEPTH,
    NPY_DIMENSION_DIGITS_MAX, NPY_HEADER_LENGTH_MAX_V1, NPY_HEADER_LENGTH_MAX_V2, WEIGHT_MAX_DEPTH,
    ZIP_U16_MAX, ZIP_U32_MAX,
};

/// The `key: value` lines of a top-level block (`limits:`) or a nested one.
fn block<'a>(spec: &'a str, header: &str, indent: &str) -> Vec<(&'a str, &'a str)> {
    spec.lines()
        .skip_while(|l| l.trim_end() != header)
        .skip(1)
        .take_while(|l| l.starts_with(indent) || l.trim().is_empty())
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.trim().split_once(": "))
        .collect()
}

#[test]
fn limits_equal_the_spec() {
    let spec = common::spec_text();
    let limits = block(&spec, "limits:", "  ");
    let value = |key: &str| {
        limits
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("spec limits has {key}"))
            .1
    };
    assert_eq!(value("json_max_depth"), JSON_MAX_DEPTH.to_string());
    assert_eq!(value("json_integer_min"), JSON_INTEGER_MIN.to_string());
    assert_eq!(value("json_integer_max"), JSON_INTEGER_MAX.to_string());
    assert_eq!(value("layer_features_min"), LAYER_FEATURES_MIN.to_string());
    assert_eq!(value("layer_features_max"), LAYER_FEATURES_MAX.to_string());
    assert_eq!(value("layer_index_min"), LAYER_INDEX_MIN.to_string());
    assert_eq!(value("metadata_max_depth"), METADATA_MAX_DEPTH.to_string());
    assert_eq!(value("weight_max_depth"), WEIGHT_MAX_DEPTH.to_string());
    assert_eq!(value("float64_max").parse::<f64>(), Ok(FLOAT64_MAX));
    assert_eq!(
        value("npy_header_length_max_v1"),
        NPY_HEADER_LENGTH_MAX_V1.to_string()
    );
    assert_eq!(
        value("npy_header_length_max_v2"),
        NPY_HEADER_LENGTH_MAX_V2.to_string()
    );
    assert_eq!(
        value("npy_dimension_digits_max"),
        NPY_DIMENSION_DIGITS_MAX.to_string()
    );
    assert_eq!(value("zip_u16_max"), ZIP_U16_MAX.to_string());
    assert_eq!(value("zip_u32_max"), ZIP_U32_MAX.to_string());
    assert_eq!(
        limits.len(),
        14,
        "every spec limit has a constant: {limits:?}"
    );
}

#[test]
fn accepted_dtypes_equal_the_spec_in_order() {
    let spec = common::spec_text();
    let dtypes: Vec<&str> = block(&spec, "  accepted_dtypes:", "    ")
        .into_iter()
        .map(|(descr, _)| descr.trim_matches('"'))
        .collect();
    assert_eq!(dtypes, ACCEPTED_DTYPES);
}
