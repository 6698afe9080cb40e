"""Tests for checkpoint.mojo: load and construct run their surface's phases in spec order, and the
reported state."""

from std.os import makedirs
from std.testing import assert_equal, assert_true, TestSuite

from checkpoint import load_checkpoint, construct_checkpoint
from sha256 import sha256_hex
from support import (
    TMP, Member, stored, build_zip, matrix_npy, npy_bytes, f8_bytes, write_pair, write_file,
    two_layer_document, two_layer_archive, load_code, construct_code, valid_state, host,
    bytes_of,
)


def _doc(replace: String, with_text: String) -> String:
    """The valid two-layer document with one member's text replaced (textually)."""
    var doc = two_layer_document()
    return doc.replace(replace, with_text)


def _load_archive(name: String, archive: List[UInt8]) raises -> String:
    return load_code(write_pair(name, two_layer_document(), archive))


# ===----------------------------------------------------------------------=== #
# Load
# ===----------------------------------------------------------------------=== #


def test_load_valid_pair_and_state() raises:
    var base = write_pair("valid", two_layer_document(), two_layer_archive())
    var cp = load_checkpoint(base)
    assert_equal(cp.n_layers(), 2)
    assert_equal(cp.total_params(), 20)
    assert_equal(cp.weights[1][7], 2.5)
    var out = String()
    cp.write_state(out)
    assert_true(out.startswith('{"n_layers": 2, "total_params": 20, "layer_names": ["hidden", "out"], '
                               + '"layer_sizes": [[3, 4], [4, 2]], "neuron_types": ["LIF", "LIF"], '
                               + '"frozen_layers": ["out"], "metadata": {"task": "mnist"}, "weight_sha256": ["'), out)


def test_load_reports_metadata_integers_exactly() raises:
    # The issue's example: int64 and uint64 extremes survive load and report bit-exactly.
    var metadata = '{"seed": 18446744073709551615, "t_ns": 1764547200123456789, "neg": -9223372036854775808}'
    var base = write_pair("integers", _doc('{"task": "mnist"}', metadata), two_layer_archive())
    var out = String()
    load_checkpoint(base).write_state(out)
    assert_true(out.find(String('"metadata": ', metadata, ",")) >= 0, out)


def test_load_files_present() raises:
    makedirs(String(TMP, "/missing"), exist_ok=True)
    assert_equal(load_code(String(TMP, "/missing/none")), "json.file.present")
    makedirs(String(TMP, "/dirs/checkpoint.json"), exist_ok=True)
    assert_equal(load_code(String(TMP, "/dirs/checkpoint")), "json.file.present")
    makedirs(String(TMP, "/noarchive"), exist_ok=True)
    write_file(String(TMP, "/noarchive/checkpoint.json"), bytes_of(two_layer_document()))
    assert_equal(load_code(String(TMP, "/noarchive/checkpoint")), "archive.file.present")


def test_load_json_phase_comes_first() raises:
    # A broken document beats a broken archive.
    assert_equal(load_code(write_pair("json_first", "{", bytes_of("not a zip"))), "json.syntax")


def test_load_fields_phase_comes_before_the_archive() raises:
    # A schema or checkpoint error beats a broken archive (fields are checked in test_fields).
    var broken = bytes_of("not a zip")
    assert_equal(load_code(write_pair("schema_first", _doc('["LIF", "LIF"]', '"LIF"'), broken)),
                 "schema.neuron_types.type")
    assert_equal(load_code(write_pair("values_first", _doc('"n_layers": 2', '"n_layers": 3'), broken)),
                 "checkpoint.n_layers.consistent")
    # An empty checkpoint with an empty archive is valid.
    var empty = String('{"layer_names": [], "layer_sizes": [], "neuron_types": [], "frozen_layers": [], ',
                       '"n_layers": 0, "total_params": 0, "metadata": {}}')
    assert_equal(load_code(write_pair("empty", empty, build_zip(List[Member]()))), "accept")


def test_load_archive_phase() raises:
    # archive.digest, then the archive's own invariants (checked in test_zip).
    var digest = String(', "archive_sha256": "', sha256_hex(Span(two_layer_archive())), '"')
    assert_equal(load_code(write_pair("digest_ok", two_layer_document(digest), two_layer_archive())), "accept")
    var other = build_zip(List[Member]())
    assert_equal(load_code(write_pair("digest_torn", two_layer_document(digest), other)), "archive.digest")
    assert_equal(_load_archive("not_zip", bytes_of("PK but not really a zip file at all")),
                 "archive.zip.structure")
    var members = List[Member]()
    members.append(stored("layer_0.npy", matrix_npy(4, 3)))
    assert_equal(_load_archive("missing", build_zip(members)), "archive.members.missing")
    members.append(stored("layer_1.npy", matrix_npy(2, 4)))
    var data = build_zip(members)
    data[30 + 11 + 130] ^= 1
    assert_equal(_load_archive("crc", data), "archive.member.integrity")


def test_load_array_phase_orders_invariants_across_layers() raises:
    # Layer 0 has a non-finite weight, layer 1 a bad magic: magic comes first in spec order.
    var values = List[Float64]()
    for i in range(12):
        values.append(Float64.MAX * 2.0 if i == 3 else Float64(i))
    var layer0 = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }", f8_bytes(values))
    var layer1 = matrix_npy(2, 4)
    layer1[0] = 0
    var members = List[Member]()
    members.append(stored("layer_0.npy", layer0))
    members.append(stored("layer_1.npy", layer1))
    assert_equal(_load_archive("order", build_zip(members)), "array.npy.magic")
    members[1] = stored("layer_1.npy", matrix_npy(4, 2))
    assert_equal(_load_archive("order2", build_zip(members)), "array.shape.match")
    members[1] = stored("layer_1.npy", matrix_npy(2, 4))
    assert_equal(_load_archive("finite", build_zip(members)), "array.finite")


# ===----------------------------------------------------------------------=== #
# Construct
# ===----------------------------------------------------------------------=== #


def test_construct_valid_state() raises:
    var values = host(valid_state())
    var cp = construct_checkpoint(values, values.root)
    assert_equal(cp.total_params(), 8)
    assert_equal(cp.weights[0][5], 6.0)
    assert_equal(cp.frozen_layers[0], "b")


def test_construct_runs_the_construct_surface() raises:
    # Every construct code is checked in test_fields; here the constructor reports them.
    assert_equal(construct_code(valid_state("metadata", '{"v": {"$set": [1]}}')), "schema.metadata.type")
    assert_equal(construct_code(valid_state("frozen_layers", '["c"]')), "checkpoint.frozen_layers.references")
    assert_equal(construct_code(valid_state("weights", '[[[1, 2, 3], [4, 5, 6]], [[0.5, {"$float": "NaN"}]]]')),
                 "array.finite")
    # Metadata integers are reported exactly.
    var wide = '{"u": [18446744073709551615], "i": {"n": -9223372036854775808}, "m": 9223372036854775808}'
    var with_wide = host(valid_state("metadata", wide))
    var state = String()
    construct_checkpoint(with_wide, with_wide.root).write_state(state)
    assert_true(state.find(String('"metadata": ', wide, ",")) >= 0, state)
    # Without metadata the state reports an empty object.
    var values = host(valid_state("metadata", ""))
    var out = String()
    construct_checkpoint(values, values.root).write_state(out)
    assert_true(out.find('"metadata": {}') >= 0, out)


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
