//! The `schema.*` and `checkpoint.*` invariants, shared by loading and constructing, and the
//! array checks both surfaces run on matrices (rank, shape, finite values).
//!
//! The load surface judges the parsed metadata document (`check_document`); the construct
//! surface judges the constructor's arguments, as untyped host values (`host_*`, the `schema.*`
//! types) and then as typed values (`check_state`). Each function checks its invariants in spec
//! order.

use std::collections::HashSet;

use crate::errors::{fail, repr, CheckpointError, Invariant, Result};
use crate::hostvalue::Host;
use crate::json::{self, is_integer_literal, Integer, Json};
use crate::limits::{
    FLOAT64_MAX, JSON_INTEGER_MAX, JSON_INTEGER_MIN, LAYER_FEATURES_MAX, LAYER_FEATURES_MIN,
    METADATA_MAX_DEPTH, WEIGHT_MAX_DEPTH,
};

/// The top-level keys the metadata document must have.
pub const REQUIRED_KEYS: [&str; 7] = [
    "layer_names",
    "layer_sizes",
    "neuron_types",
    "frozen_layers",
    "n_layers",
    "total_params",
    "metadata",
];
/// Every top-level key the metadata document may have: the required ones and `archive_sha256`.
pub const KNOWN_KEYS: [&str; 8] = [
    "layer_names",
    "layer_sizes",
    "neuron_types",
    "frozen_layers",
    "n_layers",
    "total_params",
    "metadata",
    "archive_sha256",
];

/// A dense float64 array of any rank, row-major (a weight matrix once validated).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values in row-major order.
    pub data: Vec<f64>,
}

/// The fields of a metadata document that passed the schema and checkpoint phases.
#[derive(Clone, Debug, PartialEq)]
pub struct Fields {
    /// The layer names.
    pub layer_names: Vec<String>,
    /// (input_features, output_features) per layer.
    pub layer_sizes: Vec<(i64, i64)>,
    /// Neuron model names (empty, or one per layer).
    pub neuron_types: Vec<String>,
    /// Frozen layer names, as listed.
    pub frozen_layers: Vec<String>,
    /// The user's metadata object.
    pub metadata: Json,
    /// The archive digest the document records, if any.
    pub archive_sha256: Option<String>,
}

// ---- load surface: the parsed document ----

/// The schema and checkpoint phases of loading, in spec order, over the parsed document.
pub fn check_document(document: &Json) -> Result<Fields> {
    let Json::Object(members) = document else {
        return Err(fail!(SchemaRootType, got = document.type_name()));
    };
    let get = |key: &str| members.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    if let Some(key) = REQUIRED_KEYS.iter().find(|key| get(key).is_none()) {
        return Err(fail!(SchemaKeysRequired, key = key));
    }
    if let Some((key, _)) = members
        .iter()
        .find(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
    {
        return Err(fail!(SchemaKeysKnown, key = key));
    }
    let required = |key: &str| get(key).expect("required keys are checked");
    let layer_names = json_strings(required("layer_names"), Invariant::SchemaLayerNamesType)?;
    let layer_sizes = json_size_pairs(required("layer_sizes"))?;
    let neuron_types = json_strings(required("neuron_types"), Invariant::SchemaNeuronTypesType)?;
    let frozen_layers = json_strings(required("frozen_layers"), Invariant::SchemaFrozenLayersType)?;
    let n_layers = json_integer(required("n_layers"), Invariant::SchemaNLayersType)?;
    let total_params = json_integer(required("total_params"), Invariant::SchemaTotalParamsType)?;
    let metadata = required("metadata");
    if !matches!(metadata, Json::Object(_)) {
        let detail = format!("got {}", metadata.type_name());
        return Err(fail!(SchemaMetadataType, detail = detail));
    }
    let archive_sha256 = archive_digest(get("archive_sha256"))?;
    let layer_sizes = check_layers(&layer_names, &layer_sizes, &neuron_types, &frozen_layers)?;
    check_counts(&n_layers, &total_params, &layer_names, &layer_sizes)?;
    Ok(Fields {
        layer_names,
        layer_sizes,
        neuron_types,
        frozen_layers,
        metadata: metadata.clone(),
        archive_sha256,
    })
}

fn json_strings(v: &Json, invariant: Invariant) -> Result<Vec<String>> {
    let type_error = |detail: String| CheckpointError::new(invariant, &[("detail", &detail)]);
    let Json::Array(items) = v else {
        return Err(type_error(format!("got {}", v.type_name())));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::String(s) => Ok(s.clone()),
            other => Err(type_error(format!("item {i} is {}", other.type_name()))),
        })
        .collect()
}

fn integer_of(v: &Json) -> Option<Integer> {
    match v {
        Json::Number(t) if is_integer_literal(t) => Integer::parse(t),
        _ => None,
    }
}

fn json_integer(v: &Json, invariant: Invariant) -> Result<Integer> {
    integer_of(v).ok_or_else(|| CheckpointError::new(invariant, &[("got", &v.type_name())]))
}

fn json_size_pairs(v: &Json) -> Result<Vec<(Integer, Integer)>> {
    let type_error = |detail: String| fail!(SchemaLayerSizesType, detail = detail);
    let Json::Array(items) = v else {
        return Err(type_error(format!("got {}", v.type_name())));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::Array(pair) if pair.len() == 2 => {
                match (integer_of(&pair[0]), integer_of(&pair[1])) {
                    (Some(a), Some(b)) => Ok((a, b)),
                    _ => Err(type_error(format!("item {i} holds a non-integer"))),
                }
            }
            _ => Err(type_error(format!("item {i} is not a pair"))),
        })
        .collect()
}

fn archive_digest(v: Option<&Json>) -> Result<Option<String>> {
    let detail = match v {
        None => return Ok(None),
        Some(Json::String(s))
            if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            return Ok(Some(s.clone()))
        }
        Some(Json::String(s)) => format!("got {}", repr(s)),
        Some(other) => format!("got {}", other.type_name()),
    };
    Err(fail!(SchemaArchiveSha256Type, detail = detail))
}

/// checkpoint.n_layers.consistent and checkpoint.total_params.consistent (load only).
fn check_counts(
    n_layers: &Integer,
    total_params: &Integer,
    names: &[String],
    sizes: &[(i64, i64)],
) -> Result<()> {
    if n_layers.cmp_i128(names.len() as i128).is_ne() {
        return Err(fail!(
            CheckpointNLayersConsistent,
            got = n_layers,
            expected = names.len()
        ));
    }
    let expected: i128 = sizes
        .iter()
        .map(|&(i, o)| i128::from(i) * i128::from(o))
        .sum();
    if total_params.cmp_i128(expected).is_ne() {
        return Err(fail!(
            CheckpointTotalParamsConsistent,
            got = total_params,
            expected = expected
        ));
    }
    Ok(())
}

// ---- construct surface: host values (the schema.* types) ----

/// A list (or tuple) of strings, else `invariant` (one of the schema.*.type codes).
pub fn host_strings(v: &Host, invariant: Invariant) -> Result<Vec<String>> {
    v.strings()
        .map_err(|detail| CheckpointError::new(invariant, &[("detail", &detail)]))
}

/// schema.layer_sizes.type: a list (or tuple) of integer pairs.
pub fn host_size_pairs(v: &Host) -> Result<Vec<(Integer, Integer)>> {
    let type_error = |detail: String| fail!(SchemaLayerSizesType, detail = detail);
    let items = v
        .sequence()
        .ok_or_else(|| type_error(format!("got {}", v.type_name())))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.sequence() {
            Some([Host::Int(a), Host::Int(b)]) => Ok((a.clone(), b.clone())),
            Some(pair) if pair.len() == 2 => {
                Err(type_error(format!("item {i} holds a non-integer")))
            }
            _ => Err(type_error(format!("item {i} is not a pair"))),
        })
        .collect()
}

/// schema.metadata.type: a dict of strict JSON values, as the JSON the checkpoint keeps.
pub fn host_metadata(v: &Host) -> Result<Json> {
    let metadata = match v {
        Host::Dict(_) => host_json(v, 1, "metadata"),
        other => Err(format!("got {}", other.type_name())),
    }
    .map_err(|detail| fail!(SchemaMetadataType, detail = detail))?;
    check_metadata(&metadata)?;
    Ok(metadata)
}

/// A host value as JSON, or why it is not JSON (a type JSON lacks, a non-string key, a
/// non-finite float, too deep a nesting).
fn host_json(v: &Host, depth: usize, path: &str) -> std::result::Result<Json, String> {
    let container = matches!(v, Host::List(_) | Host::Dict(_));
    if container && depth > METADATA_MAX_DEPTH {
        return Err(format!(
            "{path} nests deeper than {METADATA_MAX_DEPTH} containers"
        ));
    }
    Ok(match v {
        Host::None => Json::Null,
        Host::Bool(b) => Json::Bool(*b),
        // Kept exactly; check_metadata judges the range as json.number.range does.
        Host::Int(i) => Json::Number(i.to_string()),
        Host::Float(f) if f.abs() <= FLOAT64_MAX => Json::float(*f),
        Host::Float(f) => return Err(format!("{path} is the non-finite float {f}")),
        Host::Str(s) => Json::String(s.clone()),
        Host::List(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| host_json(x, depth + 1, &format!("{path}[{i}]")))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Host::Dict(members) => Json::Object(
            members
                .iter()
                .map(|(k, x)| match k {
                    Host::Str(k) => Ok((
                        k.clone(),
                        host_json(x, depth + 1, &format!("{path}[{}]", repr(k)))?,
                    )),
                    other => Err(format!("{path} has a {} key", other.type_name())),
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        other => return Err(format!("{path} holds a {}", other.type_name())),
    })
}

/// schema.weights.type: a list (or tuple) of numeric arrays.
pub fn host_weights(v: &Host) -> Result<Vec<Array>> {
    match v.sequence() {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, w)| weight_array(w).map_err(|d| format!("item {i} has {d}")))
            .collect(),
        None => Err(format!("got {}", v.type_name())),
    }
    .map_err(|detail| fail!(SchemaWeightsType, detail = detail))
}

/// A weight value as a float64 array: an `$array` of any rank, or a nested sequence (see
/// `flatten`); otherwise why it is not a numeric array.
fn weight_array(v: &Host) -> std::result::Result<Array, String> {
    match v {
        Host::Array(a) => Ok(a.clone()),
        Host::List(_) | Host::Tuple(_) => {
            let mut data = Vec::new();
            let shape = flatten(v, 1, &mut data)?;
            Ok(Array { shape, data })
        }
        other => Err(format!("a {} instead of an array", other.type_name())),
    }
}

/// Appends the leaves of the sequence `v`, at nesting `level` (the weight itself is level 1),
/// to `data` and returns its shape. Its items are all numbers (ints in the JSON integer range,
/// floats), or all sequences of one shape (rectangular), at most `WEIGHT_MAX_DEPTH` levels
/// deep, so the recursion is bounded; anything else (a boolean, an array) is refused.
fn flatten(v: &Host, level: usize, data: &mut Vec<f64>) -> std::result::Result<Vec<usize>, String> {
    if level > WEIGHT_MAX_DEPTH {
        return Err(format!(
            "a sequence nested deeper than {WEIGHT_MAX_DEPTH} levels"
        ));
    }
    let items = v.sequence().expect("a list or tuple");
    let mut inner: Option<Vec<usize>> = None;
    for item in items {
        let shape = match item {
            Host::List(_) | Host::Tuple(_) => flatten(item, level + 1, data)?,
            Host::Int(i) if !i.within(JSON_INTEGER_MIN, JSON_INTEGER_MAX) => {
                return Err(format!("the out-of-range integer {i}"));
            }
            Host::Int(_) | Host::Float(_) => {
                data.push(item.as_f64().expect("numeric"));
                Vec::new()
            }
            other => return Err(format!("{} contents", other.type_name())),
        };
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

// ---- construct surface: typed values ----

/// Every construct invariant typed values can violate, in spec order: schema.metadata.type,
/// the checkpoint phase, then the array checks. Returns the layer sizes as i64 pairs.
pub fn check_state(
    weights: &[Array],
    layer_names: &[String],
    layer_sizes: &[(Integer, Integer)],
    neuron_types: &[String],
    metadata: &Json,
    frozen_layers: &[String],
) -> Result<Vec<(i64, i64)>> {
    check_metadata(metadata)?;
    let layer_sizes = check_layers(layer_names, layer_sizes, neuron_types, frozen_layers)?;
    if weights.len() != layer_names.len() {
        return Err(fail!(
            CheckpointWeightsCount,
            got = weights.len(),
            expected = layer_names.len()
        ));
    }
    let shapes: Vec<Vec<u64>> = weights
        .iter()
        .map(|w| w.shape.iter().map(|&d| d as u64).collect())
        .collect();
    check_ranks(layer_names, &shapes)?;
    check_shapes(layer_names, &layer_sizes, &shapes)?;
    check_finite(layer_names, weights)?;
    Ok(layer_sizes)
}

/// `schema.metadata.type` for a JSON value: an object of strict JSON (numbers within
/// json.number.range) nesting at most `METADATA_MAX_DEPTH` containers.
pub fn check_metadata(metadata: &Json) -> Result<()> {
    if !matches!(metadata, Json::Object(_)) {
        let detail = format!("got {}", metadata.type_name());
        return Err(fail!(SchemaMetadataType, detail = detail));
    }
    let mut stack: Vec<(&Json, usize, String)> = vec![(metadata, 1, "metadata".into())];
    while let Some((v, depth, path)) = stack.pop() {
        let detail = match v {
            Json::Number(t) if !json::number_in_range(t) => {
                format!("{path} holds {t}, which is out of range")
            }
            Json::Array(_) | Json::Object(_) if depth > METADATA_MAX_DEPTH => {
                format!("{path} nests deeper than {METADATA_MAX_DEPTH} containers")
            }
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, depth + 1, format!("{path}[{i}]")));
                }
                continue;
            }
            Json::Object(members) => {
                for (k, item) in members.iter().rev() {
                    stack.push((item, depth + 1, format!("{path}[{}]", repr(k))));
                }
                continue;
            }
            _ => continue,
        };
        return Err(fail!(SchemaMetadataType, detail = detail));
    }
    Ok(())
}

// ---- shared by both surfaces ----

/// The checkpoint-phase invariants shared by load and construct, in spec order. Returns the
/// layer sizes, once proven within [LAYER_FEATURES_MIN, LAYER_FEATURES_MAX], as i64 pairs.
pub fn check_layers(
    names: &[String],
    sizes: &[(Integer, Integer)],
    neuron_types: &[String],
    frozen: &[String],
) -> Result<Vec<(i64, i64)>> {
    if let Some(index) = names.iter().position(String::is_empty) {
        return Err(fail!(CheckpointLayerNamesNonempty, index = index));
    }
    let mut seen = HashSet::new();
    if let Some(name) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(fail!(CheckpointLayerNamesUnique, name = name));
    }
    if sizes.len() != names.len() {
        return Err(fail!(
            CheckpointLayerSizesCount,
            got = sizes.len(),
            expected = names.len()
        ));
    }
    for (name, (i, o)) in names.iter().zip(sizes) {
        for (field, value) in [("input_features", i), ("output_features", o)] {
            if !value.within(LAYER_FEATURES_MIN.into(), LAYER_FEATURES_MAX.into()) {
                return Err(fail!(
                    CheckpointLayerSizesRange,
                    name = name,
                    field = field,
                    value = value,
                    maximum = LAYER_FEATURES_MAX
                ));
            }
        }
    }
    if !neuron_types.is_empty() && neuron_types.len() != names.len() {
        return Err(fail!(
            CheckpointNeuronTypesCount,
            got = neuron_types.len(),
            expected = names.len()
        ));
    }
    if let Some(name) = frozen.iter().find(|f| !seen.contains(f.as_str())) {
        return Err(fail!(CheckpointFrozenLayersReferences, name = name));
    }
    let narrow = |v: &Integer| v.to_i128().expect("within the feature limits") as i64;
    Ok(sizes.iter().map(|(i, o)| (narrow(i), narrow(o))).collect())
}

/// array.shape.rank over every layer.
pub fn check_ranks(names: &[String], shapes: &[Vec<u64>]) -> Result<()> {
    match names.iter().zip(shapes).find(|(_, shape)| shape.len() != 2) {
        Some((name, shape)) => Err(fail!(
            ArrayShapeRank,
            name = name,
            shape = shape_text(shape)
        )),
        None => Ok(()),
    }
}

/// array.shape.match over every layer: each matrix is (output_features, input_features).
pub fn check_shapes(names: &[String], sizes: &[(i64, i64)], shapes: &[Vec<u64>]) -> Result<()> {
    for ((name, &(i, o)), shape) in names.iter().zip(sizes).zip(shapes) {
        let expected = [o as u64, i as u64];
        if shape[..] != expected {
            return Err(fail!(
                ArrayShapeMatch,
                name = name,
                shape = shape_text(shape),
                expected = shape_text(&expected)
            ));
        }
    }
    Ok(())
}

/// array.finite over every layer; the position is reported as (row, column).
pub fn check_finite(names: &[String], weights: &[Array]) -> Result<()> {
    for (name, w) in names.iter().zip(weights) {
        if let Some(k) = w.data.iter().position(|v| !v.is_finite()) {
            let cols = w.shape[1];
            let position = match k.checked_div(cols) {
                Some(row) => format!("({row}, {})", k % cols),
                None => format!("index {k}"),
            };
            return Err(fail!(ArrayFinite, name = name, position = position));
        }
    }
    Ok(())
}

/// Dimensions as Python prints a tuple: `()`, `(3,)`, `(2, 3)`.
pub fn shape_text<T: std::fmt::Display>(shape: &[T]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
