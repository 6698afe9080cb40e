//! The strict reader: syntax, then non-finite tokens, then number ranges, then duplicate keys,
//! and the document reader's encoding and depth checks before them.

use std::path::Path;

use snn_checkpoint::json::{
    decode_document, lexical_depth, number_in_range, parse, Integer, Json, JsonProblem, Mode,
};

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
        "9007199254740992",
        "-9223372036854775808",
        "18446744073709551615",
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
    assert_eq!(
        kind("{\"a\":1,\"a\":2,\"b\":18446744073709551616}"),
        "range"
    );
    assert_eq!(kind("{\"a\":{\"k\":1,\"\\u006b\":2}}"), "duplicate");
    assert_eq!(
        strict("[Infinity, NaN]"),
        Err(JsonProblem::Nonfinite("Infinity".into()))
    );
    assert_eq!(
        strict("[-2.5e308]"),
        Err(JsonProblem::NumberRange("-2.5e308".into()))
    );
    assert_eq!(
        strict("[1, 18446744073709551616, -9223372036854775809]"),
        Err(JsonProblem::NumberRange("18446744073709551616".into()))
    );
}

/// The spec's boundary literals: integers in [-2^63, 2^64 - 1], judged exactly at any length;
/// other numbers by their nearest float64 against limits.float64_max (a literal that rounds
/// to zero is finite).
const IN_RANGE: [&str; 13] = [
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "-9007199254740993",
    "0",
    "-0",
    "1.8446744073709552e19",
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "-1.7976931348623158e308",
    "5e-324",
    "2e-324",
];
const OUT_OF_RANGE: [&str; 9] = [
    "-237462374673276894279832749832423479823246327846",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234567890",
    "-170141183460469231731687303715884105729",
    "1e400",
    "1.7976931348623159e308",
    "-1.7976931348623159e308",
    "1e309",
];

#[test]
fn integer_range_is_exact_at_the_64_bit_boundaries() {
    for literal in IN_RANGE {
        assert!(number_in_range(literal), "{literal}");
        for doc in [
            literal.to_string(),
            format!("{{\"a\": {literal}}}"),
            format!("{{\"a\": {{\"b\": [0, {literal}]}}}}"),
            format!("[[{literal}]]"),
        ] {
            assert_eq!(kind(&doc), "ok", "{doc}");
        }
    }
    for literal in OUT_OF_RANGE {
        assert!(!number_in_range(literal), "{literal}");
        for doc in [
            literal.to_string(),
            format!("{{\"a\": {literal}}}"),
            format!("{{\"a\": {{\"b\": [0, {literal}]}}}}"),
            format!("[[{literal}]]"),
        ] {
            assert_eq!(
                strict(&doc),
                Err(JsonProblem::NumberRange(literal.into())),
                "{doc}"
            );
        }
    }
    // Literals of any length, either sign: no overflow, saturation or wrap.
    for digits in [20, 39, 40, 1000, 5000] {
        let huge = "9".repeat(digits);
        assert!(!number_in_range(&huge), "{digits} digits");
        assert!(!number_in_range(&format!("-{huge}")), "-{digits} digits");
    }
}

#[test]
fn integers_are_exact_and_canonical() {
    let int = |t: &str| Integer::parse(t).unwrap();
    assert_eq!(
        int("18446744073709551615").to_string(),
        "18446744073709551615"
    );
    assert_eq!(int("+007").to_string(), "7");
    assert_eq!(int("-0"), int("0"));
    assert_eq!(int("-0").to_string(), "0");
    assert_eq!(Integer::parse("1.0"), None);
    assert_eq!(Integer::parse("-"), None);
    assert_eq!(Integer::parse(""), None);
    assert_eq!(int("-9223372036854775808").to_i128(), Some(-(1i128 << 63)));
    let huge = int(&format!("-{}", "9".repeat(60)));
    assert_eq!(huge.to_i128(), None);
    assert!(huge.cmp_i128(i128::MIN).is_lt());
    assert!(int(&"9".repeat(60)).cmp_i128(i128::MAX).is_gt());
    assert!(!huge.within(i128::MIN, i128::MAX));
    assert!(int("-1").within(-1, 0));
    assert_eq!(int("18446744073709551615").to_f64(), 18446744073709551615.0);
    assert_eq!(int(&"9".repeat(400)).to_f64(), f64::INFINITY);
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
