//! A zip reader that trusts only the central directory, as `archive.structure_rules` says.
//!
//! numpy writes zip64 local headers whose size fields are placeholders (0xFFFFFFFF), so local
//! headers are used only to find where each member's data starts (their name and extra-field
//! lengths); sizes, CRCs and methods come from the central directory.

use flate2::{Decompress, FlushDecompress, Status};

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
    let lowest = len.saturating_sub(22 + 0xFFFF);
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

fn end_of_directory(b: &[u8]) -> Result<Directory, String> {
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
    let sentinel16 = [disk, cd_disk].contains(&0xFFFF) || [on_disk, total].contains(&0xFFFF);
    if sentinel16 || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
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

/// Reads the central directory, enforcing every structure rule. The error is a detail for the
/// `archive.zip.structure` message.
pub fn read_directory(b: &[u8]) -> Result<Vec<Entry>, String> {
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
        let fixed = slice(b, pos, 46)
            .filter(|_| pos + 46 <= cd_end)
            .ok_or_else(|| format!("central directory ends before entry {i} of {}", dir.count))?;
        if u32::from_le_bytes(fixed[0..4].try_into().expect("4 bytes")) != CENTRAL_SIG {
            return Err(format!(
                "central directory entry {i} has a bad signature at offset {pos}"
            ));
        }
        let f16 = |o: usize| u16::from_le_bytes([fixed[o], fixed[o + 1]]);
        let f32 = |o: usize| u32::from_le_bytes(fixed[o..o + 4].try_into().expect("4 bytes"));
        let (name_len, extra_len, comment_len) =
            (u64::from(f16(28)), u64::from(f16(30)), u64::from(f16(32)));
        let var_end = pos + 46 + name_len + extra_len + comment_len;
        if var_end > cd_end {
            return Err(format!(
                "central directory entry {i} runs past the directory"
            ));
        }
        let name = slice(b, pos + 46, name_len)
            .expect("inside directory")
            .to_vec();
        let extra = slice(b, pos + 46 + name_len, extra_len).expect("inside directory");
        if f16(34) != 0 {
            return Err(format!("entry {i} starts on disk {}", f16(34)));
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
        apply_zip64_extra(&mut entry, extra, f32(24), f32(20), f32(42))
            .map_err(|e| format!("entry {i}: {e}"))?;
        entries.push(entry);
        pos = var_end;
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

fn apply_zip64_extra(
    e: &mut Entry,
    extra: &[u8],
    usize32: u32,
    csize32: u32,
    offset32: u32,
) -> Result<(), String> {
    let wanted = [usize32, csize32, offset32]
        .iter()
        .filter(|&&v| v == 0xFFFF_FFFF)
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
            if usize32 == 0xFFFF_FFFF {
                e.uncompressed_size = vals.next().expect("length checked");
            }
            if csize32 == 0xFFFF_FFFF {
                e.compressed_size = vals.next().expect("length checked");
            }
            if offset32 == 0xFFFF_FFFF {
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

fn check_local_headers(b: &[u8], entries: &mut [Entry], cd_offset: u64) -> Result<(), String> {
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter_mut().enumerate() {
        let shown = crate::error::repr_bytes(&e.name);
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
                crate::error::repr_bytes(local_name)
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
                crate::error::repr_bytes(&entries[w[0].2].name),
                crate::error::repr_bytes(&entries[w[1].2].name),
                w[0].0,
                w[0].1,
                w[1].0,
                w[1].1
            ));
        }
    }
    Ok(())
}

/// The method problem of an entry, if any (`archive.member.method`).
pub fn method_problem(e: &Entry) -> Option<String> {
    if e.flags & 0x0001 != 0 {
        return Some("encryption (flag bit 0)".into());
    }
    if e.flags & 0x0040 != 0 {
        return Some("strong encryption (flag bit 6)".into());
    }
    match e.method {
        0 | 8 => None,
        m => Some(format!("compression method {m}")),
    }
}

/// Extracts a stored or deflated member and checks it against the directory's sizes and CRC-32.
/// The output grows with the data actually produced, capped at the declared size plus one.
pub fn extract(b: &[u8], e: &Entry) -> Result<Vec<u8>, String> {
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

fn inflate(raw: &[u8], declared: u64) -> Result<Vec<u8>, String> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::{write::DeflateEncoder, Compression};
    use std::io::Write;

    /// One member for `build`: name, uncompressed bytes, deflated or stored.
    pub(crate) struct Member<'a> {
        pub name: &'a [u8],
        pub data: &'a [u8],
        pub deflate: bool,
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Writes a zip as numpy does: zip64 local headers with placeholder sizes, real sizes in
    /// a plain central directory.
    pub(crate) fn build(members: &[Member<'_>]) -> Vec<u8> {
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

    fn two() -> Vec<u8> {
        build(&[
            Member {
                name: b"layer_0.npy",
                data: b"hello hello hello",
                deflate: true,
            },
            Member {
                name: b"layer_1.npy",
                data: b"stored",
                deflate: false,
            },
        ])
    }

    fn eocd(b: &[u8]) -> usize {
        find_end_record(b).unwrap() as usize
    }

    fn set16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn set32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn cd(b: &[u8]) -> usize {
        let e = eocd(b);
        u32::from_le_bytes(b[e + 16..e + 20].try_into().unwrap()) as usize
    }

    #[test]
    fn reads_numpy_style_archives() {
        let b = two();
        let entries = read_directory(&b).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(extract(&b, &entries[0]).unwrap(), b"hello hello hello");
        assert_eq!(extract(&b, &entries[1]).unwrap(), b"stored");
        assert!(read_directory(&build(&[])).unwrap().is_empty());
        // A comment after the end record is fine.
        let mut c = two();
        let e = eocd(&c);
        set16(&mut c, e + 20, 3);
        c.extend_from_slice(b"abc");
        assert_eq!(read_directory(&c).unwrap().len(), 2);
    }

    #[test]
    fn structure_rules() {
        let broken = |b: &[u8]| read_directory(b).is_err();
        assert!(broken(b""));
        assert!(broken(b"not a zip at all, just text....."));
        let b = two();
        assert!(broken(&b[..b.len() - 1]));
        let mut trailing = two();
        trailing.push(0);
        assert!(broken(&trailing));
        let mut m = two();
        let e = eocd(&m);
        set16(&mut m, e + 4, 1);
        assert!(broken(&m), "multi-disk");
        let mut m = two();
        set16(&mut m, e + 8, 1);
        assert!(broken(&m), "entries on this disk differ");
        let mut m = two();
        set16(&mut m, e + 8, 3);
        set16(&mut m, e + 10, 3);
        assert!(broken(&m), "entry count too large");
        let mut m = two();
        set16(&mut m, e + 8, 1);
        set16(&mut m, e + 10, 1);
        assert!(broken(&m), "directory bytes left over");
        let mut m = two();
        set32(&mut m, e + 16, 1);
        assert!(broken(&m), "bad directory offset");
        let mut m = two();
        m[0] = b'X';
        assert!(broken(&m), "bad local signature");
        let mut m = two();
        m[30] = b'L';
        assert!(broken(&m), "local name differs");
        let mut m = two();
        let c = cd(&m);
        set32(&mut m, c + 20, 10_000);
        assert!(broken(&m), "data runs past the directory");
        // Point the second entry at the first local header: overlapping ranges.
        let mut m = two();
        let second = c + 46 + b"layer_0.npy".len();
        set32(&mut m, second + 42, 0);
        assert!(broken(&m), "overlap");
        // A truncated extra field in the directory.
        let mut m = two();
        set16(&mut m, c + 30, 2);
        assert!(broken(&m), "directory extra field");
    }

    #[test]
    fn zip64_end_record() {
        // Rewrite the end record with 0xFFFF/0xFFFFFFFF and add a zip64 record + locator.
        let b = two();
        let e = eocd(&b);
        let (count, size, offset) = (2u64, (e - cd(&b)) as u64, cd(&b) as u64);
        let mut z = b[..e].to_vec();
        let record = z.len() as u64;
        z.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
        z.extend_from_slice(&44u64.to_le_bytes());
        z.extend_from_slice(&[45, 0, 45, 0]);
        z.extend_from_slice(&[0; 8]);
        for v in [count, count, size, offset] {
            z.extend_from_slice(&v.to_le_bytes());
        }
        z.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
        z.extend_from_slice(&0u32.to_le_bytes());
        z.extend_from_slice(&record.to_le_bytes());
        z.extend_from_slice(&1u32.to_le_bytes());
        z.extend_from_slice(&EOCD_SIG.to_le_bytes());
        z.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        z.extend_from_slice(&[0xff; 8]);
        z.extend_from_slice(&[0, 0]);
        assert_eq!(read_directory(&z).unwrap().len(), 2);
        let n = z.len();
        let mut bad = z.clone();
        set32(&mut bad, n - 22 - 4, 2);
        assert!(read_directory(&bad).is_err(), "two disks");
        let mut bad = z;
        bad[n - 22 - 20] = b'X';
        assert!(read_directory(&bad).is_err(), "no locator");
    }

    #[test]
    fn methods_and_integrity() {
        let b = two();
        let entries = read_directory(&b).unwrap();
        let mut e = entries[0].clone();
        assert_eq!(method_problem(&e), None);
        e.method = 12;
        assert!(method_problem(&e).is_some());
        let mut e = entries[1].clone();
        e.flags = 1;
        assert!(method_problem(&e).is_some());
        e.flags = 0x40;
        assert!(method_problem(&e).is_some());

        let corrupt = |f: &dyn Fn(&mut Entry)| {
            let mut e = entries[0].clone();
            f(&mut e);
            extract(&b, &e).is_err()
        };
        assert!(corrupt(&|e| e.crc32 ^= 1));
        assert!(corrupt(&|e| e.uncompressed_size += 1));
        assert!(corrupt(&|e| e.uncompressed_size -= 1));
        assert!(corrupt(&|e| e.compressed_size -= 1));
        let mut s = entries[1].clone();
        s.uncompressed_size += 1;
        assert!(extract(&b, &s).is_err(), "stored size mismatch");

        // Garbage and trailing bytes in a deflate stream.
        let mut g = build(&[Member {
            name: b"a",
            data: b"x",
            deflate: false,
        }]);
        let entry = read_directory(&g).unwrap().remove(0);
        let mut d = entry.clone();
        d.method = 8;
        g[entry.data_offset as usize] = 0xff;
        assert!(extract(&g, &d).is_err(), "garbage");
        let stream = deflate(b"abc");
        let mut with_tail = stream.clone();
        with_tail.push(0);
        let cap = |raw: &[u8], n| inflate(raw, n);
        assert_eq!(cap(&stream, 3).unwrap(), b"abc");
        assert!(cap(&with_tail, 3).is_err(), "trailing");
        assert!(cap(&stream[..stream.len() - 1], 3).is_err(), "truncated");
        assert!(cap(&stream, 2).is_err(), "more than declared");
        // A back-reference before the start of the output is invalid deflate (miniz_oxide
        // reads zeros there, which is why the zlib-rs backend is used); found by fuzzing
        // against the reference.
        let hex = "9bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a1aea3a09e965f54529498179f5f949\
                   20a12774bcc294e058a17672416a402f91a263a0ac69a3a0ab50a64032ed414f0c11eca7080501c\
                   505a004a8b406909282d03a515a0b412945681d26a0e00";
        let far: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert!(cap(&far, 224).unwrap_err().contains("too far back"));
        // A bomb declaring a tiny size stops at declared + 1 bytes.
        let bomb = deflate(&vec![0u8; 10_000_000]);
        assert!(cap(&bomb, 10)
            .unwrap_err()
            .contains("more than the declared 10"));
    }
}
