//! Host values: the protocol's encoding of in-memory (Python) values (docs/protocol.md,
//! "Host-value encoding"), decoded into a model of what a dynamically typed caller can pass.
//! The construct and fine-tuning surfaces judge these values (`fields`, `fine_tune`); the
//! Python bindings build them from real Python objects.

use crate::fields::Array;
use crate::json::{is_integer_literal, Integer, Json};

/// A decoded host value.
#[derive(Clone, Debug, PartialEq)]
pub enum Host {
    /// `None` / JSON null.
    None,
    /// A boolean (never an integer here).
    Bool(bool),
    /// An integer of any size, exact.
    Int(Integer),
    /// A float64.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Host>),
    /// A tuple.
    Tuple(Vec<Host>),
    /// A set.
    Set(Vec<Host>),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A mapping; keys need not be strings.
    Dict(Vec<(Host, Host)>),
    /// A dense float64 array (numpy.ndarray).
    Array(Array),
    /// An opaque object of no JSON meaning.
    Opaque(String),
}

impl Host {
    /// The Python type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Host::None => "NoneType",
            Host::Bool(_) => "bool",
            Host::Int(_) => "int",
            Host::Float(_) => "float",
            Host::Str(_) => "str",
            Host::List(_) => "list",
            Host::Tuple(_) => "tuple",
            Host::Set(_) => "set",
            Host::Bytes(_) => "bytes",
            Host::Dict(_) => "dict",
            Host::Array(_) => "numpy.ndarray",
            Host::Opaque(_) => "object",
        }
    }

    /// A list or tuple's items.
    pub fn sequence(&self) -> Option<&[Host]> {
        match self {
            Host::List(v) | Host::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// A list or tuple of strings, or why it is not one (a message detail).
    pub fn strings(&self) -> Result<Vec<String>, String> {
        let items = self
            .sequence()
            .ok_or_else(|| format!("got {}", self.type_name()))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Host::Str(s) => Ok(s.clone()),
                other => Err(format!("item {i} is {}", other.type_name())),
            })
            .collect()
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Host::None => false,
            Host::Bool(b) => *b,
            Host::Int(v) => v.cmp_i128(0).is_ne(),
            Host::Float(f) => *f != 0.0,
            Host::Str(s) => !s.is_empty(),
            Host::List(v) | Host::Tuple(v) | Host::Set(v) => !v.is_empty(),
            Host::Bytes(b) => !b.is_empty(),
            Host::Dict(d) => !d.is_empty(),
            Host::Array(a) => !a.data.is_empty(),
            Host::Opaque(_) => true,
        }
    }

    /// The float value of an int or float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Host::Int(v) => Some(v.to_f64()),
            Host::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// Decodes the protocol's host-value encoding; the error says why the encoding is malformed
/// (an unknown tag, a bad tag body), which is a broken request, not a verdict.
pub fn decode(v: &Json) -> Result<Host, String> {
    Ok(match v {
        Json::Null => Host::None,
        Json::Bool(b) => Host::Bool(*b),
        Json::Number(t) if is_integer_literal(t) => {
            Host::Int(Integer::parse(t).ok_or_else(|| format!("bad integer {t}"))?)
        }
        Json::Number(t) => Host::Float(t.parse::<f64>().unwrap_or(f64::NAN)),
        Json::String(s) => Host::Str(s.clone()),
        Json::Array(items) => Host::List(decode_all(items)?),
        Json::Object(m) if m.len() == 1 && m[0].0.starts_with('$') => decode_tag(&m[0].0, &m[0].1)?,
        Json::Object(m) => Host::Dict(last_wins(
            m.iter()
                .map(|(k, v)| Ok((Host::Str(k.clone()), decode(v)?)))
                .collect::<Result<_, String>>()?,
        )),
    })
}

fn decode_all(items: &[Json]) -> Result<Vec<Host>, String> {
    items.iter().map(decode).collect()
}

fn decode_tag(tag: &str, body: &Json) -> Result<Host, String> {
    let items = |b: &Json| match b {
        Json::Array(items) => decode_all(items),
        _ => Err(format!("{tag} needs a list")),
    };
    Ok(match tag {
        "$float" => Host::Float(tag_float(body)?),
        "$array" => Host::Array(decode_array(body)?),
        "$tuple" => Host::Tuple(items(body)?),
        "$set" => Host::Set(items(body)?),
        "$bytes" => Host::Bytes(decode_hex(body).ok_or("$bytes needs a hex string")?),
        "$map" => {
            let Json::Array(pairs) = body else {
                return Err("$map needs a list of pairs".into());
            };
            let pairs = pairs
                .iter()
                .map(|p| match p {
                    Json::Array(kv) if kv.len() == 2 => Ok((decode(&kv[0])?, decode(&kv[1])?)),
                    _ => Err("$map entries must be [key, value] pairs".to_string()),
                })
                .collect::<Result<_, String>>()?;
            Host::Dict(last_wins(pairs))
        }
        "$object" => Host::Opaque(match body {
            Json::String(s) => s.clone(),
            other => other.to_text(),
        }),
        other => return Err(format!("unknown host-value tag {other}")),
    })
}

fn tag_float(v: &Json) -> Result<f64, String> {
    match v {
        Json::String(s) if s == "NaN" => Ok(f64::NAN),
        Json::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Json::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        other => Err(format!("bad $float tag value {}", other.to_text())),
    }
}

fn decode_hex(v: &Json) -> Option<Vec<u8>> {
    let Json::String(h) = v else {
        return None;
    };
    if h.len() % 2 != 0 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

fn decode_array(v: &Json) -> Result<Array, String> {
    let (Some(Json::Array(shape)), Some(Json::Array(data))) = (v.get("shape"), v.get("data"))
    else {
        return Err("$array needs shape and data lists".into());
    };
    let shape: Vec<usize> = shape
        .iter()
        .map(|d| match d {
            Json::Number(t) => Integer::parse(t)
                .and_then(|i| i.to_i128())
                .and_then(|v| usize::try_from(v).ok()),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or("$array shape must hold non-negative integers")?;
    let data: Vec<f64> = data
        .iter()
        .map(|d| match d {
            Json::Number(t) => Ok(t.parse::<f64>().unwrap_or(f64::NAN)),
            Json::Object(m) if m.len() == 1 && m[0].0 == "$float" => tag_float(&m[0].1),
            other => Err(format!("$array data entry {}", other.to_text())),
        })
        .collect::<Result<_, String>>()?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return Err("$array data length differs from its shape".into());
    }
    Ok(Array { shape, data })
}

/// Python dict semantics for repeated keys: the last value wins, at the first key's place.
fn last_wins(pairs: Vec<(Host, Host)>) -> Vec<(Host, Host)> {
    let mut out: Vec<(Host, Host)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match out.iter_mut().find(|(seen, _)| *seen == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}
