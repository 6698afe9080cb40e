//! The archive phase: a zip reader that trusts only the central directory, as
//! `archive.structure_rules` says, and the `archive.*` member rules (names, methods,
//! integrity).
//!
//! numpy writes zip64 local headers whose size fields are placeholders (0xFFFFFFFF), so local
//! headers are used only to find where each member's data starts (their name and extra-field
//! lengths); sizes, CRCs and methods come from the central directory.
//!
//! The writer (`ArchiveWriter`) lays out the spec's deterministic zip (`save.writer.archive`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::str::FromStr;

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::thread;

use flate2::{Decompress, FlushDecompress, Status};
use sha2::{Digest, Sha256};

use crate::errors::{fail, repr, Result};
use crate::isal::Deflater;
use crate::limits::{ZIP_U16_MAX, ZIP_U32_MAX};

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

/// One member as the central directory describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The raw name bytes.
    pub name: Vec<u8>,
    /// Compression method (0 stored, 8 deflate).
    pub method: u16,
    /// General purpose bit flags.
    pub flags: u16,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Size of the data in the file.
    pub compressed_size: u64,
    /// Size after inflating.
    pub uncompressed_size: u64,
    /// Offset of the local header.
    pub local_offset: u64,
    /// Offset of the data (after the local header, name and extra field).
    pub data_offset: u64,
}

/// Bytes deflate produces per compressed byte at most (a run of 258 from a 2-bit code), and
/// 1 KiB for the smallest streams: a deflated member declaring more than its compressed size
/// times the one plus the other cannot inflate to it (`archive.member_integrity`), so nothing
/// is allocated from such a size.
const DEFLATE_RATIO_MAX: u64 = 1032;
const DEFLATE_RATIO_SLACK: u64 = 1024;

/// Random access to an archive's bytes: the file being loaded, or bytes in memory.
pub trait Source {
    /// The number of bytes.
    fn size(&self) -> u64;
    /// Fills `buf` with the bytes from offset `at`; an error when they are not all there.
    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<()>;
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        let bytes = usize::try_from(at)
            .ok()
            .and_then(|at| self.get(at..at.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl Source for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        self.as_slice().read_at(buf, at)
    }
}

/// An archive file opened for loading, and its size when it was opened.
pub struct ArchiveFile {
    file: File,
    size: u64,
}

impl ArchiveFile {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(ArchiveFile { file, size })
    }
}

impl ArchiveFile {
    /// A file opened elsewhere (for reading), as it is now.
    pub fn from_file(file: &File) -> io::Result<Self> {
        let file = file.try_clone()?;
        let size = file.metadata()?.len();
        Ok(ArchiveFile { file, size })
    }
}

impl Source for ArchiveFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(buf)
    }
}

/// `len` bytes of `src` from `at`, or None when they do not all lie in it.
fn fetch<S: Source + ?Sized>(src: &S, at: u64, len: u64) -> Option<Vec<u8>> {
    if at.checked_add(len)? > src.size() {
        return None;
    }
    let mut buf = vec![0; usize::try_from(len).ok()?];
    src.read_at(&mut buf, at).ok()?;
    Some(buf)
}

/// Bytes read from a source, addressed by their offsets in it.
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    fn read<S: Source + ?Sized>(src: &S, start: u64, len: u64) -> Option<Window> {
        let bytes = fetch(src, start, len)?;
        Some(Window { start, bytes })
    }

    fn u16(&self, at: u64) -> Option<u16> {
        u16_at(&self.bytes, at.checked_sub(self.start)?)
    }

    fn u32(&self, at: u64) -> Option<u32> {
        u32_at(&self.bytes, at.checked_sub(self.start)?)
    }

    fn u64(&self, at: u64) -> Option<u64> {
        u64_at(&self.bytes, at.checked_sub(self.start)?)
    }

    fn slice(&self, at: u64, len: u64) -> Option<&[u8]> {
        slice(&self.bytes, at.checked_sub(self.start)?, len)
    }
}

/// The archive phase's checks of the central directory: structure, duplicate, unexpected and
/// missing members, then methods, each over every member in spec order. Returns the entry of
/// `layer_{i}.npy` for each of the `names`.
pub fn layer_members<S: Source + ?Sized>(src: &S, names: &[String]) -> Result<Vec<Entry>> {
    let entries = read_directory(src)?;
    let mut seen = HashSet::new();
    if let Some(e) = entries.iter().find(|e| !seen.insert(e.name.as_slice())) {
        return Err(fail!(
            ArchiveMembersDuplicate,
            member = display_name(&e.name)
        ));
    }
    let mut by_layer: Vec<Option<&Entry>> = vec![None; names.len()];
    for e in &entries {
        match layer_index(&e.name, names.len()) {
            Some(i) => by_layer[i] = Some(e),
            None => {
                return Err(fail!(
                    ArchiveMembersUnexpected,
                    member = display_name(&e.name)
                ))
            }
        }
    }
    if let Some(i) = by_layer.iter().position(Option::is_none) {
        return Err(fail!(
            ArchiveMembersMissing,
            member = member_name(i),
            name = names[i]
        ));
    }
    let members: Vec<Entry> = by_layer.into_iter().flatten().cloned().collect();
    for e in &members {
        check_method(e)?;
    }
    Ok(members)
}

/// The archive member that holds layer `i`.
pub fn member_name(i: usize) -> String {
    format!("layer_{i}.npy")
}

/// The layer index a member name stands for, if it is exactly `layer_{i}.npy` with i < n.
fn layer_index(name: &[u8], n: usize) -> Option<usize> {
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

/// A member name for messages: its UTF-8 text, other bytes as `\xNN` (Python's
/// "backslashreplace").
pub fn display_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// What is wrong, for a message's detail.
type Detail<T> = std::result::Result<T, String>;

fn u16_at(b: &[u8], at: u64) -> Option<u16> {
    let at = usize::try_from(at).ok()?;
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: u64) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn slice(b: &[u8], at: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(at).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    b.get(start..end)
}

/// Finds the end record: the last signature whose 22 bytes plus comment end exactly at EOF.
fn find_end_record(b: &[u8]) -> Option<u64> {
    let len = b.len();
    if len < 22 {
        return None;
    }
    let lowest = len.saturating_sub(22 + ZIP_U16_MAX as usize);
    (lowest..=len - 22)
        .rev()
        .find(|&pos| {
            u32_at(b, pos as u64) == Some(EOCD_SIG)
                && u16_at(b, pos as u64 + 20).map(|c| 22 + c as usize) == Some(len - pos)
        })
        .map(|p| p as u64)
}

struct Directory {
    count: u64,
    size: u64,
    offset: u64,
    /// Where the end records start: the central directory must end at or before this.
    limit: u64,
}

fn end_of_directory<S: Source + ?Sized>(src: &S) -> Detail<Directory> {
    // The end record, its comment and the zip64 locator before it lie in the file's tail.
    let tail_len = src.size().min(20 + 22 + ZIP_U16_MAX);
    let b = Window::read(src, src.size() - tail_len, tail_len)
        .ok_or("cannot read the end of the file")?;
    let eocd = b.start + find_end_record(&b.bytes).ok_or("no end-of-central-directory record")?;
    let field16 = |off: u64| b.u16(eocd + off).unwrap_or(0);
    let (disk, cd_disk) = (field16(4), field16(6));
    let (on_disk, total) = (u64::from(field16(8)), u64::from(field16(10)));
    let size = u64::from(b.u32(eocd + 12).unwrap_or(0));
    let offset = u64::from(b.u32(eocd + 16).unwrap_or(0));
    let mut dir = Directory {
        count: total,
        size,
        offset,
        limit: eocd,
    };
    let (mut disk, mut cd_disk, mut on_disk) = (u32::from(disk), u32::from(cd_disk), on_disk);
    let sentinel16 = [u64::from(disk), u64::from(cd_disk), on_disk, total].contains(&ZIP_U16_MAX);
    if sentinel16 || size == ZIP_U32_MAX || offset == ZIP_U32_MAX {
        // The zip64 record then supplies every field (as Python's zipfile reads it).
        let loc = eocd
            .checked_sub(20)
            .filter(|&l| b.u32(l) == Some(ZIP64_LOCATOR_SIG))
            .ok_or("end record needs zip64 values but there is no zip64 locator")?;
        let z64_disk = b.u32(loc + 4).unwrap_or(0);
        let z64_at = b.u64(loc + 8).unwrap_or(0);
        let disks = b.u32(loc + 16).unwrap_or(0);
        if z64_disk != 0 || disks != 1 {
            return Err(format!("multi-disk zip64 archive ({disks} disks)"));
        }
        let record = Window::read(src, z64_at, 56).filter(|_| z64_at + 56 <= loc);
        let Some(z) = record.filter(|z| z.u32(z64_at) == Some(ZIP64_EOCD_SIG)) else {
            return Err("zip64 end record missing or misplaced".into());
        };
        let r = |off: u64| z.u64(z64_at + off).unwrap_or(0);
        disk = z.u32(z64_at + 16).unwrap_or(0);
        cd_disk = z.u32(z64_at + 20).unwrap_or(0);
        on_disk = r(24);
        dir.count = r(32);
        dir.size = r(40);
        dir.offset = r(48);
        dir.limit = z64_at;
    }
    if disk != 0 || cd_disk != 0 {
        return Err(format!(
            "multi-disk archive (disk {disk}, directory on disk {cd_disk})"
        ));
    }
    if on_disk != dir.count {
        return Err(format!(
            "multi-disk archive ({on_disk} entries on this disk, {} in total)",
            dir.count
        ));
    }
    Ok(dir)
}

/// Reads the central directory, enforcing every structure rule (`archive.zip.structure`).
pub fn read_directory<S: Source + ?Sized>(src: &S) -> Result<Vec<Entry>> {
    directory(src).map_err(|detail| fail!(ArchiveZipStructure, detail = detail))
}

fn directory<S: Source + ?Sized>(src: &S) -> Detail<Vec<Entry>> {
    let dir = end_of_directory(src)?;
    let cd_end = dir
        .offset
        .checked_add(dir.size)
        .filter(|&e| e <= dir.limit)
        .ok_or_else(|| {
            format!(
                "central directory (offset {}, {} bytes) does not lie before the end record",
                dir.offset, dir.size
            )
        })?;
    let b = Window::read(src, dir.offset, dir.size).ok_or("cannot read the central directory")?;
    let mut entries = Vec::new();
    let mut pos = dir.offset;
    for i in 0..dir.count {
        let (entry, next) = central_entry(&b, pos, cd_end)
            .map_err(|e| format!("central directory entry {i} of {}: {e}", dir.count))?;
        entries.push(entry);
        pos = next;
    }
    if pos != cd_end {
        return Err(format!(
            "central directory declares {} bytes but its {} entries take {}",
            dir.size,
            dir.count,
            pos - dir.offset
        ));
    }
    check_local_headers(src, &mut entries, dir.offset)?;
    Ok(entries)
}

/// The central directory entry at `pos` (which must end by `cd_end`) and where the next starts.
fn central_entry(b: &Window, pos: u64, cd_end: u64) -> Detail<(Entry, u64)> {
    let fixed = b
        .slice(pos, 46)
        .filter(|_| pos + 46 <= cd_end)
        .ok_or("the directory ends before it")?;
    if u32::from_le_bytes(fixed[0..4].try_into().expect("4 bytes")) != CENTRAL_SIG {
        return Err(format!("bad signature at offset {pos}"));
    }
    let f16 = |o: usize| u16::from_le_bytes([fixed[o], fixed[o + 1]]);
    let f32 = |o: usize| u32::from_le_bytes(fixed[o..o + 4].try_into().expect("4 bytes"));
    let (name_len, extra_len, comment_len) =
        (u64::from(f16(28)), u64::from(f16(30)), u64::from(f16(32)));
    let next = pos + 46 + name_len + extra_len + comment_len;
    if next > cd_end {
        return Err("runs past the directory".into());
    }
    let name = b
        .slice(pos + 46, name_len)
        .expect("inside directory")
        .to_vec();
    let extra = b
        .slice(pos + 46 + name_len, extra_len)
        .expect("inside directory");
    if f16(34) != 0 {
        return Err(format!("starts on disk {}", f16(34)));
    }
    let mut entry = Entry {
        name,
        method: f16(10),
        flags: f16(8),
        crc32: f32(16),
        compressed_size: u64::from(f32(20)),
        uncompressed_size: u64::from(f32(24)),
        local_offset: u64::from(f32(42)),
        data_offset: 0,
    };
    apply_zip64_extra(&mut entry, extra, f32(24), f32(20), f32(42))?;
    Ok((entry, next))
}

fn apply_zip64_extra(
    e: &mut Entry,
    extra: &[u8],
    usize32: u32,
    csize32: u32,
    offset32: u32,
) -> Detail<()> {
    let placeholder = |v: u32| u64::from(v) == ZIP_U32_MAX;
    let wanted = [usize32, csize32, offset32]
        .into_iter()
        .filter(|&v| placeholder(v))
        .count();
    // Every extra field must be well-formed, needed or not; the first zip64 one counts.
    let mut found = false;
    let mut at = 0usize;
    while at < extra.len() {
        let head = extra.get(at..at + 4).ok_or("truncated extra field")?;
        let id = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let data = extra
            .get(at + 4..at + 4 + len)
            .ok_or("truncated extra field")?;
        if id == 0x0001 && !found && wanted > 0 {
            found = true;
            if data.len() < 8 * wanted {
                return Err("zip64 extra field too short".into());
            }
            let mut vals = data
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
            if placeholder(usize32) {
                e.uncompressed_size = vals.next().expect("length checked");
            }
            if placeholder(csize32) {
                e.compressed_size = vals.next().expect("length checked");
            }
            if placeholder(offset32) {
                e.local_offset = vals.next().expect("length checked");
            }
        }
        at += 4 + len;
    }
    if wanted > 0 && !found {
        return Err("sizes need a zip64 extra field but there is none".into());
    }
    Ok(())
}

fn check_local_headers<S: Source + ?Sized>(
    b: &S,
    entries: &mut [Entry],
    cd_offset: u64,
) -> Detail<()> {
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter_mut().enumerate() {
        let shown = repr(&display_name(&e.name));
        let header = fetch(b, e.local_offset, 30)
            .ok_or_else(|| format!("local header of {shown} lies outside the file"))?;
        if u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) != LOCAL_SIG {
            return Err(format!("local header of {shown} has a bad signature"));
        }
        let name_len = u64::from(u16::from_le_bytes([header[26], header[27]]));
        let extra_len = u64::from(u16::from_le_bytes([header[28], header[29]]));
        let local_name = fetch(b, e.local_offset + 30, name_len)
            .ok_or_else(|| format!("local header of {shown} runs past the end of the file"))?;
        if local_name != e.name.as_slice() {
            return Err(format!(
                "local header name {} differs from the directory's {shown}",
                repr(&display_name(&local_name))
            ));
        }
        e.data_offset = e.local_offset + 30 + name_len + extra_len;
        let end = e
            .data_offset
            .checked_add(e.compressed_size)
            .filter(|&end| end <= cd_offset)
            .ok_or_else(|| format!("data of {shown} runs past the central directory"))?;
        ranges.push((e.local_offset, end, i));
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(format!(
                "entries {} and {} overlap (bytes {}..{} and {}..{})",
                repr(&display_name(&entries[w[0].2].name)),
                repr(&display_name(&entries[w[1].2].name)),
                w[0].0,
                w[0].1,
                w[1].0,
                w[1].1
            ));
        }
    }
    Ok(())
}

/// `archive.member.method`: stored or deflated, never encrypted.
pub fn check_method(e: &Entry) -> Result<()> {
    let detail = if e.flags & 0x0001 != 0 {
        "encryption (flag bit 0)".to_string()
    } else if e.flags & 0x0040 != 0 {
        "strong encryption (flag bit 6)".to_string()
    } else if !matches!(e.method, 0 | 8) {
        format!("compression method {}", e.method)
    } else {
        return Ok(());
    };
    Err(fail!(
        ArchiveMemberMethod,
        member = display_name(&e.name),
        detail = detail
    ))
}

/// Where a member's uncompressed bytes go as they come out of the pass: its layer's `.npy`
/// decoder (or a `Vec` that collects them).
pub trait Sink {
    /// Where the next bytes may be written in place; empty when the sink copies or converts
    /// what `feed` gives it.
    fn target(&mut self) -> &mut [u8];
    /// The first `n` bytes of `target()` were written.
    fn advance(&mut self, n: usize);
    /// Takes the next bytes.
    fn feed(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn target(&mut self) -> &mut [u8] {
        &mut []
    }

    fn advance(&mut self, _: usize) {}

    fn feed(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Bytes read, or inflated, per call: large enough for the hashes to run at full speed,
/// small enough to stay in the cache between the read and the hashes.
const CHUNK: usize = 1 << 20;

/// The pass's scratch space: a chunk of the file and a chunk of inflated bytes.
struct Scratch {
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            input: vec![0; CHUNK],
            output: vec![0; CHUNK],
        }
    }
}

/// Every byte of the file, in order (for archive.digest).
pub type Observe<'a> = &'a mut dyn FnMut(&[u8]);

/// One sequential pass over the whole of `src` (the directory checked, `members` in layer
/// order): every byte to `observe`, each member's data through its CRC-32 and, inflated as
/// needed, into `sinks[i]`. The outer error is a failed read; the inner one the first member,
/// in layer order, that breaks `archive.member.integrity`.
pub fn read_members<S: Source + ?Sized, K: Sink>(
    src: &S,
    members: &[Entry],
    sinks: &mut [K],
    observe: Observe<'_>,
) -> io::Result<Result<()>> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&i| members[i].data_offset);
    let mut scratch = Scratch::new();
    let mut failures = vec![None; members.len()];
    let mut pos = 0;
    for i in order {
        let e = &members[i];
        skip(src, pos..e.data_offset, observe, &mut scratch.input)?;
        failures[i] = read_member(src, e, &mut sinks[i], observe, &mut scratch)?.err();
        pos = e.data_offset + e.compressed_size;
    }
    skip(src, pos..src.size(), observe, &mut scratch.input)?;
    let mut verdicts = members.iter().zip(failures);
    let first = verdicts.find_map(|(e, f)| Some((e, f?)));
    Ok(first.map_or(Ok(()), |(e, detail)| Err(integrity(e, detail))))
}

fn integrity(e: &Entry, detail: String) -> crate::errors::CheckpointError {
    fail!(
        ArchiveMemberIntegrity,
        member = display_name(&e.name),
        detail = detail
    )
}

/// `archive.member.integrity` for one member on its own: its uncompressed bytes.
pub fn member_bytes<S: Source + ?Sized>(src: &S, e: &Entry) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    match read_member(src, e, &mut data, &mut |_| {}, &mut Scratch::new()) {
        Ok(Ok(())) => Ok(data),
        Ok(Err(detail)) => Err(integrity(e, detail)),
        Err(_) => Err(integrity(e, "data lies outside the file".into())),
    }
}

/// Every byte of `src`, in order, to `observe`.
pub fn observe_all<S: Source + ?Sized>(src: &S, observe: Observe<'_>) -> io::Result<()> {
    skip(src, 0..src.size(), observe, &mut vec![0; CHUNK])
}

/// The bytes in `range` to `observe` only (what lies between members).
fn skip<S: Source + ?Sized>(
    src: &S,
    range: std::ops::Range<u64>,
    observe: Observe<'_>,
    buf: &mut [u8],
) -> io::Result<()> {
    let mut at = range.start;
    while at < range.end {
        let n = chunk_len(range.end - at, buf.len());
        src.read_at(&mut buf[..n], at)?;
        observe(&buf[..n]);
        at += n as u64;
    }
    Ok(())
}

fn chunk_len(left: u64, room: usize) -> usize {
    usize::try_from(left)
        .unwrap_or(usize::MAX)
        .min(room)
        .min(CHUNK)
}

/// Reads one member's data (its bytes to `observe` too) into `sink`, checking it against the
/// directory's sizes and CRC-32. A member whose declared size its bytes cannot hold is only
/// observed: nothing is allocated from that size.
fn read_member<S: Source + ?Sized, K: Sink>(
    src: &S,
    e: &Entry,
    sink: &mut K,
    observe: Observe<'_>,
    scratch: &mut Scratch,
) -> io::Result<Detail<()>> {
    let range = e.data_offset..e.data_offset + e.compressed_size;
    if let Err(detail) = check_declared(e) {
        skip(src, range, observe, &mut scratch.input)?;
        return Ok(Err(detail));
    }
    let mut crc = crc32fast::Hasher::new();
    let read = if e.method == 0 {
        read_stored(src, range, sink, observe, &mut crc, &mut scratch.input)?;
        Ok(())
    } else {
        read_deflated(src, e, sink, observe, &mut crc, scratch)?
    };
    Ok(read.and_then(|()| {
        let crc = crc.finalize();
        if crc != e.crc32 {
            return Err(format!(
                "CRC-32 is {crc:08x}, the directory says {:08x}",
                e.crc32
            ));
        }
        Ok(())
    }))
}

/// What a member's bytes prove about its declared size: a stored member's sizes are equal, a
/// deflated member declares no more than deflate can produce from its compressed bytes.
fn check_declared(e: &Entry) -> Detail<()> {
    if e.method == 0 {
        if e.compressed_size != e.uncompressed_size {
            return Err(format!(
                "stored member has compressed size {} but uncompressed size {}",
                e.compressed_size, e.uncompressed_size
            ));
        }
    } else if e.uncompressed_size
        > e.compressed_size
            .saturating_mul(DEFLATE_RATIO_MAX)
            .saturating_add(DEFLATE_RATIO_SLACK)
    {
        return Err(format!(
            "declares {} bytes, more than deflate produces from {} bytes",
            e.uncompressed_size, e.compressed_size
        ));
    }
    Ok(())
}

/// A stored member: read straight into the sink's buffer when it offers one.
fn read_stored<S: Source + ?Sized, K: Sink>(
    src: &S,
    range: std::ops::Range<u64>,
    sink: &mut K,
    observe: Observe<'_>,
    crc: &mut crc32fast::Hasher,
    buf: &mut [u8],
) -> io::Result<()> {
    let mut at = range.start;
    while at < range.end {
        let target = sink.target();
        let direct = !target.is_empty();
        let piece = if direct { target } else { &mut *buf };
        let n = chunk_len(range.end - at, piece.len());
        src.read_at(&mut piece[..n], at)?;
        observe(&piece[..n]);
        crc.update(&piece[..n]);
        if direct {
            sink.advance(n);
        } else {
            sink.feed(&buf[..n]);
        }
        at += n as u64;
    }
    Ok(())
}

/// A deflated member: inflated a chunk at a time, at most the declared size plus one byte,
/// into the sink's buffer when it offers one.
fn read_deflated<S: Source + ?Sized, K: Sink>(
    src: &S,
    e: &Entry,
    sink: &mut K,
    observe: Observe<'_>,
    crc: &mut crc32fast::Hasher,
    scratch: &mut Scratch,
) -> io::Result<Detail<()>> {
    let mut inflater = Inflater::new(e.uncompressed_size);
    let mut failure = None;
    let (mut at, end) = (e.data_offset, e.data_offset + e.compressed_size);
    while at < end {
        let n = chunk_len(end - at, scratch.input.len());
        src.read_at(&mut scratch.input[..n], at)?;
        observe(&scratch.input[..n]);
        if failure.is_none() {
            let input = &scratch.input[..n];
            failure = inflater.feed(input, sink, crc, &mut scratch.output).err();
        }
        at += n as u64;
    }
    Ok(match failure {
        Some(detail) => Err(detail),
        None => inflater.finish(e.compressed_size),
    })
}

/// A raw deflate stream inflated as its compressed bytes arrive.
struct Inflater {
    d: Decompress,
    declared: u64,
    ended: bool,
}

impl Inflater {
    fn new(declared: u64) -> Self {
        Inflater {
            d: Decompress::new(false),
            declared,
            ended: false,
        }
    }

    /// Inflates `input` (the next compressed bytes) into `sink`, through `scratch` when the
    /// sink offers no buffer; the output is capped at the declared size plus one.
    fn feed<K: Sink>(
        &mut self,
        input: &[u8],
        sink: &mut K,
        crc: &mut crc32fast::Hasher,
        scratch: &mut [u8],
    ) -> Detail<()> {
        let mut consumed = 0;
        while !self.ended {
            let cap = self.declared.saturating_add(1);
            let room = chunk_len(cap - self.d.total_out(), scratch.len());
            if room == 0 {
                return Err(self.too_long());
            }
            let target = sink.target();
            let direct = !target.is_empty();
            let out = if direct { target } else { &mut *scratch };
            let out_len = room.min(out.len());
            let (in_before, out_before) = (self.d.total_in(), self.d.total_out());
            let status = self
                .d
                .decompress(
                    &input[consumed..],
                    &mut out[..out_len],
                    FlushDecompress::None,
                )
                .map_err(|err| format!("invalid deflate data ({err})"))?;
            let produced = (self.d.total_out() - out_before) as usize;
            consumed += (self.d.total_in() - in_before) as usize;
            crc.update(&out[..produced]);
            if direct {
                sink.advance(produced);
            } else {
                sink.feed(&scratch[..produced]);
            }
            self.ended = status == Status::StreamEnd;
            if produced < out_len && (consumed == input.len() || self.d.total_in() == in_before) {
                break; // everything this input gives is out: wait for more
            }
        }
        Ok(())
    }

    fn too_long(&self) -> String {
        format!("inflates to more than the declared {} bytes", self.declared)
    }

    /// After the member's last compressed byte: the stream ended, used every byte and
    /// inflated to exactly the declared size.
    fn finish(&self, compressed: u64) -> Detail<()> {
        if !self.ended {
            if self.d.total_out() > self.declared {
                return Err(self.too_long());
            }
            return Err("deflate stream is truncated (no end-of-stream block)".into());
        }
        if self.d.total_in() != compressed {
            return Err(format!(
                "{} bytes follow the end of the deflate stream",
                compressed - self.d.total_in()
            ));
        }
        if self.d.total_out() != self.declared {
            return Err(format!(
                "inflates to {} bytes, the directory says {}",
                self.d.total_out(),
                self.declared
            ));
        }
        Ok(())
    }
}

// ---- the writer ----

/// Version needed to extract: 2.0 (deflate), 4.5 (zip64).
const VERSION: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// 1980-01-01 00:00:00 in MS-DOS time and date, so that archives do not depend on the clock.
const DOS_TIME: u16 = 0x0000;
const DOS_DATE: u16 = 0x0021;
/// Uncompressed bytes per deflate block. Blocks are compressed independently, in parallel,
/// each ended on a byte boundary (a sync flush; the last one finishes the stream), so that laid
/// end to end they are one raw deflate stream; in flight at once: two per thread.
const BLOCK: usize = 1 << 20;

/// How members are compressed (`save_checkpoint`'s `compression`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Method 8: one raw deflate stream per member (the default, as numpy.savez_compressed).
    #[default]
    Deflate,
    /// Method 0: the bytes as they are; such archives are byte-identical across writers.
    Stored,
}

impl Compression {
    /// The zip method number.
    fn method(self) -> u16 {
        match self {
            Compression::Deflate => 8,
            Compression::Stored => 0,
        }
    }
}

impl FromStr for Compression {
    type Err = String;

    /// `"deflate"` or `"stored"`, as the protocol and Python spell them.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "deflate" => Ok(Compression::Deflate),
            "stored" => Ok(Compression::Stored),
            other => Err(format!(
                "compression must be 'deflate' or 'stored', not {}",
                repr(other)
            )),
        }
    }
}

/// A deflate level, 1 (fastest) to 9 (smallest), with zlib's meaning (`save.writer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level(u32);

impl Level {
    /// Level 1, the default: float weights barely compress, and higher levels cost 3 to 5
    /// times the time for about 1% of the size.
    pub const FASTEST: Level = Level(1);

    /// The level `level`, or why it is not one (an argument error, refused before anything
    /// is written).
    pub fn new(level: i128) -> std::result::Result<Level, String> {
        match u32::try_from(level) {
            Ok(n @ 1..=9) => Ok(Level(n)),
            _ => Err(format!("level must be an integer from 1 to 9, not {level}")),
        }
    }

    /// The level's number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Level {
    fn default() -> Self {
        Level::FASTEST
    }
}

/// A member as written, for its central directory entry.
struct Written {
    name: Vec<u8>,
    crc32: u32,
    compressed_size: u64,
    uncompressed_size: u64,
    offset: u64,
}

/// Writes the spec's deterministic zip (`save.writer.archive`) to `out`, one member at a time,
/// streamed, and hashes it (SHA-256, for `archive_sha256`): a stored member's bytes are written
/// as they are and hashed by a second thread meanwhile; a deflated member's blocks are written
/// as they come out of the threads compressing them, then its local header is written in the
/// room left before them and the member read back to be hashed (so `out` must seek and read).
/// Nothing holds a whole member's compressed bytes.
pub struct ArchiveWriter<W: Read + Write + Seek> {
    out: W,
    compression: Compression,
    level: Level,
    offset: u64,
    entries: Vec<Written>,
    digest: Sha256,
}

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u32le(v: u64) -> [u8; 4] {
    u32::try_from(v).expect("a 32-bit field").to_le_bytes()
}

/// A zip64 extended-information extra field holding `values` (each a 64-bit field).
fn zip64_extra(values: &[u64]) -> Vec<u8> {
    let mut extra = Vec::with_capacity(4 + 8 * values.len());
    extra.extend_from_slice(&u16le(1));
    extra.extend_from_slice(&u16le(8 * values.len() as u16));
    for v in values {
        extra.extend_from_slice(&v.to_le_bytes());
    }
    extra
}

impl<W: Read + Write + Seek> ArchiveWriter<W> {
    /// An empty archive whose members will all be compressed with `compression` (deflate at
    /// `level`).
    pub fn new(out: W, compression: Compression, level: Level) -> Self {
        ArchiveWriter {
            out,
            compression,
            level,
            offset: 0,
            entries: Vec::new(),
            digest: Sha256::new(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.digest.update(bytes);
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Writes `parts` while a second thread hashes them: the hash then costs no time beyond
    /// the writes, which SHA-256 is about as slow as. A chunk per write: one write of a whole
    /// 128 MiB layer ran at less than half the speed of 1 MiB writes (Linux 6.18, ext4).
    fn emit_parts(&mut self, parts: &[&[u8]], size: u64) -> io::Result<()> {
        let (out, digest) = (&mut self.out, &mut self.digest);
        std::thread::scope(|scope| {
            scope.spawn(|| parts.iter().for_each(|part| digest.update(part)));
            parts
                .iter()
                .flat_map(|part| part.chunks(CHUNK))
                .try_for_each(|chunk| out.write_all(chunk))
        })?;
        self.offset += size;
        Ok(())
    }

    /// Hashes the bytes written from `start` to the end, read back; `out` is then at the end.
    fn rehash(&mut self, start: u64) -> io::Result<()> {
        self.out.seek(SeekFrom::Start(start))?;
        let mut buf = vec![0; CHUNK];
        let mut at = start;
        while at < self.offset {
            let n = chunk_len(self.offset - at, buf.len());
            self.out.read_exact(&mut buf[..n])?;
            self.digest.update(&buf[..n]);
            at += n as u64;
        }
        Ok(())
    }

    /// Moves the bytes from `from` to the end `by` bytes towards the start of `out`.
    fn move_up(&mut self, from: u64, by: u64) -> io::Result<()> {
        let mut buf = vec![0; CHUNK];
        let mut at = from;
        while at < self.offset {
            let n = chunk_len(self.offset - at, buf.len());
            self.out.seek(SeekFrom::Start(at))?;
            self.out.read_exact(&mut buf[..n])?;
            self.out.seek(SeekFrom::Start(at - by))?;
            self.out.write_all(&buf[..n])?;
            at += n as u64;
        }
        // What follows (at least the end record) overwrites the `by` bytes left at the end.
        self.offset -= by;
        Ok(())
    }

    /// Adds a member whose uncompressed bytes are `parts`, laid end to end: its local header,
    /// then its data.
    pub fn add(&mut self, name: &[u8], parts: &[&[u8]]) -> io::Result<()> {
        let mut crc = crc32fast::Hasher::new();
        parts.iter().for_each(|part| crc.update(part));
        let uncompressed_size = parts.iter().map(|p| p.len() as u64).sum();
        let mut entry = Written {
            name: name.to_vec(),
            crc32: crc.finalize(),
            compressed_size: uncompressed_size,
            uncompressed_size,
            offset: self.offset,
        };
        if self.compression == Compression::Stored {
            let header = self.local_header(&entry, uncompressed_size >= ZIP_U32_MAX);
            self.emit(&header)?;
            self.emit_parts(parts, uncompressed_size)?;
        } else {
            self.add_deflated(&mut entry, parts)?;
        }
        self.entries.push(entry);
        Ok(())
    }

    /// A deflated member: its stream after room for the local header, which is written once
    /// the compressed size is known. Room for a zip64 extra field is reserved when the member
    /// could need one; if it does not, the stream moves up.
    fn add_deflated(&mut self, entry: &mut Written, parts: &[&[u8]]) -> io::Result<()> {
        let reserved = deflate_bound(entry.uncompressed_size) >= ZIP_U32_MAX;
        let room = self.local_header(entry, reserved).len() as u64;
        self.out.seek(SeekFrom::Start(entry.offset + room))?;
        let out = &mut self.out;
        let mut written = 0;
        deflate_parallel(&blocks(parts, BLOCK), self.level, &mut |bytes| {
            written += bytes.len() as u64;
            out.write_all(bytes)
        })?;
        entry.compressed_size = written;
        self.offset += room + written;
        let zip64 = entry.uncompressed_size.max(written) >= ZIP_U32_MAX;
        let header = self.local_header(entry, zip64);
        if (header.len() as u64) < room {
            self.move_up(entry.offset + room, room - header.len() as u64)?;
        }
        self.out.seek(SeekFrom::Start(entry.offset))?;
        self.out.write_all(&header)?;
        self.rehash(entry.offset)
    }

    /// Signature, version, flags 0, method, time, date, CRC-32, sizes (both 0xFFFFFFFF with a
    /// zip64 extra field holding them when `big`: either needs 64 bits), name, extra field.
    fn local_header(&self, e: &Written, big: bool) -> Vec<u8> {
        let (extra, sizes, version) = if big {
            let extra = zip64_extra(&[e.uncompressed_size, e.compressed_size]);
            (extra, [ZIP_U32_MAX, ZIP_U32_MAX], VERSION_ZIP64)
        } else {
            (
                Vec::new(),
                [e.compressed_size, e.uncompressed_size],
                VERSION,
            )
        };
        let mut h = Vec::with_capacity(30 + e.name.len() + extra.len());
        h.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        for field in [version, 0, self.compression.method(), DOS_TIME, DOS_DATE] {
            h.extend_from_slice(&u16le(field));
        }
        h.extend_from_slice(&e.crc32.to_le_bytes());
        h.extend_from_slice(&u32le(sizes[0]));
        h.extend_from_slice(&u32le(sizes[1]));
        h.extend_from_slice(&u16le(e.name.len() as u16));
        h.extend_from_slice(&u16le(extra.len() as u16));
        h.extend_from_slice(&e.name);
        h.extend_from_slice(&extra);
        h
    }

    /// The central directory entry: each of uncompressed size, compressed size and local
    /// offset that needs 64 bits is 0xFFFFFFFF here and in the zip64 extra field, in that order.
    fn central_entry(&self, e: &Written) -> Vec<u8> {
        let fields = [e.uncompressed_size, e.compressed_size, e.offset];
        let wide: Vec<u64> = fields.into_iter().filter(|&v| v >= ZIP_U32_MAX).collect();
        let [uncompressed, compressed, offset] = fields.map(|v| v.min(ZIP_U32_MAX));
        let extra = if wide.is_empty() {
            Vec::new()
        } else {
            zip64_extra(&wide)
        };
        let version = if wide.is_empty() {
            VERSION
        } else {
            VERSION_ZIP64
        };
        let mut h = Vec::with_capacity(46 + e.name.len() + extra.len());
        h.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        for field in [
            version,
            version,
            0,
            self.compression.method(),
            DOS_TIME,
            DOS_DATE,
        ] {
            h.extend_from_slice(&u16le(field));
        }
        h.extend_from_slice(&e.crc32.to_le_bytes());
        h.extend_from_slice(&u32le(compressed));
        h.extend_from_slice(&u32le(uncompressed));
        h.extend_from_slice(&u16le(e.name.len() as u16));
        h.extend_from_slice(&u16le(extra.len() as u16));
        // Comment length, disk, internal and external attributes.
        h.extend_from_slice(&[0; 10]);
        h.extend_from_slice(&u32le(offset));
        h.extend_from_slice(&e.name);
        h.extend_from_slice(&extra);
        h
    }

    /// Writes the central directory and the end record (with the zip64 end record and
    /// locator before it only when a count, size or offset overflows); returns `out` and the
    /// archive's SHA-256.
    pub fn finish(mut self) -> io::Result<(W, [u8; 32])> {
        let start = self.offset;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let entry = self.central_entry(e);
            self.emit(&entry)?;
        }
        let (size, count) = (self.offset - start, entries.len() as u64);
        let mut end = Vec::with_capacity(98);
        if count >= ZIP_U16_MAX || size >= ZIP_U32_MAX || start >= ZIP_U32_MAX {
            let record = self.offset;
            end.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
            end.extend_from_slice(&44u64.to_le_bytes());
            end.extend_from_slice(&u16le(VERSION_ZIP64));
            end.extend_from_slice(&u16le(VERSION_ZIP64));
            end.extend_from_slice(&[0; 8]); // this disk, the directory's disk
            for v in [count, count, size, start] {
                end.extend_from_slice(&v.to_le_bytes());
            }
            end.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
            end.extend_from_slice(&[0; 4]);
            end.extend_from_slice(&record.to_le_bytes());
            end.extend_from_slice(&1u32.to_le_bytes());
        }
        end.extend_from_slice(&EOCD_SIG.to_le_bytes());
        end.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        let entries16 = u16le(count.min(ZIP_U16_MAX) as u16);
        end.extend_from_slice(&entries16);
        end.extend_from_slice(&entries16);
        end.extend_from_slice(&u32le(size.min(ZIP_U32_MAX)));
        end.extend_from_slice(&u32le(start.min(ZIP_U32_MAX)));
        end.extend_from_slice(&u16le(0));
        self.emit(&end)?;
        Ok((self.out, self.digest.finalize().into()))
    }
}

/// At least the size of a raw deflate stream of `len` bytes cut into `BLOCK`s: stored blocks
/// cost 5 bytes per 64 KiB at worst, a sync flush 6 bytes per block.
fn deflate_bound(len: u64) -> u64 {
    len + len / 4096 + 16 * (len / BLOCK as u64) + 1024
}

/// The concatenation of `parts` cut into blocks of `size` bytes (at least one block, which
/// may be empty), each block as the pieces of `parts` it covers.
fn blocks<'a>(parts: &[&'a [u8]], size: usize) -> Vec<Vec<&'a [u8]>> {
    let mut blocks = vec![Vec::new()];
    let mut room = size;
    for mut part in parts.iter().copied() {
        while !part.is_empty() {
            if room == 0 {
                blocks.push(Vec::new());
                room = size;
            }
            let (piece, rest) = part.split_at(room.min(part.len()));
            blocks.last_mut().expect("one block at least").push(piece);
            room -= piece.len();
            part = rest;
        }
    }
    blocks
}

/// One block as raw deflate on its own (ISA-L): ended by a sync flush, or finishing the stream
/// when it is the `last`.
fn deflate_block(pieces: &[&[u8]], level: Level, last: bool) -> io::Result<Vec<u8>> {
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + len / 64 + 1024);
    Deflater::new(level.get()).block(pieces, last, &mut out)?;
    Ok(out)
}

/// The state the threads of `deflate_parallel` share.
struct Pipeline {
    /// The next block to compress.
    next: usize,
    /// Blocks handed to the writer so far.
    written: usize,
    /// Compressed blocks waiting for the writer.
    done: BTreeMap<usize, io::Result<Vec<u8>>>,
    /// The writer failed: the threads stop.
    stop: bool,
}

/// Compresses `blocks` on the machine's threads and hands each block's output to `write`, in
/// order; at most two blocks per thread are compressed ahead of the writer.
fn deflate_parallel(
    blocks: &[Vec<&[u8]>],
    level: Level,
    write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let last = blocks.len() - 1;
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || blocks.len() == 1 {
        for (i, block) in blocks.iter().enumerate() {
            write(&deflate_block(block, level, i == last)?)?;
        }
        return Ok(());
    }
    let window = 2 * threads;
    let state = Mutex::new(Pipeline {
        next: 0,
        written: 0,
        done: BTreeMap::new(),
        stop: false,
    });
    let changed = Condvar::new();
    let lock = || {
        state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    thread::scope(|scope| {
        for _ in 0..threads.min(blocks.len()) {
            scope.spawn(|| loop {
                let mut st = lock();
                while !st.stop && st.next <= last && st.next >= st.written + window {
                    st = changed.wait(st).unwrap_or_else(|p| p.into_inner());
                }
                if st.stop || st.next > last {
                    return;
                }
                let i = st.next;
                st.next += 1;
                drop(st);
                let out = deflate_block(&blocks[i], level, i == last);
                lock().done.insert(i, out);
                changed.notify_all();
            });
        }
        let written = (0..=last).try_for_each(|i| {
            let mut st = lock();
            let out = loop {
                match st.done.remove(&i) {
                    Some(out) => break out,
                    None => st = changed.wait(st).unwrap_or_else(|p| p.into_inner()),
                }
            };
            st.written = i + 1;
            drop(st);
            changed.notify_all();
            write(&out?)
        });
        lock().stop = true;
        changed.notify_all();
        written
    })
}
