//! The strict reader: syntax, then non-finite tokens, then number ranges, then duplicate keys,
//! and the document reader's encoding and depth checks before them.

use std::path::Path;

use snn_checkpoint::json::{decode_document, lexical_depth, parse, Json, JsonProblem, Mode};

fn strict(t: &str) -> Result<Json, JsonProblem> {
    parse(t, Mode::Strict)
}

fn kind(t: &str) -> &'static str {
    match strict(t) {
        Ok(_) => "ok",
        Err(JsonProblem::Syntax(_)) => "syntax",
        Err(JsonProblem::Nonfinite(_)) => "nonfinite",
        Err(JsonProblem::NumberRange(_)) => "range",
        Err(JsonProblem::DuplicateKey(_)) => "duplicate",
    }
}

#[test]
fn accepts_valid_documents() {
    for t in [
        "{}",
        "[]",
        " {\"a\": [1, -0, 0.5, 1e3, 1E-2, true, false, null, \"x\\u00e9\\ud83d\\ude00\"]} ",
        "\"s\"",
        "0",
        "9007199254740991",
        "-9007199254740991",
        "1.5e-400",
    ] {
        assert_eq!(kind(t), "ok", "{t}");
    }
}

#[test]
fn syntax_errors() {
    for t in [
        "",
        " ",
        "{",
        "{\"a\":1,}",
        "[1,]",
        "{'a':1}",
        "{\"a\":1} /* c */",
        "{\"a\":1}x",
        "01",
        "-",
        "1.",
        "1e",
        ".5",
        "+1",
        "\"a\u{1}b\"",
        "\"\\x\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "-NaN",
        "nan",
        "[NaN",
        "{\"a\" 1}",
        "{1:2}",
        "tru",
        "\"abc",
    ] {
        assert_eq!(kind(t), "syntax", "{t:?}");
    }
}

#[test]
fn precedence_syntax_then_nonfinite_then_range_then_duplicate() {
    assert_eq!(kind("{\"a\":1,\"a\":NaN,\"b\":1e400"), "syntax");
    assert_eq!(kind("{\"a\":1,\"a\":1e400,\"b\":-Infinity}"), "nonfinite");
    assert_eq!(kind("{\"a\":1,\"a\":2,\"b\":9007199254740992}"), "range");
    assert_eq!(kind("{\"a\":{\"k\":1,\"\\u006b\":2}}"), "duplicate");
    assert_eq!(
        strict("[Infinity, NaN]"),
        Err(JsonProblem::Nonfinite("Infinity".into()))
    );
    assert_eq!(
        strict("[-2.5e308]"),
        Err(JsonProblem::NumberRange("-2.5e308".into()))
    );
    assert_eq!(kind("123456789012345678901234567890"), "range");
    assert_eq!(kind("-9007199254740992"), "range");
}

#[test]
fn lenient_mode_tolerates_lone_surrogates() {
    assert_eq!(
        parse("\"a\\ud800\"", Mode::Lenient),
        Ok(Json::String("a\u{fffd}".into()))
    );
}

#[test]
fn lexical_depth_counts_brackets_outside_strings() {
    assert_eq!(lexical_depth(b"{}"), 1);
    assert_eq!(lexical_depth(b"[[\"[[[\\\"[\"]]"), 2);
    assert_eq!(lexical_depth(b"]]]]["), 1);
    assert_eq!(lexical_depth(&[b'['; 100]), 100);
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = "[".repeat(200_000) + &"]".repeat(200_000);
    let mut v = strict(&deep).unwrap();
    // Dropping is recursive, so take the tree apart iteratively.
    let mut levels = 0;
    while let Json::Array(mut items) = v {
        levels += 1;
        v = items.pop().unwrap_or(Json::Null);
    }
    assert_eq!(levels, 200_000);
    assert_eq!(kind(&"[".repeat(200_000)), "syntax");
}

#[test]
fn document_phase_in_spec_order() {
    let code = |b: &[u8]| {
        decode_document(b, Path::new("m.json"))
            .err()
            .map_or("accepted", |e| e.code())
    };
    assert_eq!(code(b"{\"a\": [1, 2.5]}"), "accepted");
    assert_eq!(code(b"{\"a\": \"\xff\"}"), "json.encoding.utf8");
    assert_eq!(code(b"{\"a\": \"\xed\xa0\x80\"}"), "json.encoding.utf8");
    assert_eq!(code(b"\xef\xbb\xbf{}"), "json.encoding.bom");
    assert_eq!(code(&[b'['; 65]), "json.depth");
    let deepest = "[".repeat(64) + &"]".repeat(64);
    assert_eq!(code(deepest.as_bytes()), "accepted");
    assert_eq!(code(b"{\"a\": 1,}"), "json.syntax");
    assert_eq!(code(b"{\"a\": NaN, \"a\": 1e400}"), "json.nonfinite");
    assert_eq!(code(b"{\"a\": 1e400, \"a\": 1}"), "json.number.range");
    assert_eq!(code(b"{\"a\": 1, \"a\": 1}"), "json.keys.unique");
}
