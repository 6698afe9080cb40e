//! The array phase: the `.npy` format of each layer's member, as the `array.*` invariants say.
//!
//! The header is parsed by hand rather than evaluated: the spec's grammar is a tiny subset of
//! Python literals, and anything else (expressions, extra keys) must be refused. The data length
//! is compared with the shape before anything is allocated. Each step runs over every layer
//! before the next (`decode_layers`), as the spec's evaluation order requires; the checks the
//! constructor shares (rank, shape, finite values) are in `fields`. The writer's side
//! (`save.writer.npy_header`) is `header_bytes` and `write_matrix`.

use std::io::{self, Write};

use crate::errors::{fail, repr, Result};
use crate::fields::{self, Array};
use crate::limits::{ACCEPTED_DTYPES, NPY_DIMENSION_DIGITS_MAX};
use crate::zip::member_name;

/// What is wrong, for a message's detail.
type Detail<T> = std::result::Result<T, String>;

/// One layer's archive member and the names messages give it.
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    /// The member's bytes.
    pub raw: &'a [u8],
    /// The layer's name.
    pub name: &'a str,
    /// The layer's index (its member is `layer_{index}.npy`).
    pub index: usize,
}

/// A parsed `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The dtype descriptor, e.g. `<f8`.
    pub descr: String,
    /// True when the data is in column-major order.
    pub fortran_order: bool,
    /// The dimensions (at most 18 digits each).
    pub shape: Vec<u64>,
    /// Offset of the data in the member.
    pub data_offset: usize,
}

/// The array phase of loading over every layer's member, in spec order; the matrices widened
/// to float64.
pub fn decode_layers(
    raws: &[Vec<u8>],
    names: &[String],
    sizes: &[(i64, i64)],
) -> Result<Vec<Array>> {
    let layers: Vec<Layer<'_>> = raws
        .iter()
        .zip(names)
        .enumerate()
        .map(|(index, (raw, name))| Layer { raw, name, index })
        .collect();
    layers.iter().try_for_each(check_magic)?;
    let headers = layers
        .iter()
        .map(parse_header)
        .collect::<Result<Vec<_>>>()?;
    for (layer, header) in layers.iter().zip(&headers) {
        check_not_pickled(layer, header)?;
    }
    let dtypes = layers
        .iter()
        .zip(&headers)
        .map(|(layer, header)| accepted_dtype(layer, header))
        .collect::<Result<Vec<_>>>()?;
    let shapes: Vec<Vec<u64>> = headers.iter().map(|h| h.shape.clone()).collect();
    fields::check_ranks(names, &shapes)?;
    fields::check_shapes(names, sizes, &shapes)?;
    for ((layer, header), &dtype) in layers.iter().zip(&headers).zip(&dtypes) {
        check_data_length(layer, header, dtype)?;
    }
    let weights: Vec<Array> = layers
        .iter()
        .zip(&headers)
        .zip(&dtypes)
        .map(|((layer, header), &dtype)| to_float64(layer.raw, header, dtype))
        .collect();
    fields::check_finite(names, &weights)?;
    Ok(weights)
}

/// An accepted element type and how it widens to float64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IEEE binary floats of 2, 4 or 8 bytes.
    Float,
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
    if !ACCEPTED_DTYPES.contains(&descr) {
        return None;
    }
    // An accepted descr is byte order, kind letter, size digit: "<f8", "|u1".
    let b = descr.as_bytes();
    let kind = match b[1] {
        b'f' => Kind::Float,
        b'i' => Kind::Int,
        _ => Kind::Uint,
    };
    Some(Dtype {
        kind,
        size: usize::from(b[2] - b'0'),
        big_endian: b[0] == b'>',
    })
}

/// The header-length field's size and whether the header is UTF-8, for a known version.
fn version(raw: &[u8]) -> Option<(usize, bool)> {
    match (raw.get(6)?, raw.get(7)?) {
        (1, 0) => Some((2, false)),
        (2, 0) => Some((4, false)),
        (3, 0) => Some((4, true)),
        _ => None,
    }
}

/// `array.npy.magic`: the magic string and a known version.
pub fn check_magic(layer: &Layer<'_>) -> Result<()> {
    let raw = layer.raw;
    let detail = if raw.len() < 8 {
        format!("{} bytes, too short for the magic and version", raw.len())
    } else if &raw[..6] != b"\x93NUMPY" {
        "bad magic string".into()
    } else if version(raw).is_none() {
        format!("unsupported version {}.{}", raw[6], raw[7])
    } else {
        return Ok(());
    };
    Err(fail!(
        ArrayNpyMagic,
        name = layer.name,
        member = member_name(layer.index),
        detail = detail
    ))
}

/// `array.npy.header`: the header's length, encoding and grammar (the magic is checked).
pub fn parse_header(layer: &Layer<'_>) -> Result<Header> {
    header(layer.raw).map_err(|detail| {
        fail!(
            ArrayNpyHeader,
            name = layer.name,
            member = member_name(layer.index),
            detail = detail
        )
    })
}

fn header(b: &[u8]) -> Detail<Header> {
    let (len_size, utf8) = version(b).ok_or("unknown version")?;
    let len_bytes = b
        .get(8..8 + len_size)
        .ok_or("header length field is truncated")?;
    let hlen = len_bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let start = 8 + len_size;
    let end = (start as u64).saturating_add(hlen);
    if end > b.len() as u64 {
        return Err(format!(
            "header length {hlen} runs past the end of the member ({} bytes)",
            b.len()
        ));
    }
    let end = end as usize;
    let raw = &b[start..end];
    let text: String = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|_| "header is not valid UTF-8")?
            .to_string()
    } else {
        raw.iter().map(|&c| char::from(c)).collect()
    };
    let (descr, fortran_order, shape) = Grammar::new(&text).header()?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// `array.dtype.pickle`: the descr's type character (after the byte order) is not `O`.
pub fn check_not_pickled(layer: &Layer<'_>, header: &Header) -> Result<()> {
    if header.descr.chars().nth(1) == Some('O') {
        return Err(fail!(
            ArrayDtypePickle,
            name = layer.name,
            member = member_name(layer.index)
        ));
    }
    Ok(())
}

/// `array.dtype`: the descr is one of `npy.accepted_dtypes`.
pub fn accepted_dtype(layer: &Layer<'_>, header: &Header) -> Result<Dtype> {
    dtype(&header.descr).ok_or_else(|| {
        fail!(
            ArrayDtype,
            name = layer.name,
            member = member_name(layer.index),
            descr = header.descr
        )
    })
}

/// `array.data.length`: exactly the bytes the shape needs, compared before allocating.
pub fn check_data_length(layer: &Layer<'_>, header: &Header, dtype: Dtype) -> Result<()> {
    let expected = header.shape.iter().fold(dtype.size as u128, |acc, &d| {
        acc.saturating_mul(u128::from(d))
    });
    let got = (layer.raw.len() - header.data_offset) as u128;
    if got != expected {
        return Err(fail!(
            ArrayDataLength,
            name = layer.name,
            member = member_name(layer.index),
            got = got,
            expected = expected
        ));
    }
    Ok(())
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

    fn expect(&mut self, c: char) -> Detail<()> {
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

    fn quoted(&mut self) -> Detail<String> {
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

    /// A dimension: "0" or at most `NPY_DIMENSION_DIGITS_MAX` digits without a leading zero.
    fn int(&mut self) -> Detail<u64> {
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
            if self.pos - start == NPY_DIMENSION_DIGITS_MAX {
                return Err(format!(
                    "a dimension has more than {NPY_DIMENSION_DIGITS_MAX} digits"
                ));
            }
            v = v * 10 + u64::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    fn shape(&mut self) -> Detail<Vec<u64>> {
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

    fn boolean(&mut self) -> Detail<bool> {
        if self.word("True") {
            Ok(true)
        } else if self.word("False") {
            Ok(false)
        } else {
            Err(self.unexpected("True or False"))
        }
    }

    fn header(&mut self) -> Detail<(String, bool, Vec<u64>)> {
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
                "fortran_order" => fortran.replace(self.boolean()?).is_some(),
                "shape" => shape.replace(self.shape()?).is_some(),
                other => return Err(format!("unexpected key {}", repr(other))),
            };
            if dup {
                return Err(format!("key {} appears twice", repr(&key)));
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
            (None, _, _) => Err("missing key 'descr'".into()),
            (_, None, _) => Err("missing key 'fortran_order'".into()),
            _ => Err("missing key 'shape'".into()),
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
        (Kind::Float, 2) => half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f64(),
        (Kind::Float, 4) => f64::from(f32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))),
        (Kind::Float, _) => f64::from_le_bytes(bytes),
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

/// The matrix widened to row-major float64 (after every check above: the data is exactly
/// rows * cols elements of `dtype`).
pub fn to_float64(raw: &[u8], header: &Header, dtype: Dtype) -> Array {
    let (rows, cols) = (header.shape[0] as usize, header.shape[1] as usize);
    let mut data = vec![0.0; rows * cols];
    for (k, chunk) in raw[header.data_offset..]
        .chunks_exact(dtype.size)
        .enumerate()
    {
        let at = if header.fortran_order {
            // Column-major: element k is (k % rows, k / rows).
            (k % rows) * cols + k / rows
        } else {
            k
        };
        data[at] = read_element(chunk, dtype);
    }
    Array {
        shape: vec![rows, cols],
        data,
    }
}

// ---- the writer ----

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";
/// Values converted to bytes per `write` call: the matrix is never copied whole.
const VALUES_PER_WRITE: usize = 8192;

/// The writer's header (`save.writer.npy_header`): version 1.0, `<f8`, C order, padded with
/// spaces and ended by a newline so that the data starts at a multiple of 64 bytes, exactly as
/// `numpy.lib.format.write_array` writes it.
pub fn header_bytes(rows: usize, cols: usize) -> Vec<u8> {
    let mut text =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic, 2 version bytes, 2 length bytes, the text and its newline.
    let unpadded = MAGIC.len() + 4 + text.len() + 1;
    text.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    text.push('\n');
    let length = u16::try_from(text.len()).expect("two dimensions of at most 20 digits");
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + text.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Writes a validated weight matrix as a `.npy` file: the header, then its values as
/// little-endian float64 in row-major order, a slice at a time.
pub fn write_matrix(matrix: &Array, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(&header_bytes(matrix.shape[0], matrix.shape[1]))?;
    let mut bytes = Vec::with_capacity(8 * VALUES_PER_WRITE.min(matrix.data.len()));
    for values in matrix.data.chunks(VALUES_PER_WRITE) {
        bytes.clear();
        bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out.write_all(&bytes)?;
    }
    Ok(())
}
