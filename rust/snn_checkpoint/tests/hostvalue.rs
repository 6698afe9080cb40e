//! Decoding the protocol's host-value encoding.

use snn_checkpoint::hostvalue::{decode, Host};
use snn_checkpoint::json::{parse, Integer, Mode};

fn int(v: i128) -> Integer {
    Integer::from(v)
}

fn decoded(text: &str) -> Result<Host, String> {
    decode(&parse(text, Mode::Lenient).unwrap())
}

#[test]
fn plain_json_stands_for_itself() {
    assert_eq!(decoded("null"), Ok(Host::None));
    assert_eq!(decoded("true"), Ok(Host::Bool(true)));
    assert_eq!(decoded("-3"), Ok(Host::Int(int(-3))));
    assert_eq!(decoded("2.5"), Ok(Host::Float(2.5)));
    assert_eq!(decoded("1e2"), Ok(Host::Float(100.0)));
    assert_eq!(decoded(r#""s""#), Ok(Host::Str("s".into())));
    assert_eq!(
        decoded(r#"[1, "a"]"#),
        Ok(Host::List(vec![Host::Int(int(1)), Host::Str("a".into())]))
    );
    assert_eq!(
        decoded(r#"{"a": 1, "b": 2}"#).map(|h| h.type_name()),
        Ok("dict")
    );
    // Repeated keys: the last value wins, at the first key's place.
    assert_eq!(
        decoded(r#"{"a": 1, "b": 2, "a": 3}"#),
        Ok(Host::Dict(vec![
            (Host::Str("a".into()), Host::Int(int(3))),
            (Host::Str("b".into()), Host::Int(int(2))),
        ]))
    );
}

#[test]
fn decodes_tags() {
    assert_eq!(
        decoded(r#"{"$float": "NaN"}"#).map(|h| h.as_f64().unwrap().is_nan()),
        Ok(true)
    );
    assert_eq!(
        decoded(r#"{"$float": "-Infinity"}"#),
        Ok(Host::Float(f64::NEG_INFINITY))
    );
    assert_eq!(
        decoded(r#"{"$bytes": "00ff"}"#),
        Ok(Host::Bytes(vec![0, 255]))
    );
    assert_eq!(
        decoded(r#"{"$map": [[1, "x"]]}"#),
        Ok(Host::Dict(vec![(Host::Int(int(1)), Host::Str("x".into()))]))
    );
    assert_eq!(
        decoded(r#"{"$tuple": [1]}"#),
        Ok(Host::Tuple(vec![Host::Int(int(1))]))
    );
    assert_eq!(decoded(r#"{"$set": []}"#), Ok(Host::Set(vec![])));
    assert_eq!(
        decoded(r#"{"$object": "object()"}"#),
        Ok(Host::Opaque("object()".into()))
    );
    let Ok(Host::Array(a)) =
        decoded(r#"{"$array": {"shape": [2, 1], "data": [1, {"$float": "Infinity"}]}}"#)
    else {
        panic!("an $array decodes to an array")
    };
    assert_eq!((a.shape, a.data), (vec![2, 1], vec![1.0, f64::INFINITY]));
}

#[test]
fn malformed_encodings_are_errors_not_values() {
    for bad in [
        r#"{"$nope": 1}"#,
        r#"{"$float": "nan"}"#,
        r#"{"$bytes": "0"}"#,
        r#"{"$bytes": "zz"}"#,
        r#"{"$map": [[1]]}"#,
        r#"{"$tuple": 1}"#,
        r#"{"$array": {"shape": [2, 2], "data": [1]}}"#,
        r#"{"$array": {"shape": [-1], "data": []}}"#,
        r#"{"$array": {"shape": [1], "data": ["a"]}}"#,
    ] {
        assert!(decoded(bad).is_err(), "{bad}");
    }
}

#[test]
fn python_semantics() {
    assert!(!Host::Int(int(0)).truthy());
    assert!(Host::Int(int(-5)).truthy());
    assert!(!Host::Str(String::new()).truthy());
    assert!(Host::Opaque("x".into()).truthy());
    assert_eq!(Host::Bool(true).type_name(), "bool");
    assert_eq!(Host::Int(int(1)).type_name(), "int");
    assert_eq!(
        Host::Int(Integer::parse("18446744073709551617").unwrap()).as_f64(),
        Some(18446744073709551617.0)
    );
    assert_eq!(Host::Bool(true).as_f64(), None);
    assert_eq!(
        decoded(r#"{"$tuple": ["a", "b"]}"#).unwrap().strings(),
        Ok(vec!["a".to_string(), "b".to_string()])
    );
    assert_eq!(
        decoded("[1]").unwrap().strings(),
        Err("item 0 is int".to_string())
    );
}

#[test]
fn integers_of_any_length_decode_exactly() {
    for literal in [
        "18446744073709551616",
        "-9223372036854775809",
        "1000000000000000000000000000000",
        "-1000000000000000000000000000000000000000000000000",
    ] {
        let Ok(Host::Int(i)) = decoded(literal) else {
            panic!("{literal} decodes to an int")
        };
        assert_eq!(i.to_string(), literal);
        assert!(Host::Int(i).truthy());
    }
}
