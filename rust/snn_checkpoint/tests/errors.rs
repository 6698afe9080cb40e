//! The error type: codes, their order and the message templates equal the spec's.

mod common;

use snn_checkpoint::errors::{repr, CheckpointError, Invariant};

/// Per invariant of the spec, in order: (id, message template).
fn spec_invariants() -> Vec<(String, String)> {
    let spec = common::spec_text();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in spec.lines() {
        if let Some(id) = line.strip_prefix("  - id: ") {
            out.push((id.trim().to_string(), String::new()));
        } else if let Some(message) = line.strip_prefix("    message: ") {
            let last = out.last_mut().expect("a message follows its id");
            last.1 = message.trim().trim_matches('"').to_string();
        }
    }
    out
}

#[test]
fn codes_match_spec_ids_in_order_without_duplicates() {
    let ids: Vec<String> = spec_invariants().into_iter().map(|(id, _)| id).collect();
    let ours: Vec<&str> = Invariant::ALL.iter().map(|i| i.id()).collect();
    assert_eq!(ours, ids);
    let mut sorted = ours.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ours.len());
    assert!(
        Invariant::ALL.windows(2).all(|w| w[0] < w[1]),
        "ordering is spec order"
    );
}

#[test]
fn templates_are_the_spec_messages_verbatim() {
    for ((id, message), invariant) in spec_invariants().iter().zip(Invariant::ALL) {
        assert_eq!(invariant.template(), message, "{id}");
    }
}

#[test]
fn messages_fill_the_template() {
    let e = CheckpointError::new(
        Invariant::CheckpointLayerSizesRange,
        &[
            ("name", &"it's"),
            ("field", &"input_features"),
            ("value", &0),
            ("maximum", &2_147_483_647),
        ],
    );
    assert_eq!(e.code(), "checkpoint.layer_sizes.range");
    assert_eq!(
        e.to_string(),
        "Checkpoint layer \"it's\" has input_features = 0, outside [1, 2147483647]"
    );
    // A placeholder without a value stays visible instead of vanishing.
    let e = CheckpointError::new(Invariant::JsonFilePresent, &[]);
    assert_eq!(e.message, "Checkpoint metadata file not found: {path}");
}

#[test]
fn repr_quotes_like_python() {
    assert_eq!(repr("abc"), "'abc'");
    assert_eq!(repr("it's"), "\"it's\"");
    assert_eq!(repr("a\nb"), "'a\\nb'");
    assert_eq!(repr("a\\b"), "'a\\\\b'");
    assert_eq!(repr("\u{1}"), "'\\x01'");
}
