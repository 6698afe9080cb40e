//! The in-memory checkpoint (`SNNCheckpoint`), its constructor and `load_checkpoint`.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{repr, repr_bytes, CheckpointError, Invariant, Result};
use crate::fail;
use crate::json::{self, is_integer_literal, Json, JsonProblem};
use crate::{npy, zip};

/// Lexical nesting limit of the metadata document (`limits.json_max_depth`).
pub const JSON_MAX_DEPTH: usize = 64;
/// Container nesting limit of in-memory metadata (`limits.metadata_max_depth`).
pub const METADATA_MAX_DEPTH: usize = 63;
/// Largest input_features / output_features (`limits.layer_features_max`).
pub const LAYER_FEATURES_MAX: i64 = 2_147_483_647;

/// The top-level keys of the metadata document, in the writer's order; all but the last are
/// required.
pub const DOCUMENT_KEYS: [&str; 8] = [
    "layer_names",
    "layer_sizes",
    "neuron_types",
    "frozen_layers",
    "n_layers",
    "total_params",
    "metadata",
    "archive_sha256",
];

/// A dense float64 array of any rank, row-major (the constructor's weight input).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values in row-major order.
    pub data: Vec<f64>,
}

/// A validated checkpoint: weights, layer description, metadata and the frozen set.
#[derive(Clone, Debug, PartialEq)]
pub struct SNNCheckpoint {
    weights: Vec<Array>,
    layer_names: Vec<String>,
    layer_sizes: Vec<(i64, i64)>,
    neuron_types: Vec<String>,
    metadata: Json,
    frozen_layers: BTreeSet<String>,
}

impl SNNCheckpoint {
    /// Builds a checkpoint from in-memory values, checking every construct-surface invariant
    /// that typed values can violate, in spec order. `layer_sizes` are (input, output) pairs;
    /// `metadata` must be a JSON object.
    pub fn new(
        weights: Vec<Array>,
        layer_names: Vec<String>,
        layer_sizes: Vec<(i64, i64)>,
        neuron_types: Vec<String>,
        metadata: Json,
        frozen_layers: Vec<String>,
    ) -> Result<Self> {
        validate_metadata(&metadata)?;
        check_layers(&layer_names, &layer_sizes, &neuron_types, &frozen_layers)?;
        if weights.len() != layer_names.len() {
            return Err(fail!(
                CheckpointWeightsCount,
                "Checkpoint has {} weight matrices but there are {} layers",
                weights.len(),
                layer_names.len()
            ));
        }
        check_weights(&weights, &layer_names, &layer_sizes)?;
        Ok(SNNCheckpoint {
            weights,
            layer_names,
            layer_sizes,
            neuron_types,
            metadata,
            frozen_layers: frozen_layers.into_iter().collect(),
        })
    }

    /// The number of layers.
    pub fn n_layers(&self) -> usize {
        self.layer_names.len()
    }

    /// The sum of input_features * output_features over the layers.
    pub fn total_params(&self) -> i128 {
        self.layer_sizes
            .iter()
            .map(|&(i, o)| i128::from(i) * i128::from(o))
            .sum()
    }

    /// The weight matrices, `(output_features, input_features)` each, row-major.
    pub fn weights(&self) -> &[Array] {
        &self.weights
    }

    /// The layer names.
    pub fn layer_names(&self) -> &[String] {
        &self.layer_names
    }

    /// The (input_features, output_features) pairs.
    pub fn layer_sizes(&self) -> &[(i64, i64)] {
        &self.layer_sizes
    }

    /// The neuron model names (empty, or one per layer).
    pub fn neuron_types(&self) -> &[String] {
        &self.neuron_types
    }

    /// The user's metadata object.
    pub fn metadata(&self) -> &Json {
        &self.metadata
    }

    /// The frozen layer names, sorted by code point, unique.
    pub fn frozen_layers(&self) -> Vec<String> {
        self.frozen_layers.iter().cloned().collect()
    }

    /// True when the named layer is frozen.
    pub fn is_frozen(&self, name: &str) -> bool {
        self.frozen_layers.contains(name)
    }

    pub(crate) fn frozen_mut(&mut self) -> &mut BTreeSet<String> {
        &mut self.frozen_layers
    }

    /// Per layer, the lowercase hex SHA-256 of the matrix as little-endian float64 values in
    /// row-major order.
    pub fn weight_sha256(&self) -> Vec<String> {
        self.weights.iter().map(|w| digest_f64(&w.data)).collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest_f64(values: &[f64]) -> String {
    let mut h = Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    hex(&h.finalize())
}

/// `schema.metadata.type` for a typed value: an object of strict JSON (integers within
/// +/-(2^53 - 1), finite floats) nesting at most 63 containers.
pub fn validate_metadata(metadata: &Json) -> Result<()> {
    if !matches!(metadata, Json::Object(_)) {
        return Err(fail!(
            SchemaMetadataType,
            "Checkpoint metadata must be a JSON object: got {}",
            metadata.type_name()
        ));
    }
    let mut stack: Vec<(&Json, usize, String)> = vec![(metadata, 1, "metadata".into())];
    while let Some((v, depth, path)) = stack.pop() {
        match v {
            Json::Number(t) => {
                let ok = if is_integer_literal(t) {
                    json::integer_value(t).abs() <= json::MAX_SAFE_INTEGER
                } else {
                    t.parse::<f64>().is_ok_and(f64::is_finite)
                };
                if !ok {
                    return Err(fail!(
                        SchemaMetadataType,
                        "Checkpoint metadata must be a JSON object: {path} holds {t}, which is out of range"
                    ));
                }
            }
            Json::Array(_) | Json::Object(_) if depth > METADATA_MAX_DEPTH => {
                return Err(fail!(
                    SchemaMetadataType,
                    "Checkpoint metadata must be a JSON object: {path} nests deeper than {METADATA_MAX_DEPTH} containers"
                ));
            }
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, depth + 1, format!("{path}[{i}]")));
                }
            }
            Json::Object(members) => {
                for (k, item) in members.iter().rev() {
                    stack.push((item, depth + 1, format!("{path}[{}]", repr(k))));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The checkpoint-phase invariants shared by load and construct, in spec order.
fn check_layers(
    names: &[String],
    sizes: &[(i64, i64)],
    neuron_types: &[String],
    frozen: &[String],
) -> Result<()> {
    if let Some(i) = names.iter().position(String::is_empty) {
        return Err(fail!(
            CheckpointLayerNamesNonempty,
            "Checkpoint layer name at index {i} is empty"
        ));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(fail!(
            CheckpointLayerNamesUnique,
            "Checkpoint layer_names must be unique: {} appears more than once",
            repr(dup)
        ));
    }
    if sizes.len() != names.len() {
        return Err(fail!(
            CheckpointLayerSizesCount,
            "Checkpoint layer_sizes has {} entries but there are {} layers",
            sizes.len(),
            names.len()
        ));
    }
    for (name, &(i, o)) in names.iter().zip(sizes) {
        for (field, v) in [("input_features", i), ("output_features", o)] {
            if !(1..=LAYER_FEATURES_MAX).contains(&v) {
                return Err(fail!(
                    CheckpointLayerSizesRange,
                    "Checkpoint layer {} has {field} = {v}, outside [1, {LAYER_FEATURES_MAX}]",
                    repr(name)
                ));
            }
        }
    }
    if !neuron_types.is_empty() && neuron_types.len() != names.len() {
        return Err(fail!(
            CheckpointNeuronTypesCount,
            "Checkpoint neuron_types has {} entries but there are {} layers (or pass none)",
            neuron_types.len(),
            names.len()
        ));
    }
    if let Some(f) = frozen.iter().find(|f| !seen.contains(f.as_str())) {
        return Err(fail!(
            CheckpointFrozenLayersReferences,
            "Checkpoint frozen layer {} is not a layer of this checkpoint",
            repr(f)
        ));
    }
    Ok(())
}

fn first_non_finite(data: &[f64], cols: usize) -> Option<String> {
    let k = data.iter().position(|v| !v.is_finite())?;
    Some(match k.checked_div(cols) {
        Some(row) => format!("({row}, {})", k % cols),
        None => format!("index {k}"),
    })
}

/// array.shape.rank, array.shape.match and array.finite over constructor weights.
fn check_weights(weights: &[Array], names: &[String], sizes: &[(i64, i64)]) -> Result<()> {
    if let Some((w, name)) = weights.iter().zip(names).find(|(w, _)| w.shape.len() != 2) {
        return Err(fail!(
            ArrayShapeRank,
            "Checkpoint layer {} weights must be 2-D, got shape {}",
            repr(name),
            npy::shape_text(&w.shape)
        ));
    }
    for ((w, name), &(i, o)) in weights.iter().zip(names).zip(sizes) {
        if w.shape[0] as i64 != o || w.shape[1] as i64 != i {
            return Err(fail!(
                ArrayShapeMatch,
                "Checkpoint layer {} weights have shape {}, expected ({o}, {i})",
                repr(name),
                npy::shape_text(&w.shape)
            ));
        }
    }
    for (w, name) in weights.iter().zip(names) {
        if let Some(at) = first_non_finite(&w.data, w.shape[1]) {
            return Err(fail!(
                ArrayFinite,
                "Checkpoint layer {} has a non-finite weight at {at}",
                repr(name)
            ));
        }
    }
    Ok(())
}

/// `BASE` + suffix, without touching any existing extension.
pub fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(base.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

fn read_regular_file(path: &Path) -> Option<std::io::Result<Vec<u8>>> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Some(std::fs::read(path)),
        _ => None,
    }
}

/// Reads and checks BASE.json through the json phase.
fn read_document(path: &Path) -> Result<Json> {
    let shown = path.display();
    let bytes = match read_regular_file(path) {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            return Err(fail!(
                JsonFilePresent,
                "Checkpoint metadata file not found: {shown} ({e})"
            ))
        }
        None => {
            return Err(fail!(
                JsonFilePresent,
                "Checkpoint metadata file not found: {shown}"
            ))
        }
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        fail!(
            JsonEncodingUtf8,
            "Checkpoint metadata is not valid UTF-8: invalid byte sequence at offset {} of {shown}",
            e.valid_up_to()
        )
    })?;
    if text.starts_with('\u{feff}') {
        return Err(fail!(
            JsonEncodingBom,
            "Checkpoint metadata starts with a byte-order mark: {shown}"
        ));
    }
    if json::lexical_depth(text.as_bytes()) > JSON_MAX_DEPTH {
        return Err(fail!(
            JsonDepth,
            "Checkpoint metadata nests deeper than {JSON_MAX_DEPTH} levels: {shown}"
        ));
    }
    json::parse(text, json::Mode::Strict).map_err(|p| match p {
        JsonProblem::Syntax(d) => fail!(JsonSyntax, "Checkpoint metadata is not valid JSON: {d} in {shown}"),
        JsonProblem::Nonfinite(t) => fail!(
            JsonNonfinite,
            "Checkpoint metadata contains a non-finite number literal ({t}), which is not JSON: {shown}"
        ),
        JsonProblem::NumberRange(n) => fail!(
            JsonNumberRange,
            "Checkpoint metadata number {n} is out of range: {shown}"
        ),
        JsonProblem::DuplicateKey(k) => fail!(
            JsonKeysUnique,
            "Checkpoint metadata has duplicate key {}: {shown}",
            repr(&k)
        ),
    })
}

/// The typed content of a schema-valid document.
struct Document {
    names: Vec<String>,
    sizes: Vec<(i64, i64)>,
    neuron_types: Vec<String>,
    frozen: Vec<String>,
    n_layers: i128,
    total_params: i128,
    metadata: Json,
    archive_sha256: Option<String>,
}

fn string_list(v: &Json, inv: Invariant, key: &str) -> Result<Vec<String>> {
    let what = match key {
        "layer_names" => "Checkpoint layer_names must be a list of strings",
        "neuron_types" => "Checkpoint neuron_types must be a list of strings",
        _ => "Checkpoint frozen_layers must be a list of strings",
    };
    let Json::Array(items) = v else {
        return Err(CheckpointError::new(
            inv,
            format!("{what}: got {}", v.type_name()),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::String(s) => Ok(s.clone()),
            other => Err(CheckpointError::new(
                inv,
                format!("{what}: {key}[{i}] is {}", other.type_name()),
            )),
        })
        .collect()
}

fn integer_of(v: &Json) -> Option<i128> {
    match v {
        Json::Number(t) if is_integer_literal(t) => Some(json::integer_value(t)),
        _ => None,
    }
}

fn schema(doc: Json) -> Result<Document> {
    let Json::Object(members) = doc else {
        return Err(fail!(
            SchemaRootType,
            "Checkpoint metadata must be a JSON object, not {}",
            doc.type_name()
        ));
    };
    let get = |k: &str| members.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    if let Some(k) = DOCUMENT_KEYS[..7].iter().find(|k| get(k).is_none()) {
        return Err(fail!(
            SchemaKeysRequired,
            "Checkpoint metadata is missing required key {}",
            repr(k)
        ));
    }
    if let Some((k, _)) = members
        .iter()
        .find(|(k, _)| !DOCUMENT_KEYS.contains(&k.as_str()))
    {
        return Err(fail!(
            SchemaKeysKnown,
            "Checkpoint metadata has unknown key {}",
            repr(k)
        ));
    }
    let req = |k: &str| get(k).expect("required keys checked");
    let names = string_list(
        req("layer_names"),
        Invariant::SchemaLayerNamesType,
        "layer_names",
    )?;
    let sizes = layer_sizes(req("layer_sizes"))?;
    let neuron_types = string_list(
        req("neuron_types"),
        Invariant::SchemaNeuronTypesType,
        "neuron_types",
    )?;
    let frozen = string_list(
        req("frozen_layers"),
        Invariant::SchemaFrozenLayersType,
        "frozen_layers",
    )?;
    let n_layers = integer_of(req("n_layers")).ok_or_else(|| {
        fail!(
            SchemaNLayersType,
            "Checkpoint n_layers must be an integer, not {}",
            req("n_layers").type_name()
        )
    })?;
    let total_params = integer_of(req("total_params")).ok_or_else(|| {
        fail!(
            SchemaTotalParamsType,
            "Checkpoint total_params must be an integer, not {}",
            req("total_params").type_name()
        )
    })?;
    let metadata = req("metadata").clone();
    if !matches!(metadata, Json::Object(_)) {
        return Err(fail!(
            SchemaMetadataType,
            "Checkpoint metadata must be a JSON object: the metadata key holds {}",
            metadata.type_name()
        ));
    }
    let archive_sha256 = match get("archive_sha256") {
        None => None,
        Some(Json::String(s))
            if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Some(s.clone())
        }
        Some(Json::String(s)) => {
            return Err(fail!(
                SchemaArchiveSha256Type,
                "Checkpoint archive_sha256 must be 64 lowercase hex digits: got {}",
                repr(s)
            ))
        }
        Some(other) => {
            return Err(fail!(
                SchemaArchiveSha256Type,
                "Checkpoint archive_sha256 must be 64 lowercase hex digits: got {}",
                other.type_name()
            ))
        }
    };
    Ok(Document {
        names,
        sizes,
        neuron_types,
        frozen,
        n_layers,
        total_params,
        metadata,
        archive_sha256,
    })
}

fn layer_sizes(v: &Json) -> Result<Vec<(i64, i64)>> {
    let bad = |detail: String| {
        fail!(
            SchemaLayerSizesType,
            "Checkpoint layer_sizes must be a list of (input_features, output_features) integer pairs: {detail}"
        )
    };
    let Json::Array(items) = v else {
        return Err(bad(format!("got {}", v.type_name())));
    };
    let clamp = |x: i128| i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX });
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::Array(pair) if pair.len() == 2 => {
                match (integer_of(&pair[0]), integer_of(&pair[1])) {
                    (Some(a), Some(b)) => Ok((clamp(a), clamp(b))),
                    _ => Err(bad(format!("layer_sizes[{i}] holds a non-integer"))),
                }
            }
            Json::Array(pair) => Err(bad(format!(
                "layer_sizes[{i}] has {} entries, not 2",
                pair.len()
            ))),
            other => Err(bad(format!("layer_sizes[{i}] is {}", other.type_name()))),
        })
        .collect()
}

/// Loads BASE.json and BASE.npz, checking every load-surface invariant in spec order.
pub fn load_checkpoint(base: impl AsRef<Path>) -> Result<SNNCheckpoint> {
    let base = base.as_ref();
    let doc = schema(read_document(&with_suffix(base, ".json"))?)?;
    check_layers(&doc.names, &doc.sizes, &doc.neuron_types, &doc.frozen)?;
    let n = doc.names.len();
    if doc.n_layers != n as i128 {
        return Err(fail!(
            CheckpointNLayersConsistent,
            "Checkpoint n_layers is {} but there are {n} layers",
            doc.n_layers
        ));
    }
    let expected: i128 = doc
        .sizes
        .iter()
        .map(|&(i, o)| i128::from(i) * i128::from(o))
        .sum();
    if doc.total_params != expected {
        return Err(fail!(
            CheckpointTotalParamsConsistent,
            "Checkpoint total_params is {} but the layer sizes give {expected}",
            doc.total_params
        ));
    }
    let weights = read_archive(&with_suffix(base, ".npz"), &doc)?;
    Ok(SNNCheckpoint {
        weights,
        layer_names: doc.names,
        layer_sizes: doc.sizes,
        neuron_types: doc.neuron_types,
        metadata: doc.metadata,
        frozen_layers: doc.frozen.into_iter().collect(),
    })
}

fn member_name(i: usize) -> String {
    format!("layer_{i}.npy")
}

/// The layer index a member name stands for, if it is exactly `layer_{i}.npy` with i < n.
fn member_index(name: &[u8], n: usize) -> Option<usize> {
    let digits = std::str::from_utf8(name)
        .ok()?
        .strip_prefix("layer_")?
        .strip_suffix(".npy")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical || digits.len() > 20 {
        return None;
    }
    digits.parse::<usize>().ok().filter(|&i| i < n)
}

fn read_archive(path: &Path, doc: &Document) -> Result<Vec<Array>> {
    let shown = path.display();
    let bytes = match read_regular_file(path) {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            return Err(fail!(
                ArchiveFilePresent,
                "Checkpoint weight archive not found: {shown} ({e})"
            ))
        }
        None => {
            return Err(fail!(
                ArchiveFilePresent,
                "Checkpoint weight archive not found: {shown}"
            ))
        }
    };
    if let Some(want) = &doc.archive_sha256 {
        let got = hex(&Sha256::digest(&bytes));
        if &got != want {
            return Err(fail!(
                ArchiveDigest,
                "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): {shown}"
            ));
        }
    }
    let entries = zip::read_directory(&bytes).map_err(|d| {
        fail!(
            ArchiveZipStructure,
            "Checkpoint archive is not a valid zip file: {d} ({shown})"
        )
    })?;
    let mut seen = HashSet::new();
    if let Some(e) = entries.iter().find(|e| !seen.insert(e.name.as_slice())) {
        return Err(fail!(
            ArchiveMembersDuplicate,
            "Checkpoint archive has member {} more than once ({shown})",
            repr_bytes(&e.name)
        ));
    }
    let n = doc.names.len();
    let mut by_layer: Vec<Option<&zip::Entry>> = vec![None; n];
    for e in &entries {
        match member_index(&e.name, n) {
            Some(i) => by_layer[i] = Some(e),
            None => {
                return Err(fail!(
                    ArchiveMembersUnexpected,
                    "Checkpoint archive has unexpected member {} ({shown})",
                    repr_bytes(&e.name)
                ))
            }
        }
    }
    if let Some(i) = by_layer.iter().position(Option::is_none) {
        return Err(fail!(
            ArchiveMembersMissing,
            "Checkpoint archive has no member {} for layer {} ({shown})",
            repr(&member_name(i)),
            repr(&doc.names[i])
        ));
    }
    let members: Vec<&zip::Entry> = by_layer.into_iter().flatten().collect();
    for e in &members {
        if let Some(d) = zip::method_problem(e) {
            return Err(fail!(
                ArchiveMemberMethod,
                "Checkpoint archive member {} uses unsupported {d} ({shown})",
                repr_bytes(&e.name)
            ));
        }
    }
    let mut contents = Vec::with_capacity(members.len());
    for e in &members {
        contents.push(zip::extract(&bytes, e).map_err(|d| {
            fail!(
                ArchiveMemberIntegrity,
                "Checkpoint archive member {} is corrupt: {d} ({shown})",
                repr_bytes(&e.name)
            )
        })?);
    }
    // Per layer, the first failing array invariant; the earliest across layers wins, ties going
    // to the lower layer (equivalent to checking each invariant over all layers in turn).
    let mut weights = Vec::with_capacity(n);
    let mut first: Option<CheckpointError> = None;
    for (i, data) in contents.iter().enumerate() {
        match read_layer(data, &doc.names[i], &member_name(i), doc.sizes[i]) {
            Ok(w) => weights.push(w),
            Err(e) => {
                if first.as_ref().is_none_or(|f| e.invariant < f.invariant) {
                    first = Some(e);
                }
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(weights),
    }
}

fn read_layer(member: &[u8], name: &str, member_name: &str, (i, o): (i64, i64)) -> Result<Array> {
    let shown = repr(name);
    let header = npy::parse_header(member).map_err(|(inv, d)| {
        let what = if inv == Invariant::ArrayNpyMagic {
            "is not a .npy array"
        } else {
            "has a malformed .npy header"
        };
        CheckpointError::new(
            inv,
            format!("Checkpoint layer {shown} ({member_name}) {what}: {d}"),
        )
    })?;
    if npy::is_object_descr(&header.descr) {
        return Err(fail!(
            ArrayDtypePickle,
            "Checkpoint layer {shown} ({member_name}) holds a pickled object array, which is refused"
        ));
    }
    let dt = npy::dtype(&header.descr).ok_or_else(|| {
        fail!(
            ArrayDtype,
            "Checkpoint layer {shown} ({member_name}) has unsupported dtype {}",
            repr(&header.descr)
        )
    })?;
    if header.shape.len() != 2 {
        return Err(fail!(
            ArrayShapeRank,
            "Checkpoint layer {shown} weights must be 2-D, got shape {}",
            header.shape_text()
        ));
    }
    let (rows, cols) = (header.shape[0], header.shape[1]);
    if rows != o as u64 || cols != i as u64 {
        return Err(fail!(
            ArrayShapeMatch,
            "Checkpoint layer {shown} weights have shape {}, expected ({o}, {i})",
            header.shape_text()
        ));
    }
    let expected = u128::from(rows) * u128::from(cols) * dt.size as u128;
    let got = (member.len() - header.data_offset) as u128;
    if got != expected {
        return Err(fail!(
            ArrayDataLength,
            "Checkpoint layer {shown} ({member_name}) has {got} data bytes, its header declares {expected}"
        ));
    }
    // Sizes are proven by the data length check above, so the allocation is backed by data.
    let (rows, cols) = (rows as usize, cols as usize);
    let data = npy::widen(
        &member[header.data_offset..],
        dt,
        rows,
        cols,
        header.fortran_order,
    );
    if let Some(at) = first_non_finite(&data, cols) {
        return Err(fail!(
            ArrayFinite,
            "Checkpoint layer {shown} has a non-finite weight at {at}"
        ));
    }
    Ok(Array {
        shape: vec![rows, cols],
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(rows: usize, cols: usize, v: f64) -> Array {
        Array {
            shape: vec![rows, cols],
            data: vec![v; rows * cols],
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn construct(
        weights: Vec<Array>,
        layer_names: &[&str],
        sizes: Vec<(i64, i64)>,
        neuron: &[&str],
        frozen: &[&str],
    ) -> std::result::Result<SNNCheckpoint, &'static str> {
        SNNCheckpoint::new(
            weights,
            names(layer_names),
            sizes,
            names(neuron),
            Json::Object(vec![]),
            names(frozen),
        )
        .map_err(|e| e.code())
    }

    #[test]
    fn constructs_and_reports_state() {
        let cp = construct(
            vec![arr(3, 2, 0.5), arr(1, 3, -1.0)],
            &["b", "a"],
            vec![(2, 3), (3, 1)],
            &["LIF", "LIF"],
            &["b", "a", "b"],
        )
        .unwrap();
        assert_eq!(cp.n_layers(), 2);
        assert_eq!(cp.total_params(), 9);
        assert_eq!(cp.frozen_layers(), vec!["a", "b"]);
        let mut h = Sha256::new();
        for _ in 0..6 {
            h.update(0.5f64.to_le_bytes());
        }
        assert_eq!(cp.weight_sha256()[0], hex(&h.finalize()));
    }

    #[test]
    fn construct_invariants_in_spec_order() {
        let w = || vec![arr(1, 1, 0.0)];
        assert_eq!(
            construct(w(), &[""], vec![(1, 1)], &[], &[]),
            Err("checkpoint.layer_names.nonempty")
        );
        assert_eq!(
            construct(
                vec![arr(1, 1, 0.0), arr(1, 1, 0.0)],
                &["a", "a"],
                vec![(1, 1)],
                &[],
                &[]
            ),
            Err("checkpoint.layer_names.unique")
        );
        assert_eq!(
            construct(w(), &["a"], vec![], &[], &[]),
            Err("checkpoint.layer_sizes.count")
        );
        assert_eq!(
            construct(w(), &["a"], vec![(0, 1)], &[], &[]),
            Err("checkpoint.layer_sizes.range")
        );
        assert_eq!(
            construct(w(), &["a"], vec![(1, 2_147_483_648)], &[], &[]),
            Err("checkpoint.layer_sizes.range")
        );
        assert_eq!(
            construct(w(), &["a"], vec![(1, 1)], &["LIF", "LIF"], &[]),
            Err("checkpoint.neuron_types.count")
        );
        assert_eq!(
            construct(w(), &["a"], vec![(1, 1)], &[], &["z"]),
            Err("checkpoint.frozen_layers.references")
        );
        assert_eq!(
            construct(vec![], &["a"], vec![(1, 1)], &[], &[]),
            Err("checkpoint.weights.count")
        );
        let flat = Array {
            shape: vec![1],
            data: vec![0.0],
        };
        assert_eq!(
            construct(vec![flat], &["a"], vec![(1, 1)], &[], &[]),
            Err("array.shape.rank")
        );
        assert_eq!(
            construct(vec![arr(2, 1, 0.0)], &["a"], vec![(1, 1)], &[], &[]),
            Err("array.shape.match")
        );
        assert_eq!(
            construct(vec![arr(1, 1, f64::NAN)], &["a"], vec![(1, 1)], &[], &[]),
            Err("array.finite")
        );
        // The earlier invariant wins when several fail.
        assert_eq!(
            construct(vec![], &["", ""], vec![], &["x"], &[]),
            Err("checkpoint.layer_names.nonempty")
        );
    }

    #[test]
    fn metadata_must_be_strict_json() {
        let bad = |m: &str| {
            let v = json::parse(m, json::Mode::Lenient).unwrap_or(Json::Null);
            validate_metadata(&v).err().map(|e| e.code())
        };
        assert_eq!(bad("{\"a\": [1, 2.5, {\"b\": null}]}"), None);
        assert_eq!(bad("[]"), Some("schema.metadata.type"));
        assert_eq!(
            bad("{\"a\": 9007199254740992}"),
            Some("schema.metadata.type")
        );
        let deep = "{\"a\":".repeat(63) + "1" + &"}".repeat(63);
        assert_eq!(bad(&deep), None);
        let deeper = "{\"a\":".repeat(63) + "[]" + &"}".repeat(63);
        assert_eq!(bad(&deeper), Some("schema.metadata.type"));
    }

    #[test]
    fn member_names_are_canonical() {
        assert_eq!(member_index(b"layer_0.npy", 2), Some(0));
        assert_eq!(member_index(b"layer_1.npy", 2), Some(1));
        for bad in [
            &b"layer_2.npy"[..],
            b"layer_00.npy",
            b"layer_01.npy",
            b"layer_0",
            b"Layer_0.npy",
            b"dir/layer_0.npy",
            b"layer_-1.npy",
            b"layer_+1.npy",
            b"layer_.npy",
        ] {
            assert_eq!(member_index(bad, 2), None, "{}", repr_bytes(bad));
        }
    }

    #[test]
    fn suffix_is_appended_not_replaced() {
        assert_eq!(
            with_suffix(Path::new("d/model.v1"), ".json"),
            PathBuf::from("d/model.v1.json")
        );
    }

    mod load {
        use super::super::*;
        use crate::zip::tests::{build, Member};
        use std::sync::atomic::{AtomicUsize, Ordering};

        static COUNTER: AtomicUsize = AtomicUsize::new(0);

        fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
            let f = if fortran { "True" } else { "False" };
            let mut header =
                format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
            while (header.len() + 11) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(header.len() as u16).to_le_bytes());
            b.extend_from_slice(header.as_bytes());
            b.extend_from_slice(data);
            b
        }

        fn f8(values: &[f64]) -> Vec<u8> {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        }

        /// A one-layer document (2 inputs, 3 outputs) with optional extra JSON members.
        fn doc(extra: &str) -> String {
            format!(
                r#"{{"layer_names": ["hidden"], "layer_sizes": [[2, 3]], "neuron_types": ["LIF"],
                    "frozen_layers": [], "n_layers": 1, "total_params": 6, "metadata": {{"k": 1.5}}{extra}}}"#
            )
        }

        fn layer() -> Vec<u8> {
            npy("<f8", false, "(3, 2)", &f8(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
        }

        /// Writes BASE.json / BASE.npz (None = leave the file out) and loads the pair.
        fn load_pair(
            json: Option<&[u8]>,
            npz: Option<Vec<u8>>,
        ) -> std::result::Result<SNNCheckpoint, &'static str> {
            let dir = std::env::temp_dir().join(format!(
                "snn-checkpoint-test-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let base = dir.join("model.v1");
            if let Some(j) = json {
                std::fs::write(with_suffix(&base, ".json"), j).unwrap();
            }
            if let Some(z) = npz {
                std::fs::write(with_suffix(&base, ".npz"), z).unwrap();
            }
            let result = load_checkpoint(&base).map_err(|e| e.code());
            std::fs::remove_dir_all(&dir).unwrap();
            result
        }

        fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
            let ms: Vec<Member<'_>> = members
                .iter()
                .map(|(n, d)| Member {
                    name: n.as_bytes(),
                    data: d,
                    deflate: true,
                })
                .collect();
            build(&ms)
        }

        fn with_doc(text: &str) -> std::result::Result<SNNCheckpoint, &'static str> {
            load_pair(
                Some(text.as_bytes()),
                Some(zip_of(&[("layer_0.npy", layer())])),
            )
        }

        fn with_layer(member: Vec<u8>) -> std::result::Result<SNNCheckpoint, &'static str> {
            load_pair(
                Some(doc("").as_bytes()),
                Some(zip_of(&[("layer_0.npy", member)])),
            )
        }

        fn code<T>(r: std::result::Result<T, &'static str>) -> &'static str {
            r.err().unwrap_or("accepted")
        }

        #[test]
        fn loads_a_valid_pair() {
            let cp = with_doc(&doc("")).unwrap();
            assert_eq!(cp.n_layers(), 1);
            assert_eq!(cp.total_params(), 6);
            assert_eq!(cp.weights()[0].data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            assert_eq!(cp.metadata().to_text(), r#"{"k":1.5}"#);
            assert_eq!(
                cp.weight_sha256()[0],
                digest_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            );
        }

        #[test]
        fn reads_every_accepted_layout_as_the_same_matrix() {
            let want = digest_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            let be: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect();
            let fortran = f8(&[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
            let i2: Vec<u8> = (1i16..=6).flat_map(|v| v.to_be_bytes()).collect();
            let u1: Vec<u8> = (1u8..=6).collect();
            let f2: Vec<u8> = [0x3c00u16, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            for member in [
                npy(">f8", false, "(3, 2)", &be),
                npy("<f8", true, "(3, 2)", &fortran),
                npy(">i2", false, "(3, 2)", &i2),
                npy("|u1", false, "(3, 2)", &u1),
                npy("<f2", false, "(3, 2)", &f2),
            ] {
                assert_eq!(with_layer(member).unwrap().weight_sha256()[0], want);
            }
        }

        #[test]
        fn json_phase_in_order() {
            let load = |b: &[u8]| {
                code(load_pair(
                    Some(b),
                    Some(zip_of(&[("layer_0.npy", layer())])),
                ))
            };
            assert_eq!(
                code(load_pair(None, Some(zip_of(&[])))),
                "json.file.present"
            );
            assert_eq!(load(b"{\"a\": \"\xff\"}"), "json.encoding.utf8");
            assert_eq!(load(b"{\"a\": \"\xed\xa0\x80\"}"), "json.encoding.utf8");
            assert_eq!(load(b"\xef\xbb\xbf{}"), "json.encoding.bom");
            assert_eq!(load(&[b'['; 65]), "json.depth");
            assert_eq!(load(b"{\"a\": 1,}"), "json.syntax");
            assert_eq!(load(b"{\"a\": NaN, \"a\": 1e400}"), "json.nonfinite");
            assert_eq!(load(b"{\"a\": 1e400, \"a\": 1}"), "json.number.range");
            assert_eq!(load(b"{\"a\": 1, \"a\": 1}"), "json.keys.unique");
        }

        #[test]
        fn schema_phase_in_order() {
            assert_eq!(code(with_doc("[]")), "schema.root.type");
            assert_eq!(
                code(with_doc(&doc("").replace("\"n_layers\": 1,", ""))),
                "schema.keys.required"
            );
            assert_eq!(
                code(with_doc(&doc(", \"version\": 2"))),
                "schema.keys.known"
            );
            assert_eq!(
                code(with_doc(&doc("").replace("[\"hidden\"]", "[1]"))),
                "schema.layer_names.type"
            );
            assert_eq!(
                code(with_doc(&doc("").replace("[[2, 3]]", "[[2, 3.0]]"))),
                "schema.layer_sizes.type"
            );
            assert_eq!(
                code(with_doc(&doc("").replace("[[2, 3]]", "[[2, 3, 1]]"))),
                "schema.layer_sizes.type"
            );
            assert_eq!(
                code(with_doc(&doc("").replace("[\"LIF\"]", "\"LIF\""))),
                "schema.neuron_types.type"
            );
            assert_eq!(
                code(with_doc(
                    &doc("").replace("\"frozen_layers\": []", "\"frozen_layers\": {}")
                )),
                "schema.frozen_layers.type"
            );
            assert_eq!(
                code(with_doc(
                    &doc("").replace("\"n_layers\": 1", "\"n_layers\": 1.0")
                )),
                "schema.n_layers.type"
            );
            assert_eq!(
                code(with_doc(
                    &doc("").replace("\"total_params\": 6", "\"total_params\": 6e0")
                )),
                "schema.total_params.type"
            );
            assert_eq!(
                code(with_doc(&doc("").replace("{\"k\": 1.5}", "[]"))),
                "schema.metadata.type"
            );
            assert_eq!(
                code(with_doc(&doc(", \"archive_sha256\": \"ABC\""))),
                "schema.archive_sha256.type"
            );
            assert_eq!(
                code(with_doc(&doc(", \"archive_sha256\": null"))),
                "schema.archive_sha256.type"
            );
        }

        #[test]
        fn checkpoint_phase_in_order() {
            let d = doc("");
            assert_eq!(
                code(with_doc(&d.replace("[\"hidden\"]", "[\"\"]"))),
                "checkpoint.layer_names.nonempty"
            );
            assert_eq!(
                code(with_doc(&d.replace("[\"hidden\"]", "[\"h\", \"h\"]"))),
                "checkpoint.layer_names.unique"
            );
            assert_eq!(
                code(with_doc(&d.replace("[[2, 3]]", "[]"))),
                "checkpoint.layer_sizes.count"
            );
            assert_eq!(
                code(with_doc(&d.replace("[[2, 3]]", "[[0, 3]]"))),
                "checkpoint.layer_sizes.range"
            );
            assert_eq!(
                code(with_doc(&d.replace("[\"LIF\"]", "[\"LIF\", \"LIF\"]"))),
                "checkpoint.neuron_types.count"
            );
            assert_eq!(
                code(with_doc(&d.replace(
                    "\"frozen_layers\": []",
                    "\"frozen_layers\": [\"x\"]"
                ))),
                "checkpoint.frozen_layers.references"
            );
            assert_eq!(
                code(with_doc(&d.replace("\"n_layers\": 1", "\"n_layers\": 2"))),
                "checkpoint.n_layers.consistent"
            );
            assert_eq!(
                code(with_doc(
                    &d.replace("\"total_params\": 6", "\"total_params\": 7")
                )),
                "checkpoint.total_params.consistent"
            );
            // A neuron_types of [] is fine.
            assert!(with_doc(&d.replace("[\"LIF\"]", "[]")).is_ok());
        }

        #[test]
        fn archive_phase_in_order() {
            let d = doc("");
            let load = |z: Vec<u8>| code(load_pair(Some(d.as_bytes()), Some(z)));
            assert_eq!(
                code(load_pair(Some(d.as_bytes()), None)),
                "archive.file.present"
            );
            let z = zip_of(&[("layer_0.npy", layer())]);
            let digest = hex(&Sha256::digest(&z));
            let good = doc(&format!(", \"archive_sha256\": \"{digest}\""));
            assert!(load_pair(Some(good.as_bytes()), Some(z.clone())).is_ok());
            let torn = doc(&format!(", \"archive_sha256\": \"{}\"", "0".repeat(64)));
            assert_eq!(
                code(load_pair(Some(torn.as_bytes()), Some(z))),
                "archive.digest"
            );
            assert_eq!(
                load(b"PK\x05\x06 not really".to_vec()),
                "archive.zip.structure"
            );
            assert_eq!(
                load(zip_of(&[
                    ("layer_0.npy", layer()),
                    ("layer_0.npy", layer())
                ])),
                "archive.members.duplicate"
            );
            assert_eq!(
                load(zip_of(&[
                    ("layer_0.npy", layer()),
                    ("layer_00.npy", layer())
                ])),
                "archive.members.unexpected"
            );
            assert_eq!(
                load(zip_of(&[("layer_0", layer())])),
                "archive.members.unexpected"
            );
            assert_eq!(load(zip_of(&[])), "archive.members.missing");
            let mut m = zip_of(&[("layer_0.npy", layer())]);
            let e = m.len() - 22;
            let cd = u32::from_le_bytes(m[e + 16..e + 20].try_into().unwrap()) as usize;
            m[cd + 10] = 12;
            assert_eq!(load(m.clone()), "archive.member.method");
            m[cd + 10] = 8;
            m[cd + 16] ^= 0xff;
            assert_eq!(load(m), "archive.member.integrity");
        }

        #[test]
        fn array_phase_in_order() {
            let data = f8(&[0.0; 6]);
            assert_eq!(
                code(with_layer(b"\x93NUMPY\x04\x00".to_vec())),
                "array.npy.magic"
            );
            assert_eq!(code(with_layer(b"PK".to_vec())), "array.npy.magic");
            assert_eq!(
                code(with_layer(npy("<f8", false, "[3, 2]", &data))),
                "array.npy.header"
            );
            assert_eq!(
                code(with_layer(npy("|O", false, "(3, 2)", &data))),
                "array.dtype.pickle"
            );
            assert_eq!(
                code(with_layer(npy("<c16", false, "(3, 2)", &data))),
                "array.dtype"
            );
            assert_eq!(
                code(with_layer(npy("<f8", false, "(6,)", &data))),
                "array.shape.rank"
            );
            assert_eq!(
                code(with_layer(npy("<f8", false, "(2, 3)", &data))),
                "array.shape.match"
            );
            assert_eq!(
                code(with_layer(npy("<f8", false, "(3, 2)", &data[1..]))),
                "array.data.length"
            );
            let mut long = data.clone();
            long.extend_from_slice(&[0; 8]);
            assert_eq!(
                code(with_layer(npy("<f8", false, "(3, 2)", &long))),
                "array.data.length"
            );
            assert_eq!(
                code(with_layer(npy(
                    "<f8",
                    false,
                    "(3, 2)",
                    &f8(&[0.0, 0.0, 0.0, f64::NAN, 0.0, 0.0])
                ))),
                "array.finite"
            );
            assert_eq!(
                code(with_layer(npy(
                    "<f2",
                    false,
                    "(3, 2)",
                    &[0x00, 0x7c].repeat(6)
                ))),
                "array.finite"
            );
        }

        #[test]
        fn array_invariants_run_over_all_layers_before_the_next() {
            // Layer 0 fails late (finite), layer 1 early (dtype): dtype is reported.
            let d = doc("")
                .replace("[\"hidden\"]", "[\"a\", \"b\"]")
                .replace("[[2, 3]]", "[[2, 3], [2, 3]]")
                .replace("[\"LIF\"]", "[]")
                .replace("\"n_layers\": 1", "\"n_layers\": 2")
                .replace("\"total_params\": 6", "\"total_params\": 12");
            let nan = npy("<f8", false, "(3, 2)", &f8(&[f64::NAN; 6]));
            let complex = npy("<c16", false, "(3, 2)", &[0; 96]);
            let r = load_pair(
                Some(d.as_bytes()),
                Some(zip_of(&[("layer_0.npy", nan), ("layer_1.npy", complex)])),
            );
            assert_eq!(code(r), "array.dtype");
        }
    }
}
