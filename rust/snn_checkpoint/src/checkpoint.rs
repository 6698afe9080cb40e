//! The in-memory checkpoint (`SNNCheckpoint`), its constructor, and `load_checkpoint`, which
//! runs the spec's load phases in order: json, schema and checkpoint (`fields`), archive, array.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::errors::{fail, CheckpointError, Invariant, Result};
pub use crate::fields::Array;
use crate::fields::{self, Fields};
use crate::hostvalue::Host;
use crate::json::{self, Integer, Json};
use crate::{npy, zip};

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
        let exact = |v: i64| Integer::from(i128::from(v));
        let layer_sizes: Vec<_> = layer_sizes
            .iter()
            .map(|&(i, o)| (exact(i), exact(o)))
            .collect();
        Self::checked(
            weights,
            layer_names,
            &layer_sizes,
            neuron_types,
            metadata,
            frozen_layers,
        )
    }

    /// The construct surface over typed values, the layer sizes exact (of any size).
    fn checked(
        weights: Vec<Array>,
        layer_names: Vec<String>,
        layer_sizes: &[(Integer, Integer)],
        neuron_types: Vec<String>,
        metadata: Json,
        frozen_layers: Vec<String>,
    ) -> Result<Self> {
        let layer_sizes = fields::check_state(
            &weights,
            &layer_names,
            layer_sizes,
            &neuron_types,
            &metadata,
            &frozen_layers,
        )?;
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
        self.weights
            .iter()
            .map(|w| {
                let mut h = Sha256::new();
                for v in &w.data {
                    h.update(v.to_le_bytes());
                }
                hex(&h.finalize())
            })
            .collect()
    }
}

/// The constructor over untyped host values (None = not given): the `schema.*` types in spec
/// order, then every invariant of [`SNNCheckpoint::new`].
pub fn construct_host(
    weights: Host,
    layer_names: Host,
    layer_sizes: Host,
    neuron_types: Option<Host>,
    metadata: Option<Host>,
    frozen_layers: Option<Host>,
) -> Result<SNNCheckpoint> {
    let strings = |v: Option<Host>, invariant| match v {
        None => Ok(Vec::new()),
        Some(v) => fields::host_strings(&v, invariant),
    };
    let layer_names = fields::host_strings(&layer_names, Invariant::SchemaLayerNamesType)?;
    let layer_sizes = fields::host_size_pairs(&layer_sizes)?;
    let neuron_types = strings(neuron_types, Invariant::SchemaNeuronTypesType)?;
    let frozen_layers = strings(frozen_layers, Invariant::SchemaFrozenLayersType)?;
    let metadata = match metadata {
        None => Json::Object(Vec::new()),
        Some(v) => fields::host_metadata(&v)?,
    };
    let weights = fields::host_weights(&weights)?;
    SNNCheckpoint::checked(
        weights,
        layer_names,
        &layer_sizes,
        neuron_types,
        metadata,
        frozen_layers,
    )
}

/// Loads BASE.json and BASE.npz, checking every load-surface invariant in spec order.
pub fn load_checkpoint(base: impl AsRef<Path>) -> Result<SNNCheckpoint> {
    let (json_path, archive_path) = paths(base.as_ref());
    // json: the document's bytes.
    let document = read_file(&json_path, Invariant::JsonFilePresent)?;
    let document = json::decode_document(&document, &json_path)?;
    // schema and checkpoint: its fields.
    let fields = fields::check_document(&document)?;
    // archive: the pair, then the zip and its members.
    let archive = read_file(&archive_path, Invariant::ArchiveFilePresent)?;
    check_digest(&archive, &fields, &archive_path)?;
    let members = zip::layer_members(&archive, &fields.layer_names)?;
    // array: each member's matrix.
    let weights = npy::decode_layers(&members, &fields.layer_names, &fields.layer_sizes)?;
    Ok(SNNCheckpoint {
        weights,
        layer_names: fields.layer_names,
        layer_sizes: fields.layer_sizes,
        neuron_types: fields.neuron_types,
        metadata: fields.metadata,
        frozen_layers: fields.frozen_layers.into_iter().collect(),
    })
}

/// BASE.json and BASE.npz: suffixes are appended, never substituted ("model.v1" must not
/// become "model.npz").
fn paths(base: &Path) -> (PathBuf, PathBuf) {
    (with_suffix(base, ".json"), with_suffix(base, ".npz"))
}

/// `BASE` + suffix, without touching any existing extension.
pub fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(base.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// The bytes of a regular file, else `invariant` (json.file.present or archive.file.present).
fn read_file(path: &Path, invariant: Invariant) -> Result<Vec<u8>> {
    let shown = path.display().to_string();
    let missing = |path: String| CheckpointError::new(invariant, &[("path", &path)]);
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => std::fs::read(path).map_err(|e| missing(format!("{shown} ({e})"))),
        _ => Err(missing(shown)),
    }
}

/// `archive.digest`: the archive is the one the document was saved with.
fn check_digest(archive: &[u8], fields: &Fields, path: &Path) -> Result<()> {
    match &fields.archive_sha256 {
        Some(want) if *want != hex(&Sha256::digest(archive)) => {
            Err(fail!(ArchiveDigest, path = path.display()))
        }
        _ => Ok(()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
