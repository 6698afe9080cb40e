//! The in-memory checkpoint (`SNNCheckpoint`), its constructor, `load_checkpoint`, which
//! runs the spec's load phases in order: json, schema and checkpoint (`fields`), archive, array,
//! and `save_checkpoint`, the writer (spec `save`).

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use sha2::{Digest, Sha256};

use crate::errors::{fail, CheckpointError, Invariant, Result, SaveError};
pub use crate::fields::Array;
use crate::fields::{self, Fields};
use crate::hostvalue::Host;
use crate::json::{self, Integer, Json};
use crate::zip::{member_name, ArchiveFile, ArchiveWriter, Compression, Level, Observe, Source};
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
        Self::checked(
            weights,
            layer_names,
            &exact(&layer_sizes),
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

    /// Every construct invariant over the current fields, in spec order (what
    /// `save_checkpoint` checks before it writes anything).
    fn check(&self) -> Result<()> {
        let frozen_layers = self.frozen_layers();
        fields::check_state(
            &self.weights,
            &self.layer_names,
            &exact(&self.layer_sizes),
            &self.neuron_types,
            &self.metadata,
            &frozen_layers,
        )
        .map(drop)
    }

    /// The metadata document's required members, in the spec's key order
    /// (`metadata_document.keys`): what a save writes before `archive_sha256`, and the
    /// observable state but for the weight digests.
    pub fn document_fields(&self) -> Vec<(String, Json)> {
        let strings =
            |items: &[String]| Json::Array(items.iter().cloned().map(Json::String).collect());
        let sizes = self
            .layer_sizes
            .iter()
            .map(|&(i, o)| Json::Array(vec![Json::int(i), Json::int(o)]))
            .collect();
        let members = [
            ("layer_names", strings(&self.layer_names)),
            ("layer_sizes", Json::Array(sizes)),
            ("neuron_types", strings(&self.neuron_types)),
            ("frozen_layers", strings(&self.frozen_layers())),
            ("n_layers", Json::int(self.n_layers() as i128)),
            ("total_params", Json::int(self.total_params())),
            ("metadata", self.metadata.clone()),
        ];
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// Per layer, the lowercase hex SHA-256 of the matrix as little-endian float64 values in
    /// row-major order.
    pub fn weight_sha256(&self) -> Vec<String> {
        self.weights
            .iter()
            .map(|w| hex(&Sha256::digest(npy::le_bytes(&w.data))))
            .collect()
    }
}

/// Layer sizes as exact integers, as the shared checks take them.
fn exact(sizes: &[(i64, i64)]) -> Vec<(Integer, Integer)> {
    let exact = |v: i64| Integer::from(i128::from(v));
    sizes.iter().map(|&(i, o)| (exact(i), exact(o))).collect()
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
    // archive and array: the pair, the zip, its members and their matrices.
    let weights = read_weights(&archive_path, &fields)?;
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

/// `invariant` (json.file.present or archive.file.present) for `path`, with what went wrong.
fn missing(invariant: Invariant, path: &Path, error: Option<io::Error>) -> CheckpointError {
    let shown = match error {
        Some(e) => format!("{} ({e})", path.display()),
        None => path.display().to_string(),
    };
    CheckpointError::new(invariant, &[("path", &shown)])
}

/// Whether `path` is a regular file, else `invariant`.
fn check_file(path: &Path, invariant: Invariant) -> Result<()> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        _ => Err(missing(invariant, path, None)),
    }
}

/// The bytes of a regular file, else `invariant`.
fn read_file(path: &Path, invariant: Invariant) -> Result<Vec<u8>> {
    check_file(path, invariant)?;
    fs::read(path).map_err(|e| missing(invariant, path, Some(e)))
}

/// The archive and array phases in one sequential pass over BASE.npz: the central directory
/// first, then every byte hashed (archive.digest) and each member's bytes checked and decoded
/// into its layer's matrix. What the pass finds is reported afterwards in spec order: the
/// digest, the directory's checks, member integrity, then the array phase.
fn read_weights(path: &Path, fields: &Fields) -> Result<Vec<Array>> {
    let unreadable = |e| missing(Invariant::ArchiveFilePresent, path, Some(e));
    check_file(path, Invariant::ArchiveFilePresent)?;
    let archive = ArchiveFile::open(path).map_err(unreadable)?;
    let hashed = fields.archive_sha256.is_some();
    let members = zip::layer_members(&archive, &fields.layer_names);
    if !hashed {
        members.as_ref().map_err(Clone::clone)?;
    }
    let entries = members.as_deref().unwrap_or_default();
    let (names, sizes) = (&fields.layer_names, &fields.layer_sizes);
    let mut decoders: Vec<npy::Decoder<'_>> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| npy::Decoder::new(&names[i], i, sizes[i], e.uncompressed_size))
        .collect();
    let mut pass =
        |observe: Observe<'_>| zip::read_members(&archive, entries, &mut decoders, observe);
    let (integrity, digest) = match hashed {
        true if archive.size() >= PARALLEL_HASH_MIN => hashed_beside(pass),
        true => hashed_inline(pass),
        false => (pass(&mut |_| {}), None),
    };
    let integrity = integrity.map_err(unreadable)?;
    check_digest(digest, fields, path)?;
    members?;
    integrity?;
    npy::finish(decoders, names, sizes)
}

/// Archives from this size on are hashed on a second thread during the pass.
const PARALLEL_HASH_MIN: u64 = 4 << 20;

/// Runs `pass` with an observer that hashes what it is given (SHA-256); the digest.
fn hashed_inline<T>(pass: impl FnOnce(Observe<'_>) -> T) -> (T, Option<String>) {
    let mut digest = Sha256::new();
    let result = pass(&mut |bytes| digest.update(bytes));
    (result, Some(hex(&digest.finalize())))
}

/// As `hashed_inline`, the hashing on a second thread a few chunks behind the pass (at most
/// four queued), so that reading and decoding overlap with it.
fn hashed_beside<T>(pass: impl FnOnce(Observe<'_>) -> T) -> (T, Option<String>) {
    let (chunks, to_hash) = mpsc::sync_channel::<Vec<u8>>(4);
    let (spent, reuse) = mpsc::channel::<Vec<u8>>();
    thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut digest = Sha256::new();
            for chunk in to_hash {
                digest.update(&chunk);
                // The pass may be over, and its end of the channel gone.
                let _ = spent.send(chunk);
            }
            hex(&digest.finalize())
        });
        let mut observe = move |bytes: &[u8]| {
            let mut chunk = reuse.try_recv().unwrap_or_default();
            chunk.clear();
            chunk.extend_from_slice(bytes);
            chunks
                .send(chunk)
                .expect("the hashing thread outlives the pass");
        };
        let result = pass(&mut observe);
        drop(observe);
        (result, Some(hasher.join().expect("hashing does not panic")))
    })
}

/// `archive.digest`: the archive is the one the document was saved with.
fn check_digest(digest: Option<String>, fields: &Fields, path: &Path) -> Result<()> {
    match (&fields.archive_sha256, digest) {
        (Some(want), Some(got)) if *want != got => Err(fail!(ArchiveDigest, path = path.display())),
        _ => Ok(()),
    }
}

/// Writes BASE.npz and BASE.json (spec `save`): checks every construct invariant first (on
/// a violation nothing at all is written, not even a folder), creates BASE's parent folders,
/// then writes each file to a temporary file beside it and fsyncs it (the archive first, its
/// fsync overlapping the document's; see docs/durability.md), renames
/// the archive over BASE.npz and the document over BASE.json, and fsyncs the folder once. The
/// archive is the spec's deterministic zip, deflated at `level` (ignored for `Stored`); the
/// document is the canonical one, with the archive's SHA-256 last. A failure removes the
/// temporary files and leaves the previous pair; a failure (or a crash) between the two renames
/// leaves the new archive beside the old document, which `archive.digest` refuses to load.
pub fn save_checkpoint(
    checkpoint: &SNNCheckpoint,
    base: impl AsRef<Path>,
    compression: Compression,
    level: Level,
) -> std::result::Result<(), SaveError> {
    let rename = &mut |from: &Path, to: &Path| fs::rename(from, to);
    save_with(checkpoint, base.as_ref(), (compression, level), rename)
}

/// The step that moves a finished temporary file over its destination (a parameter so that
/// the unit tests can make it fail).
type Rename<'a> = &'a mut dyn FnMut(&Path, &Path) -> io::Result<()>;

fn save_with(
    checkpoint: &SNNCheckpoint,
    base: &Path,
    (compression, level): (Compression, Level),
    rename: Rename<'_>,
) -> std::result::Result<(), SaveError> {
    checkpoint.check()?;
    let (json_path, archive_path) = paths(base);
    fs::create_dir_all(folder_of(&json_path))?;
    let mut archive = Temporary::create(&archive_path)?;
    let mut writer = ArchiveWriter::new(&archive.file, compression, level);
    for (index, matrix) in checkpoint.weights.iter().enumerate() {
        let header = npy::header_bytes(matrix.shape[0], matrix.shape[1]);
        let data = npy::le_bytes(&matrix.data);
        writer.add(member_name(index).as_bytes(), &[&header, &data])?;
    }
    let digest = hex(&writer.finish()?.1);
    let mut document = checkpoint.document_fields();
    document.push(("archive_sha256".into(), Json::String(digest)));
    let text = Json::Object(document).to_document_text();
    // The archive's fsync runs in a second thread while the document is written and fsynced:
    // the two flushes overlap (one journal commit for both). Both end before either rename.
    let mut json = std::thread::scope(|scope| {
        let synced = scope.spawn(|| archive.file.sync_all());
        let json = Temporary::create(&json_path).and_then(|json| {
            (&json.file).write_all(text.as_bytes())?;
            json.file.sync_all()?;
            Ok(json)
        });
        let synced = synced
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        synced.and(json)
    })?;
    archive.commit(rename)?;
    json.commit(rename)?;
    File::open(folder_of(&json_path))?.sync_all()?;
    Ok(())
}

/// A file being written beside its destination, under a temporary name; removed when dropped
/// before it is renamed over the destination.
struct Temporary {
    path: PathBuf,
    destination: PathBuf,
    file: File,
    renamed: bool,
}

impl Temporary {
    /// A new file ".NAME.<random>.tmp" in the folder of `destination` (NAME its file name).
    fn create(destination: &Path) -> io::Result<Self> {
        let name = destination.file_name().unwrap_or(destination.as_os_str());
        let mut attempt = 0;
        loop {
            // RandomState is seeded randomly per process and thread, and differs on every call.
            let random = RandomState::new().build_hasher().finish();
            let mut temporary = OsString::from(".");
            temporary.push(name);
            temporary.push(format!(".{random:016x}.tmp"));
            let path = folder_of(destination).join(temporary);
            let opened = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path);
            match opened {
                Ok(file) => {
                    return Ok(Temporary {
                        path,
                        destination: destination.to_path_buf(),
                        file,
                        renamed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves the file over its destination.
    fn commit(&mut self, rename: Rename<'_>) -> io::Result<()> {
        rename(&self.path, &self.destination)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.renamed {
            // The error being reported is the one that matters; a leftover is moot.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The folder a file is in ("." for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// The lowercase hex SHA-256 of a file's bytes and their count, read a chunk at a time.
pub fn sha256_of(file: &File) -> io::Result<(String, u64)> {
    let mut digest = Sha256::new();
    let file = ArchiveFile::from_file(file)?;
    zip::observe_all(&file, &mut |bytes| digest.update(bytes))?;
    Ok((hex(&digest.finalize()), file.size()))
}

/// Bytes as lowercase hex digits (how digests are written).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The failures only a seam can force: a rename that fails (a full disk, a crash) before the
/// archive is in place, or between the two files. The public surface is tested in
/// tests/checkpoint.rs.
#[cfg(test)]
mod tests {
    use super::*;

    /// A one-layer checkpoint whose weights are all `v`.
    fn one_layer(v: f64) -> SNNCheckpoint {
        let weights = vec![Array {
            shape: vec![1, 2],
            data: vec![v; 2],
        }];
        let metadata = Json::Object(Vec::new());
        SNNCheckpoint::new(
            weights,
            vec!["a".into()],
            vec![(2, 1)],
            vec![],
            metadata,
            vec![],
        )
        .expect("a valid checkpoint")
    }

    /// Every file in `folder` with its bytes, sorted by name.
    fn files(folder: &Path) -> Vec<(OsString, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(folder)
            .expect("a folder")
            .map(|e| {
                let path = e.expect("an entry").path();
                (
                    path.file_name().expect("a name").into(),
                    fs::read(&path).expect("a file"),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// Saves `cp` to `base` with the `fail_at`-th rename failing.
    fn save_failing(cp: &SNNCheckpoint, base: &Path, fail_at: usize) -> io::ErrorKind {
        let mut renames = 0;
        let mut rename = |from: &Path, to: &Path| {
            renames += 1;
            if renames == fail_at {
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            fs::rename(from, to)
        };
        let how = (Compression::Deflate, Level::FASTEST);
        match save_with(cp, base, how, &mut rename) {
            Err(SaveError::Io(e)) => e.kind(),
            other => panic!("the save should fail, not {other:?}"),
        }
    }

    #[test]
    fn a_failed_rename_leaves_no_temporary_file_and_the_previous_pair() {
        let folder = std::env::temp_dir().join(format!("snn-save-seam-{}", std::process::id()));
        let _ = fs::remove_dir_all(&folder); // a previous run's leftovers
        let base = folder.join("c");
        save_checkpoint(&one_layer(1.0), &base, Compression::Deflate, Level::FASTEST)
            .expect("a first save");
        let before = files(&folder);
        // The archive's rename fails: the previous pair stays whole.
        assert_eq!(
            save_failing(&one_layer(2.0), &base, 1),
            io::ErrorKind::StorageFull
        );
        assert_eq!(files(&folder), before);
        // The document's rename fails: new archive, old document, refused by the digest.
        assert_eq!(
            save_failing(&one_layer(2.0), &base, 2),
            io::ErrorKind::StorageFull
        );
        let after = files(&folder);
        let names: Vec<_> = after.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(names, ["c.json", "c.npz"]);
        assert_eq!(after[0], before[0]);
        assert_ne!(after[1], before[1]);
        let torn = load_checkpoint(&base).expect_err("a torn pair");
        assert_eq!(torn.code(), "archive.digest");
        fs::remove_dir_all(&folder).expect("cleaned up");
    }
}
