//! The `.npy` format: a strict header grammar parser and dtype widening to float64.
//!
//! The header is parsed by hand rather than evaluated: the spec's grammar is a tiny subset of
//! Python literals, and anything else (expressions, extra keys) must be refused.

use crate::error::Invariant;

/// A parsed `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The dtype descriptor, e.g. `<f8`.
    pub descr: String,
    /// True when the data is in column-major order.
    pub fortran_order: bool,
    /// The dimensions; values beyond u64 saturate (they can match no layer).
    pub shape: Vec<u64>,
    /// Offset of the data in the member.
    pub data_offset: usize,
}

impl Header {
    /// The shape as Python prints a tuple: `()`, `(3,)`, `(2, 3)`.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }
}

/// Formats dimensions as a Python tuple.
pub fn shape_text<T: std::fmt::Display>(shape: &[T]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An accepted element type and how it widens to float64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IEEE binary64.
    F8,
    /// IEEE binary32.
    F4,
    /// IEEE binary16.
    F2,
    /// Signed integers of 1, 2, 4 or 8 bytes.
    Int,
    /// Unsigned integers of 1, 2, 4 or 8 bytes.
    Uint,
}

/// An accepted dtype: kind, size and byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dtype {
    /// How the value widens.
    pub kind: Kind,
    /// Bytes per element.
    pub size: usize,
    /// True for `>` descriptors.
    pub big_endian: bool,
}

/// The dtype for a descr in `npy.accepted_dtypes`, or None.
pub fn dtype(descr: &str) -> Option<Dtype> {
    let (big_endian, rest) = match descr.as_bytes().first()? {
        b'<' => (false, &descr[1..]),
        b'>' => (true, &descr[1..]),
        b'|' => (false, &descr[1..]),
        _ => return None,
    };
    let one_byte = descr.starts_with('|');
    let (kind, size) = match rest {
        "f8" => (Kind::F8, 8),
        "f4" => (Kind::F4, 4),
        "f2" => (Kind::F2, 2),
        "i1" => (Kind::Int, 1),
        "i2" => (Kind::Int, 2),
        "i4" => (Kind::Int, 4),
        "i8" => (Kind::Int, 8),
        "u1" => (Kind::Uint, 1),
        "u2" => (Kind::Uint, 2),
        "u4" => (Kind::Uint, 4),
        "u8" => (Kind::Uint, 8),
        _ => return None,
    };
    // "|" marks exactly the one-byte types; "<i1" or "|f8" are not in the list.
    if one_byte != (size == 1) {
        return None;
    }
    Some(Dtype {
        kind,
        size,
        big_endian,
    })
}

/// True when the descr is an object dtype (`array.dtype.pickle`): its type character, the one
/// after the byte-order character, is `O`.
pub fn is_object_descr(descr: &str) -> bool {
    descr.chars().nth(1) == Some('O')
}

/// Parses the magic, version and header of a member. Errors carry `array.npy.magic` or
/// `array.npy.header` and a detail.
pub fn parse_header(b: &[u8]) -> Result<Header, (Invariant, String)> {
    let magic = |d: String| (Invariant::ArrayNpyMagic, d);
    let header = |d: String| (Invariant::ArrayNpyHeader, d);
    if b.len() < 8 {
        return Err(magic(format!(
            "{} bytes, too short for the magic and version",
            b.len()
        )));
    }
    if &b[..6] != b"\x93NUMPY" {
        return Err(magic("bad magic string".into()));
    }
    let (major, minor) = (b[6], b[7]);
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2usize, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(magic(format!("unsupported version {major}.{minor}"))),
    };
    let len_bytes = b
        .get(8..8 + len_size)
        .ok_or_else(|| header("header length field is truncated".into()))?;
    let hlen = len_bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let start = 8 + len_size;
    let end = (start as u64).saturating_add(hlen);
    if end > b.len() as u64 {
        return Err(header(format!(
            "header length {hlen} runs past the end of the member ({} bytes)",
            b.len()
        )));
    }
    let end = end as usize;
    let raw = &b[start..end];
    let text: String = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|_| header("header is not valid UTF-8".into()))?
            .to_string()
    } else {
        raw.iter().map(|&c| char::from(c)).collect()
    };
    let (descr, fortran_order, shape) = Grammar::new(&text).header().map_err(header)?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

struct Grammar {
    chars: Vec<char>,
    pos: usize,
}

impl Grammar {
    fn new(text: &str) -> Self {
        Grammar {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("{c:?}")))
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            Some(c) => format!("expected {wanted} at position {}, found {c:?}", self.pos),
            None => format!("expected {wanted} at position {}, found the end", self.pos),
        }
    }

    fn word(&mut self, w: &str) -> bool {
        let n = w.chars().count();
        if self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(w.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.expect('\'')?;
        let mut s = String::new();
        loop {
            match self.peek() {
                Some('\'') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') => return Err("backslash in a quoted string".into()),
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
                None => return Err("unterminated quoted string".into()),
            }
        }
    }

    fn int(&mut self) -> Result<u64, String> {
        let start = self.pos;
        match self.peek() {
            Some('0') => {
                self.pos += 1;
                if matches!(self.peek(), Some('0'..='9')) {
                    return Err("leading zero in a dimension".into());
                }
                return Ok(0);
            }
            Some('1'..='9') => {}
            _ => return Err(self.unexpected("a dimension")),
        }
        let mut v: u64 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            v = v.saturating_mul(10).saturating_add(u64::from(d));
            self.pos += 1;
        }
        debug_assert!(self.pos > start);
        Ok(v)
    }

    fn shape(&mut self) -> Result<Vec<u64>, String> {
        self.expect('(')?;
        self.spaces();
        let mut dims = Vec::new();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(dims);
        }
        dims.push(self.int()?);
        self.spaces();
        if self.peek() == Some(')') {
            return Err("a one-element shape needs a trailing comma".into());
        }
        self.expect(',')?;
        self.spaces();
        loop {
            if self.peek() == Some(')') {
                self.pos += 1;
                return Ok(dims);
            }
            dims.push(self.int()?);
            self.spaces();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.spaces();
                }
                Some(')') => {
                    self.pos += 1;
                    return Ok(dims);
                }
                _ => return Err(self.unexpected("',' or ')'")),
            }
        }
    }

    fn header(&mut self) -> Result<(String, bool, Vec<u64>), String> {
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        // Spaces may separate tokens, and the reference tokenizer also lets them lead.
        self.spaces();
        self.expect('{')?;
        self.spaces();
        loop {
            let key = self.quoted()?;
            self.spaces();
            self.expect(':')?;
            self.spaces();
            let dup = match key.as_str() {
                "descr" => descr.replace(self.quoted()?).is_some(),
                "fortran_order" => {
                    let v = if self.word("True") {
                        true
                    } else if self.word("False") {
                        false
                    } else {
                        return Err(self.unexpected("True or False"));
                    };
                    fortran.replace(v).is_some()
                }
                "shape" => shape.replace(self.shape()?).is_some(),
                other => return Err(format!("unexpected key {}", crate::error::repr(other))),
            };
            if dup {
                return Err(format!("key {} appears twice", crate::error::repr(&key)));
            }
            self.spaces();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.spaces();
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        break;
                    }
                }
                Some('}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
        self.spaces();
        self.expect('\n')?;
        if self.pos != self.chars.len() {
            return Err("characters after the final newline".into());
        }
        match (descr, fortran, shape) {
            (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
            (d, f, _) => Err(format!(
                "missing key '{}'",
                if d.is_none() {
                    "descr"
                } else if f.is_none() {
                    "fortran_order"
                } else {
                    "shape"
                }
            )),
        }
    }
}

fn read_element(chunk: &[u8], dt: Dtype) -> f64 {
    let mut bytes = [0u8; 8];
    bytes[..dt.size].copy_from_slice(chunk);
    if dt.big_endian {
        bytes[..dt.size].reverse();
    }
    match (dt.kind, dt.size) {
        (Kind::F8, _) => f64::from_le_bytes(bytes),
        (Kind::F4, _) => f64::from(f32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))),
        (Kind::F2, _) => half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f64(),
        (Kind::Int, 1) => f64::from(bytes[0] as i8),
        (Kind::Int, 2) => f64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
        (Kind::Int, 4) => f64::from(i32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))),
        // `as` rounds to nearest, ties to even, as the spec requires for 64-bit integers.
        (Kind::Int, _) => i64::from_le_bytes(bytes) as f64,
        (Kind::Uint, 1) => f64::from(bytes[0]),
        (Kind::Uint, 2) => f64::from(u16::from_le_bytes([bytes[0], bytes[1]])),
        (Kind::Uint, 4) => f64::from(u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))),
        (Kind::Uint, _) => u64::from_le_bytes(bytes) as f64,
    }
}

/// Widens `data` (exactly rows * cols elements, checked by the caller) to a row-major float64
/// matrix.
pub fn widen(data: &[u8], dt: Dtype, rows: usize, cols: usize, fortran_order: bool) -> Vec<f64> {
    let mut out = vec![0.0; rows * cols];
    for (k, chunk) in data.chunks_exact(dt.size).enumerate() {
        let v = read_element(chunk, dt);
        let at = if fortran_order {
            // Column-major: element k is (k % rows, k / rows).
            (k % rows) * cols + k / rows
        } else {
            k
        };
        out[at] = v;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    fn code(b: &[u8]) -> Option<&'static str> {
        parse_header(b).err().map(|(i, _)| i.id())
    }

    #[test]
    fn parses_numpy_headers() {
        let h = parse_header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }          \n",
            &[],
        ))
        .unwrap();
        assert_eq!(h.descr, "<f8");
        assert!(!h.fortran_order);
        assert_eq!(h.shape, vec![2, 3]);
        let h = parse_header(&npy(
            "{'shape':(4,),'fortran_order':True,'descr':'>i2'}\n",
            &[],
        ))
        .unwrap();
        assert_eq!((h.shape, h.fortran_order), (vec![4], true));
        let h = parse_header(&npy(
            "{'descr': '|u1', 'fortran_order': False, 'shape': ()}\n",
            &[],
        ))
        .unwrap();
        assert!(h.shape.is_empty());
    }

    #[test]
    fn refuses_bad_magic_and_versions() {
        assert_eq!(code(b"\x93NUMP"), Some("array.npy.magic"));
        assert_eq!(code(b"\x93NUMPX\x01\x00\x00\x00"), Some("array.npy.magic"));
        assert_eq!(code(b"\x93NUMPY\x04\x00\x00\x00"), Some("array.npy.magic"));
        assert_eq!(code(b"\x93NUMPY\x01\x01\x00\x00"), Some("array.npy.magic"));
        assert_eq!(code(b"\x93NUMPY\x01\x00\x00"), Some("array.npy.header"));
    }

    #[test]
    fn refuses_malformed_headers() {
        for h in [
            "{'descr': '<f8', 'fortran_order': False}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3]}\n",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2*1, 3)}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 3)}\n",
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 3)}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2)}\n",
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n",
            "{\"descr\": '<f8', 'fortran_order': False, 'shape': (2,)}\n",
            "{'descr': '<f8',\t'fortran_order': False, 'shape': (2,)}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (02,)}\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,),,}\n",
        ] {
            assert_eq!(code(&npy(h, &[])), Some("array.npy.header"), "{h:?}");
        }
        let mut b = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n",
            &[],
        );
        b[8] = 0xff;
        assert_eq!(code(&b), Some("array.npy.header"));
    }

    #[test]
    fn huge_dimensions_saturate() {
        let h = parse_header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999, 1)}\n",
            &[],
        ))
        .unwrap();
        assert_eq!(h.shape[0], u64::MAX);
    }

    #[test]
    fn dtypes() {
        assert!(dtype("<f8").is_some());
        assert!(dtype(">u8").is_some());
        assert!(dtype("|i1").is_some());
        for d in [
            "<i1", "|f8", "=f8", "<f16", "|b1", "<c16", "<U1", "|S8", "<M8[s]", "f8", "",
        ] {
            assert!(dtype(d).is_none(), "{d}");
        }
        assert!(is_object_descr("|O"));
        assert!(is_object_descr("<O8"));
        assert!(!is_object_descr("O"));
        assert!(!is_object_descr("<f8"));
    }

    #[test]
    fn widening_is_exact_and_honours_order() {
        let be: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let dt = dtype(">f4").unwrap();
        assert_eq!(widen(&be, dt, 1, 2, false), vec![1.5, -2.0]);
        let data: Vec<u8> = (1u16..=6).flat_map(|v| v.to_le_bytes()).collect();
        // Column-major 2x3: columns (1,2), (3,4), (5,6).
        assert_eq!(
            widen(&data, dtype("<u2").unwrap(), 2, 3, true),
            vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
        );
        let big = (i64::MAX).to_le_bytes();
        assert_eq!(
            widen(&big, dtype("<i8").unwrap(), 1, 1, false),
            vec![2f64.powi(63)]
        );
        let h = 0x3c00u16.to_le_bytes(); // 1.0 in binary16
        assert_eq!(widen(&h, dtype("<f2").unwrap(), 1, 1, false), vec![1.0]);
    }
}
