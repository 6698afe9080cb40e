//! The protocol executor: hello, stop, cases, argument defaults, errored answers.

use snn_checkpoint::json::{self, Json};
use snn_checkpoint::testee::{handle_line, run_case, Reply};

#[test]
fn hello_and_stop() {
    let Reply::Answer(h) = handle_line(r#"{"cmd": "hello", "protocol": 1}"#, "rust") else {
        panic!("hello answers")
    };
    let h = json::parse(&h, json::Mode::Strict).unwrap();
    assert_eq!(h.get("implementation"), Some(&Json::str("rust")));
    assert_eq!(h.get("protocol"), Some(&Json::int(1)));
    assert_eq!(h.get("spec_version"), Some(&Json::int(2)));
    assert_eq!(
        handle_line(r#"{"cmd": "stop"}"#, "rust"),
        Reply::Stop(r#"{"stopped":true}"#.into())
    );
}

#[test]
fn runs_a_case_and_stops_at_the_first_rejection() {
    let line = r#"{"cmd": "run", "seq": 7, "case": {"id": "c1", "root": "/nonexistent", "ops": [
        {"op": "construct", "state": {"weights": [{"$array": {"shape": [1, 1], "data": [0.5]}}],
                                      "layer_names": ["a"], "layer_sizes": [[1, 1]],
                                      "metadata": {"lr": 0.25, "n": 3}}},
        {"op": "apply_transfer_config", "config": {"freeze_until": 0, "lr_head": 1}},
        {"op": "freeze_layers", "args": {"layer_names": ["zz"]}},
        {"op": "unfreeze_layers", "args": {"all_layers": true}}]}}"#;
    let Reply::Answer(a) = handle_line(line, "rust") else {
        panic!()
    };
    let a = json::parse(&a, json::Mode::Strict).unwrap();
    assert_eq!(a.get("seq"), Some(&Json::int(7)));
    let Some(Json::Array(results)) = a.get("results") else {
        panic!("{a:?}")
    };
    assert_eq!(results.len(), 3);
    let state = results[1].get("state").unwrap();
    assert_eq!(state.get("learning_rates").unwrap().to_text(), "[0.0]");
    assert_eq!(state.get("frozen_layers").unwrap().to_text(), r#"["a"]"#);
    assert_eq!(
        state.get("metadata").unwrap().to_text(),
        r#"{"lr":0.25,"n":3}"#
    );
    assert_eq!(
        results[2].get("code"),
        Some(&Json::str("transfer.layer_names.references"))
    );
}

#[test]
fn load_of_a_missing_file_is_a_verdict_and_bad_requests_are_errored() {
    let a = run_case(
        r#"{"id": "m", "root": "/nonexistent", "ops": [{"op": "load", "base": "x/checkpoint"}]}"#,
    );
    assert!(a.contains("\"code\":\"json.file.present\""), "{a}");
    let a = run_case(r#"{"id": "m", "root": "/", "ops": [{"op": "frobnicate"}]}"#);
    assert!(a.contains("\"errored\""), "{a}");
    let a = run_case("not json");
    assert!(a.contains("\"errored\""), "{a}");
    let deep = "[".repeat(100_000);
    assert!(run_case(&deep).contains("\"errored\""));
}

/// The results of one case of operations on a one-layer constructed checkpoint.
fn results_after(ops: &str) -> Vec<Json> {
    let line = format!(
        r#"{{"id": "c", "root": "/nonexistent", "ops": [
            {{"op": "construct", "state": {{"weights": [[[1.0]]], "layer_names": ["a"],
                                            "layer_sizes": [[1, 1]]}}}}, {ops}]}}"#
    );
    let answer = json::parse(&run_case(&line), json::Mode::Lenient).unwrap();
    match answer.get("results") {
        Some(Json::Array(results)) => results.clone(),
        _ => panic!("{}", answer.to_text()),
    }
}

fn last_code(ops: &str) -> String {
    let results = results_after(ops);
    let last = results.last().unwrap();
    match last.get("code") {
        Some(Json::String(c)) => c.clone(),
        _ => last.get("verdict").unwrap().to_text(),
    }
}

#[test]
fn absent_arguments_take_defaults_and_null_selectors_are_not_given() {
    let freeze = |args: &str| last_code(&format!(r#"{{"op": "freeze_layers", "args": {args}}}"#));
    assert_eq!(freeze("{}"), "transfer.selector.missing");
    assert_eq!(
        freeze(r#"{"layer_names": null, "until_index": null}"#),
        "transfer.selector.missing"
    );
    assert_eq!(freeze(r#"{"until_index": 0}"#), "\"accept\"");
    let unfreeze =
        |args: &str| last_code(&format!(r#"{{"op": "unfreeze_layers", "args": {args}}}"#));
    assert_eq!(
        unfreeze(r#"{"layer_names": null, "all_layers": true}"#),
        "\"accept\""
    );
    // all_layers is not a selector: an explicit null is a wrong type.
    assert_eq!(
        unfreeze(r#"{"layer_names": ["a"], "all_layers": null}"#),
        "transfer.all_layers.type"
    );
    let config = |cfg: &str| last_code(&format!(r#"{{"op": "transfer_config", "config": {cfg}}}"#));
    assert_eq!(config("{}"), "\"accept\"");
    assert_eq!(
        config(r#"{"freeze_until": null}"#),
        "transfer.freeze_until.type"
    );
}

#[test]
fn transfer_config_reports_the_config() {
    let results = results_after(
        r#"{"op": "transfer_config", "config": {"freeze_until": "a", "lr_head": 1}}"#,
    );
    assert_eq!(
        results[1].get("config").unwrap().to_text(),
        r#"{"freeze_until":"a","lr_backbone":0.0,"lr_head":1.0}"#
    );
}

#[test]
fn integers_of_any_size_are_judged_exactly() {
    let construct = |metadata: &str| {
        let results = results_after(&format!(
            r#"{{"op": "construct", "state": {{"weights": [[[1.0]]], "layer_names": ["a"],
                 "layer_sizes": [[1, 1]], "metadata": {metadata}}}}}"#
        ));
        let last = results.last().unwrap();
        match last.get("code") {
            Some(code) => code.to_text(),
            None => last
                .get("state")
                .unwrap()
                .get("metadata")
                .unwrap()
                .to_text(),
        }
    };
    let example =
        r#"{"seed":18446744073709551615,"t_ns":1764547200123456789,"neg":-9223372036854775808}"#;
    assert_eq!(construct(example), example);
    for bad in [
        "18446744073709551616",
        "-9223372036854775809",
        "1000000000000000000000000000000",
    ] {
        let code = construct(&format!(r#"{{"x": [{bad}]}}"#));
        assert_eq!(code, "\"schema.metadata.type\"", "{bad}");
    }
    let huge = format!("-1{}", "0".repeat(48));
    assert_eq!(
        construct(&format!(r#"{{"x": {{"y": {huge}}}}}"#)),
        "\"schema.metadata.type\""
    );
    // Fine-tuning arguments beyond every integer type: exact verdicts and an exact report.
    let big = format!("1{}", "0".repeat(48));
    let results = results_after(&format!(
        r#"{{"op": "transfer_config", "config": {{"freeze_until": {big}}}}}"#
    ));
    assert_eq!(
        results[1]
            .get("config")
            .unwrap()
            .get("freeze_until")
            .unwrap()
            .to_text(),
        big
    );
    let apply =
        format!(r#"{{"op": "apply_transfer_config", "config": {{"freeze_until": {big}}}}}"#);
    assert_eq!(last_code(&apply), "transfer.layer_index.range");
    let below = format!(r#"{{"op": "transfer_config", "config": {{"freeze_until": {huge}}}}}"#);
    assert_eq!(last_code(&below), "transfer.freeze_until.range");
    let until = format!(r#"{{"op": "freeze_layers", "args": {{"until_index": {huge}}}}}"#);
    assert_eq!(last_code(&until), "transfer.layer_index.range");
}
