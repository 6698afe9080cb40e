//! The writer: compact text, canonical spelling of numbers and strings.

use snn_checkpoint::json::{parse, Json, Mode};
use snn_checkpoint::json_write::format_float;

#[test]
fn writer_round_trips_compact_text() {
    let text = "{\"b\":[1,2.5,\"q\\\"\\n\\u0001\"],\"a\":{}}";
    let v = parse(text, Mode::Strict).unwrap();
    assert_eq!(v.to_text(), text);
    assert_eq!(Json::str("é\t").to_text(), "\"é\\t\"");
}

#[test]
fn numbers_are_spelled_canonically() {
    assert_eq!(Json::int(-3i64).to_text(), "-3");
    assert_eq!(Json::float(2.0).to_text(), "2.0");
    assert_eq!(format_float(1.0), "1.0");
    assert_eq!(format_float(-0.0), "-0.0");
    assert_eq!(format_float(0.01), "0.01");
    assert_eq!(format_float(1e-7), "1e-7");
    assert_eq!(format_float(5e-324), "5e-324");
    for v in [
        0.1,
        1.0 / 3.0,
        5.855998431656154e16,
        f64::MAX,
        f64::MIN_POSITIVE,
    ] {
        assert_eq!(
            format_float(v).parse::<f64>().unwrap().to_bits(),
            v.to_bits()
        );
    }
}
