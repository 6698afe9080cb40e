//! The JSON writer: compact text with the protocol's canonical spelling of numbers (integers
//! without fraction or exponent, floats as the shortest text that reads back to the same bits,
//! always with a `.` or an exponent). Used by the testee for answers and states.

use std::fmt::Write as _;

use crate::json::Json;

impl Json {
    /// An integer number.
    pub fn int(v: impl Into<i128>) -> Json {
        Json::Number(v.into().to_string())
    }

    /// A float64 number written so that it parses back to the same bits and always has a `.`
    /// or an exponent. Callers pass finite values only.
    pub fn float(v: f64) -> Json {
        Json::Number(format_float(v))
    }

    /// Compact JSON text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        write_value(self, &mut out);
        out
    }
}

/// Shortest round-trip text of a float64, with a `.` or exponent (`1.0`, `-0.0`, `1e-7`).
pub fn format_float(v: f64) -> String {
    // Rust's Debug formatting is the shortest representation that round-trips and always
    // contains '.', 'e' or "inf"/"NaN" (never passed here).
    format!("{v:?}")
}

/// Appends `s` as a JSON string literal.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(v: &Json, out: &mut String) {
    // Depth of values written here is bounded by what was parsed (<= 64 for documents,
    // bounded by the protocol reader for messages), so recursion is safe.
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(t) => out.push_str(t),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}
