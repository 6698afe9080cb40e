//! The schema and checkpoint invariants: over the parsed document (load), over host values
//! and typed values (construct), and the array checks both share.

mod common;

use common::{doc, host};
use snn_checkpoint::errors::Invariant;
use snn_checkpoint::fields::{
    check_document, check_metadata, check_state, host_metadata, host_size_pairs, host_strings,
    host_weights, Array,
};
use snn_checkpoint::json::{parse, Integer, Json, Mode};

fn document(text: &str) -> &'static str {
    let v = parse(text, Mode::Strict).unwrap();
    check_document(&v).err().map_or("accepted", |e| e.code())
}

#[test]
fn reads_the_fields_of_a_valid_document() {
    let v = parse(
        &doc(&format!(", \"archive_sha256\": \"{}\"", "a".repeat(64))),
        Mode::Strict,
    );
    let f = check_document(&v.unwrap()).unwrap();
    assert_eq!(f.layer_names, vec!["hidden"]);
    assert_eq!(f.layer_sizes, vec![(2, 3)]);
    assert_eq!(f.neuron_types, vec!["LIF"]);
    assert!(f.frozen_layers.is_empty());
    assert_eq!(f.metadata.to_text(), r#"{"k":1.5}"#);
    assert_eq!(f.archive_sha256, Some("a".repeat(64)));
}

#[test]
fn schema_phase_in_order() {
    let d = doc("");
    assert_eq!(document("[]"), "schema.root.type");
    assert_eq!(
        document(&d.replace("\"n_layers\": 1,", "")),
        "schema.keys.required"
    );
    assert_eq!(document(&doc(", \"version\": 2")), "schema.keys.known");
    assert_eq!(
        document(&d.replace("[\"hidden\"]", "[1]")),
        "schema.layer_names.type"
    );
    assert_eq!(
        document(&d.replace("[[2, 3]]", "[[2, 3.0]]")),
        "schema.layer_sizes.type"
    );
    assert_eq!(
        document(&d.replace("[[2, 3]]", "[[2, 3, 1]]")),
        "schema.layer_sizes.type"
    );
    assert_eq!(
        document(&d.replace("[[2, 3]]", "[[2, true]]")),
        "schema.layer_sizes.type"
    );
    assert_eq!(
        document(&d.replace("[\"LIF\"]", "\"LIF\"")),
        "schema.neuron_types.type"
    );
    assert_eq!(
        document(&d.replace("\"frozen_layers\": []", "\"frozen_layers\": {}")),
        "schema.frozen_layers.type"
    );
    assert_eq!(
        document(&d.replace("\"n_layers\": 1", "\"n_layers\": 1.0")),
        "schema.n_layers.type"
    );
    assert_eq!(
        document(&d.replace("\"total_params\": 6", "\"total_params\": 6e0")),
        "schema.total_params.type"
    );
    assert_eq!(
        document(&d.replace("{\"k\": 1.5}", "[]")),
        "schema.metadata.type"
    );
    assert_eq!(
        document(&doc(", \"archive_sha256\": \"ABC\"")),
        "schema.archive_sha256.type"
    );
    assert_eq!(
        document(&doc(", \"archive_sha256\": null")),
        "schema.archive_sha256.type"
    );
    // The earlier invariant wins: layer_names before n_layers.
    let both = d
        .replace("[\"hidden\"]", "[1]")
        .replace("\"n_layers\": 1", "\"n_layers\": 1.0");
    assert_eq!(document(&both), "schema.layer_names.type");
}

#[test]
fn checkpoint_phase_in_order() {
    let d = doc("");
    assert_eq!(
        document(&d.replace("[\"hidden\"]", "[\"\"]")),
        "checkpoint.layer_names.nonempty"
    );
    assert_eq!(
        document(&d.replace("[\"hidden\"]", "[\"h\", \"h\"]")),
        "checkpoint.layer_names.unique"
    );
    assert_eq!(
        document(&d.replace("[[2, 3]]", "[]")),
        "checkpoint.layer_sizes.count"
    );
    assert_eq!(
        document(&d.replace("[[2, 3]]", "[[0, 3]]")),
        "checkpoint.layer_sizes.range"
    );
    assert_eq!(
        document(&d.replace("[[2, 3]]", "[[2, 2147483648]]")),
        "checkpoint.layer_sizes.range"
    );
    assert_eq!(
        document(&d.replace("[\"LIF\"]", "[\"LIF\", \"LIF\"]")),
        "checkpoint.neuron_types.count"
    );
    assert_eq!(
        document(&d.replace("\"frozen_layers\": []", "\"frozen_layers\": [\"x\"]")),
        "checkpoint.frozen_layers.references"
    );
    assert_eq!(
        document(&d.replace("\"n_layers\": 1", "\"n_layers\": 2")),
        "checkpoint.n_layers.consistent"
    );
    assert_eq!(
        document(&d.replace("\"total_params\": 6", "\"total_params\": 7")),
        "checkpoint.total_params.consistent"
    );
    // An empty neuron_types is fine.
    assert_eq!(document(&d.replace("[\"LIF\"]", "[]")), "accepted");
}

#[test]
fn metadata_must_be_strict_json() {
    let bad = |m: &str| {
        let v = parse(m, Mode::Lenient).unwrap();
        check_metadata(&v).err().map(|e| e.code())
    };
    assert_eq!(bad("{\"a\": [1, 2.5, {\"b\": null}]}"), None);
    assert_eq!(bad("[]"), Some("schema.metadata.type"));
    assert_eq!(
        bad("{\"a\": 18446744073709551616}"),
        Some("schema.metadata.type")
    );
    assert_eq!(bad("{\"a\": [1e400]}"), Some("schema.metadata.type"));
    let deep = "{\"a\":".repeat(63) + "1" + &"}".repeat(63);
    assert_eq!(bad(&deep), None);
    let deeper = "{\"a\":".repeat(63) + "[]" + &"}".repeat(63);
    assert_eq!(bad(&deeper), Some("schema.metadata.type"));
}

#[test]
fn host_values_must_have_the_schema_types() {
    let code = |r: Result<(), snn_checkpoint::CheckpointError>| r.err().map(|e| e.code());
    let strings =
        |t: &str| code(host_strings(&host(t), Invariant::SchemaNeuronTypesType).map(drop));
    assert_eq!(strings(r#"["a", "b"]"#), None);
    assert_eq!(strings(r#"{"$tuple": ["a"]}"#), None);
    assert_eq!(strings(r#""a""#), Some("schema.neuron_types.type"));
    assert_eq!(strings(r#"[1]"#), Some("schema.neuron_types.type"));
    let sizes = |t: &str| code(host_size_pairs(&host(t)).map(drop));
    assert_eq!(sizes(r#"{"$tuple": [{"$tuple": [2, 1]}]}"#), None);
    for bad in [
        r#"[[2, true]]"#,
        r#"[[2, 1.0]]"#,
        r#"[{"$tuple": [2, 1, 1]}]"#,
        r#"[2]"#,
    ] {
        assert_eq!(sizes(bad), Some("schema.layer_sizes.type"), "{bad}");
    }
    let metadata = |t: &str| code(host_metadata(&host(t)).map(drop));
    assert_eq!(metadata(r#"{"$map": [["$x", 1]]}"#), None);
    for bad in [
        r#"{"x": {"$float": "NaN"}}"#,
        r#"{"x": {"$set": [1]}}"#,
        r#"{"x": {"$bytes": "00"}}"#,
        r#"{"x": {"$object": "object()"}}"#,
        r#"{"x": {"$tuple": [1]}}"#,
        r#"{"$map": [[1, 2]]}"#,
        r#"{"x": 18446744073709551616}"#,
        r#"[]"#,
        r#"null"#,
    ] {
        assert_eq!(metadata(bad), Some("schema.metadata.type"), "{bad}");
    }
}

#[test]
fn weights_are_numeric_arrays() {
    let weights = |t: &str| host_weights(&host(t)).map_err(|e| e.code());
    let w = weights(r#"[{"$array": {"shape": [1, 2], "data": [1.0, 2]}}, [[1, 2]]]"#).unwrap();
    assert_eq!(w[0].shape, vec![1, 2]);
    assert_eq!(w[1].data, vec![1.0, 2.0]);
    assert_eq!(
        weights(r#"[[[18446744073709551615, 1]]]"#).unwrap()[0].shape,
        vec![1, 2]
    );
    for bad in [
        r#""w""#,
        r#"[1.5]"#,
        r#"[[[true, false]]]"#,
        r#"[[[1.5, true]]]"#,
        r#"[[[1, 2], [3]]]"#,
        r#"[[["a", "b"]]]"#,
        r#"[[[18446744073709551616, 1]]]"#,
        r#"[[[-9223372036854775809, 1]]]"#,
    ] {
        assert_eq!(weights(bad).err(), Some("schema.weights.type"), "{bad}");
    }
}

/// A number wrapped in `levels` lists, as the protocol spells it.
fn wrapped(levels: usize) -> String {
    format!("{}1.5{}", "[".repeat(levels), "]".repeat(levels))
}

#[test]
fn nested_weights_nest_at_most_weight_max_depth_levels() {
    let weights = |t: &str| host_weights(&host(t)).map_err(|e| e.code());
    // limits.weight_max_depth = 32: a rank-32 array (array.shape.rank refuses it later).
    let at_limit = weights(&format!("[{}]", wrapped(32))).unwrap();
    assert_eq!(at_limit[0].shape, vec![1; 32]);
    assert_eq!(at_limit[0].data, vec![1.5]);
    // One level more, and far more, is refused here, before any array is built.
    for levels in [33, 64, 65, 1000] {
        let t = format!("[{}]", wrapped(levels));
        assert_eq!(weights(&t).err(), Some("schema.weights.type"), "{levels}");
    }
    // Empty sequences count as levels too.
    let empty_33 = format!("[{}{}]", "[".repeat(33), "]".repeat(33));
    assert_eq!(weights(&empty_33).err(), Some("schema.weights.type"));
    assert_eq!(weights("[[[]]]").unwrap()[0].shape, vec![1, 0]);
}

#[test]
fn nested_weights_hold_only_numbers() {
    let weights = |t: &str| host_weights(&host(t)).map_err(|e| e.code());
    let array = r#"{"$array": {"shape": [2], "data": [1.0, 2.0]}}"#;
    // An $array is a weight of any rank, never an item of a nested sequence.
    assert_eq!(weights(&format!("[{array}]")).unwrap()[0].shape, vec![2]);
    for bad in [
        format!("[[{array}, {array}]]"),
        format!("[[[1.0, 2.0], {array}]]"),
        r#"[[[1.0, null]]]"#.to_string(),
        r#"[[[1.0], 2.0]]"#.to_string(),
        r#"[[1.0, [2.0]]]"#.to_string(),
    ] {
        assert_eq!(weights(&bad).err(), Some("schema.weights.type"), "{bad}");
    }
    // Leaves span the JSON integer range, rounded to the nearest float64.
    let w = weights(r#"[[[-9223372036854775808, 9007199254740993]]]"#).unwrap();
    assert_eq!(w[0].data, vec![-(2f64.powi(63)), 2f64.powi(53)]);
}

fn arr(rows: usize, cols: usize, v: f64) -> Array {
    Array {
        shape: vec![rows, cols],
        data: vec![v; rows * cols],
    }
}

fn state(
    weights: &[Array],
    names: &[&str],
    sizes: &[(i128, i128)],
    neuron: &[&str],
    frozen: &[&str],
) -> Option<&'static str> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let sizes: Vec<(Integer, Integer)> = sizes.iter().map(|&(i, o)| (i.into(), o.into())).collect();
    check_state(
        weights,
        &s(names),
        &sizes,
        &s(neuron),
        &Json::Object(vec![]),
        &s(frozen),
    )
    .err()
    .map(|e| e.code())
}

#[test]
fn typed_layers_in_spec_order() {
    let w = [arr(1, 1, 0.0)];
    assert_eq!(state(&w, &["a"], &[(1, 1)], &[], &[]), None);
    assert_eq!(
        state(&w, &[""], &[(1, 1)], &[], &[]),
        Some("checkpoint.layer_names.nonempty")
    );
    let two = [arr(1, 1, 0.0), arr(1, 1, 0.0)];
    assert_eq!(
        state(&two, &["a", "a"], &[(1, 1)], &[], &[]),
        Some("checkpoint.layer_names.unique")
    );
    assert_eq!(
        state(&w, &["a"], &[], &[], &[]),
        Some("checkpoint.layer_sizes.count")
    );
    assert_eq!(
        state(&w, &["a"], &[(0, 1)], &[], &[]),
        Some("checkpoint.layer_sizes.range")
    );
    assert_eq!(
        state(&w, &["a"], &[(1, 2_147_483_648)], &[], &[]),
        Some("checkpoint.layer_sizes.range")
    );
    assert_eq!(
        state(&w, &["a"], &[(1, 1)], &["LIF", "LIF"], &[]),
        Some("checkpoint.neuron_types.count")
    );
    assert_eq!(
        state(&w, &["a"], &[(1, 1)], &[], &["z"]),
        Some("checkpoint.frozen_layers.references")
    );
    assert_eq!(
        state(&[], &["a"], &[(1, 1)], &[], &[]),
        Some("checkpoint.weights.count")
    );
    // The earlier invariant wins when several fail.
    assert_eq!(
        state(&[], &["", ""], &[], &["x"], &[]),
        Some("checkpoint.layer_names.nonempty")
    );
}

#[test]
fn typed_weights_in_spec_order() {
    let flat = Array {
        shape: vec![1],
        data: vec![0.0],
    };
    assert_eq!(
        state(&[flat], &["a"], &[(1, 1)], &[], &[]),
        Some("array.shape.rank")
    );
    assert_eq!(
        state(&[arr(2, 1, 0.0)], &["a"], &[(1, 1)], &[], &[]),
        Some("array.shape.match")
    );
    assert_eq!(
        state(&[arr(1, 1, f64::NAN)], &["a"], &[(1, 1)], &[], &[]),
        Some("array.finite")
    );
    // Rank over every layer before shape over any.
    let mixed = [
        arr(2, 2, 0.0),
        Array {
            shape: vec![1],
            data: vec![0.0],
        },
    ];
    assert_eq!(
        state(&mixed, &["a", "b"], &[(1, 1), (1, 1)], &[], &[]),
        Some("array.shape.rank")
    );
}

/// Metadata integers across the 64-bit range: kept exactly, the rest refused.
const IN_RANGE: [&str; 5] = [
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "9007199254740993",
];
const OUT_OF_RANGE: [&str; 6] = [
    "18446744073709551616",
    "-9223372036854775809",
    "1000000000000000000000000000000",
    "-1000000000000000000000000000000000000000000000000",
    "-170141183460469231731687303715884105729",
    "-237462374673276894279832749832423479823246327846",
];

/// The metadata document placing `literal` at the root, in a nested object and in arrays.
fn placements(literal: &str) -> [String; 3] {
    [
        format!("{{\"x\": {literal}}}"),
        format!("{{\"x\": {{\"y\": {{\"z\": {literal}}}}}}}"),
        format!("{{\"x\": [1, [{literal}]]}}"),
    ]
}

#[test]
fn metadata_integers_span_int64_and_uint64() {
    for literal in IN_RANGE {
        for text in placements(literal) {
            let json = parse(&text, Mode::Lenient).unwrap();
            assert!(check_metadata(&json).is_ok(), "{text}");
            // Over host values (construct), the same integers are kept exactly.
            let kept = host_metadata(&host(&text)).unwrap();
            assert_eq!(kept.to_text(), text.replace(' ', ""));
        }
    }
    for literal in OUT_OF_RANGE {
        for text in placements(literal) {
            let json = parse(&text, Mode::Lenient).unwrap();
            let code = check_metadata(&json).err().map(|e| e.code());
            assert_eq!(code, Some("schema.metadata.type"), "{text}");
            let code = host_metadata(&host(&text)).err().map(|e| e.code());
            assert_eq!(code, Some("schema.metadata.type"), "host {text}");
        }
    }
}

#[test]
fn counts_and_sizes_beyond_int64_do_not_wrap() {
    let d = doc("");
    let with = |from: &str, to: &str| document(&d.replace(from, to));
    assert_eq!(
        with("\"n_layers\": 1", "\"n_layers\": 18446744073709551615"),
        "checkpoint.n_layers.consistent"
    );
    assert_eq!(
        with("\"n_layers\": 1", "\"n_layers\": -9223372036854775808"),
        "checkpoint.n_layers.consistent"
    );
    assert_eq!(
        with(
            "\"total_params\": 6",
            "\"total_params\": 9223372036854775808"
        ),
        "checkpoint.total_params.consistent"
    );
    assert_eq!(
        with(
            "\"total_params\": 6",
            "\"total_params\": 18446744073709551615"
        ),
        "checkpoint.total_params.consistent"
    );
    for size in [
        "18446744073709551615",
        "9223372036854775808",
        "-9223372036854775808",
    ] {
        let sized = d.replace("[[2, 3]]", &format!("[[{size}, 2]]"));
        assert_eq!(document(&sized), "checkpoint.layer_sizes.range", "{size}");
        let message = check_document(&parse(&sized, Mode::Strict).unwrap())
            .unwrap_err()
            .message;
        assert!(
            message.contains(&format!("input_features = {size},")),
            "{message}"
        );
    }
    // Over host values, sizes of any length.
    for size in [
        "18446744073709551616",
        "-1000000000000000000000000000000000000000000000000",
    ] {
        let pairs = host_size_pairs(&host(&format!("[[{size}, 2]]"))).unwrap();
        let code = check_state(
            &[arr(2, 1, 0.0)],
            &["a".to_string()],
            &pairs,
            &[],
            &Json::Object(vec![]),
            &[],
        )
        .err()
        .map(|e| e.code());
        assert_eq!(code, Some("checkpoint.layer_sizes.range"), "{size}");
    }
}
