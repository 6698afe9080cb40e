//! Raw deflate through Intel ISA-L's igzip (libisal, `isa-l/igzip_lib.h` 2.30): the writer's
//! compressor, several times zlib's speed on weights at the same kind of output (RFC 1951).
//!
//! The structs are transcribed from the header for LP64; `tests` compiles a C program against
//! the installed header and fails on any difference in size or field offset.

use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
use std::ffi::{c_int, c_void};
use std::io;

const HIST_SIZE: usize = 32 * 1024;
/// ISAL_LOOK_AHEAD: the longest match rounded up to 32 bytes.
const LOOK_AHEAD: usize = (258 + 31) & !31;
const LVL0_HASH_SIZE: usize = 8 * 1024;
const NO_FLUSH: u16 = 0;
const SYNC_FLUSH: u16 = 1;
const COMP_OK: c_int = 0;
/// `enum isal_zstate_state`: a block ended (after a sync flush), the stream ended.
const ZSTATE_NEW_HDR: c_int = 0;
const ZSTATE_END: c_int = 11;

/// struct BitBuf2.
#[allow(dead_code)] // fields ISA-L reads and writes
#[repr(C)]
struct BitBuf2 {
    m_bits: u64,
    m_bit_count: u32,
    m_out_buf: *mut u8,
    m_out_end: *mut u8,
    m_out_start: *mut u8,
}

/// struct isal_zstate.
#[allow(dead_code)] // fields ISA-L reads and writes
#[repr(C)]
struct ZState {
    total_in_start: u32,
    block_next: u32,
    block_end: u32,
    dist_mask: u32,
    hash_mask: u32,
    state: c_int,
    bitbuf: BitBuf2,
    crc: u32,
    has_wrap_hdr: u8,
    has_eob_hdr: u8,
    has_eob: u8,
    has_hist: u8,
    has_level_buf_init: u16,
    count: u32,
    tmp_out_buff: [u8; 16],
    tmp_out_start: u32,
    tmp_out_end: u32,
    b_bytes_valid: u32,
    b_bytes_processed: u32,
    buffer: [u8; 2 * HIST_SIZE + LOOK_AHEAD],
    head: [u16; LVL0_HASH_SIZE],
}

/// struct isal_zstream.
#[allow(dead_code)] // fields ISA-L reads and writes
#[repr(C)]
struct ZStream {
    next_in: *const u8,
    avail_in: u32,
    total_in: u32,
    next_out: *mut u8,
    avail_out: u32,
    total_out: u32,
    hufftables: *mut c_void,
    level: u32,
    level_buf_size: u32,
    level_buf: *mut u8,
    end_of_stream: u16,
    flush: u16,
    /// IGZIP_DEFLATE (0, what `isal_deflate_init` sets): raw deflate, no wrapper.
    gzip_flag: u16,
    hist_bits: u16,
    internal_state: ZState,
}

#[link(name = "isal")]
extern "C" {
    fn isal_deflate_init(stream: *mut ZStream);
    fn isal_deflate(stream: *mut ZStream) -> c_int;
}

/// ISA-L's level for zlib's `level` 1-9, as the reference maps them (`save.writer`): 1-3 -> 1,
/// 4-6 -> 2, 7-9 -> 3 (its level 0 is no faster on weights, so none maps to it).
pub fn isal_level(level: u32) -> u32 {
    level.clamp(1, 9).div_ceil(3)
}

/// ISAL_DEF_LVL{1,2,3}_DEFAULT: the header's suggested level buffer sizes.
fn level_buf_size(isal_level: u32) -> usize {
    const K: usize = 1024;
    let hash = match isal_level {
        1 => 8 * K,
        _ => HIST_SIZE,
    };
    let req = 4 * K + 2 * hash + if isal_level == 3 { 16 * K } else { 0 };
    req + 4 * 64 * K
}

/// One raw deflate stream in progress; `block` compresses a piece of it at a time.
pub struct Deflater {
    // Boxed: 80 KiB, and ISA-L keeps no pointer into it between calls, but it must not move
    // during one.
    stream: Box<ZStream>,
    _level_buf: Vec<u8>,
}

// SAFETY: the raw pointers in the stream point into `_level_buf` (owned) or into the buffers
// of the call in progress; nothing is shared with another thread.
unsafe impl Send for Deflater {}

impl Deflater {
    /// A new stream at zlib's `level` (1-9).
    pub fn new(level: u32) -> Self {
        let isal = isal_level(level);
        let layout = Layout::new::<ZStream>();
        // SAFETY: the layout is ZStream's (not zero-sized); all-zero bytes are a valid ZStream
        // (integers, null pointers, zero arrays), which isal_deflate_init then initialises;
        // the Box takes ownership of the allocation with the same layout.
        let mut stream = unsafe {
            let raw = alloc_zeroed(layout).cast::<ZStream>();
            if raw.is_null() {
                handle_alloc_error(layout);
            }
            Box::from_raw(raw)
        };
        let mut level_buf = vec![0u8; level_buf_size(isal)];
        // SAFETY: `stream` is a valid, exclusively borrowed isal_zstream.
        unsafe { isal_deflate_init(&mut *stream) };
        stream.level = isal;
        stream.level_buf_size = level_buf.len() as u32;
        stream.level_buf = level_buf.as_mut_ptr();
        Deflater {
            stream,
            _level_buf: level_buf,
        }
    }

    /// Compresses `pieces` in order, appending to `out`, ended by a sync flush (the output ends
    /// on a byte boundary, so the next block's stream can follow it) or, when `last`, by the
    /// stream's final block.
    pub fn block(&mut self, pieces: &[&[u8]], last: bool, out: &mut Vec<u8>) -> io::Result<()> {
        let empty: [&[u8]; 1] = [&[]];
        let pieces = if pieces.is_empty() {
            &empty[..]
        } else {
            pieces
        };
        for (i, piece) in pieces.iter().enumerate() {
            let last_piece = i + 1 == pieces.len();
            let end = if last_piece { Some(last) } else { None };
            self.feed(piece, end, out)?;
        }
        Ok(())
    }

    /// Compresses one `input` (avail_in is 32 bits: at most 4 GiB - 1) into `out`, grown as
    /// needed, until all of it is in and, for a flush (`Some(false)`) or the stream's end
    /// (`Some(true)`), out.
    fn feed(&mut self, input: &[u8], end: Option<bool>, out: &mut Vec<u8>) -> io::Result<()> {
        let s = &mut *self.stream;
        s.next_in = input.as_ptr();
        s.avail_in = u32::try_from(input.len()).map_err(|_| io::Error::other("piece too long"))?;
        s.flush = if end == Some(false) {
            SYNC_FLUSH
        } else {
            NO_FLUSH
        };
        s.end_of_stream = u16::from(end == Some(true));
        let mut used = out.len();
        loop {
            if out.len() - used < (1 << 16) {
                // The room the caller reserved first, then 64 KiB more at a time.
                out.resize(out.capacity().max(used + (1 << 16)), 0);
            }
            let room = &mut out[used..];
            s.next_out = room.as_mut_ptr();
            s.avail_out = u32::try_from(room.len()).unwrap_or(u32::MAX);
            let given = s.avail_out;
            // SAFETY: next_in/avail_in describe `input` and next_out/avail_out `room`, both
            // alive and unaliased for the call; the stream was initialised by isal_deflate_init.
            let rc = unsafe { isal_deflate(s) };
            if rc != COMP_OK {
                return Err(io::Error::other(format!("ISA-L deflate failed ({rc})")));
            }
            used += (given - s.avail_out) as usize;
            let state = s.internal_state.state;
            let done = s.avail_in == 0
                && match end {
                    None => s.avail_out > 0,
                    Some(false) => state == ZSTATE_NEW_HDR,
                    Some(true) => state == ZSTATE_END,
                };
            if done {
                out.truncate(used);
                // The stream keeps no pointer to `input` or `out` past this call.
                s.next_in = std::ptr::null();
                s.next_out = std::ptr::null_mut();
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};
    use std::process::Command;

    /// The header's sizes and offsets, from a C program compiled against it.
    fn c_layout() -> Vec<(String, usize)> {
        let dir = std::env::temp_dir().join(format!("snn-isal-layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("layout.c");
        let fields = [
            "next_in",
            "avail_in",
            "next_out",
            "avail_out",
            "level",
            "level_buf_size",
            "level_buf",
            "end_of_stream",
            "flush",
            "gzip_flag",
            "internal_state",
            "internal_state.state",
            "internal_state.bitbuf",
            "internal_state.buffer",
            "internal_state.head",
        ];
        let mut c = String::from(
            "#include <stdio.h>\n#include <stddef.h>\n#include <isa-l/igzip_lib.h>\nint main(void){\n\
             printf(\"size %zu\\n\", sizeof(struct isal_zstream));\n\
             printf(\"lvl1 %d\\nlvl2 %d\\nlvl3 %d\\n\", ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT);\n",
        );
        for f in fields {
            c += &format!("printf(\"{f} %zu\\n\", offsetof(struct isal_zstream, {f}));\n");
        }
        c += "return 0;}\n";
        std::fs::write(&src, c).unwrap();
        let exe = dir.join("layout");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let built = Command::new(cc)
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .status()
            .unwrap();
        assert!(
            built.success(),
            "compiling the layout probe against igzip_lib.h failed"
        );
        let out = Command::new(&exe).output().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let (k, v) = l.split_once(' ').unwrap();
                (k.to_string(), v.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn structs_match_the_header() {
        let st = offset_of!(ZStream, internal_state);
        let rust = [
            ("size", size_of::<ZStream>()),
            ("lvl1", level_buf_size(1)),
            ("lvl2", level_buf_size(2)),
            ("lvl3", level_buf_size(3)),
            ("next_in", offset_of!(ZStream, next_in)),
            ("avail_in", offset_of!(ZStream, avail_in)),
            ("next_out", offset_of!(ZStream, next_out)),
            ("avail_out", offset_of!(ZStream, avail_out)),
            ("level", offset_of!(ZStream, level)),
            ("level_buf_size", offset_of!(ZStream, level_buf_size)),
            ("level_buf", offset_of!(ZStream, level_buf)),
            ("end_of_stream", offset_of!(ZStream, end_of_stream)),
            ("flush", offset_of!(ZStream, flush)),
            ("gzip_flag", offset_of!(ZStream, gzip_flag)),
            ("internal_state", st),
            ("internal_state.state", st + offset_of!(ZState, state)),
            ("internal_state.bitbuf", st + offset_of!(ZState, bitbuf)),
            ("internal_state.buffer", st + offset_of!(ZState, buffer)),
            ("internal_state.head", st + offset_of!(ZState, head)),
        ];
        let c = c_layout();
        let rust: Vec<(String, usize)> = rust.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(rust, c);
    }

    #[test]
    fn levels_map_as_the_reference() {
        let mapped: Vec<u32> = (1..=9).map(isal_level).collect();
        assert_eq!(mapped, [1, 1, 1, 2, 2, 2, 3, 3, 3]);
    }
}
