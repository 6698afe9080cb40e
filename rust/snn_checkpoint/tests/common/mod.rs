//! Builders shared by the integration tests: numpy-style zip archives, `.npy` members, and
//! checkpoint pairs on disk. Each test file uses a part of them.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{write::DeflateEncoder, Compression};
use snn_checkpoint::checkpoint::with_suffix;
use snn_checkpoint::SNNCheckpoint;

/// `spec/checkpoint.yaml`, read from the repository.
pub fn spec_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/checkpoint.yaml"
    ))
    .expect("spec/checkpoint.yaml is readable")
}

/// One member for `build_zip`: name, uncompressed bytes, deflated or stored.
pub struct Member<'a> {
    pub name: &'a [u8],
    pub data: &'a [u8],
    pub deflate: bool,
}

pub const LOCAL_SIG: u32 = 0x0403_4b50;
pub const CENTRAL_SIG: u32 = 0x0201_4b50;
pub const EOCD_SIG: u32 = 0x0605_4b50;
pub const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
pub const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;

/// Raw deflate, as zip members hold it.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Writes a zip as numpy does: zip64 local headers with placeholder sizes, real sizes in a
/// plain central directory, no comment.
pub fn build_zip(members: &[Member<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let body = if m.deflate {
            deflate(m.data)
        } else {
            m.data.to_vec()
        };
        let crc = crc32fast::hash(m.data);
        let method: u16 = if m.deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        out.extend_from_slice(&[45, 0, 0, 0]);
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&u32::MAX.to_le_bytes());
        out.extend_from_slice(&u32::MAX.to_le_bytes());
        out.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(m.name);
        out.extend_from_slice(&[1, 0, 16, 0]);
        out.extend_from_slice(&(m.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&[45, 3, 45, 0, 0, 0]);
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&[0; 4]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&(body.len() as u32).to_le_bytes());
        central.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(m.name);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// A zip of deflated members.
pub fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let ms: Vec<Member<'_>> = members
        .iter()
        .map(|(n, d)| Member {
            name: n.as_bytes(),
            data: d,
            deflate: true,
        })
        .collect();
    build_zip(&ms)
}

/// A version 1.0 `.npy` member with the header padded as numpy pads it.
pub fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let f = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
    while (header.len() + 11) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    npy_raw(&header, data)
}

/// A version 1.0 `.npy` member with exactly this header text.
pub fn npy_raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

/// Little-endian float64 bytes.
pub fn f8(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The lowercase hex SHA-256 of float64 values as little-endian bytes.
pub fn digest_f64(values: &[f64]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(f8(values))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A one-layer document (2 inputs, 3 outputs) with optional extra JSON members.
pub fn doc(extra: &str) -> String {
    format!(
        r#"{{"layer_names": ["hidden"], "layer_sizes": [[2, 3]], "neuron_types": ["LIF"],
            "frozen_layers": [], "n_layers": 1, "total_params": 6, "metadata": {{"k": 1.5}}{extra}}}"#
    )
}

/// The one layer of `doc`: a (3, 2) float64 matrix holding 1..6.
pub fn layer() -> Vec<u8> {
    npy("<f8", false, "(3, 2)", &f8(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh empty folder under the system's temporary folder.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "snn-checkpoint-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes BASE.json / BASE.npz (None = leave the file out) and loads the pair; the code of
/// the rejection, if any.
pub fn load_pair(json: Option<&[u8]>, npz: Option<Vec<u8>>) -> Result<SNNCheckpoint, &'static str> {
    let dir = temp_dir();
    let base = dir.join("model.v1");
    write_pair(&base, json, npz);
    let result = snn_checkpoint::load_checkpoint(&base).map_err(|e| e.code());
    std::fs::remove_dir_all(&dir).unwrap();
    result
}

/// Writes BASE.json and BASE.npz (None = leave the file out).
pub fn write_pair(base: &Path, json: Option<&[u8]>, npz: Option<Vec<u8>>) {
    if let Some(j) = json {
        std::fs::write(with_suffix(base, ".json"), j).unwrap();
    }
    if let Some(z) = npz {
        std::fs::write(with_suffix(base, ".npz"), z).unwrap();
    }
}

/// The code of a result: "accepted" or the rejection's spec ID.
pub fn code<T>(r: Result<T, &'static str>) -> &'static str {
    r.err().unwrap_or("accepted")
}

/// A host value from its protocol encoding (docs/protocol.md).
pub fn host(text: &str) -> snn_checkpoint::hostvalue::Host {
    let v = snn_checkpoint::json::parse(text, snn_checkpoint::json::Mode::Lenient).unwrap();
    snn_checkpoint::hostvalue::decode(&v).unwrap()
}
