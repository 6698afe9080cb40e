//! The archive phase: zip structure (central directory only), member names, methods and
//! integrity.

mod common;

use common::{build_zip, deflate, zip_of, Member, EOCD_SIG, ZIP64_EOCD_SIG, ZIP64_LOCATOR_SIG};
use sha2::{Digest, Sha256};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use snn_checkpoint::zip::{
    check_method, layer_members, member_bytes, read_directory, read_members, ArchiveWriter,
    Compression, Entry, Level, Sink,
};

fn two() -> Vec<u8> {
    build_zip(&[
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

/// Where the end record starts in an archive from `build_zip` (no comment).
fn eocd(b: &[u8]) -> usize {
    b.len() - 22
}

fn set16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn set32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Where the central directory starts.
fn cd(b: &[u8]) -> usize {
    let e = eocd(b);
    u32::from_le_bytes(b[e + 16..e + 20].try_into().unwrap()) as usize
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

/// The archive phase's verdict: the directory's checks, then each member's integrity.
fn members_code(archive: &[u8], layers: &[&str]) -> &'static str {
    let members = layer_members(archive, &names(layers));
    let read = |e: &Entry| member_bytes(archive, e).map(drop);
    match members.and_then(|m| m.iter().try_for_each(read)) {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

#[test]
fn reads_numpy_style_archives() {
    let b = two();
    let entries = read_directory(&b).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(member_bytes(&b, &entries[0]).unwrap(), b"hello hello hello");
    assert_eq!(member_bytes(&b, &entries[1]).unwrap(), b"stored");
    assert!(read_directory(&build_zip(&[])).unwrap().is_empty());
    // A comment after the end record is fine.
    let mut c = two();
    let e = eocd(&c);
    set16(&mut c, e + 20, 3);
    c.extend_from_slice(b"abc");
    assert_eq!(read_directory(&c).unwrap().len(), 2);
    assert_eq!(layer_members(&b, &names(&["a", "b"])).unwrap(), entries);
}

#[test]
fn structure_rules() {
    let broken = |b: &[u8]| {
        read_directory(b)
            .err()
            .is_some_and(|e| e.code() == "archive.zip.structure")
    };
    assert!(broken(b""));
    assert!(broken(b"not a zip at all, just text....."));
    let b = two();
    assert!(broken(&b[..b.len() - 1]));
    let mut trailing = two();
    trailing.push(0);
    assert!(broken(&trailing));
    let e = eocd(&b);
    let c = cd(&b);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = two();
        f(&mut m);
        m
    };
    assert!(broken(&edit(&|m| set16(m, e + 4, 1))), "multi-disk");
    assert!(
        broken(&edit(&|m| set16(m, e + 8, 1))),
        "entries on this disk differ"
    );
    let too_many = edit(&|m| {
        set16(m, e + 8, 3);
        set16(m, e + 10, 3);
    });
    assert!(broken(&too_many), "entry count too large");
    let too_few = edit(&|m| {
        set16(m, e + 8, 1);
        set16(m, e + 10, 1);
    });
    assert!(broken(&too_few), "directory bytes left over");
    assert!(
        broken(&edit(&|m| set32(m, e + 16, 1))),
        "bad directory offset"
    );
    assert!(broken(&edit(&|m| m[0] = b'X')), "bad local signature");
    assert!(broken(&edit(&|m| m[30] = b'L')), "local name differs");
    assert!(
        broken(&edit(&|m| set32(m, c + 20, 10_000))),
        "data runs past the directory"
    );
    // Point the second entry at the first local header: overlapping ranges.
    let second = c + 46 + b"layer_0.npy".len();
    assert!(broken(&edit(&|m| set32(m, second + 42, 0))), "overlap");
    assert!(
        broken(&edit(&|m| set16(m, c + 30, 2))),
        "truncated directory extra field"
    );
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
fn member_names_are_canonical_and_complete() {
    let m = |name: &str| zip_of(&[(name, vec![1])]);
    assert_eq!(members_code(&m("layer_0.npy"), &["a"]), "accepted");
    for bad in [
        "layer_1.npy",
        "layer_00.npy",
        "layer_01.npy",
        "layer_0",
        "Layer_0.npy",
        "dir/layer_0.npy",
        "layer_-1.npy",
        "layer_+1.npy",
        "layer_.npy",
    ] {
        assert_eq!(
            members_code(&m(bad), &["a"]),
            "archive.members.unexpected",
            "{bad}"
        );
    }
    let twice = zip_of(&[("layer_0.npy", vec![1]), ("layer_0.npy", vec![1])]);
    assert_eq!(members_code(&twice, &["a"]), "archive.members.duplicate");
    assert_eq!(
        members_code(&m("layer_0.npy"), &["a", "b"]),
        "archive.members.missing"
    );
    // Duplicates come before unexpected members, which come before missing ones.
    let both = zip_of(&[
        ("x", vec![1]),
        ("layer_0.npy", vec![1]),
        ("layer_0.npy", vec![1]),
    ]);
    assert_eq!(
        members_code(&both, &["a", "b"]),
        "archive.members.duplicate"
    );
    assert_eq!(members_code(&m("x"), &["a"]), "archive.members.unexpected");
}

#[test]
fn methods_then_integrity() {
    let b = two();
    let entries = read_directory(&b).unwrap();
    let method = |f: &dyn Fn(&mut Entry)| {
        let mut e = entries[0].clone();
        f(&mut e);
        check_method(&e).err().map(|e| e.code())
    };
    assert_eq!(method(&|_| {}), None);
    assert_eq!(method(&|e| e.method = 12), Some("archive.member.method"));
    assert_eq!(method(&|e| e.flags = 1), Some("archive.member.method"));
    assert_eq!(method(&|e| e.flags = 0x40), Some("archive.member.method"));

    let corrupt = |f: &dyn Fn(&mut Entry)| {
        let mut e = entries[0].clone();
        f(&mut e);
        member_bytes(&b, &e).err().map(|e| e.code())
    };
    let integrity = Some("archive.member.integrity");
    assert_eq!(corrupt(&|e| e.crc32 ^= 1), integrity);
    assert_eq!(corrupt(&|e| e.uncompressed_size += 1), integrity);
    assert_eq!(corrupt(&|e| e.uncompressed_size -= 1), integrity);
    assert_eq!(corrupt(&|e| e.compressed_size -= 1), integrity);
    let mut stored = entries[1].clone();
    stored.uncompressed_size += 1;
    assert!(member_bytes(&b, &stored).is_err(), "stored size mismatch");

    // In the archive, a bad method wins over a corrupt member.
    let mut m = zip_of(&[("layer_0.npy", vec![7; 10])]);
    let at = cd(&m);
    m[at + 10] = 12;
    m[at + 16] ^= 0xff;
    assert_eq!(members_code(&m, &["a"]), "archive.member.method");
    m[at + 10] = 8;
    assert_eq!(members_code(&m, &["a"]), "archive.member.integrity");
}

/// Inflates `raw` as a deflated member declaring `declared` bytes of `expected` content.
fn inflate(raw: &[u8], declared: u64, expected: &[u8]) -> Result<Vec<u8>, String> {
    let entry = Entry {
        name: b"m".to_vec(),
        method: 8,
        flags: 0,
        crc32: crc32fast::hash(expected),
        compressed_size: raw.len() as u64,
        uncompressed_size: declared,
        local_offset: 0,
        data_offset: 0,
    };
    member_bytes(raw, &entry).map_err(|e| e.message)
}

#[test]
fn inflation_is_capped_and_strict() {
    let stream = deflate(b"abc");
    assert_eq!(inflate(&stream, 3, b"abc").unwrap(), b"abc");
    let mut with_tail = stream.clone();
    with_tail.push(0);
    assert!(inflate(&with_tail, 3, b"abc").is_err(), "trailing");
    assert!(
        inflate(&stream[..stream.len() - 1], 3, b"abc").is_err(),
        "truncated"
    );
    assert!(inflate(&stream, 2, b"ab").is_err(), "more than declared");
    assert!(inflate(&[0xff, 0, 0], 1, b"x").is_err(), "garbage");
    // A back-reference before the start of the output is invalid deflate (miniz_oxide reads
    // zeros there, which is why the zlib-rs backend is used); found by fuzzing against the
    // reference.
    let hex = "9bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a1aea3a09e965f54529498179f5f949\
               20a12774bcc294e058a17672416a402f91a263a0ac69a3a0ab50a64032ed414f0c11eca7080501c\
               505a004a8b406909282d03a515a0b412945681d26a0e00";
    let far: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert!(inflate(&far, 224, b"")
        .unwrap_err()
        .contains("too far back"));
    // A bomb declaring a tiny size stops at declared + 1 bytes.
    let bomb = deflate(&vec![0u8; 10_000_000]);
    assert!(inflate(&bomb, 10, b"")
        .unwrap_err()
        .contains("more than the declared 10"));
}

// ---- the writer ----

/// An archive of these members written by `ArchiveWriter`.
fn written(compression: Compression, members: &[(&str, &[u8])]) -> Vec<u8> {
    let out = Cursor::new(Vec::new());
    let mut archive = ArchiveWriter::new(out, compression, Level::FASTEST);
    for (name, data) in members {
        archive.add(name.as_bytes(), &[data]).unwrap();
    }
    let (out, digest) = archive.finish().unwrap();
    let bytes = out.into_inner();
    assert_eq!(
        digest[..],
        Sha256::digest(&bytes)[..],
        "the writer hashes what it wrote"
    );
    bytes
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[test]
fn written_archives_read_back_with_either_method() {
    let long = b"spike ".repeat(1000);
    let members: [(&str, &[u8]); 3] = [("layer_0.npy", &long), ("layer_1.npy", b""), ("x", b"y")];
    for (compression, method) in [(Compression::Stored, 0), (Compression::Deflate, 8)] {
        let b = written(compression, &members);
        let entries = read_directory(&b).unwrap();
        assert_eq!(entries.len(), 3);
        for (entry, (name, data)) in entries.iter().zip(members) {
            assert_eq!(entry.name, name.as_bytes());
            assert_eq!((entry.method, entry.flags), (method, 0));
            assert_eq!(member_bytes(&b, entry).unwrap(), data);
        }
        // Local header: version 20, flags 0, the method, time 0, date 1980-01-01.
        assert_eq!(
            &b[..12],
            &[0x50, 0x4b, 3, 4, 20, 0, 0, 0, method as u8, 0, 0, 0]
        );
        assert_eq!(u16_at(&b, 12), 0x21);
    }
    let deflated = written(Compression::Deflate, &members[..1]);
    assert!(deflated.len() < 200, "{}", deflated.len());
}

#[test]
fn an_empty_archive_is_just_the_end_record() {
    for compression in [Compression::Stored, Compression::Deflate] {
        let b = written(compression, &[]);
        assert_eq!(b, [&EOCD_SIG.to_le_bytes()[..], &[0; 18]].concat());
    }
}

#[test]
fn compression_is_named_as_python_names_it() {
    assert_eq!("stored".parse(), Ok(Compression::Stored));
    assert_eq!("deflate".parse(), Ok(Compression::Deflate));
    assert_eq!(Compression::default(), Compression::Deflate);
    let refused = "zstd".parse::<Compression>().unwrap_err();
    assert_eq!(
        refused,
        "compression must be 'deflate' or 'stored', not 'zstd'"
    );
}

/// Counts every byte and keeps only the writes shorter than 64 KiB: the headers, not the
/// gigabytes of a member's data.
#[derive(Default)]
struct Headers {
    kept: Vec<u8>,
    total: u64,
}

impl Write for Headers {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() < 1 << 16 {
            self.kept.extend_from_slice(buf);
        }
        self.total += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Stored members are never read back or rewritten.
impl Seek for Headers {
    fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
        Err(io::Error::other(
            "stored archives are written front to back",
        ))
    }
}

impl Read for Headers {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("stored archives are hashed as written"))
    }
}

/// The member sizes of `zip64_fields_appear_only_where_needed`: 4 GiB + 1 MiB, then 4 bytes.
const BIG: u64 = (4096 + 1) << 20;
/// Where the kept bytes put the second local header, the directory and the end records.
const SECOND: usize = 30 + 3 + 20;
const DIRECTORY: usize = SECOND + 30 + 5 + 4;
const DIRECTORY_SIZE: usize = (46 + 3 + 20) + (46 + 5 + 12);

#[test]
fn zip64_fields_appear_only_where_needed() {
    // A stored member of 4 GiB + 1 MiB of zeros, then a small one beyond the 4 GiB offset.
    let zeros = vec![0u8; 1 << 20];
    let huge = vec![&zeros[..]; 4097];
    let mut archive = ArchiveWriter::new(Headers::default(), Compression::Stored, Level::FASTEST);
    archive.add(b"big", &huge).unwrap();
    archive.add(b"small", &[b"tiny"]).unwrap();
    let (Headers { kept: h, total }, _) = archive.finish().unwrap();
    // The first local header: version 45, both sizes 0xFFFFFFFF, in its extra field.
    assert_eq!((u16_at(&h, 4), u32_at(&h, 18)), (45, u32::MAX));
    assert_eq!(
        (u32_at(&h, 22), u16_at(&h, 26), u16_at(&h, 28)),
        (u32::MAX, 3, 20)
    );
    assert_eq!(&h[33..37], &[1, 0, 16, 0]);
    assert_eq!((u64_at(&h, 37), u64_at(&h, 45)), (BIG, BIG));
    // The second needs nothing: version 20, its own sizes, no extra field.
    assert_eq!((u16_at(&h, SECOND + 4), u32_at(&h, SECOND + 18)), (20, 4));
    assert_eq!(u16_at(&h, SECOND + 28), 0);
    check_zip64_directory(&h);
    check_zip64_end(&h);
    assert_eq!(
        (DIRECTORY + DIRECTORY_SIZE + 56 + 20 + 22) as u64 + BIG,
        total
    );
}

/// Central entries: the big sizes, then the big offset, each in a zip64 extra field.
fn check_zip64_directory(h: &[u8]) {
    let cd = DIRECTORY;
    assert_eq!((u16_at(h, cd + 4), u16_at(h, cd + 6)), (45, 45));
    assert_eq!(
        (u32_at(h, cd + 20), u32_at(h, cd + 24)),
        (u32::MAX, u32::MAX)
    );
    assert_eq!((u16_at(h, cd + 30), u32_at(h, cd + 42)), (20, 0));
    assert_eq!((u64_at(h, cd + 53), u64_at(h, cd + 61)), (BIG, BIG));
    let cd = DIRECTORY + 46 + 3 + 20;
    assert_eq!((u32_at(h, cd + 20), u32_at(h, cd + 42)), (4, u32::MAX));
    let small_offset = SECOND as u64 + BIG;
    assert_eq!((u16_at(h, cd + 30), u64_at(h, cd + 55)), (12, small_offset));
}

/// The directory starts beyond 4 GiB: the zip64 end record and locator, then the end record.
fn check_zip64_end(h: &[u8]) {
    let start = DIRECTORY as u64 + BIG; // the kept offset, plus the data not kept
    let size = DIRECTORY_SIZE as u64;
    let z = DIRECTORY + DIRECTORY_SIZE;
    assert_eq!((u32_at(h, z), u64_at(h, z + 4)), (ZIP64_EOCD_SIG, 44));
    assert_eq!((u16_at(h, z + 12), u16_at(h, z + 14)), (45, 45));
    assert_eq!([u64_at(h, z + 24), u64_at(h, z + 32)], [2, 2]);
    assert_eq!([u64_at(h, z + 40), u64_at(h, z + 48)], [size, start]);
    let locator = z + 56;
    assert_eq!(u32_at(h, locator), ZIP64_LOCATOR_SIG);
    assert_eq!(
        (u64_at(h, locator + 8), u32_at(h, locator + 16)),
        (start + size, 1)
    );
    let end = locator + 20;
    assert_eq!((u32_at(h, end), u16_at(h, end + 8)), (EOCD_SIG, 2));
    assert_eq!(
        (u32_at(h, end + 12), u32_at(h, end + 16)),
        (size as u32, u32::MAX)
    );
}

/// A sink that offers `room` bytes of its buffer for in-place writes, and takes the rest fed.
struct InPlace {
    buffer: Vec<u8>,
    filled: usize,
    fed: Vec<u8>,
}

impl InPlace {
    fn new(room: usize) -> Self {
        InPlace {
            buffer: vec![0; room],
            filled: 0,
            fed: Vec::new(),
        }
    }

    /// Everything received, in order.
    fn bytes(&self) -> Vec<u8> {
        [&self.buffer[..self.filled], &self.fed].concat()
    }
}

impl Sink for InPlace {
    fn target(&mut self) -> &mut [u8] {
        if self.fed.is_empty() {
            &mut self.buffer[self.filled..]
        } else {
            &mut []
        }
    }

    fn advance(&mut self, n: usize) {
        self.filled += n;
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.fed.extend_from_slice(bytes);
    }
}

/// Bytes that do not repeat, so that deflate keeps them long.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn one_pass_observes_every_byte_and_fills_each_member_in_place() {
    // Members of several chunks and deflate blocks, one offering less room than it holds.
    let (big, zeros) = (noise(3 << 20), vec![0u8; (5 << 20) / 2]);
    let members: [(&str, &[u8]); 3] = [("a", &big), ("b", b"tiny"), ("c", &zeros)];
    for compression in [Compression::Stored, Compression::Deflate] {
        let archive = written(compression, &members);
        let entries = read_directory(&archive).unwrap();
        let mut sinks = vec![InPlace::new(big.len()), InPlace::new(2), InPlace::new(0)];
        let mut observed = Vec::new();
        let mut observe = |bytes: &[u8]| observed.extend_from_slice(bytes);
        let verdict = read_members(&archive, &entries, &mut sinks, &mut observe).unwrap();
        assert!(verdict.is_ok(), "{compression:?}");
        assert_eq!(observed, archive);
        for (sink, (_, data)) in sinks.iter().zip(members) {
            assert_eq!(sink.bytes(), data, "{compression:?}");
        }
        assert_eq!(sinks[0].filled, big.len(), "read in place");
    }
}

#[test]
fn integrity_is_reported_for_the_first_layer_and_impossible_sizes_allocate_nothing() {
    let archive = written(Compression::Deflate, &[("a", b"first"), ("b", b"second")]);
    let mut entries = read_directory(&archive).unwrap();
    // Layer order is the reverse of file order; both members are broken.
    entries.reverse();
    entries[0].crc32 ^= 1;
    // More than deflate can produce from 8 bytes: refused without inflating.
    entries[1].uncompressed_size = entries[1].compressed_size * 1032 + 1025;
    let mut sinks = vec![Vec::new(), Vec::new()];
    let mut observed = 0;
    let mut observe = |bytes: &[u8]| observed += bytes.len();
    let verdict = read_members(&archive, &entries, &mut sinks, &mut observe).unwrap();
    let error = verdict.unwrap_err();
    assert_eq!(error.code(), "archive.member.integrity");
    assert!(error.message.contains("'b'"), "{}", error.message);
    assert_eq!(observed, archive.len());
    assert_eq!((sinks[0].len(), sinks[1].len()), (6, 0));
    // At the bound itself the stream is inflated (and falls short).
    entries[1].uncompressed_size -= 1;
    let e = &entries[1];
    assert!(member_bytes(&archive, e)
        .unwrap_err()
        .message
        .contains("inflates to 5 bytes"));
}

#[test]
fn levels_are_one_to_nine() {
    assert_eq!(Level::default(), Level::FASTEST);
    assert_eq!(Level::FASTEST.get(), 1);
    assert_eq!(Level::new(9).map(Level::get), Ok(9));
    for refused in [0, 10, -1, 1 << 40] {
        assert!(Level::new(refused).is_err(), "{refused}");
    }
    // Every level writes a stream every reader inflates: an empty member, one of a block, and
    // one of several blocks (1 MiB each, in parallel) mixing noise and runs, split unevenly.
    let mut many = noise(2_500_000);
    many[1_000_000..1_700_000].fill(7);
    for level in 1..=9 {
        let out = Cursor::new(Vec::new());
        let mut archive = ArchiveWriter::new(out, Compression::Deflate, Level::new(level).unwrap());
        archive.add(b"empty", &[]).unwrap();
        archive
            .add(b"one", &[&many[..10], &many[10..100_000]])
            .unwrap();
        archive
            .add(b"many", &[&many[..1_048_000], &many[1_048_000..]])
            .unwrap();
        let b = archive.finish().unwrap().0.into_inner();
        let members = read_directory(&b).unwrap();
        for (e, data) in members
            .iter()
            .zip([&many[..0], &many[..100_000], &many[..]])
        {
            assert_eq!(member_bytes(&b, e).unwrap(), data, "level {level}");
        }
        assert!(
            members[2].compressed_size < 2_000_000,
            "the run is compressed"
        );
    }
}

/// Counts what it is fed.
#[derive(Default)]
struct Count(u64);

impl Sink for Count {
    fn target(&mut self) -> &mut [u8] {
        &mut []
    }

    fn advance(&mut self, _: usize) {}

    fn feed(&mut self, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

#[test]
fn a_deflated_member_just_under_4_gib_moves_up_over_its_unused_zip64_room() {
    // Its compressed size could have needed zip64, so room was reserved; 4 GiB of zeros
    // deflate to a few MB, so the stream moves up and the local header has no extra field.
    let zeros = vec![0u8; 1 << 20];
    let mut parts = vec![&zeros[..]; 4096];
    parts[4095] = &zeros[1000..];
    let size = (4u64 << 30) - 1000;
    let out = Cursor::new(Vec::new());
    let mut archive = ArchiveWriter::new(out, Compression::Deflate, Level::FASTEST);
    archive.add(b"big", &parts).unwrap();
    archive.add(b"next", &[b"after"]).unwrap();
    let (out, digest) = archive.finish().unwrap();
    let b = out.into_inner();
    assert_eq!(digest[..], Sha256::digest(&b)[..]);
    assert_eq!(
        (u16_at(&b, 4), u16_at(&b, 28)),
        (20, 0),
        "no zip64 extra field"
    );
    let entries = read_directory(&b).unwrap();
    assert_eq!(entries[0].uncompressed_size, size);
    assert_eq!(u32_at(&b, 22) as u64, size);
    let mut sinks = vec![Count::default(), Count::default()];
    let verdict = read_members(&b, &entries, &mut sinks, &mut |_| {}).unwrap();
    assert!(verdict.is_ok());
    assert_eq!((sinks[0].0, sinks[1].0), (size, 5));
}
