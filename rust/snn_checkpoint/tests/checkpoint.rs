//! The checkpoint: construction (typed and over host values), its state, loading a pair,
//! whose phases run in spec order, and saving one (spec `save`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{code, digest_f64, doc, f8, host, layer, load_pair, npy, temp_dir, zip_of};
use sha2::{Digest, Sha256};
use snn_checkpoint::checkpoint::{construct_host, with_suffix};
use snn_checkpoint::json::{self, Json};
use snn_checkpoint::testee::state_json;
use snn_checkpoint::{
    load_checkpoint, save_checkpoint, Array, Compression, Level, SNNCheckpoint, SaveError,
};

fn arr(rows: usize, cols: usize, v: f64) -> Array {
    Array {
        shape: vec![rows, cols],
        data: vec![v; rows * cols],
    }
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[test]
fn constructs_and_reports_state() {
    let cp = SNNCheckpoint::new(
        vec![arr(3, 2, 0.5), arr(1, 3, -1.0)],
        names(&["b", "a"]),
        vec![(2, 3), (3, 1)],
        names(&["LIF", "LIF"]),
        Json::Object(vec![("n".into(), Json::int(3))]),
        names(&["b", "a", "b"]),
    )
    .unwrap();
    assert_eq!(cp.n_layers(), 2);
    assert_eq!(cp.total_params(), 9);
    assert_eq!(cp.layer_sizes(), &[(2, 3), (3, 1)]);
    assert_eq!(cp.neuron_types(), names(&["LIF", "LIF"]));
    assert_eq!(cp.frozen_layers(), vec!["a", "b"]);
    assert!(cp.is_frozen("a"));
    assert_eq!(cp.metadata().to_text(), r#"{"n":3}"#);
    assert_eq!(cp.weight_sha256()[0], digest_f64(&[0.5; 6]));
}

#[test]
fn construct_refuses_in_spec_order() {
    let refused = |w: Vec<Array>, sizes: Vec<(i64, i64)>, metadata: &str| {
        let metadata = snn_checkpoint::json::parse(metadata, snn_checkpoint::json::Mode::Lenient);
        SNNCheckpoint::new(w, names(&["a"]), sizes, vec![], metadata.unwrap(), vec![])
            .err()
            .map(|e| e.code())
    };
    assert_eq!(refused(vec![arr(1, 1, 0.0)], vec![(1, 1)], "{}"), None);
    assert_eq!(
        refused(vec![], vec![(0, 1)], "{\"a\": 1e400}"),
        Some("schema.metadata.type")
    );
    assert_eq!(
        refused(vec![], vec![(0, 1)], "{}"),
        Some("checkpoint.layer_sizes.range")
    );
    assert_eq!(
        refused(vec![], vec![(1, 1)], "{}"),
        Some("checkpoint.weights.count")
    );
}

/// construct_host over protocol-encoded arguments; `extra` overrides the valid state.
fn construct_with(extra: &[(&str, &str)]) -> &'static str {
    let mut args = vec![
        (
            "weights",
            r#"[{"$array": {"shape": [1, 2], "data": [1.0, 2]}}]"#,
        ),
        ("layer_names", r#"["a"]"#),
        ("layer_sizes", r#"[[2, 1]]"#),
    ];
    for &(k, v) in extra {
        match args.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => args.push((k, v)),
        }
    }
    let get = |k: &str| args.iter().find(|(key, _)| *key == k).map(|(_, v)| host(v));
    let result = construct_host(
        get("weights").unwrap(),
        get("layer_names").unwrap(),
        get("layer_sizes").unwrap(),
        get("neuron_types"),
        get("metadata"),
        get("frozen_layers"),
    );
    result.err().map_or("accepted", |e| e.code())
}

#[test]
fn construct_over_host_values_checks_types_in_spec_order() {
    assert_eq!(construct_with(&[]), "accepted");
    assert_eq!(
        construct_with(&[("layer_names", r#""a""#)]),
        "schema.layer_names.type"
    );
    assert_eq!(
        construct_with(&[("layer_sizes", r#"[[2, true]]"#)]),
        "schema.layer_sizes.type"
    );
    assert_eq!(
        construct_with(&[("layer_sizes", r#"{"$tuple": [{"$tuple": [2, 1]}]}"#)]),
        "accepted"
    );
    assert_eq!(
        construct_with(&[("neuron_types", r#"[1]"#)]),
        "schema.neuron_types.type"
    );
    assert_eq!(
        construct_with(&[("frozen_layers", r#""a""#)]),
        "schema.frozen_layers.type"
    );
    assert_eq!(
        construct_with(&[("metadata", r#"{"x": {"$set": [1]}}"#)]),
        "schema.metadata.type"
    );
    assert_eq!(
        construct_with(&[("weights", r#""w""#)]),
        "schema.weights.type"
    );
    assert_eq!(construct_with(&[("weights", r#"[[[1, 2]]]"#)]), "accepted");
    assert_eq!(
        construct_with(&[("weights", r#"[[1, 2]]"#)]),
        "array.shape.rank"
    );
}

#[test]
fn construct_over_host_values_null_is_a_value_and_order_holds() {
    // An explicit null is a value of the wrong type, not "absent".
    assert_eq!(
        construct_with(&[("neuron_types", "null")]),
        "schema.neuron_types.type"
    );
    assert_eq!(
        construct_with(&[("metadata", "null")]),
        "schema.metadata.type"
    );
    assert_eq!(
        construct_with(&[("frozen_layers", "null")]),
        "schema.frozen_layers.type"
    );
    // metadata is checked before weights, its range and depth included.
    let both = [
        ("weights", r#""w""#),
        ("metadata", r#"{"x": {"$float": "Infinity"}}"#),
    ];
    assert_eq!(construct_with(&both), "schema.metadata.type");
    let both = [
        ("weights", r#""w""#),
        ("metadata", r#"{"x": 18446744073709551616}"#),
    ];
    assert_eq!(construct_with(&both), "schema.metadata.type");
    // The schema types come before the checkpoint phase.
    let both = [("layer_names", r#"[""]"#), ("frozen_layers", "[1]")];
    assert_eq!(construct_with(&both), "schema.frozen_layers.type");
}

fn with_doc(text: &str) -> Result<SNNCheckpoint, &'static str> {
    load_pair(
        Some(text.as_bytes()),
        Some(zip_of(&[("layer_0.npy", layer())])),
    )
}

#[test]
fn loads_a_valid_pair() {
    let cp = with_doc(&doc("")).unwrap();
    assert_eq!(cp.n_layers(), 1);
    assert_eq!(cp.total_params(), 6);
    assert_eq!(cp.layer_names(), names(&["hidden"]));
    assert_eq!(cp.weights()[0].shape, vec![3, 2]);
    assert_eq!(cp.weights()[0].data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(cp.metadata().to_text(), r#"{"k":1.5}"#);
    assert_eq!(
        cp.weight_sha256()[0],
        digest_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
}

#[test]
fn load_runs_the_phases_in_spec_order() {
    let d = doc("");
    let archive = zip_of(&[("layer_0.npy", layer())]);
    let load =
        |json: Option<&str>, npz: Option<Vec<u8>>| code(load_pair(json.map(str::as_bytes), npz));
    // Each phase's failure beats every later phase's.
    assert_eq!(load(None, None), "json.file.present");
    assert_eq!(load(Some("{"), None), "json.syntax");
    assert_eq!(load(Some("[]"), None), "schema.root.type");
    let unnamed = d.replace("[\"hidden\"]", "[\"\"]");
    assert_eq!(
        load(Some(&unnamed), None),
        "checkpoint.layer_names.nonempty"
    );
    assert_eq!(load(Some(&d), None), "archive.file.present");
    let not_a_zip = b"PK\x05\x06 not really".to_vec();
    assert_eq!(load(Some(&d), Some(not_a_zip)), "archive.zip.structure");
    let bad_member = zip_of(&[("layer_0.npy", b"PK".to_vec())]);
    assert_eq!(load(Some(&d), Some(bad_member)), "array.npy.magic");
    assert_eq!(load(Some(&d), Some(archive)), "accepted");
}

#[test]
fn archive_digest_detects_a_torn_pair() {
    let z = zip_of(&[("layer_0.npy", layer())]);
    let digest: String = Sha256::digest(&z)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let good = doc(&format!(", \"archive_sha256\": \"{digest}\""));
    assert!(load_pair(Some(good.as_bytes()), Some(z.clone())).is_ok());
    let torn = doc(&format!(", \"archive_sha256\": \"{}\"", "0".repeat(64)));
    assert_eq!(
        code(load_pair(Some(torn.as_bytes()), Some(z))),
        "archive.digest"
    );
    // The digest is checked before the zip structure.
    let torn_broken = load_pair(Some(torn.as_bytes()), Some(b"not a zip".to_vec()));
    assert_eq!(code(torn_broken), "archive.digest");
}

#[test]
fn loads_every_layer_in_order() {
    let d = doc("")
        .replace("[\"hidden\"]", "[\"a\", \"b\"]")
        .replace("[[2, 3]]", "[[2, 3], [3, 1]]")
        .replace("[\"LIF\"]", "[]")
        .replace("\"n_layers\": 1", "\"n_layers\": 2")
        .replace("\"total_params\": 6", "\"total_params\": 9");
    let second = npy("<f8", false, "(1, 3)", &f8(&[7.0, 8.0, 9.0]));
    // Member order in the archive does not matter; names do.
    let z = zip_of(&[("layer_1.npy", second), ("layer_0.npy", layer())]);
    let cp = load_pair(Some(d.as_bytes()), Some(z)).unwrap();
    assert_eq!(cp.weights()[1].data, vec![7.0, 8.0, 9.0]);
    assert_eq!(cp.layer_sizes(), &[(2, 3), (3, 1)]);
}

#[test]
fn suffix_is_appended_not_replaced() {
    assert_eq!(
        with_suffix(Path::new("d/model.v1"), ".json"),
        PathBuf::from("d/model.v1.json")
    );
}

/// The issue's example: integers across the whole 64-bit range, kept and reported exactly.
const EXAMPLE: &str =
    r#"{"seed": 18446744073709551615, "t_ns": 1764547200123456789, "neg": -9223372036854775808}"#;

#[test]
fn metadata_integers_load_and_report_bit_exactly() {
    let text = doc("").replace("{\"k\": 1.5}", EXAMPLE);
    let cp = with_doc(&text).unwrap();
    let exact = EXAMPLE.replace(' ', "");
    assert_eq!(cp.metadata().to_text(), exact);
    let state = snn_checkpoint::testee::state_json(&cp).to_text();
    assert!(state.contains(&format!("\"metadata\":{exact}")), "{state}");
    // The same values through the constructor.
    assert_eq!(construct_with(&[("metadata", EXAMPLE)]), "accepted");
    let over = [("metadata", r#"{"seed": [18446744073709551616]}"#)];
    assert_eq!(construct_with(&over), "schema.metadata.type");
}

// ---- save ----

/// `tests/data/golden.{json,npz}`: the pair the Python reference writes (compression "stored")
/// for `golden()`, made once with
/// `.venv/bin/python` running `save_checkpoint(SNNCheckpoint(weights=[[[0.0, -0.0, 1.0],
/// [math.pi, 1e-310, -2.5e300]], [[0.1, -7.0]]], layer_names=["hidden", "π-out"],
/// layer_sizes=[(3, 2), (2, 1)], neuron_types=["LIF", "Izhikevich"],
/// metadata=json.loads(open("tests/data/golden_metadata.json").read()),
/// frozen_layers=["hidden"]), "tests/data/golden", compression="stored")`.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn golden() -> SNNCheckpoint {
    let metadata = fs::read_to_string(data("golden_metadata.json")).unwrap();
    let metadata = json::parse(&metadata, json::Mode::Strict).unwrap();
    let pi = std::f64::consts::PI;
    SNNCheckpoint::new(
        vec![
            Array {
                shape: vec![2, 3],
                data: vec![0.0, -0.0, 1.0, pi, 1e-310, -2.5e300],
            },
            Array {
                shape: vec![1, 2],
                data: vec![0.1, -7.0],
            },
        ],
        names(&["hidden", "π-out"]),
        vec![(3, 2), (2, 1)],
        names(&["LIF", "Izhikevich"]),
        metadata,
        names(&["hidden"]),
    )
    .unwrap()
}

/// The names in a folder, sorted.
fn listing(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn save(cp: &SNNCheckpoint, base: &Path, compression: Compression) {
    save_checkpoint(cp, base, compression, Level::FASTEST).unwrap();
}

#[test]
fn save_then_load_gives_the_same_state() {
    let dir = temp_dir();
    let cp = golden();
    for compression in [Compression::Stored, Compression::Deflate] {
        let base = dir.join(format!("{compression:?}"));
        save(&cp, &base, compression);
        let loaded = load_checkpoint(&base).unwrap();
        // Numbers compared as values: the constructed metadata keeps its literals ("1E-5").
        let state = |cp: &SNNCheckpoint| state_json(cp).to_document_text();
        assert_eq!(state(&loaded), state(&cp));
        assert_eq!(loaded.weight_sha256(), cp.weight_sha256());
        assert_eq!(loaded.weights()[0].data[1].to_bits(), (-0.0f64).to_bits());
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stored_pair_is_byte_identical_to_the_reference_writer_s() {
    let dir = temp_dir();
    let (want_json, want_npz) = (
        fs::read(data("golden.json")).unwrap(),
        fs::read(data("golden.npz")).unwrap(),
    );
    // Constructed here, and loaded from the reference's own pair: the same bytes either way.
    let loaded = load_checkpoint(data("golden")).unwrap();
    for (name, cp) in [("constructed", golden()), ("loaded", loaded)] {
        let base = dir.join(name);
        save(&cp, &base, Compression::Stored);
        assert_eq!(
            fs::read(with_suffix(&base, ".npz")).unwrap(),
            want_npz,
            "{name}"
        );
        let got_json = fs::read_to_string(with_suffix(&base, ".json")).unwrap();
        assert_eq!(
            got_json,
            String::from_utf8(want_json.clone()).unwrap(),
            "{name}"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_deflated_pair_differs_from_the_reference_only_in_its_digest() {
    let dir = temp_dir();
    let base = dir.join("m");
    save(&golden(), &base, Compression::Deflate);
    let without_digest = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains("\"archive_sha256\""))
            .map(String::from)
            .collect()
    };
    let got = fs::read_to_string(with_suffix(&base, ".json")).unwrap();
    let want = fs::read_to_string(data("golden.json")).unwrap();
    assert_eq!(without_digest(got.clone()), without_digest(want));
    let npz = fs::read(with_suffix(&base, ".npz")).unwrap();
    let digest: String = Sha256::digest(&npz)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        got.ends_with(&format!("  \"archive_sha256\": \"{digest}\"\n}}")),
        "{got}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_appends_the_suffixes_and_creates_the_folders() {
    let dir = temp_dir();
    let base = dir.join("new/deeper/model.v1");
    save(&golden(), &base, Compression::Deflate);
    let folder = dir.join("new/deeper");
    assert_eq!(listing(&folder), ["model.v1.json", "model.v1.npz"]);
    assert!(load_checkpoint(&base).is_ok());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_uncreatable_destination_fails_and_writes_nothing() {
    let dir = temp_dir();
    fs::write(dir.join("file"), b"not a folder").unwrap();
    let result = save_checkpoint(
        &golden(),
        dir.join("file/sub/m"),
        Compression::Stored,
        Level::FASTEST,
    );
    assert!(matches!(result, Err(SaveError::Io(_))), "{result:?}");
    assert_eq!(listing(&dir), ["file"]);
    assert_eq!(fs::read(dir.join("file")).unwrap(), b"not a folder");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_document_rename_leaves_no_temporary_file() {
    // BASE.json is a folder, so the document cannot be renamed over it: the archive is new,
    // the "document" untouched, and no temporary file is left behind.
    let dir = temp_dir();
    let base = dir.join("m");
    fs::create_dir_all(dir.join("m.json/inside")).unwrap();
    let result = save_checkpoint(&golden(), &base, Compression::Stored, Level::FASTEST);
    assert!(matches!(result, Err(SaveError::Io(_))), "{result:?}");
    assert_eq!(listing(&dir), ["m.json", "m.npz"]);
    assert_eq!(listing(&dir.join("m.json")), ["inside"]);
    assert_eq!(
        fs::read(dir.join("m.npz")).unwrap(),
        fs::read(data("golden.npz")).unwrap()
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pair_torn_between_the_two_renames_loads_as_archive_digest() {
    let dir = temp_dir();
    let base = dir.join("m");
    let one_layer = |v: f64| {
        SNNCheckpoint::new(
            vec![arr(2, 2, v)],
            names(&["a"]),
            vec![(2, 2)],
            vec![],
            Json::Object(vec![]),
            vec![],
        )
        .unwrap()
    };
    let (first, second) = (one_layer(0.0), one_layer(1.0));
    save(&first, &base, Compression::Deflate);
    let old_document = fs::read(with_suffix(&base, ".json")).unwrap();
    save(&second, &base, Compression::Deflate);
    // The crash between the renames: the new archive beside the old document.
    fs::write(with_suffix(&base, ".json"), old_document).unwrap();
    assert_eq!(
        load_checkpoint(&base).err().map(|e| e.code()),
        Some("archive.digest")
    );
    fs::remove_dir_all(&dir).unwrap();
}
