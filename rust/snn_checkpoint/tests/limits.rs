//! The limits and accepted dtypes equal `spec/checkpoint.yaml`'s.

mod common;

use snn_checkpoint::limits::{
    ACCEPTED_DTYPES, JSON_INTEGER_MAX, JSON_INTEGER_MIN, JSON_MAX_DEPTH, LAYER_FEATURES_MAX,
    METADATA_MAX_DEPTH,
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
    assert_eq!(value("layer_features_max"), LAYER_FEATURES_MAX.to_string());
    assert_eq!(value("metadata_max_depth"), METADATA_MAX_DEPTH.to_string());
    assert_eq!(
        limits.len(),
        5,
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
