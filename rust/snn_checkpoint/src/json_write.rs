//! The JSON writer, in two styles: compact text for the testee's answers and states, and the
//! spec's canonical metadata document (`save.writer.document`: Python's
//! `json.dumps(document, indent=2, ensure_ascii=True)`), which every writer must reproduce
//! byte for byte. Both spell floats as Python's `repr` does (shortest round-trip digits).

use std::fmt::Write as _;

use crate::json::{is_integer_literal, Integer, Json};

/// How to lay the text out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// No whitespace; numbers as their literal text; non-ASCII characters as they are.
    Compact,
    /// Indent 2 (each item on its own line), ": " after a key; numbers canonical; ASCII only.
    Document,
}

impl Json {
    /// An integer number.
    pub fn int(v: impl Into<i128>) -> Json {
        Json::Number(v.into().to_string())
    }

    /// A float64 number spelled as Python's `repr` spells it, so that it parses back to the
    /// same bits and always has a `.` or an exponent. Callers pass finite values only.
    pub fn float(v: f64) -> Json {
        Json::Number(format_float(v))
    }

    /// Compact JSON text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        write_value(self, Style::Compact, 0, &mut out);
        out
    }

    /// The canonical document text (`save.writer.document`): indent 2, ASCII with lowercase
    /// `\u` escapes, members in their order, integers exact, floats as Python's `repr`, no
    /// trailing newline.
    pub fn to_document_text(&self) -> String {
        let mut out = String::new();
        write_value(self, Style::Document, 0, &mut out);
        out
    }
}

/// A finite float64 as Python's `repr`: the shortest digits D that read back to the same bits
/// with decimal exponent x; positional when -4 <= x < 16 (`123.0`, `0.0001`), otherwise
/// `D[0].D[1:]e±XX` (`1e-05`, `1e+16`, `5e-324`). Negative zero is `-0.0`.
pub fn format_float(v: f64) -> String {
    // `{:e}` without a precision prints the shortest round-trip digits: "-1.2345e-7", "0e0".
    let scientific = format!("{v:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("LowerExp of a finite float has an exponent");
    let exponent: i32 = exponent.parse().expect("a decimal exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits = mantissa.replace('.', "");
    let body = if (-4..16).contains(&exponent) {
        positional(&digits, exponent)
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    };
    format!("{sign}{body}")
}

/// `digits` (D, without a point) times 10^(exponent - len + 1), written without an exponent.
fn positional(digits: &str, exponent: i32) -> String {
    if exponent < 0 {
        let zeros = "0".repeat(exponent.unsigned_abs() as usize - 1);
        return format!("0.{zeros}{digits}");
    }
    let integral = exponent as usize + 1;
    if digits.len() <= integral {
        format!("{digits}{}.0", "0".repeat(integral - digits.len()))
    } else {
        format!("{}.{}", &digits[..integral], &digits[integral..])
    }
}

/// A number literal as the document spells it: an integer exactly (`-0` is `0`), any other
/// number as the float64 it reads as (`1E2` is `100.0`), as Python's json module reads and
/// writes them.
fn canonical_number(literal: &str) -> String {
    if is_integer_literal(literal) {
        Integer::parse(literal).map_or_else(|| literal.to_string(), |i| i.to_string())
    } else {
        literal
            .parse()
            .map_or_else(|_| literal.to_string(), format_float)
    }
}

/// Appends `s` as a JSON string literal; `ascii` escapes everything outside U+0020..U+007E
/// (U+007F included) as `\u` + four lowercase hex digits, a surrogate pair above U+FFFF.
fn write_string(s: &str, ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Before an item of a container `depth` deep: nothing (compact), or a newline and the
/// indentation of that item.
fn newline(style: Style, depth: usize, out: &mut String) {
    if style == Style::Document {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
}

fn write_value(v: &Json, style: Style, depth: usize, out: &mut String) {
    // Depth of values written here is bounded by what was parsed or validated (<= 64 for
    // documents, bounded by the protocol reader for messages), so recursion is safe.
    let document = style == Style::Document;
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(t) if document => out.push_str(&canonical_number(t)),
        Json::Number(t) => out.push_str(t),
        Json::String(s) => write_string(s, document, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                newline(style, depth + 1, out);
                write_value(item, style, depth + 1, out);
            }
            if !items.is_empty() {
                newline(style, depth, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                newline(style, depth + 1, out);
                write_string(k, document, out);
                out.push_str(if document { ": " } else { ":" });
                write_value(item, style, depth + 1, out);
            }
            if !members.is_empty() {
                newline(style, depth, out);
            }
            out.push('}');
        }
    }
}
