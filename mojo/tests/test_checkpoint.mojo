"""Tests for checkpoint.mojo: every load and construct invariant, and the reported state."""

from std.os import makedirs
from std.testing import assert_equal, assert_true, TestSuite

from checkpoint import load_checkpoint, construct_checkpoint, sorted_unique
from sha256 import sha256_hex
from support import (
    TMP, Member, stored, build_zip, matrix_npy, npy_bytes, f8_bytes, write_pair, write_file,
    two_layer_document, two_layer_archive, load_code, construct_code, valid_state, host,
    bytes_of, central_offset, put16,
)


def _doc(replace: String, with_text: String) -> String:
    """The valid two-layer document with one member's text replaced (textually)."""
    var doc = two_layer_document()
    return doc.replace(replace, with_text)


def _load_doc(name: String, document: String) raises -> String:
    return load_code(write_pair(name, document, two_layer_archive()))


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


def test_load_schema() raises:
    assert_equal(_load_doc("root", "[1]"), "schema.root.type")
    assert_equal(_load_doc("required", _doc('"n_layers": 2, ', "")), "schema.keys.required")
    assert_equal(_load_doc("known", _doc('"n_layers": 2', '"n_layers": 2, "version": 1')),
                 "schema.keys.known")
    # Required beats known, whatever the document order.
    assert_equal(_load_doc("required_first", _doc('"n_layers": 2', '"version": 1')),
                 "schema.keys.required")
    assert_equal(_load_doc("names", _doc('["hidden", "out"]', '["hidden", 5]')), "schema.layer_names.type")
    assert_equal(_load_doc("sizes", _doc("[[3, 4], [4, 2]]", "[[3, 4], [4, 2.0]]")), "schema.layer_sizes.type")
    assert_equal(_load_doc("pair", _doc("[[3, 4], [4, 2]]", "[[3, 4], [4, 2, 1]]")), "schema.layer_sizes.type")
    assert_equal(_load_doc("types", _doc('["LIF", "LIF"]', '"LIF"')), "schema.neuron_types.type")
    assert_equal(_load_doc("frozen", _doc('["out"]', "[null]")), "schema.frozen_layers.type")
    assert_equal(_load_doc("n", _doc('"n_layers": 2', '"n_layers": 2.0')), "schema.n_layers.type")
    assert_equal(_load_doc("total", _doc('"total_params": 20', '"total_params": 2e1')),
                 "schema.total_params.type")
    assert_equal(_load_doc("meta", _doc('{"task": "mnist"}', "[]")), "schema.metadata.type")
    var upper = String(', "archive_sha256": "', sha256_hex(Span(two_layer_archive())).upper(), '"')
    assert_equal(_load_doc("digest_text", two_layer_document(upper)), "schema.archive_sha256.type")
    assert_equal(_load_doc("digest_null", two_layer_document(', "archive_sha256": null')),
                 "schema.archive_sha256.type")


def test_load_checkpoint_values() raises:
    assert_equal(_load_doc("empty_name", _doc('["hidden", "out"]', '["", "out"]')),
                 "checkpoint.layer_names.nonempty")
    assert_equal(_load_doc("dup_name", _doc('["hidden", "out"]', '["out", "out"]')),
                 "checkpoint.layer_names.unique")
    assert_equal(_load_doc("size_count", _doc("[[3, 4], [4, 2]]", "[[3, 4]]")),
                 "checkpoint.layer_sizes.count")
    assert_equal(_load_doc("size_range", _doc("[[3, 4], [4, 2]]", "[[3, 4], [4, 0]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(_load_doc("size_max", _doc("[[3, 4], [4, 2]]", "[[3, 4], [2147483648, 2]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(_load_doc("types_count", _doc('["LIF", "LIF"]', '["LIF"]')),
                 "checkpoint.neuron_types.count")
    assert_equal(_load_doc("frozen_ref", _doc('["out"]', '["ghost"]')),
                 "checkpoint.frozen_layers.references")
    assert_equal(_load_doc("n_layers", _doc('"n_layers": 2', '"n_layers": 3')),
                 "checkpoint.n_layers.consistent")
    assert_equal(_load_doc("total_params", _doc('"total_params": 20', '"total_params": 21')),
                 "checkpoint.total_params.consistent")
    # An empty checkpoint with an empty archive is valid.
    var empty = String('{"layer_names": [], "layer_sizes": [], "neuron_types": [], "frozen_layers": [], ',
                       '"n_layers": 0, "total_params": 0, "metadata": {}}')
    assert_equal(load_code(write_pair("empty", empty, build_zip(List[Member]()))), "accept")


def test_load_archive_phase() raises:
    var digest = String(', "archive_sha256": "', sha256_hex(Span(two_layer_archive())), '"')
    assert_equal(load_code(write_pair("digest_ok", two_layer_document(digest), two_layer_archive())), "accept")
    var other = build_zip(List[Member]())
    assert_equal(load_code(write_pair("digest_torn", two_layer_document(digest), other)), "archive.digest")
    assert_equal(_load_archive("not_zip", bytes_of("PK but not really a zip file at all")),
                 "archive.zip.structure")
    var members = List[Member]()
    members.append(stored("layer_0.npy", matrix_npy(4, 3)))
    members.append(stored("layer_1.npy", matrix_npy(2, 4)))
    members.append(stored("layer_1.npy", matrix_npy(2, 4)))
    assert_equal(_load_archive("duplicate", build_zip(members)), "archive.members.duplicate")
    _ = members.pop()
    members.append(stored("layer_00.npy", matrix_npy(2, 4)))
    assert_equal(_load_archive("unexpected", build_zip(members)), "archive.members.unexpected")
    _ = members.pop()
    _ = members.pop()
    assert_equal(_load_archive("missing", build_zip(members)), "archive.members.missing")
    members.append(stored("layer_1.npy", matrix_npy(2, 4)))
    var data = build_zip(members)
    var cd = central_offset(data)
    put16(data, cd + 10, 12)
    assert_equal(_load_archive("method", data), "archive.member.method")
    data = build_zip(members)
    put16(data, cd + 8, 1)
    assert_equal(_load_archive("encrypted", data), "archive.member.method")
    data = build_zip(members)
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


def _deep_metadata(arrays: Int) -> String:
    var out = String('{"d": ')
    for _ in range(arrays):
        out += "["
    for _ in range(arrays):
        out += "]"
    out += "}"
    return out^


def test_construct_schema() raises:
    assert_equal(construct_code(valid_state("layer_names", '"ab"')), "schema.layer_names.type")
    assert_equal(construct_code(valid_state("layer_names", '["a", "\\ud800"]')), "schema.layer_names.type")
    assert_equal(construct_code(valid_state("layer_sizes", "[[3, 2], [2, true]]")), "schema.layer_sizes.type")
    assert_equal(construct_code(valid_state("layer_sizes", '[[3, 2], {"$tuple": [2, 1]}]')), "accept")
    assert_equal(construct_code(valid_state("neuron_types", "null")), "schema.neuron_types.type")
    assert_equal(construct_code(valid_state("neuron_types", "")), "accept")
    assert_equal(construct_code(valid_state("frozen_layers", '{"$set": ["b"]}')), "schema.frozen_layers.type")
    var metadata_bad: List[String] = [
        "[]", '{"v": {"$float": "NaN"}}', '{"v": {"$set": [1, 2]}}', '{"v": {"$bytes": "00ff"}}',
        '{"v": {"$object": "object()"}}', '{"$map": [[3, "layer"]]}', '{"v": {"$tuple": [1, "two"]}}',
        '{"v": 9007199254740992}', '{"v": "\\udc00"}',
    ]
    for m in metadata_bad:
        assert_equal(construct_code(valid_state("metadata", m)), "schema.metadata.type", m)
    # metadata itself is container 1: 62 nested arrays inside reach the limit of 63.
    assert_equal(construct_code(valid_state("metadata", _deep_metadata(62))), "accept")
    assert_equal(construct_code(valid_state("metadata", _deep_metadata(63))), "schema.metadata.type")
    var weights_bad: List[String] = ['"w"', '[1, [[1, 2]]]', '[[[1, 2]], "w"]', '[[[true, false]], [[1]]]',
                                     '[[[1, 2], [3]], [[1]]]', '[[["1", 2]], [[1]]]', '[[[1.5, true]], [[1]]]']
    for w in weights_bad:
        assert_equal(construct_code(valid_state("weights", w)), "schema.weights.type", w)


def test_construct_checkpoint_and_array_phases() raises:
    assert_equal(construct_code(valid_state("layer_names", '["", "b"]')), "checkpoint.layer_names.nonempty")
    assert_equal(construct_code(valid_state("layer_names", '["b", "b"]')), "checkpoint.layer_names.unique")
    assert_equal(construct_code(valid_state("layer_sizes", "[[3, 2]]")), "checkpoint.layer_sizes.count")
    assert_equal(construct_code(valid_state("layer_sizes", "[[3, 2], [2, 10000000000000000000000]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(construct_code(valid_state("neuron_types", '["LIF"]')), "checkpoint.neuron_types.count")
    assert_equal(construct_code(valid_state("frozen_layers", '["c"]')), "checkpoint.frozen_layers.references")
    assert_equal(construct_code(valid_state("weights", "[[[0.5, 1.5]]]")), "checkpoint.weights.count")
    assert_equal(construct_code(valid_state("weights", '[[1, 2, 3, 4, 5, 6], [[0.5, 1.5]]]')), "array.shape.rank")
    assert_equal(construct_code(valid_state("weights", '[[[1, 2], [3, 4], [5, 6]], [[0.5, 1.5]]]')),
                 "array.shape.match")
    assert_equal(construct_code(valid_state("weights", '[[[1, 2, 3], [4, 5, 6]], [[0.5, {"$float": "NaN"}]]]')),
                 "array.finite")
    # Rank is checked on every layer before shapes: layer 0 mismatched, layer 1 rank 1.
    assert_equal(construct_code(valid_state("weights", '[[[1, 2], [3, 4], [5, 6]], [0.5, 1.5]]')),
                 "array.shape.rank")


def test_sorted_unique_by_code_point() raises:
    var names: List[String] = ["b", "é", "a", "B", "b"]
    var out = sorted_unique(names)
    assert_equal(len(out), 4)
    assert_equal(out[0], "B")
    assert_equal(out[3], "é")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
