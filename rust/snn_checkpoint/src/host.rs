//! Host values: the protocol's encoding of in-memory (Python) values, decoded into a model of
//! what a dynamically typed caller can pass, and the argument checks of the construct and
//! fine-tuning surfaces that only untyped values can fail (`schema.*.type`, `transfer.*.type`).

use crate::checkpoint::{validate_metadata, Array, SNNCheckpoint, METADATA_MAX_DEPTH};
use crate::error::{repr, CheckpointError};
use crate::fail;
use crate::fine_tune::{check_freeze_until, FreezeUntil, TransferConfig};
use crate::json::{self, is_integer_literal, Json};

/// A decoded host value.
#[derive(Clone, Debug, PartialEq)]
pub enum Host {
    /// `None` / JSON null.
    None,
    /// A boolean (never an integer here).
    Bool(bool),
    /// An integer of any size: its value saturated to i128, and its decimal text.
    Int(i128, String),
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
            Host::Int(..) => "int",
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
    fn sequence(&self) -> Option<&[Host]> {
        match self {
            Host::List(v) | Host::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Host::None => false,
            Host::Bool(b) => *b,
            Host::Int(v, _) => *v != 0,
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
            // Parsing the decimal text rounds correctly for integers of any size.
            Host::Int(_, text) => Some(text.parse::<f64>().unwrap_or(f64::INFINITY)),
            Host::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// Why an operation did not produce a checkpoint answer.
#[derive(Clone, Debug, PartialEq)]
pub enum HostError {
    /// The operation was rejected: a verdict.
    Reject(CheckpointError),
    /// The request itself is malformed (an unknown tag, a missing required argument): the
    /// testee answers `errored`.
    Malformed(String),
}

impl From<CheckpointError> for HostError {
    fn from(e: CheckpointError) -> Self {
        HostError::Reject(e)
    }
}

type HResult<T> = Result<T, HostError>;

fn malformed<T>(msg: impl Into<String>) -> HResult<T> {
    Err(HostError::Malformed(msg.into()))
}

fn tag_float(v: &Json) -> HResult<f64> {
    match v {
        Json::String(s) if s == "NaN" => Ok(f64::NAN),
        Json::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Json::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        other => malformed(format!("bad $float tag value {}", other.to_text())),
    }
}

fn number(text: &str) -> Host {
    if is_integer_literal(text) {
        let v = json::integer_value(text);
        Host::Int(v, text.trim_start_matches('+').to_string())
    } else {
        Host::Float(text.parse::<f64>().unwrap_or(f64::NAN))
    }
}

fn decode_array(v: &Json) -> HResult<Array> {
    let (Some(Json::Array(shape)), Some(Json::Array(data))) = (v.get("shape"), v.get("data"))
    else {
        return malformed("$array needs shape and data lists");
    };
    let shape: Vec<usize> = shape
        .iter()
        .map(|d| match d {
            Json::Number(t) if is_integer_literal(t) => {
                usize::try_from(json::integer_value(t)).ok()
            }
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            HostError::Malformed("$array shape must hold non-negative integers".into())
        })?;
    let data: Vec<f64> = data
        .iter()
        .map(|d| match d {
            Json::Number(t) => Ok(t.parse::<f64>().unwrap_or(f64::NAN)),
            Json::Object(m) if m.len() == 1 && m[0].0 == "$float" => tag_float(&m[0].1),
            other => malformed(format!("$array data entry {}", other.to_text())),
        })
        .collect::<HResult<_>>()?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return malformed("$array data length differs from its shape");
    }
    Ok(Array { shape, data })
}

/// Decodes the protocol's host-value encoding.
pub fn decode(v: &Json) -> HResult<Host> {
    Ok(match v {
        Json::Null => Host::None,
        Json::Bool(b) => Host::Bool(*b),
        Json::Number(t) => number(t),
        Json::String(s) => Host::Str(s.clone()),
        Json::Array(items) => Host::List(items.iter().map(decode).collect::<HResult<_>>()?),
        Json::Object(m) if m.len() == 1 && m[0].0.starts_with('$') => {
            let (tag, body) = (&m[0].0, &m[0].1);
            let items = |b: &Json| match b {
                Json::Array(items) => items.iter().map(decode).collect::<HResult<Vec<_>>>(),
                _ => malformed(format!("{tag} needs a list")),
            };
            match tag.as_str() {
                "$float" => Host::Float(tag_float(body)?),
                "$array" => Host::Array(decode_array(body)?),
                "$tuple" => Host::Tuple(items(body)?),
                "$set" => Host::Set(items(body)?),
                "$bytes" => match body {
                    Json::String(h)
                        if h.len() % 2 == 0 && h.bytes().all(|c| c.is_ascii_hexdigit()) =>
                    {
                        Host::Bytes(
                            (0..h.len())
                                .step_by(2)
                                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex checked"))
                                .collect(),
                        )
                    }
                    _ => return malformed("$bytes needs a hex string"),
                },
                "$map" => {
                    let Json::Array(pairs) = body else {
                        return malformed("$map needs a list of pairs");
                    };
                    Host::Dict(last_wins(
                        pairs
                            .iter()
                            .map(|p| match p {
                                Json::Array(kv) if kv.len() == 2 => {
                                    Ok((decode(&kv[0])?, decode(&kv[1])?))
                                }
                                _ => malformed("$map entries must be [key, value] pairs"),
                            })
                            .collect::<HResult<_>>()?,
                    ))
                }
                "$object" => Host::Opaque(match body {
                    Json::String(s) => s.clone(),
                    other => other.to_text(),
                }),
                other => return malformed(format!("unknown host-value tag {other}")),
            }
        }
        Json::Object(m) => Host::Dict(last_wins(
            m.iter()
                .map(|(k, v)| Ok((Host::Str(k.clone()), decode(v)?)))
                .collect::<HResult<_>>()?,
        )),
    })
}

/// An argument of an object (`state`, `args`, `config`): None when absent (it takes its
/// default); an explicit null is passed on as `Host::None`, as the protocol says.
fn argument(obj: Option<&Json>, key: &str) -> HResult<Option<Host>> {
    match obj.and_then(|o| o.get(key)) {
        None => Ok(None),
        Some(v) => decode(v).map(Some),
    }
}

/// A selector argument, where None (absent or null) means "not given".
fn selector(v: Option<Host>) -> Option<Host> {
    v.filter(|h| *h != Host::None)
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

fn arguments_object<'a>(op: &'a Json, key: &str) -> HResult<Option<&'a Json>> {
    match op.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(o @ Json::Object(_)) => Ok(Some(o)),
        Some(_) => malformed(format!("{key} must be an object")),
    }
}

fn string_items(v: &Host) -> Result<Vec<String>, String> {
    let items = v
        .sequence()
        .ok_or_else(|| format!("got {}", v.type_name()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Host::Str(s) => Ok(s.clone()),
            other => Err(format!("item {i} is {}", other.type_name())),
        })
        .collect()
}

fn layer_sizes(v: &Host) -> Result<Vec<(i64, i64)>, String> {
    let items = v
        .sequence()
        .ok_or_else(|| format!("got {}", v.type_name()))?;
    let clamp = |x: i128| i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX });
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.sequence() {
            Some([Host::Int(a, _), Host::Int(b, _)]) => Ok((clamp(*a), clamp(*b))),
            Some(pair) if pair.len() != 2 => {
                Err(format!("item {i} has {} entries, not 2", pair.len()))
            }
            Some(_) => Err(format!("item {i} holds a non-integer")),
            None => Err(format!("item {i} is {}", item.type_name())),
        })
        .collect()
}

/// Converts host metadata to JSON, refusing what is not strict JSON (`schema.metadata.type`).
fn metadata_json(v: &Host) -> Result<Json, String> {
    fn go(v: &Host, depth: usize, path: &str) -> Result<Json, String> {
        let container = matches!(v, Host::List(_) | Host::Dict(_));
        if container && depth > METADATA_MAX_DEPTH {
            return Err(format!(
                "{path} nests deeper than {METADATA_MAX_DEPTH} containers"
            ));
        }
        Ok(match v {
            Host::None => Json::Null,
            Host::Bool(b) => Json::Bool(*b),
            Host::Int(i, _) if i.abs() <= json::MAX_SAFE_INTEGER => Json::int(*i),
            Host::Int(_, t) => {
                return Err(format!("{path} is the integer {t}, beyond +/-(2^53 - 1)"))
            }
            Host::Float(f) if f.is_finite() => Json::float(*f),
            Host::Float(f) => return Err(format!("{path} is the non-finite float {f}")),
            Host::Str(s) => Json::String(s.clone()),
            Host::List(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| go(x, depth + 1, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Host::Dict(members) => Json::Object(
                members
                    .iter()
                    .map(|(k, x)| match k {
                        Host::Str(k) => Ok((
                            k.clone(),
                            go(x, depth + 1, &format!("{path}[{}]", repr(k)))?,
                        )),
                        other => Err(format!("{path} has a {} key", other.type_name())),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("{path} holds a {}", other.type_name())),
        })
    }
    match v {
        Host::Dict(_) => go(v, 1, "metadata"),
        other => Err(format!("got {}", other.type_name())),
    }
}

/// A weight value as a float64 array: an `$array`, or a rectangular nested sequence whose
/// leaves are numbers (a boolean is not one); otherwise why it is not a numeric array.
fn weight_array(v: &Host) -> Result<Array, String> {
    fn go(v: &Host, data: &mut Vec<f64>) -> Result<Vec<usize>, String> {
        match v {
            Host::Array(a) => {
                data.extend_from_slice(&a.data);
                Ok(a.shape.clone())
            }
            // numpy makes an object array of integers beyond int64/uint64.
            Host::Int(v, _) if *v < i128::from(i64::MIN) || *v > i128::from(u64::MAX) => {
                Err("object contents (an integer beyond 64 bits)".into())
            }
            Host::Int(..) | Host::Float(_) => {
                data.push(v.as_f64().expect("numeric"));
                Ok(Vec::new())
            }
            Host::List(items) | Host::Tuple(items) => {
                let mut inner: Option<Vec<usize>> = None;
                for item in items {
                    let shape = go(item, data)?;
                    match &inner {
                        Some(s) if *s != shape => return Err("a ragged nested sequence".into()),
                        Some(_) => {}
                        None => inner = Some(shape),
                    }
                }
                let mut shape = vec![items.len()];
                shape.extend(inner.unwrap_or_default());
                Ok(shape)
            }
            other => Err(format!("{} contents", other.type_name())),
        }
    }
    if !matches!(v, Host::Array(_) | Host::List(_) | Host::Tuple(_)) {
        return Err(format!("a {} instead of an array", v.type_name()));
    }
    let mut data = Vec::new();
    let shape = go(v, &mut data)?;
    Ok(Array { shape, data })
}

/// The `construct` operation: decodes `state` and builds the checkpoint.
pub fn construct(op: &Json) -> HResult<SNNCheckpoint> {
    let Some(state @ Json::Object(_)) = op.get("state") else {
        return malformed("construct needs a state object");
    };
    let required = |key: &str| -> HResult<Host> {
        argument(Some(state), key)?
            .ok_or_else(|| HostError::Malformed(format!("construct state lacks {key}")))
    };
    construct_host(
        required("weights")?,
        required("layer_names")?,
        required("layer_sizes")?,
        argument(Some(state), "neuron_types")?,
        argument(Some(state), "metadata")?,
        argument(Some(state), "frozen_layers")?,
    )
}

/// The constructor over host values (None = not given), checking the construct surface in
/// spec order.
pub fn construct_host(
    weights: Host,
    layer_names: Host,
    layer_sizes: Host,
    neuron_types: Option<Host>,
    metadata: Option<Host>,
    frozen_layers: Option<Host>,
) -> HResult<SNNCheckpoint> {
    let names = string_items(&layer_names).map_err(|d| {
        fail!(
            SchemaLayerNamesType,
            "Checkpoint layer_names must be a list of strings: {d}"
        )
    })?;
    let sizes = self::layer_sizes(&layer_sizes).map_err(|d| {
        fail!(
            SchemaLayerSizesType,
            "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: {d}"
        )
    })?;
    let neuron_types = match &neuron_types {
        None => Vec::new(),
        Some(v) => string_items(v).map_err(|d| {
            fail!(
                SchemaNeuronTypesType,
                "Checkpoint neuron_types must be a list of strings: {d}"
            )
        })?,
    };
    let frozen = match &frozen_layers {
        None => Vec::new(),
        Some(v) => string_items(v).map_err(|d| {
            fail!(
                SchemaFrozenLayersType,
                "Checkpoint frozen_layers must be a list of strings: {d}"
            )
        })?,
    };
    let metadata = match &metadata {
        None => Json::Object(Vec::new()),
        Some(v) => metadata_json(v).map_err(|d| {
            fail!(
                SchemaMetadataType,
                "Checkpoint metadata must be a JSON object: {d}"
            )
        })?,
    };
    validate_metadata(&metadata)?;
    let weights = match weights.sequence() {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, w)| weight_array(w).map_err(|d| format!("weights[{i}] has {d}")))
            .collect::<Result<Vec<_>, _>>(),
        None => Err(format!("got {}", weights.type_name())),
    }
    .map_err(|d| {
        fail!(
            SchemaWeightsType,
            "Checkpoint weights must be a list of numeric arrays: {d}"
        )
    })?;
    Ok(SNNCheckpoint::new(
        weights,
        names,
        sizes,
        neuron_types,
        metadata,
        frozen,
    )?)
}

fn layer_names_argument(operation: &str, v: &Option<Host>) -> HResult<Option<Vec<String>>> {
    match v {
        None => Ok(None),
        Some(v) => string_items(v).map(Some).map_err(|d| {
            fail!(
                TransferLayerNamesType,
                "{operation} layer_names must be a list of strings: {d}"
            )
            .into()
        }),
    }
}

/// The `freeze_layers` operation on `cp`.
pub fn freeze_layers(cp: &mut SNNCheckpoint, op: &Json) -> HResult<()> {
    let args = arguments_object(op, "args")?;
    freeze_layers_host(
        cp,
        selector(argument(args, "layer_names")?),
        selector(argument(args, "until_index")?),
    )
}

/// `freeze_layers` over host values (None = not given; pass null selectors as None).
pub fn freeze_layers_host(
    cp: &mut SNNCheckpoint,
    names: Option<Host>,
    until: Option<Host>,
) -> HResult<()> {
    if names.is_none() && until.is_none() {
        return Err(fail!(
            TransferSelectorMissing,
            "freeze_layers needs layer_names or until_index"
        )
        .into());
    }
    let names = layer_names_argument("freeze_layers", &names)?;
    let until = match until {
        None => None,
        Some(Host::Int(v, _)) => Some(v),
        Some(other) => {
            return Err(fail!(
                TransferLayerIndexType,
                "freeze_layers until_index must be an integer, not {}",
                other.type_name()
            )
            .into())
        }
    };
    Ok(cp.freeze_layers(names.as_deref(), until)?)
}

/// The `unfreeze_layers` operation on `cp`.
pub fn unfreeze_layers(cp: &mut SNNCheckpoint, op: &Json) -> HResult<()> {
    let args = arguments_object(op, "args")?;
    unfreeze_layers_host(
        cp,
        selector(argument(args, "layer_names")?),
        argument(args, "all_layers")?,
    )
}

/// `unfreeze_layers` over host values (None = not given; all_layers defaults to false).
pub fn unfreeze_layers_host(
    cp: &mut SNNCheckpoint,
    names: Option<Host>,
    all: Option<Host>,
) -> HResult<()> {
    let all = all.unwrap_or(Host::Bool(false));
    // "all_layers=True" selects; any other value (a wrong type included) does not.
    if names.is_none() && all != Host::Bool(true) {
        return Err(fail!(
            TransferSelectorMissing,
            "unfreeze_layers needs layer_names or all_layers=True"
        )
        .into());
    }
    let names = layer_names_argument("unfreeze_layers", &names)?;
    let Host::Bool(all) = all else {
        return Err(fail!(
            TransferAllLayersType,
            "unfreeze_layers all_layers must be a boolean, not {}",
            all.type_name()
        )
        .into());
    };
    Ok(cp.unfreeze_layers(names.as_deref(), all)?)
}

/// Decodes and validates a `config` object into a `TransferConfig`.
pub fn transfer_config(op: &Json) -> HResult<TransferConfig> {
    let config = arguments_object(op, "config")?;
    transfer_config_host(
        argument(config, "freeze_until")?,
        argument(config, "lr_backbone")?,
        argument(config, "lr_head")?,
    )
}

/// Builds a `TransferConfig` from host values (None = default), in spec order.
pub fn transfer_config_host(
    freeze_until: Option<Host>,
    lr_backbone: Option<Host>,
    lr_head: Option<Host>,
) -> HResult<TransferConfig> {
    let freeze_until = match freeze_until {
        None => FreezeUntil::Index(-1),
        Some(Host::Int(v, _)) => FreezeUntil::Index(v),
        Some(Host::Str(s)) => FreezeUntil::Name(s),
        Some(other) => {
            return Err(fail!(
                TransferFreezeUntilType,
                "TransferConfig freeze_until must be a layer name or an integer, not {}",
                other.type_name()
            )
            .into())
        }
    };
    check_freeze_until(&freeze_until)?;
    let mut rates = [0.0, 0.01];
    for ((slot, field), value) in rates
        .iter_mut()
        .zip(["lr_backbone", "lr_head"])
        .zip([lr_backbone, lr_head])
    {
        match value {
            None => {}
            Some(v @ (Host::Int(..) | Host::Float(_))) => *slot = v.as_f64().expect("numeric"),
            Some(other) => {
                return Err(fail!(
                    TransferLearningRateType,
                    "TransferConfig {field} must be a number, not {}",
                    other.type_name()
                )
                .into())
            }
        }
    }
    Ok(TransferConfig::new(freeze_until, rates[0], rates[1])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(text: &str) -> Json {
        json::parse(text, json::Mode::Lenient).unwrap()
    }

    fn code<T: std::fmt::Debug>(r: HResult<T>) -> String {
        match r {
            Err(HostError::Reject(e)) => e.code().to_string(),
            other => format!("{other:?}"),
        }
    }

    const OK_STATE: &str = r#""weights": [{"$array": {"shape": [1, 2], "data": [1.0, 2]}}], "layer_names": ["a"], "layer_sizes": [[2, 1]]"#;

    fn construct_with(extra: &str) -> String {
        let text = format!("{{\"op\": \"construct\", \"state\": {{{OK_STATE}{extra}}}}}");
        code(construct(&op(&text)))
    }

    #[test]
    fn decodes_tags() {
        assert_eq!(
            decode(&op(r#"{"$float": "NaN"}"#)).map(|h| h.as_f64().unwrap().is_nan()),
            Ok(true)
        );
        assert_eq!(
            decode(&op(r#"{"$bytes": "00ff"}"#)),
            Ok(Host::Bytes(vec![0, 255]))
        );
        assert_eq!(
            decode(&op(r#"{"$map": [[1, "x"]]}"#)),
            Ok(Host::Dict(vec![(
                Host::Int(1, "1".into()),
                Host::Str("x".into())
            )]))
        );
        assert!(matches!(
            decode(&op(r#"{"$nope": 1}"#)),
            Err(HostError::Malformed(_))
        ));
        assert!(matches!(
            decode(&op(r#"{"$array": {"shape": [2, 2], "data": [1]}}"#)),
            Err(HostError::Malformed(_))
        ));
        assert_eq!(
            decode(&op(r#"{"a": 1, "b": 2}"#)).map(|h| h.type_name()),
            Ok("dict")
        );
    }

    #[test]
    fn construct_checks_types_in_spec_order() {
        assert!(construct(&op(&format!("{{\"state\": {{{OK_STATE}}}}}"))).is_ok());
        assert_eq!(
            construct_with(r#", "layer_names": "a""#),
            "schema.layer_names.type"
        );
        assert_eq!(
            construct_with(r#", "layer_sizes": [[2, true]]"#),
            "schema.layer_sizes.type"
        );
        assert_eq!(
            construct_with(r#", "layer_sizes": [[2, 1.0]]"#),
            "schema.layer_sizes.type"
        );
        assert_eq!(
            construct_with(r#", "layer_sizes": [{"$tuple": [2, 1, 1]}]"#),
            "schema.layer_sizes.type"
        );
        assert!(construct(&op(&format!(
            "{{\"state\": {{{OK_STATE}, \"layer_sizes\": {{\"$tuple\": [{{\"$tuple\": [2, 1]}}]}}}}}}"
        )))
        .is_ok());
        assert_eq!(
            construct_with(r#", "neuron_types": [1]"#),
            "schema.neuron_types.type"
        );
        assert_eq!(
            construct_with(r#", "frozen_layers": "a""#),
            "schema.frozen_layers.type"
        );
        for bad in [
            r#"{"x": {"$float": "NaN"}}"#,
            r#"{"x": {"$set": [1]}}"#,
            r#"{"x": {"$bytes": "00"}}"#,
            r#"{"x": {"$object": "object()"}}"#,
            r#"{"x": {"$tuple": [1]}}"#,
            r#"{"$map": [[1, 2]]}"#,
            r#"{"x": 9007199254740992}"#,
            r#"[]"#,
        ] {
            assert_eq!(
                construct_with(&format!(", \"metadata\": {bad}")),
                "schema.metadata.type",
                "{bad}"
            );
        }
        // A $map with string keys is a plain dict (here one with a "$" key).
        assert!(construct_with(r#", "metadata": {"$map": [["$x", 1]]}"#).starts_with("Ok"));
        assert_eq!(construct_with(r#", "weights": "w""#), "schema.weights.type");
        assert_eq!(
            construct_with(r#", "weights": [[[true, false]]]"#),
            "schema.weights.type"
        );
        assert_eq!(
            construct_with(r#", "weights": [[[1, 2], [3]]]"#),
            "schema.weights.type"
        );
        assert_eq!(
            construct_with(r#", "weights": [[["a", "b"]]]"#),
            "schema.weights.type"
        );
        assert!(construct_with(r#", "weights": [[[1, 2]]]"#).starts_with("Ok"));
        assert_eq!(
            construct_with(r#", "weights": [[1, 2]]"#),
            "array.shape.rank"
        );
        // A bare number is not an array (numpy would make it 0-d), nor is a huge integer.
        assert_eq!(
            construct_with(r#", "weights": [1.5]"#),
            "schema.weights.type"
        );
        assert_eq!(
            construct_with(r#", "weights": [[[18446744073709551616, 1]]]"#),
            "schema.weights.type"
        );
        assert!(construct_with(r#", "weights": [[[18446744073709551615, 1]]]"#).starts_with("Ok"));
        // A boolean among numbers is not a number (numpy would quietly make it 1).
        assert_eq!(
            construct_with(r#", "weights": [[[1.5, true]]]"#),
            "schema.weights.type"
        );
        // An explicit null is a value of the wrong type, not "absent".
        assert_eq!(
            construct_with(r#", "neuron_types": null"#),
            "schema.neuron_types.type"
        );
        assert_eq!(
            construct_with(r#", "metadata": null"#),
            "schema.metadata.type"
        );
        assert_eq!(
            construct_with(r#", "frozen_layers": null"#),
            "schema.frozen_layers.type"
        );
        // metadata is checked before weights.
        assert_eq!(
            construct_with(r#", "weights": "w", "metadata": {"x": {"$float": "Infinity"}}"#),
            "schema.metadata.type"
        );
    }

    #[test]
    fn transfer_argument_types() {
        let cp = || construct(&op(&format!("{{\"state\": {{{OK_STATE}}}}}"))).unwrap();
        let f = |args: &str| {
            code(freeze_layers(
                &mut cp(),
                &op(&format!("{{\"args\": {args}}}")),
            ))
        };
        assert_eq!(f("{}"), "transfer.selector.missing");
        assert_eq!(
            f(r#"{"layer_names": null, "until_index": null}"#),
            "transfer.selector.missing"
        );
        assert_eq!(f(r#"{"layer_names": "a"}"#), "transfer.layer_names.type");
        assert_eq!(f(r#"{"layer_names": [1]}"#), "transfer.layer_names.type");
        assert_eq!(f(r#"{"until_index": true}"#), "transfer.layer_index.type");
        assert_eq!(f(r#"{"until_index": 1.0}"#), "transfer.layer_index.type");
        assert_eq!(
            f(r#"{"layer_names": ["b"]}"#),
            "transfer.layer_names.references"
        );
        assert_eq!(f(r#"{"until_index": 1}"#), "transfer.layer_index.range");
        assert_eq!(f(r#"{"until_index": 0}"#), "Ok(())");
        let u = |args: &str| {
            code(unfreeze_layers(
                &mut cp(),
                &op(&format!("{{\"args\": {args}}}")),
            ))
        };
        assert_eq!(u("{}"), "transfer.selector.missing");
        assert_eq!(u(r#"{"all_layers": false}"#), "transfer.selector.missing");
        assert_eq!(
            u(r#"{"layer_names": ["a"], "all_layers": 1}"#),
            "transfer.all_layers.type"
        );
        assert_eq!(u(r#"{"all_layers": true}"#), "Ok(())");
        assert_eq!(u(r#"{"all_layers": "yes"}"#), "transfer.selector.missing");
        assert_eq!(
            u(r#"{"layer_names": ["a"], "all_layers": null}"#),
            "transfer.all_layers.type"
        );
        assert_eq!(u(r#"{"layer_names": null, "all_layers": true}"#), "Ok(())");
        let c =
            |cfg: &str| code(transfer_config(&op(&format!("{{\"config\": {cfg}}}"))).map(|_| ()));
        assert_eq!(c("{}"), "Ok(())");
        assert_eq!(c(r#"{"freeze_until": true}"#), "transfer.freeze_until.type");
        assert_eq!(c(r#"{"freeze_until": null}"#), "transfer.freeze_until.type");
        assert_eq!(c(r#"{"lr_head": null}"#), "transfer.learning_rate.type");
        assert_eq!(c(r#"{"freeze_until": 1.5}"#), "transfer.freeze_until.type");
        assert_eq!(
            c(r#"{"freeze_until": -2, "lr_head": "x"}"#),
            "transfer.freeze_until.range"
        );
        assert_eq!(
            c(r#"{"lr_head": "x", "lr_backbone": -1}"#),
            "transfer.learning_rate.type"
        );
        assert_eq!(c(r#"{"lr_head": false}"#), "transfer.learning_rate.type");
        assert_eq!(
            c(r#"{"lr_head": {"$float": "NaN"}}"#),
            "transfer.learning_rate.range"
        );
        assert_eq!(c(r#"{"lr_backbone": -1}"#), "transfer.learning_rate.range");
        let cfg =
            transfer_config(&op(r#"{"config": {"lr_head": 1, "freeze_until": "a"}}"#)).unwrap();
        assert_eq!(
            (cfg.lr_head, cfg.freeze_until),
            (1.0, FreezeUntil::Name("a".into()))
        );
    }
}
