//! Fuzz target: `snn_checkpoint::load_checkpoint` on a `.json` and a `.npz` made from one input.
//!
//! The input is split by its first four bytes (little-endian, taken modulo the rest's length
//! plus one): that many bytes are the document, the others the archive (`make fuzz-native`
//! seeds the corpus with the fixture pairs in this form). Both are written to a private
//! folder (in memory under /dev/shm when it exists) and loaded through the public API, file
//! reads included. Every rejection is a `CheckpointError` by type (its code is a spec ID by
//! construction), so a finding is what the type cannot express: a panic, an abort, a hang
//! (`-timeout`) or memory beyond `-rss_limit_mb` (an allocation sized from a declared length).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// Where the pair is written: `SNN_FUZZ_SCRATCH` (`make fuzz-native` makes and removes one in
/// memory), else a folder of this process's own under /dev/shm or the temporary folder.
fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder = match std::env::var_os("SNN_FUZZ_SCRATCH") {
            Some(given) => PathBuf::from(given),
            None => {
                let shm = PathBuf::from("/dev/shm");
                let base = if shm.is_dir() { shm } else { std::env::temp_dir() };
                base.join(format!("snn-fuzz-{}", std::process::id()))
            }
        };
        std::fs::create_dir_all(&folder).expect("a scratch folder for the pair");
        folder
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, rest) = data.split_at(4);
    let declared = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let (document, archive) = rest.split_at(declared % (rest.len() + 1));
    let base = folder().join("checkpoint");
    std::fs::write(base.with_extension("json"), document).expect("write the document");
    std::fs::write(base.with_extension("npz"), archive).expect("write the archive");
    let _verdict = snn_checkpoint::load_checkpoint(&base);
});
