//! The writer: compact text, the canonical document (`save.writer.document`), and Python's
//! spelling of floats.

use snn_checkpoint::json::{parse, Json, Mode};
use snn_checkpoint::json_write::format_float;

#[test]
fn writer_round_trips_compact_text() {
    let text = "{\"b\":[1,2.5,\"q\\\"\\n\\u0001\\b\"],\"a\":{}}";
    let v = parse(text, Mode::Strict).unwrap();
    assert_eq!(v.to_text(), text);
    assert_eq!(Json::str("é\t").to_text(), "\"é\\t\"");
}

/// Doubles (as bits) and Python's `repr` of each (generated with CPython 3.11).
const PYTHON_REPR: [(u64, &str); 32] = [
    (0x0000000000000000, "0.0"),
    (0x8000000000000000, "-0.0"),
    (0x3ff0000000000000, "1.0"),
    (0xbff0000000000000, "-1.0"),
    (0x405ec00000000000, "123.0"),
    (0x3fb999999999999a, "0.1"),
    (0x3fd3333333333334, "0.30000000000000004"),
    (0x3fd5555555555555, "0.3333333333333333"),
    (0x3fe5555555555555, "0.6666666666666666"),
    (0x3f1a36e2eb1c432d, "0.0001"),
    (0x3f202e4b6ce5dc68, "0.00012345"),
    (0x3ee4f8b588e368f1, "1e-05"),
    (0xbde49da7e361ce4c, "-1.5e-10"),
    (0x430c6bf526340000, "1000000000000000.0"),
    (0x4341c37937e08000, "1e+16"),
    (0x4341c37937e07fff, "9999999999999998.0"),
    (0x437b69b4ba630f35, "1.2345678901234568e+17"),
    (0x4480f0cf064dd592, "1e+22"),
    (0x444b1ae4d6e2ef50, "1e+21"),
    (0x7e41eb2d66005835, "1.5e+300"),
    (0x0000000000000001, "5e-324"),
    (0x0010000000000000, "2.2250738585072014e-308"),
    (0x7fefffffffffffff, "1.7976931348623157e+308"),
    (0x4340000000000000, "9007199254740992.0"),
    (0x4011666666666666, "4.35"),
    (0x40fe240c9fbe76c9, "123456.789"),
    (0x3fe0000000000000, "0.5"),
    (0x4059000000000000, "100.0"),
    (0x43118b54f22aeb03, "1234567890123456.8"),
    (0x436a017fdae7b710, "5.855998431656154e+16"),
    (0x3f505e1c15097c81, "0.000999"),
    (0x3efa36e2eb1c432d, "2.5e-05"),
];

#[test]
fn floats_are_spelled_as_python_repr() {
    for (bits, python) in PYTHON_REPR {
        let v = f64::from_bits(bits);
        assert_eq!(format_float(v), python, "{bits:#018x}");
        assert_eq!(python.parse::<f64>().unwrap().to_bits(), bits);
    }
    assert_eq!(Json::int(-3i64).to_text(), "-3");
    assert_eq!(Json::float(2.0).to_text(), "2.0");
}

#[test]
fn floats_round_trip_across_the_exponent_range() {
    let mut bits = 0x0123_4567_89ab_cdefu64;
    for _ in 0..20_000 {
        // xorshift: finite doubles of every exponent.
        bits ^= bits << 13;
        bits ^= bits >> 7;
        bits ^= bits << 17;
        let v = f64::from_bits(bits);
        if v.is_finite() {
            let text = format_float(v);
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), bits, "{text}");
            assert!(text.contains(['.', 'e']), "{text}");
        }
    }
}

fn document(text: &str) -> String {
    parse(text, Mode::Strict).unwrap().to_document_text()
}

#[test]
fn the_document_is_indented_by_two_with_python_separators() {
    assert_eq!(
        document(r#"{"a": [1, [], {}, {"b": null}], "c": true}"#),
        "{\n  \"a\": [\n    1,\n    [],\n    {},\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": true\n}"
    );
    assert_eq!(document("{}"), "{}");
    assert_eq!(document("[]"), "[]");
}

#[test]
fn the_document_escapes_every_non_ascii_character_in_lowercase() {
    let text =
        r#"["\u00e9\u007f\u0080\ud83d\ude00\u2028", "\b\f\n\r\t\"\\/\u0001 ~", {"\u00fc": 0}]"#;
    assert_eq!(
        document(text),
        "[\n  \"\\u00e9\\u007f\\u0080\\ud83d\\ude00\\u2028\",\n  \"\\b\\f\\n\\r\\t\\\"\\\\/\\u0001 ~\",\n  {\n    \"\\u00fc\": 0\n  }\n]"
    );
}

#[test]
fn the_document_spells_numbers_as_python_reads_and_writes_them() {
    let text = "[-0, 0, 18446744073709551615, -9223372036854775808, 1E2, 1.0e16, 0.10, -0.0, 1e-5, 5E-324]";
    assert_eq!(
        document(text).replace(['\n', ' '], ""),
        "[0,0,18446744073709551615,-9223372036854775808,100.0,1e+16,0.1,-0.0,1e-05,5e-324]"
    );
}
