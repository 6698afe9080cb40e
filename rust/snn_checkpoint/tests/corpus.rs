//! Runs the conformance corpus (fixtures/cases.jsonl) through the testee executor and compares
//! every result with the case's expectation: verdicts, codes and accepted states (integers and
//! strings exactly, floats bit for bit, objects without regard to key order).
//!
//! The corpus folder is `$SNN_FIXTURES`, else `../fixtures` from the workspace. When its
//! cases.jsonl exists, every disagreement fails the test; when it does not exist yet, the test
//! says so and passes.

use std::path::PathBuf;

use snn_checkpoint::json::{self, is_integer_literal, Integer, Json, Mode};
use snn_checkpoint::testee::run_case;
use snn_checkpoint::Invariant;

fn fixtures() -> PathBuf {
    std::env::var_os("SNN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"))
}

/// Protocol equality: integers exactly, floats by bits, objects ignoring key order.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            match (is_integer_literal(x), is_integer_literal(y)) {
                (true, true) => Integer::parse(x) == Integer::parse(y),
                (false, false) => {
                    x.parse::<f64>().map(f64::to_bits).ok()
                        == y.parse::<f64>().map(f64::to_bits).ok()
                }
                _ => false,
            }
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A rejection's message must fill every placeholder of its invariant's template.
fn unfilled_placeholder(result: &Json) -> Option<String> {
    let (Some(Json::String(code)), Some(Json::String(message))) =
        (result.get("code"), result.get("message"))
    else {
        return None;
    };
    let invariant = Invariant::ALL.iter().find(|i| i.id() == code)?;
    let template = invariant.template();
    let placeholders = template
        .match_indices('{')
        .filter_map(|(at, _)| template[at..].find('}').map(|end| &template[at..=at + end]));
    placeholders
        .into_iter()
        .find(|p| message.contains(p))
        .map(|p| format!("{code}: {p} unfilled in {message:?}"))
}

fn without_message(r: &Json) -> Json {
    match r {
        Json::Object(m) => {
            Json::Object(m.iter().filter(|(k, _)| k != "message").cloned().collect())
        }
        other => other.clone(),
    }
}

#[test]
fn corpus_agrees_with_expectations() {
    let root = fixtures();
    let path = root.join("cases.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("no corpus at {}: nothing to compare yet", path.display());
        return;
    };
    let root = root.canonicalize().expect("fixtures folder resolves");
    let mut disagreements = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let case = json::parse(line, Mode::Lenient).expect("a corpus line is JSON");
        let id = case.get("id").map(Json::to_text).unwrap_or_default();
        let request = Json::Object(vec![
            ("id".into(), case.get("id").cloned().unwrap_or(Json::Null)),
            ("root".into(), Json::String(root.display().to_string())),
            ("ops".into(), case.get("ops").cloned().unwrap_or(Json::Null)),
        ]);
        let answer =
            json::parse(&run_case(&request.to_text()), Mode::Lenient).expect("answer is JSON");
        let expected = case
            .get("expect")
            .and_then(|e| e.get("results"))
            .expect("case has expect.results");
        let got = match answer.get("results") {
            Some(Json::Array(rs)) => {
                disagreements.extend(rs.iter().filter_map(unfilled_placeholder));
                Json::Array(rs.iter().map(without_message).collect())
            }
            _ => {
                disagreements.push(format!("{id}: {}", answer.to_text()));
                continue;
            }
        };
        if !same(&got, expected) {
            let g = got.to_text();
            let e = expected.to_text();
            disagreements.push(format!(
                "{id}:\n  got      {}\n  expected {}",
                &g[..g.len().min(400)],
                &e[..e.len().min(400)]
            ));
        }
    }
    assert!(count > 0, "{} holds no cases", path.display());
    assert!(
        disagreements.is_empty(),
        "{} of {count} cases disagree:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("{count} corpus cases agree");
}

#[test]
fn protocol_equality_is_strict_about_numbers() {
    let p = |t: &str| json::parse(t, Mode::Strict).unwrap();
    assert!(same(
        &p(r#"{"a":1,"b":[0.5]}"#),
        &p(r#"{"b":[5e-1],"a":1}"#)
    ));
    assert!(!same(&p("1"), &p("1.0")));
    assert!(!same(&p("0.0"), &p("-0.0")));
    assert!(!same(&p(r#"{"a":1}"#), &p(r#"{"a":1,"b":2}"#)));
}
