//! Freezing, unfreezing and transfer configs: the typed API, then the argument types of
//! untyped (host) values, in spec order.

mod common;

use common::host;
use snn_checkpoint::errors::Result;
use snn_checkpoint::fine_tune::{
    freeze_layers_host, transfer_config_host, unfreeze_layers_host, FreezeUntil, TransferConfig,
};
use snn_checkpoint::json::{Integer, Json};
use snn_checkpoint::{Array, SNNCheckpoint};

fn cp() -> SNNCheckpoint {
    let w = || Array {
        shape: vec![1, 1],
        data: vec![1.0],
    };
    SNNCheckpoint::new(
        vec![w(), w(), w()],
        vec!["in".into(), "mid".into(), "out".into()],
        vec![(1, 1); 3],
        vec![],
        Json::Object(vec![]),
        vec![],
    )
    .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn freeze_and_unfreeze() {
    let mut c = cp();
    c.freeze_layers(Some(&s(&["out"])), Some(0.into())).unwrap();
    assert_eq!(c.frozen_layers(), s(&["in", "out"]));
    c.unfreeze_layers(Some(&s(&["out", "mid"])), false).unwrap();
    assert_eq!(c.frozen_layers(), s(&["in"]));
    c.unfreeze_layers(None, true).unwrap();
    assert!(c.frozen_layers().is_empty());
}

#[test]
fn freeze_errors_leave_state_alone() {
    let mut c = cp();
    let code = |r: Result<()>| r.unwrap_err().code();
    assert_eq!(
        code(c.freeze_layers(None, None)),
        "transfer.selector.missing"
    );
    assert_eq!(
        code(c.freeze_layers(Some(&s(&["in", "x"])), Some(9.into()))),
        "transfer.layer_names.references"
    );
    assert_eq!(
        code(c.freeze_layers(Some(&s(&["in"])), Some(3.into()))),
        "transfer.layer_index.range"
    );
    assert_eq!(
        code(c.freeze_layers(None, Some((-2).into()))),
        "transfer.layer_index.range"
    );
    assert_eq!(
        code(c.unfreeze_layers(None, false)),
        "transfer.selector.missing"
    );
    assert_eq!(
        code(c.unfreeze_layers(Some(&s(&["x"])), false)),
        "transfer.layer_names.references"
    );
    assert!(c.frozen_layers().is_empty());
    c.freeze_layers(None, Some((-1).into())).unwrap();
    assert!(c.frozen_layers().is_empty());
}

#[test]
fn config_validation() {
    let code = |f, b, h| TransferConfig::new(f, b, h).unwrap_err().code();
    assert_eq!(
        code(FreezeUntil::Index((-2).into()), 0.0, 0.1),
        "transfer.freeze_until.range"
    );
    assert_eq!(
        code(FreezeUntil::Index(0.into()), -0.5, 0.1),
        "transfer.learning_rate.range"
    );
    assert_eq!(
        code(FreezeUntil::Index(0.into()), 0.0, f64::NAN),
        "transfer.learning_rate.range"
    );
    assert_eq!(
        code(FreezeUntil::Index(0.into()), 0.0, f64::INFINITY),
        "transfer.learning_rate.range"
    );
    assert!(TransferConfig::new(FreezeUntil::Index(0.into()), -0.0, 0.0).is_ok());
}

#[test]
fn apply_returns_rates_per_layer() {
    let mut c = cp();
    c.freeze_layers(Some(&s(&["out"])), None).unwrap();
    let cfg = TransferConfig::new(FreezeUntil::Name("in".into()), 0.0, 0.5).unwrap();
    assert_eq!(c.apply_transfer_config(&cfg).unwrap(), vec![0.0, 0.5, 0.0]);
    let bad = TransferConfig::new(FreezeUntil::Name("nope".into()), 0.0, 0.5).unwrap();
    assert_eq!(
        c.apply_transfer_config(&bad).unwrap_err().code(),
        "transfer.layer_names.references"
    );
    let far = TransferConfig::new(FreezeUntil::Index(3.into()), 0.0, 0.5).unwrap();
    assert_eq!(
        c.apply_transfer_config(&far).unwrap_err().code(),
        "transfer.layer_index.range"
    );
}

/// The code of a host-level call: "Ok" or the rejection's spec ID.
fn outcome<T>(r: Result<T>) -> &'static str {
    r.err().map_or("Ok", |e| e.code())
}

#[test]
fn freeze_argument_types() {
    let f = |names: Option<&str>, until: Option<&str>| {
        outcome(freeze_layers_host(
            &mut cp(),
            names.map(host),
            until.map(host),
        ))
    };
    assert_eq!(f(None, None), "transfer.selector.missing");
    assert_eq!(f(Some(r#""in""#), None), "transfer.layer_names.type");
    assert_eq!(f(Some("[1]"), None), "transfer.layer_names.type");
    assert_eq!(f(None, Some("true")), "transfer.layer_index.type");
    assert_eq!(f(None, Some("1.0")), "transfer.layer_index.type");
    assert_eq!(f(Some(r#"["b"]"#), None), "transfer.layer_names.references");
    assert_eq!(f(None, Some("3")), "transfer.layer_index.range");
    assert_eq!(f(Some(r#"{"$tuple": ["in"]}"#), Some("0")), "Ok");
    // Types before references: a bad index type beats an unknown name.
    assert_eq!(
        f(Some(r#"["b"]"#), Some("true")),
        "transfer.layer_index.type"
    );
}

#[test]
fn unfreeze_argument_types() {
    let u = |names: Option<&str>, all: Option<&str>| {
        outcome(unfreeze_layers_host(
            &mut cp(),
            names.map(host),
            all.map(host),
        ))
    };
    assert_eq!(u(None, None), "transfer.selector.missing");
    assert_eq!(u(None, Some("false")), "transfer.selector.missing");
    // Only all_layers=True selects: any other value, a wrong type included, does not.
    assert_eq!(u(None, Some(r#""yes""#)), "transfer.selector.missing");
    assert_eq!(u(Some(r#"["in"]"#), Some("1")), "transfer.all_layers.type");
    assert_eq!(
        u(Some(r#"["in"]"#), Some("null")),
        "transfer.all_layers.type"
    );
    assert_eq!(u(Some("[1]"), Some("1")), "transfer.layer_names.type");
    assert_eq!(u(None, Some("true")), "Ok");
    assert_eq!(u(Some(r#"["in"]"#), None), "Ok");
}

#[test]
fn config_argument_types() {
    let c = |f: Option<&str>, b: Option<&str>, h: Option<&str>| {
        outcome(transfer_config_host(f.map(host), b.map(host), h.map(host)))
    };
    assert_eq!(c(None, None, None), "Ok");
    assert_eq!(c(Some("true"), None, None), "transfer.freeze_until.type");
    assert_eq!(c(Some("null"), None, None), "transfer.freeze_until.type");
    assert_eq!(c(Some("1.5"), None, None), "transfer.freeze_until.type");
    assert_eq!(c(None, None, Some("null")), "transfer.learning_rate.type");
    assert_eq!(c(None, None, Some("false")), "transfer.learning_rate.type");
    assert_eq!(
        c(Some("-2"), None, Some(r#""x""#)),
        "transfer.freeze_until.range"
    );
    assert_eq!(
        c(None, Some("-1"), Some(r#""x""#)),
        "transfer.learning_rate.type"
    );
    assert_eq!(
        c(None, None, Some(r#"{"$float": "NaN"}"#)),
        "transfer.learning_rate.range"
    );
    assert_eq!(c(None, Some("-1"), None), "transfer.learning_rate.range");
    let defaults = transfer_config_host(None, None, None).unwrap();
    assert_eq!(defaults, TransferConfig::default());
    let cfg = transfer_config_host(Some(host(r#""in""#)), None, Some(host("1"))).unwrap();
    assert_eq!(
        (cfg.lr_head, cfg.freeze_until),
        (1.0, FreezeUntil::Name("in".into()))
    );
}

#[test]
fn integer_arguments_of_any_size() {
    let big = format!("1{}", "0".repeat(48));
    let cfg = transfer_config_host(Some(host(&big)), None, None).unwrap();
    assert_eq!(
        cfg.freeze_until,
        FreezeUntil::Index(Integer::parse(&big).unwrap())
    );
    assert_eq!(
        outcome(cp().apply_transfer_config(&cfg)),
        "transfer.layer_index.range"
    );
    let below = transfer_config_host(Some(host(&format!("-{big}"))), None, None);
    assert_eq!(outcome(below), "transfer.freeze_until.range");
    let until = freeze_layers_host(&mut cp(), None, Some(host(&big)));
    assert_eq!(outcome(until), "transfer.layer_index.range");
    // An integer rate too large for a float64 is out of range, not a wrapped value.
    let rate = transfer_config_host(None, None, Some(host(&"9".repeat(400))));
    assert_eq!(outcome(rate), "transfer.learning_rate.range");
    let rate = transfer_config_host(None, Some(host("18446744073709551616")), None).unwrap();
    assert_eq!(rate.lr_backbone, 18446744073709551616.0);
    // Beyond 2^53 an integer rate is the nearest float64, ties to even.
    let rate = transfer_config_host(None, Some(host("9007199254740993")), None).unwrap();
    assert_eq!(rate.lr_backbone.to_string(), "9007199254740992");
    // 2^1024 - 2^970 rounds to infinity: out of range; one less rounds to float64_max.
    let two = |e: u32| num_text(e);
    let at_inf = sub(&two(1024), &two(970));
    let rate = transfer_config_host(None, None, Some(host(&at_inf)));
    assert_eq!(outcome(rate), "transfer.learning_rate.range");
    let below = sub(&at_inf, "1");
    let rate = transfer_config_host(None, None, Some(host(&below))).unwrap();
    assert_eq!(rate.lr_head, f64::MAX);
}

/// 2^e in decimal.
fn num_text(e: u32) -> String {
    let mut digits = vec![1u8];
    for _ in 0..e {
        let mut carry = 0;
        for d in digits.iter_mut() {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// a - b for decimal texts with a >= b >= 0.
fn sub(a: &str, b: &str) -> String {
    let (a, b): (Vec<u8>, Vec<u8>) = (
        a.bytes().rev().map(|c| c - b'0').collect(),
        b.bytes().rev().map(|c| c - b'0').collect(),
    );
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0;
    for (i, &d) in a.iter().enumerate() {
        let mut v = i16::from(d) - i16::from(*b.get(i).unwrap_or(&0)) - borrow;
        borrow = i16::from(v < 0);
        v += 10 * borrow;
        out.push(v as u8);
    }
    while out.len() > 1 && out.last() == Some(&0) {
        out.pop();
    }
    out.iter().rev().map(|d| char::from(b'0' + d)).collect()
}
