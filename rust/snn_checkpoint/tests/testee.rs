//! The protocol executor: hello, stop, cases, argument defaults, saves, errored answers.

mod common;

use std::fs;

use common::temp_dir;
use sha2::{Digest, Sha256};
use snn_checkpoint::json::{self, Json};
use snn_checkpoint::testee::{handle_line, run_case, Reply, CAPABILITIES};

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

#[test]
fn save_reports_the_files_it_wrote() {
    assert!(CAPABILITIES.contains(&"save"));
    let dir = temp_dir();
    let out = dir.join("saved/model.v1");
    let out = out.to_str().unwrap();
    let results = results_after(&format!(
        r#"{{"op": "save", "out": "{out}", "compression": "stored"}},
           {{"op": "save", "out": "{out}"}}"#
    ));
    assert_eq!(results.len(), 3);
    let saved = results[2].get("saved").unwrap();
    for suffix in ["npz", "json"] {
        let bytes = fs::read(format!("{out}.{suffix}")).unwrap();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let file = saved.get(suffix).unwrap();
        assert_eq!(file.get("sha256"), Some(&Json::String(digest)));
        assert_eq!(file.get("size"), Some(&Json::int(bytes.len() as i128)));
    }
    // The default is deflate: method 8 in the first local header.
    assert_eq!(fs::read(format!("{out}.npz")).unwrap()[8], 8);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_of_an_invalid_state_refuses_with_the_construct_code_and_writes_nothing() {
    let dir = temp_dir();
    let out = dir.join("never/m");
    let save = |state: &str| {
        let case = format!(
            r#"{{"id": "s", "root": "/nonexistent", "ops": [
                {{"op": "save", "out": "{}", "state": {state}}}]}}"#,
            out.display()
        );
        let answer = json::parse(&run_case(&case), json::Mode::Lenient).unwrap();
        let results = answer.get("results").cloned().unwrap_or(answer);
        results.to_text()
    };
    let refused = save(
        r#"{"weights": [[[1.0, {"$float": "NaN"}]]], "layer_names": ["a"], "layer_sizes": [[2, 1]]}"#,
    );
    assert!(refused.contains(r#""code":"array.finite""#), "{refused}");
    let refused =
        save(r#"{"weights": [[[1.0]]], "layer_names": {"$set": ["a"]}, "layer_sizes": [[1, 1]]}"#);
    assert!(
        refused.contains(r#""code":"schema.layer_names.type""#),
        "{refused}"
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    let accepted = save(r#"{"weights": [[[1.0]]], "layer_names": ["a"], "layer_sizes": [[1, 1]]}"#);
    assert!(accepted.contains(r#""saved""#), "{accepted}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_save_that_cannot_be_done_is_errored_not_a_verdict() {
    let dir = temp_dir();
    fs::write(dir.join("file"), b"").unwrap();
    let out = dir.join("file/m");
    let save = |extra: &str| {
        let ops = format!(r#"{{"op": "save", "out": "{}"{extra}}}"#, out.display());
        let line = format!(
            r#"{{"id": "e", "root": "/nonexistent", "ops": [
                {{"op": "construct", "state": {{"weights": [[[1.0]]], "layer_names": ["a"],
                                               "layer_sizes": [[1, 1]]}}}}, {ops}]}}"#
        );
        run_case(&line)
    };
    assert!(save("").contains("\"errored\""));
    assert!(save(r#", "compression": "zstd""#).contains("compression must be"));
    for level in ["0", "10", "1.0", "true", "\"1\"", "null", "1e0"] {
        let answer = save(&format!(r#", "level": {level}"#));
        assert!(answer.contains("level must be an integer"), "{answer}");
    }
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "nothing written");
    let first = run_case(&format!(
        r#"{{"id": "n", "root": "/", "ops": [{{"op": "save", "out": "{}"}}]}}"#,
        out.display()
    ));
    assert!(first.contains("\"errored\""), "{first}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn timing_adds_each_operation_s_seconds_and_nothing_else() {
    assert!(CAPABILITIES.contains(&"timing"));
    let dir = temp_dir();
    let out = dir.join("m");
    let case = format!(
        r#"{{"id": "t", "root": "{root}", "ops": [
            {{"op": "construct", "state": {{"weights": [[[1.0]]], "layer_names": ["a"],
                                           "layer_sizes": [[1, 1]]}}}},
            {{"op": "save", "out": "{out}", "level": 9}},
            {{"op": "load", "base": "m"}},
            {{"op": "freeze_layers", "args": {{"layer_names": ["zz"]}}}}]}}"#,
        root = dir.display(),
        out = out.display()
    );
    let run = |timing: &str| {
        let line = format!(r#"{{"cmd": "run", "seq": 1{timing}, "case": {case}}}"#);
        let Reply::Answer(a) = handle_line(&line.replace('\n', " "), "rust") else {
            panic!()
        };
        json::parse(&a, json::Mode::Strict).unwrap()
    };
    let (plain, timed) = (run(""), run(r#", "timing": true"#));
    let (Some(Json::Array(plain)), Some(Json::Array(timed))) =
        (plain.get("results"), timed.get("results"))
    else {
        panic!("{plain:?}")
    };
    assert_eq!(timed.len(), 4, "the rejection is timed too");
    for (p, t) in plain.iter().zip(timed) {
        assert_eq!(p.get("seconds"), None);
        let Some(Json::Object(members)) = Some(t) else {
            panic!()
        };
        let (last, rest) = members.split_last().unwrap();
        assert_eq!(last.0, "seconds");
        assert!(matches!(&last.1, Json::Number(n) if n.parse::<f64>().unwrap() >= 0.0));
        assert_eq!(Json::Object(rest.to_vec()).to_text(), p.to_text());
    }
    fs::remove_dir_all(&dir).unwrap();
}
