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
use std::io::{self, Write};
use std::str::FromStr;

use flate2::write::DeflateEncoder;
use flate2::{Decompress, FlushDecompress, Status};

use crate::errors::{fail, repr, Result};
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

/// The archive phase after the file is read: structure, duplicate, unexpected and missing
/// members, methods, then integrity, each over every member in spec order. Returns the
/// uncompressed bytes of `layer_{i}.npy` for each of the `names`.
pub fn layer_members(archive: &[u8], names: &[String]) -> Result<Vec<Vec<u8>>> {
    let entries = read_directory(archive)?;
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
    let members: Vec<&Entry> = by_layer.into_iter().flatten().collect();
    for e in &members {
        check_method(e)?;
    }
    members.iter().map(|e| member_bytes(archive, e)).collect()
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

fn end_of_directory(b: &[u8]) -> Detail<Directory> {
    let eocd = find_end_record(b).ok_or("no end-of-central-directory record")?;
    let field16 = |off: u64| u16_at(b, eocd + off).unwrap_or(0);
    let (disk, cd_disk) = (field16(4), field16(6));
    let (on_disk, total) = (u64::from(field16(8)), u64::from(field16(10)));
    let size = u64::from(u32_at(b, eocd + 12).unwrap_or(0));
    let offset = u64::from(u32_at(b, eocd + 16).unwrap_or(0));
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
            .filter(|&l| u32_at(b, l) == Some(ZIP64_LOCATOR_SIG))
            .ok_or("end record needs zip64 values but there is no zip64 locator")?;
        let z64_disk = u32_at(b, loc + 4).unwrap_or(0);
        let z64_at = u64_at(b, loc + 8).unwrap_or(0);
        let disks = u32_at(b, loc + 16).unwrap_or(0);
        if z64_disk != 0 || disks != 1 {
            return Err(format!("multi-disk zip64 archive ({disks} disks)"));
        }
        if z64_at.checked_add(56).is_none_or(|end| end > loc)
            || u32_at(b, z64_at) != Some(ZIP64_EOCD_SIG)
        {
            return Err("zip64 end record missing or misplaced".into());
        }
        let r = |off: u64| u64_at(b, z64_at + off).unwrap_or(0);
        disk = u32_at(b, z64_at + 16).unwrap_or(0);
        cd_disk = u32_at(b, z64_at + 20).unwrap_or(0);
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
pub fn read_directory(b: &[u8]) -> Result<Vec<Entry>> {
    directory(b).map_err(|detail| fail!(ArchiveZipStructure, detail = detail))
}

fn directory(b: &[u8]) -> Detail<Vec<Entry>> {
    let dir = end_of_directory(b)?;
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
    let mut entries = Vec::new();
    let mut pos = dir.offset;
    for i in 0..dir.count {
        let (entry, next) = central_entry(b, pos, cd_end)
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
    check_local_headers(b, &mut entries, dir.offset)?;
    Ok(entries)
}

/// The central directory entry at `pos` (which must end by `cd_end`) and where the next starts.
fn central_entry(b: &[u8], pos: u64, cd_end: u64) -> Detail<(Entry, u64)> {
    let fixed = slice(b, pos, 46)
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
    let name = slice(b, pos + 46, name_len)
        .expect("inside directory")
        .to_vec();
    let extra = slice(b, pos + 46 + name_len, extra_len).expect("inside directory");
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

fn check_local_headers(b: &[u8], entries: &mut [Entry], cd_offset: u64) -> Detail<()> {
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter_mut().enumerate() {
        let shown = repr(&display_name(&e.name));
        let header = slice(b, e.local_offset, 30)
            .ok_or_else(|| format!("local header of {shown} lies outside the file"))?;
        if u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) != LOCAL_SIG {
            return Err(format!("local header of {shown} has a bad signature"));
        }
        let name_len = u64::from(u16::from_le_bytes([header[26], header[27]]));
        let extra_len = u64::from(u16::from_le_bytes([header[28], header[29]]));
        let local_name = slice(b, e.local_offset + 30, name_len)
            .ok_or_else(|| format!("local header of {shown} runs past the end of the file"))?;
        if local_name != e.name.as_slice() {
            return Err(format!(
                "local header name {} differs from the directory's {shown}",
                repr(&display_name(local_name))
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

/// `archive.member.integrity`: a stored or deflated member's bytes, checked against the
/// directory's sizes and CRC-32. The output grows with the data actually produced, capped at
/// the declared size plus one.
pub fn member_bytes(b: &[u8], e: &Entry) -> Result<Vec<u8>> {
    extract(b, e).map_err(|detail| {
        fail!(
            ArchiveMemberIntegrity,
            member = display_name(&e.name),
            detail = detail
        )
    })
}

fn extract(b: &[u8], e: &Entry) -> Detail<Vec<u8>> {
    let raw = slice(b, e.data_offset, e.compressed_size).ok_or("data lies outside the file")?;
    let data = if e.method == 0 {
        if e.compressed_size != e.uncompressed_size {
            return Err(format!(
                "stored member has compressed size {} but uncompressed size {}",
                e.compressed_size, e.uncompressed_size
            ));
        }
        raw.to_vec()
    } else {
        inflate(raw, e.uncompressed_size)?
    };
    let crc = crc32fast::hash(&data);
    if crc != e.crc32 {
        return Err(format!(
            "CRC-32 is {crc:08x}, the directory says {:08x}",
            e.crc32
        ));
    }
    Ok(data)
}

fn inflate(raw: &[u8], declared: u64) -> Detail<Vec<u8>> {
    let cap = declared.saturating_add(1);
    let mut d = Decompress::new(false);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let room = usize::try_from(cap - out.len() as u64)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if room == 0 {
            return Err(format!(
                "inflates to more than the declared {declared} bytes"
            ));
        }
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let consumed = usize::try_from(in_before).expect("within input");
        let status = d
            .decompress(&raw[consumed..], &mut buf[..room], FlushDecompress::None)
            .map_err(|err| format!("invalid deflate data ({err})"))?;
        let produced = usize::try_from(d.total_out() - out_before).expect("within buffer");
        out.extend_from_slice(&buf[..produced]);
        if status == Status::StreamEnd {
            break;
        }
        if produced == 0 && d.total_in() == in_before {
            return Err("deflate stream is truncated (no end-of-stream block)".into());
        }
    }
    if d.total_in() != raw.len() as u64 {
        return Err(format!(
            "{} bytes follow the end of the deflate stream",
            raw.len() as u64 - d.total_in()
        ));
    }
    if out.len() as u64 != declared {
        return Err(format!(
            "inflates to {} bytes, the directory says {declared}",
            out.len()
        ));
    }
    Ok(out)
}

// ---- the writer ----

/// Version needed to extract: 2.0 (deflate), 4.5 (zip64).
const VERSION: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// 1980-01-01 00:00:00 in MS-DOS time and date, so that archives do not depend on the clock.
const DOS_TIME: u16 = 0x0000;
const DOS_DATE: u16 = 0x0021;
/// zlib's default level, the one Python's reference writer uses.
const DEFLATE_LEVEL: u32 = 6;

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

/// A member as written, for its central directory entry.
struct Written {
    name: Vec<u8>,
    crc32: u32,
    compressed_size: u64,
    uncompressed_size: u64,
    offset: u64,
}

/// A writer that passes bytes on while taking their CRC-32 and count.
struct Tally<W> {
    inner: W,
    crc: crc32fast::Hasher,
    size: u64,
}

impl<W: Write> Tally<W> {
    fn new(inner: W) -> Self {
        Tally {
            inner,
            crc: crc32fast::Hasher::new(),
            size: 0,
        }
    }

    /// (CRC-32, byte count, the inner writer).
    fn finish(self) -> (u32, u64, W) {
        (self.crc.finalize(), self.size, self.inner)
    }
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A member's uncompressed bytes: a function that writes them, the same bytes every time it
/// is called (a stored member is produced twice: for its CRC-32, then into the archive).
pub type Content<'a> = &'a dyn Fn(&mut dyn Write) -> io::Result<()>;

/// Writes the spec's deterministic zip (`save.writer.archive`) to `out`, one member at a time:
/// at most one member's compressed bytes are held in memory, stored members are streamed.
pub struct ArchiveWriter<W: Write> {
    out: W,
    compression: Compression,
    offset: u64,
    entries: Vec<Written>,
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

impl<W: Write> ArchiveWriter<W> {
    /// An empty archive whose members will all be compressed with `compression`.
    pub fn new(out: W, compression: Compression) -> Self {
        ArchiveWriter {
            out,
            compression,
            offset: 0,
            entries: Vec::new(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Adds a member: its local header, then its data.
    pub fn add(&mut self, name: &[u8], content: Content<'_>) -> io::Result<()> {
        let offset = self.offset;
        let (crc32, uncompressed_size, compressed) = match self.compression {
            Compression::Stored => {
                let mut probe = Tally::new(io::sink());
                content(&mut probe)?;
                let (crc, size, _) = probe.finish();
                (crc, size, None)
            }
            Compression::Deflate => {
                let level = flate2::Compression::new(DEFLATE_LEVEL);
                let mut tally = Tally::new(DeflateEncoder::new(Vec::new(), level));
                content(&mut tally)?;
                let (crc, size, encoder) = tally.finish();
                (crc, size, Some(encoder.finish()?))
            }
        };
        let compressed_size = compressed
            .as_ref()
            .map_or(uncompressed_size, |c| c.len() as u64);
        let entry = Written {
            name: name.to_vec(),
            crc32,
            compressed_size,
            uncompressed_size,
            offset,
        };
        let header = self.local_header(&entry);
        self.emit(&header)?;
        match compressed {
            Some(bytes) => self.emit(&bytes)?,
            None => self.stream(content, &entry)?,
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Writes a stored member's bytes a second time, checking they are the ones measured.
    fn stream(&mut self, content: Content<'_>, entry: &Written) -> io::Result<()> {
        let mut tally = Tally::new(&mut self.out);
        content(&mut tally)?;
        let (crc, size, _) = tally.finish();
        if (crc, size) != (entry.crc32, entry.uncompressed_size) {
            return Err(io::Error::other(
                "a member's content changed while it was written",
            ));
        }
        self.offset += size;
        Ok(())
    }

    /// Signature, version, flags 0, method, time, date, CRC-32, sizes (both 0xFFFFFFFF with a
    /// zip64 extra field holding them when either needs 64 bits), name, extra field.
    fn local_header(&self, e: &Written) -> Vec<u8> {
        let big = e.uncompressed_size >= ZIP_U32_MAX || e.compressed_size >= ZIP_U32_MAX;
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
    /// locator before it only when a count, size or offset overflows); returns `out`.
    pub fn finish(mut self) -> io::Result<W> {
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
        Ok(self.out)
    }
}
