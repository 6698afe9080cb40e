//! The array phase: the `.npy` format of each layer's member, as the `array.*` invariants say.
//!
//! The header is parsed by hand rather than evaluated: the spec's grammar is a tiny subset of
//! Python literals, and anything else (expressions, extra keys) must be refused. Members are
//! decoded as their bytes arrive (`Decoder`, fed by the archive pass): a layer's float64
//! matrix is allocated only once its header has passed every check and its data length agrees
//! with the member's size. Each step is then judged over every layer before the next
//! (`finish`), as the spec's evaluation order requires; the checks the constructor shares
//! (rank, shape, finite values) are in `fields`. The writer's side (`save.writer.npy_header`)
//! is `header_bytes` and `le_bytes`.

use std::borrow::Cow;

use crate::errors::{fail, repr, Result};
use crate::fields::{self, Array};
use crate::limits::{ACCEPTED_DTYPES, NPY_DIMENSION_DIGITS_MAX};
use crate::zip::{member_name, Sink};

/// What is wrong, for a message's detail.
type Detail<T> = std::result::Result<T, String>;

/// One layer's archive member and the names messages give it.
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    /// The member's first bytes: all of them, or at least as many as its header needs.
    pub raw: &'a [u8],
    /// The member's length in bytes.
    pub size: u64,
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

/// The array phase over whole members in memory, in spec order; the matrices widened to
/// float64.
pub fn decode_layers(
    raws: &[Vec<u8>],
    names: &[String],
    sizes: &[(i64, i64)],
) -> Result<Vec<Array>> {
    let mut decoders: Vec<Decoder<'_>> = raws
        .iter()
        .zip(names)
        .enumerate()
        .map(|(index, (raw, name))| Decoder::new(name, index, sizes[index], raw.len() as u64))
        .collect();
    for (decoder, raw) in decoders.iter_mut().zip(raws) {
        decoder.feed(raw);
    }
    finish(decoders, names, sizes)
}

/// The array phase over the decoded members (complete: the archive phase passed), in spec
/// order: each check over every layer before the next; the matrices.
pub fn finish(
    decoders: Vec<Decoder<'_>>,
    names: &[String],
    sizes: &[(i64, i64)],
) -> Result<Vec<Array>> {
    let mut decoders = decoders;
    decoders.iter_mut().for_each(Decoder::judge);
    let layers: Vec<Layer<'_>> = decoders.iter().map(Decoder::layer).collect();
    check_layers(&layers, names, sizes)?;
    let weights: Vec<Array> = decoders
        .into_iter()
        .map(|d| {
            d.matrix
                .expect("a layer that passed its checks is decoded")
                .array
        })
        .collect();
    fields::check_finite(names, &weights)?;
    Ok(weights)
}

/// The array phase up to the data length, each check over every layer before the next.
fn check_layers(layers: &[Layer<'_>], names: &[String], sizes: &[(i64, i64)]) -> Result<()> {
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
    Ok(())
}

/// One layer's checks of `check_layers`, in the same order: whether its matrix may be
/// allocated as soon as its header is in.
fn check_layer(layer: &Layer<'_>, size: (i64, i64)) -> Result<(Header, Dtype)> {
    check_magic(layer)?;
    let header = parse_header(layer)?;
    check_not_pickled(layer, &header)?;
    let dtype = accepted_dtype(layer, &header)?;
    let (name, shape) = ([layer.name.to_string()], [header.shape.clone()]);
    fields::check_ranks(&name, &shape)?;
    fields::check_shapes(&name, &[size], &shape)?;
    check_data_length(layer, &header, dtype)?;
    Ok((header, dtype))
}

/// A layer's member decoded as its bytes arrive (the archive pass's `Sink`): the bytes up to
/// the end of the `.npy` header are kept until the header can be judged; when it passes, the
/// matrix is allocated (its size then agrees with the member's, which the archive bounds) and
/// the data goes into it, read in place when it is little-endian float64 in C order.
pub struct Decoder<'a> {
    name: &'a str,
    index: usize,
    /// The layer's (input_features, output_features).
    expected: (i64, i64),
    /// The member's declared length.
    size: u64,
    head: Vec<u8>,
    judged: bool,
    matrix: Option<Filling>,
}

/// A matrix being filled: the data bytes received so far, and an element cut between two
/// chunks.
struct Filling {
    array: Array,
    dtype: Dtype,
    fortran_order: bool,
    received: usize,
    partial: Vec<u8>,
}

impl<'a> Decoder<'a> {
    /// A decoder for layer `index` (`name`, `expected` sizes) whose member is `size` bytes.
    pub fn new(name: &'a str, index: usize, expected: (i64, i64), size: u64) -> Self {
        Decoder {
            name,
            index,
            expected,
            size,
            head: Vec::new(),
            judged: false,
            matrix: None,
        }
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            raw: &self.head,
            size: self.size,
            name: self.name,
            index: self.index,
        }
    }

    /// How many of the member's first bytes judging the header takes.
    fn head_needed(&self) -> u64 {
        let needed = match version(&self.head) {
            Some((len_size, _)) if self.head.len() >= 8 + len_size => {
                header_end(&self.head, len_size)
            }
            Some((len_size, _)) => 8 + len_size as u64,
            None => 8,
        };
        needed.min(self.size)
    }

    /// Judges the header (once), allocating the matrix when the layer passes.
    fn judge(&mut self) {
        if self.judged {
            return;
        }
        self.judged = true;
        if let Ok((header, dtype)) = check_layer(&self.layer(), self.expected) {
            let (rows, cols) = (header.shape[0] as usize, header.shape[1] as usize);
            self.matrix = Some(Filling {
                array: Array {
                    shape: vec![rows, cols],
                    data: vec![0.0; rows * cols],
                },
                dtype,
                fortran_order: header.fortran_order,
                received: 0,
                partial: Vec::with_capacity(8),
            });
        }
    }
}

impl Sink for Decoder<'_> {
    fn target(&mut self) -> &mut [u8] {
        match &mut self.matrix {
            Some(m) if m.in_place() => {
                &mut bytemuck::cast_slice_mut(&mut m.array.data)[m.received..]
            }
            _ => &mut [],
        }
    }

    fn advance(&mut self, n: usize) {
        if let Some(m) = &mut self.matrix {
            m.received += n;
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !self.judged && !bytes.is_empty() {
            let want = (self.head_needed() - self.head.len() as u64) as usize;
            let (now, rest) = bytes.split_at(want.min(bytes.len()));
            self.head.extend_from_slice(now);
            bytes = rest;
            if self.head.len() as u64 == self.head_needed() {
                self.judge();
            }
        }
        if let Some(m) = &mut self.matrix {
            m.convert(bytes);
        }
    }
}

impl Filling {
    /// Little-endian float64 in C order on a little-endian machine: the bytes are the values.
    fn in_place(&self) -> bool {
        let f8 = self.dtype.kind == Kind::Float && self.dtype.size == 8;
        f8 && !self.dtype.big_endian && !self.fortran_order && cfg!(target_endian = "little")
    }

    /// Widens the next data bytes into the matrix; bytes past its end are left out (the
    /// archive phase refuses such a member).
    fn convert(&mut self, mut bytes: &[u8]) {
        if self.in_place() {
            let target = &mut bytemuck::cast_slice_mut(&mut self.array.data)[self.received..];
            let n = bytes.len().min(target.len());
            target[..n].copy_from_slice(&bytes[..n]);
            self.received += n;
            return;
        }
        let size = self.dtype.size;
        if !self.partial.is_empty() {
            let (now, rest) = bytes.split_at((size - self.partial.len()).min(bytes.len()));
            self.partial.extend_from_slice(now);
            bytes = rest;
            if self.partial.len() == size {
                let element = std::mem::take(&mut self.partial);
                self.put(&element);
                self.partial = element;
                self.partial.clear();
            }
        }
        let mut elements = bytes.chunks_exact(size);
        for element in &mut elements {
            self.put(element);
        }
        self.partial.extend_from_slice(elements.remainder());
    }

    /// Stores the next element where it goes in row-major order.
    fn put(&mut self, element: &[u8]) {
        let k = self.received / self.dtype.size;
        self.received += element.len();
        let (rows, cols) = (self.array.shape[0], self.array.shape[1]);
        let at = if self.fortran_order {
            // Column-major: element k is (k % rows, k / rows).
            (k % rows) * cols + k / rows
        } else {
            k
        };
        if let Some(slot) = self.array.data.get_mut(at).filter(|_| k < rows * cols) {
            *slot = read_element(element, self.dtype);
        }
    }
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

/// Where the header ends, from its length field (of `len_size` bytes, present in `b`).
fn header_end(b: &[u8], len_size: usize) -> u64 {
    let hlen = b[8..8 + len_size]
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    (8 + len_size as u64).saturating_add(hlen)
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
    header(layer.raw, layer.size).map_err(|detail| {
        fail!(
            ArrayNpyHeader,
            name = layer.name,
            member = member_name(layer.index),
            detail = detail
        )
    })
}

/// The header of the member of `size` bytes that `b` starts.
fn header(b: &[u8], size: u64) -> Detail<Header> {
    let (len_size, utf8) = version(b).ok_or("unknown version")?;
    if b.len() < 8 + len_size {
        return Err("header length field is truncated".into());
    }
    let start = 8 + len_size;
    let end = header_end(b, len_size);
    let hlen = end - start as u64;
    if end > size {
        return Err(format!(
            "header length {hlen} runs past the end of the member ({size} bytes)"
        ));
    }
    let end = end as usize;
    let raw = b
        .get(start..end)
        .ok_or("the header's bytes are not all in")?;
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
    let got = u128::from(layer.size - header.data_offset as u64);
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

// ---- the writer ----

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";

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

/// Float64 values as little-endian bytes, in place when the machine is little-endian (a
/// matrix's data as the `.npy` format and the weight digests take it).
pub fn le_bytes(values: &[f64]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(values))
    } else {
        Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}
