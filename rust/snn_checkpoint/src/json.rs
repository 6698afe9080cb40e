//! The strict reader of the metadata document: every `json.*` invariant, in spec order.
//!
//! Why not serde_json: the spec orders JSON failures over the WHOLE document (syntax first,
//! then NaN/Infinity tokens, then number ranges, then duplicate keys), so a reader must finish a
//! syntactically valid parse while remembering the first tolerated token, the first out-of-range
//! literal and the first duplicate key. serde_json stops at the first problem of any kind, turns
//! duplicates into "last wins" and rejects NaN as a syntax error, which would need three passes
//! and a custom visitor to undo; a small tokenizer says exactly what the spec says.
//!
//! The parser is iterative (an explicit stack), so no input can overflow the call stack; the
//! document reader also bounds depth lexically before parsing (`json.depth`). The writer is
//! `json_write`.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use crate::errors::{self, fail};
use crate::limits::{FLOAT64_MAX, JSON_INTEGER_MAX, JSON_INTEGER_MIN, JSON_MAX_DEPTH};

/// A parsed JSON value. Numbers keep their literal text so that integer-ness and range are
/// decided lexically; objects keep their members in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as its literal text (`-12`, `1.5e3`).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in document order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// A string.
    pub fn str(s: impl Into<String>) -> Json {
        Json::String(s.into())
    }

    /// Member `key` of an object (the last, if repeated, as Python's json module does).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short description of the value's JSON type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(t) if is_integer_literal(t) => "integer",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
}

/// Reads the metadata document's bytes, enforcing json.encoding.* through json.keys.unique in
/// spec order (json.file.present is the caller's: it reads the file).
pub fn decode_document(bytes: &[u8], path: &Path) -> errors::Result<Json> {
    let shown = path.display();
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let detail = format!(
            "{shown}: invalid byte sequence at offset {}",
            e.valid_up_to()
        );
        fail!(JsonEncodingUtf8, detail = detail)
    })?;
    if text.starts_with('\u{feff}') {
        return Err(fail!(JsonEncodingBom));
    }
    if lexical_depth(bytes) > JSON_MAX_DEPTH {
        return Err(fail!(JsonDepth, limit = JSON_MAX_DEPTH));
    }
    parse(text, Mode::Strict).map_err(|problem| match problem {
        JsonProblem::Syntax(detail) => fail!(JsonSyntax, detail = format!("{shown}: {detail}")),
        JsonProblem::Nonfinite(token) => fail!(JsonNonfinite, token = token),
        JsonProblem::NumberRange(number) => fail!(JsonNumberRange, number = number),
        JsonProblem::DuplicateKey(key) => fail!(JsonKeysUnique, key = key),
    })
}

/// True when a number literal has no fraction and no exponent.
pub fn is_integer_literal(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// An integer of any length, kept exactly as its canonical decimal text (no `+`, no leading
/// zeros, `0` for `-0`). It is judged against i128 bounds exactly, whatever its length: no
/// overflow, saturation or wrap.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Integer(String);

impl Integer {
    /// Reads `[+-]?[0-9]+` (a JSON integer literal, Python's `str(int)`).
    pub fn parse(literal: &str) -> Option<Integer> {
        let (negative, digits) = match literal.as_bytes().first()? {
            b'-' => (true, &literal[1..]),
            b'+' => (false, &literal[1..]),
            _ => (false, literal),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = digits.trim_start_matches('0');
        Some(Integer(match (negative, digits.is_empty()) {
            (_, true) => "0".into(),
            (true, false) => format!("-{digits}"),
            (false, false) => digits.into(),
        }))
    }

    /// The value, when it fits an i128.
    pub fn to_i128(&self) -> Option<i128> {
        self.0.parse().ok()
    }

    /// Compares with an i128: beyond the i128 range, the sign decides.
    pub fn cmp_i128(&self, other: i128) -> Ordering {
        match self.to_i128() {
            Some(v) => v.cmp(&other),
            None if self.0.starts_with('-') => Ordering::Less,
            None => Ordering::Greater,
        }
    }

    /// True when `low <= self <= high`.
    pub fn within(&self, low: i128, high: i128) -> bool {
        self.cmp_i128(low).is_ge() && self.cmp_i128(high).is_le()
    }

    /// The nearest float64 (infinite beyond its range), as Python's `float(int)` rounds.
    pub fn to_f64(&self) -> f64 {
        self.0.parse().expect("decimal digits read as a float")
    }
}

impl From<i128> for Integer {
    fn from(v: i128) -> Self {
        Integer(v.to_string())
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `json.number.range` for one literal: an integer (no fraction, no exponent) lies in
/// [limits.json_integer_min, limits.json_integer_max]; any other number, rounded to the
/// nearest float64 (Rust's parse is correctly rounded), is at most limits.float64_max in
/// magnitude.
pub fn number_in_range(literal: &str) -> bool {
    if is_integer_literal(literal) {
        Integer::parse(literal).is_some_and(|i| i.within(JSON_INTEGER_MIN, JSON_INTEGER_MAX))
    } else {
        literal.parse::<f64>().is_ok_and(|v| v.abs() <= FLOAT64_MAX)
    }
}

/// The first failure of the JSON phase, in spec order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonProblem {
    /// Not valid RFC 8259 syntax; `detail` says what and where (line:column).
    Syntax(String),
    /// A NaN, Infinity or -Infinity token.
    Nonfinite(String),
    /// A number literal out of range.
    NumberRange(String),
    /// A duplicate key (unescaped).
    DuplicateKey(String),
}

/// How the parser treats what the spec refuses but the protocol must carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The checkpoint document: lone surrogates are syntax errors.
    Strict,
    /// Protocol messages: lone surrogate escapes become U+FFFD instead of failing, and
    /// repeated keys are allowed (the last wins), and numbers of any size are kept (the
    /// host-value encoding carries Python's unbounded integers).
    Lenient,
}

/// Counts the lexical nesting depth as `json.depth` defines it.
pub fn lexical_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'"' => in_string = true,
                _ => {}
            }
        }
        i += 1;
    }
    max
}

/// Parses one JSON document. The syntax is checked over the whole text first; only then are
/// tolerated non-finite tokens, out-of-range numbers and duplicate keys reported, each the first
/// in document order, in that order of precedence.
pub fn parse(text: &str, mode: Mode) -> Result<Json, JsonProblem> {
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
        mode,
        nonfinite: None,
        range: None,
        duplicate: None,
    };
    let value = p.document().map_err(|e| JsonProblem::Syntax(p.locate(e)))?;
    if let Some(t) = p.nonfinite {
        return Err(JsonProblem::Nonfinite(t));
    }
    if let Some(t) = p.range {
        return Err(JsonProblem::NumberRange(t));
    }
    if let Some(k) = p.duplicate {
        return Err(JsonProblem::DuplicateKey(k));
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    mode: Mode,
    nonfinite: Option<String>,
    range: Option<String>,
    duplicate: Option<String>,
}

enum Frame {
    Array(Vec<Json>),
    Object {
        members: Vec<(String, Json)>,
        seen: HashSet<String>,
        key: String,
    },
}

type PResult<T> = Result<T, String>;

impl Parser<'_> {
    fn locate(&self, detail: String) -> String {
        let upto = &self.src[..self.pos.min(self.src.len())];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&upto[line_start..]).chars().count() + 1;
        format!("{detail} at line {line} column {col}")
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            None => format!("unexpected end of document, expected {wanted}"),
            Some(b) if b.is_ascii_graphic() => {
                format!("unexpected character '{}', expected {wanted}", b as char)
            }
            Some(b) => format!("unexpected byte 0x{b:02x}, expected {wanted}"),
        }
    }

    fn document(&mut self) -> PResult<Json> {
        let mut stack: Vec<Frame> = Vec::new();
        self.skip_ws();
        let mut value = self.value_start(&mut stack)?;
        loop {
            // `value` is complete: attach it to the enclosing container, or finish.
            let Some(frame) = stack.last_mut() else {
                self.skip_ws();
                if self.pos != self.src.len() {
                    return Err(self.unexpected("end of document"));
                }
                return Ok(value);
            };
            self.skip_ws();
            match frame {
                Frame::Array(items) => {
                    items.push(value);
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            self.skip_ws();
                            value = self.value_start(&mut stack)?;
                        }
                        Some(b']') => {
                            self.pos += 1;
                            let Some(Frame::Array(items)) = stack.pop() else {
                                unreachable!("top frame is an array")
                            };
                            value = Json::Array(items);
                        }
                        _ => return Err(self.unexpected("',' or ']'")),
                    }
                }
                Frame::Object { members, key, .. } => {
                    members.push((std::mem::take(key), value));
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            self.skip_ws();
                            self.member_key(&mut stack)?;
                            self.skip_ws();
                            value = self.value_start(&mut stack)?;
                        }
                        Some(b'}') => {
                            self.pos += 1;
                            let Some(Frame::Object { members, .. }) = stack.pop() else {
                                unreachable!("top frame is an object")
                            };
                            value = Json::Object(members);
                        }
                        _ => return Err(self.unexpected("',' or '}'")),
                    }
                }
            }
        }
    }

    /// Reads `"key" :` into the top object frame, checking for duplicates.
    fn member_key(&mut self, stack: &mut [Frame]) -> PResult<()> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a string key"));
        }
        let k = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        if let Some(Frame::Object { seen, key, .. }) = stack.last_mut() {
            if self.mode == Mode::Strict && !seen.insert(k.clone()) && self.duplicate.is_none() {
                self.duplicate = Some(k.clone());
            }
            *key = k;
        }
        Ok(())
    }

    /// Parses a scalar, or opens a container (pushing a frame) and returns its first element
    /// when the container is not empty; loops until a complete value is available.
    fn value_start(&mut self, stack: &mut Vec<Frame>) -> PResult<Json> {
        loop {
            match self.peek() {
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Json::Array(Vec::new()));
                    }
                    stack.push(Frame::Array(Vec::new()));
                }
                Some(b'{') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Json::Object(Vec::new()));
                    }
                    stack.push(Frame::Object {
                        members: Vec::new(),
                        seen: HashSet::new(),
                        key: String::new(),
                    });
                    self.member_key(stack)?;
                    self.skip_ws();
                }
                _ => return self.scalar(),
            }
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn tolerated_nonfinite(&mut self, token: &str) -> Json {
        if self.nonfinite.is_none() {
            self.nonfinite = Some(token.to_string());
        }
        Json::Null
    }

    fn scalar(&mut self) -> PResult<Json> {
        match self.peek() {
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b't') if self.literal("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.literal("false") => Ok(Json::Bool(false)),
            Some(b'n') if self.literal("null") => Ok(Json::Null),
            Some(b'N') if self.literal("NaN") => Ok(self.tolerated_nonfinite("NaN")),
            Some(b'I') if self.literal("Infinity") => Ok(self.tolerated_nonfinite("Infinity")),
            Some(b'-') if self.src[self.pos..].starts_with(b"-Infinity") => {
                self.pos += "-Infinity".len();
                Ok(self.tolerated_nonfinite("-Infinity"))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a JSON value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> PResult<Json> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err("leading zero in a number".into());
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected("a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        // The literal is ASCII by construction.
        let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        if self.mode == Mode::Strict && self.range.is_none() && !number_in_range(&text) {
            self.range = Some(text.clone());
        }
        Ok(Json::Number(text))
    }

    fn hex4(&mut self) -> PResult<u32> {
        let Some(h) = self.src.get(self.pos..self.pos + 4) else {
            return Err("truncated \\u escape".into());
        };
        let mut v = 0u32;
        for &b in h {
            let d = (b as char)
                .to_digit(16)
                .ok_or_else(|| "invalid hex digit in \\u escape".to_string())?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> PResult<String> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err("unterminated string".into());
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    // Input is valid UTF-8 and escapes push whole scalar values.
                    return String::from_utf8(out).map_err(|_| "invalid UTF-8 in string".into());
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err("unterminated escape".into());
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.unexpected("a valid escape character"));
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => {
                    return Err(format!("unescaped control character 0x{b:02x} in string"));
                }
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn unicode_escape(&mut self) -> PResult<char> {
        let u = self.hex4()?;
        let lone = |p: &Self, what: &str| -> PResult<char> {
            match p.mode {
                Mode::Strict => Err(format!("{what} in \\u escape (not a Unicode scalar value)")),
                Mode::Lenient => Ok('\u{fffd}'),
            }
        };
        if (0xDC00..0xE000).contains(&u) {
            return lone(self, "lone low surrogate");
        }
        if (0xD800..0xDC00).contains(&u) {
            if self.src[self.pos..].starts_with(b"\\u") {
                let save = self.pos;
                self.pos += 2;
                let low = self.hex4()?;
                if (0xDC00..0xE000).contains(&low) {
                    let c = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
                    return Ok(char::from_u32(c).expect("surrogate pair is a scalar value"));
                }
                self.pos = save;
            }
            return lone(self, "lone high surrogate");
        }
        Ok(char::from_u32(u).expect("non-surrogate BMP code point"))
    }
}
