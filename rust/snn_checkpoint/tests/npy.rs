//! The array phase: `.npy` magic, header grammar, dtypes, shapes, data length, widening to
//! float64 and finite values, each over every layer before the next.

mod common;

use common::{digest_f64, f8, npy, npy_raw};
use snn_checkpoint::npy::{
    check_magic, decode_layers, dtype, finish, header_bytes, le_bytes, parse_header, Decoder,
    Header, Layer,
};
use snn_checkpoint::zip::Sink;
use snn_checkpoint::{Array, CheckpointError};

/// The header of a member, or the code of its magic/header failure.
fn header(raw: &[u8]) -> Result<Header, &'static str> {
    let layer = Layer {
        raw,
        size: raw.len() as u64,
        name: "w",
        index: 0,
    };
    check_magic(&layer)
        .and_then(|()| parse_header(&layer))
        .map_err(|e| e.code())
}

/// Decodes layers named a, b, ... each (3 outputs, 2 inputs); the code of the first failure.
/// Fed whole, or `piece` bytes at a time as the archive pass feeds them (into the decoder's
/// buffer when it offers one), the members decode the same.
fn decode(members: &[Vec<u8>]) -> Result<Vec<String>, &'static str> {
    let names: Vec<String> = (0..members.len())
        .map(|i| format!("{}", (b'a' + i as u8) as char))
        .collect();
    let sizes = vec![(2, 3); members.len()];
    let digests = |r: Result<Vec<Array>, CheckpointError>| {
        r.map(|ws| ws.iter().map(|w| digest_f64(&w.data)).collect())
            .map_err(|e| e.code())
    };
    let whole = digests(decode_layers(members, &names, &sizes));
    for piece in [1, 3, 7, 64, 4096] {
        assert_eq!(digests(in_pieces(members, &names, &sizes, piece)), whole);
    }
    whole
}

fn in_pieces(
    members: &[Vec<u8>],
    names: &[String],
    sizes: &[(i64, i64)],
    piece: usize,
) -> Result<Vec<Array>, CheckpointError> {
    let mut decoders: Vec<Decoder<'_>> = members
        .iter()
        .enumerate()
        .map(|(i, m)| Decoder::new(&names[i], i, sizes[i], m.len() as u64))
        .collect();
    for (decoder, member) in decoders.iter_mut().zip(members) {
        for chunk in member.chunks(piece) {
            let target = decoder.target();
            let n = target.len().min(chunk.len());
            target[..n].copy_from_slice(&chunk[..n]);
            decoder.advance(n);
            decoder.feed(&chunk[n..]);
        }
    }
    finish(decoders, names, sizes)
}

fn code<T>(r: Result<T, &'static str>) -> &'static str {
    r.err().unwrap_or("accepted")
}

#[test]
fn parses_numpy_headers() {
    let h = header(&npy_raw(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }          \n",
        &[],
    ))
    .unwrap();
    assert_eq!(
        (h.descr.as_str(), h.fortran_order, h.shape),
        ("<f8", false, vec![2, 3])
    );
    let h = header(&npy_raw(
        "{'shape':(4,),'fortran_order':True,'descr':'>i2'}\n",
        &[],
    ))
    .unwrap();
    assert_eq!((h.shape, h.fortran_order), (vec![4], true));
    let h = header(&npy_raw(
        "{'descr': '|u1', 'fortran_order': False, 'shape': ()}\n",
        &[],
    ))
    .unwrap();
    assert!(h.shape.is_empty());
    let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n";
    assert_eq!(
        header(&npy_raw(text, &[9])).unwrap().data_offset,
        10 + text.len()
    );
}

#[test]
fn refuses_bad_magic_and_versions() {
    assert_eq!(code(header(b"\x93NUMP")), "array.npy.magic");
    assert_eq!(
        code(header(b"\x93NUMPX\x01\x00\x00\x00")),
        "array.npy.magic"
    );
    assert_eq!(
        code(header(b"\x93NUMPY\x04\x00\x00\x00")),
        "array.npy.magic"
    );
    assert_eq!(
        code(header(b"\x93NUMPY\x01\x01\x00\x00")),
        "array.npy.magic"
    );
    assert_eq!(code(header(b"PK")), "array.npy.magic");
    assert_eq!(code(header(b"\x93NUMPY\x01\x00\x00")), "array.npy.header");
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
        assert_eq!(code(header(&npy_raw(h, &[]))), "array.npy.header", "{h:?}");
    }
    let mut b = npy_raw(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n",
        &[],
    );
    b[8] = 0xff;
    assert_eq!(code(header(&b)), "array.npy.header", "length past the end");
}

#[test]
fn dimensions_have_at_most_18_digits() {
    let shape = |dims: &str| {
        header(&npy_raw(
            &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({dims}, 1)}}\n"),
            &[],
        ))
    };
    assert_eq!(
        shape("999999999999999999").unwrap().shape[0],
        999_999_999_999_999_999
    );
    assert_eq!(code(shape("1234567890123456789")), "array.npy.header");
    assert_eq!(code(shape("99999999999999999999999")), "array.npy.header");
}

#[test]
fn dtypes() {
    assert!(dtype("<f8").is_some());
    assert!(dtype(">u8").is_some_and(|d| d.big_endian && d.size == 8));
    assert!(dtype("|i1").is_some_and(|d| d.size == 1));
    for d in [
        "<i1", "|f8", "=f8", "<f16", "|b1", "<c16", "<U1", "|S8", "<M8[s]", "f8", "",
    ] {
        assert!(dtype(d).is_none(), "{d}");
    }
}

#[test]
fn reads_every_accepted_layout_as_the_same_matrix() {
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let want = digest_f64(&values);
    let be: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let fortran = f8(&[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    let i2: Vec<u8> = (1i16..=6).flat_map(|v| v.to_be_bytes()).collect();
    let u1: Vec<u8> = (1u8..=6).collect();
    let f4: Vec<u8> = values
        .iter()
        .flat_map(|&v| (v as f32).to_be_bytes())
        .collect();
    let f2: Vec<u8> = [0x3c00u16, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let u8s: Vec<u8> = (1u64..=6).flat_map(|v| v.to_le_bytes()).collect();
    for member in [
        npy("<f8", false, "(3, 2)", &f8(&values)),
        npy(">f8", false, "(3, 2)", &be),
        npy("<f8", true, "(3, 2)", &fortran),
        npy(">i2", false, "(3, 2)", &i2),
        npy("|u1", false, "(3, 2)", &u1),
        npy(">f4", false, "(3, 2)", &f4),
        npy("<f2", false, "(3, 2)", &f2),
        npy("<u8", false, "(3, 2)", &u8s),
    ] {
        assert_eq!(decode(&[member]).unwrap(), vec![want.clone()]);
    }
}

#[test]
fn sixty_four_bit_integers_round_to_nearest() {
    let big = npy(
        "<i8",
        false,
        "(3, 2)",
        &[i64::MAX.to_le_bytes(); 6].concat(),
    );
    assert_eq!(
        decode(&[big]).unwrap(),
        vec![digest_f64(&[2f64.powi(63); 6])]
    );
}

#[test]
fn array_phase_in_order() {
    let data = f8(&[0.0; 6]);
    let one = |member: Vec<u8>| code(decode(&[member]));
    assert_eq!(one(b"\x93NUMPY\x04\x00".to_vec()), "array.npy.magic");
    assert_eq!(one(npy("<f8", false, "[3, 2]", &data)), "array.npy.header");
    assert_eq!(one(npy("|O", false, "(3, 2)", &data)), "array.dtype.pickle");
    assert_eq!(
        one(npy("<O8", false, "(3, 2)", &data)),
        "array.dtype.pickle"
    );
    assert_eq!(one(npy("<c16", false, "(3, 2)", &data)), "array.dtype");
    assert_eq!(one(npy("O", false, "(3, 2)", &data)), "array.dtype");
    assert_eq!(one(npy("<f8", false, "(6,)", &data)), "array.shape.rank");
    assert_eq!(one(npy("<f8", false, "(2, 3)", &data)), "array.shape.match");
    assert_eq!(
        one(npy("<f8", false, "(3, 2)", &data[1..])),
        "array.data.length"
    );
    let mut long = data.clone();
    long.extend_from_slice(&[0; 8]);
    assert_eq!(one(npy("<f8", false, "(3, 2)", &long)), "array.data.length");
    let nan = f8(&[0.0, 0.0, 0.0, f64::NAN, 0.0, 0.0]);
    assert_eq!(one(npy("<f8", false, "(3, 2)", &nan)), "array.finite");
    let inf16 = [0x00, 0x7c].repeat(6);
    assert_eq!(one(npy("<f2", false, "(3, 2)", &inf16)), "array.finite");
}

#[test]
fn each_invariant_runs_over_all_layers_before_the_next() {
    // Layer a fails late (finite), layer b early (dtype): dtype is reported.
    let nan = npy("<f8", false, "(3, 2)", &f8(&[f64::NAN; 6]));
    let complex = npy("<c16", false, "(3, 2)", &[0; 96]);
    assert_eq!(code(decode(&[nan.clone(), complex])), "array.dtype");
    let short = npy("<f8", false, "(3, 2)", &[0; 8]);
    assert_eq!(code(decode(&[nan, short])), "array.data.length");
}

#[test]
fn the_writer_header_is_numpy_s_version_1_0_header() {
    // numpy.lib.format.write_array_header_1_0 for these shapes (generated with numpy).
    let numpy = |shape: &str, spaces: usize| {
        let text = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        let mut b = b"\x93NUMPY\x01\x00v\x00".to_vec();
        b.extend_from_slice(text.as_bytes());
        b.extend_from_slice(" ".repeat(spaces).as_bytes());
        b.push(b'\n');
        b
    };
    assert_eq!(header_bytes(2, 3), numpy("(2, 3)", 58));
    assert_eq!(header_bytes(12345, 678), numpy("(12345, 678)", 52));
    let widest = header_bytes(2_147_483_647, 2_147_483_647);
    assert_eq!(widest, numpy("(2147483647, 2147483647)", 40));
    assert_eq!(widest.len() % 64, 0);
}

#[test]
fn a_written_matrix_reads_back_bit_for_bit() {
    let values: Vec<f64> = (0..20_000)
        .map(|i| f64::from(i) * -0.125 + 1e-310)
        .collect();
    let matrix = Array {
        shape: vec![4, 5_000],
        data: values.clone(),
    };
    let member = [header_bytes(4, 5_000), le_bytes(&values).into_owned()].concat();
    assert_eq!(member.len(), 128 + 8 * values.len());
    assert_eq!(&member[128..136], &values[0].to_le_bytes());
    let names = vec!["w".to_string()];
    let decoded = decode_layers(&[member], &names, &[(5_000, 4)]).unwrap();
    assert_eq!(decoded[0], matrix);
}
