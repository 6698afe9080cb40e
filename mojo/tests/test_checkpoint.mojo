"""Tests for checkpoint.mojo: load and construct run their surface's phases in spec order, the
reported state, and save (validation, the files, atomicity).

tests/golden holds a pair written by the Python reference from tests/golden/state.json, from the
repository root:
    .venv/bin/python -c 'import json, numpy as np; from sc_neurocore.transfer import SNNCheckpoint, save_checkpoint; s = json.load(open("mojo/tests/golden/state.json")); s["weights"] = [np.array(w) for w in s["weights"]]; save_checkpoint(SNNCheckpoint(**s), "mojo/tests/golden/checkpoint", compression="stored")'
"""

from std.ffi import external_call
from std.os import makedirs, listdir, remove, rmdir
from std.os.path import exists
from std.testing import assert_equal, assert_true, assert_false, TestSuite

from checkpoint import Checkpoint, load_checkpoint, construct_checkpoint, save_checkpoint
from json import K_SET
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


def test_load_digest_comes_before_a_broken_directory() raises:
    # The directory is read first, but archive.digest (which needs the whole file) is reported
    # before the directory's own violation.
    var junk = bytes_of("PK but not really a zip file at all")
    var right = String(', "archive_sha256": "', sha256_hex(Span(junk)), '"')
    var wrong = String(', "archive_sha256": "', sha256_hex(Span(two_layer_archive())), '"')
    assert_equal(load_code(write_pair("junk_wrong", two_layer_document(wrong), junk)),
                 "archive.digest")
    assert_equal(load_code(write_pair("junk_right", two_layer_document(right), junk)),
                 "archive.zip.structure")


def test_load_archive_phase_comes_before_the_array_phase() raises:
    # In the file layer 1 comes first with a bad magic, then layer 0 with a bad CRC-32: the pass
    # meets the header first, but member integrity is reported.
    var layer1 = matrix_npy(2, 4)
    layer1[0] = 0
    var members = List[Member]()
    members.append(stored("layer_1.npy", layer1))
    members.append(stored("layer_0.npy", matrix_npy(4, 3)))
    members[1].crc ^= 1
    assert_equal(_load_archive("integrity_first", build_zip(members)), "archive.member.integrity")
    members[1].crc ^= 1
    assert_equal(_load_archive("magic_then", build_zip(members)), "array.npy.magic")
    members[0] = stored("layer_1.npy", matrix_npy(2, 4))
    assert_equal(_load_archive("file_order", build_zip(members)), "accept")


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


# ===----------------------------------------------------------------------=== #
# Save
# ===----------------------------------------------------------------------=== #

comptime GOLDEN = "tests/golden"  # test.sh runs the tests from mojo/


def _read(path: String) raises -> List[UInt8]:
    with open(path, "r") as f:
        return f.read_bytes()


def _golden() raises -> Checkpoint:
    var values = host(String(unsafe_from_utf8=Span(_read(String(GOLDEN, "/state.json")))))
    return construct_checkpoint(values, values.root)


def _state(cp: Checkpoint) -> String:
    var out = String()
    cp.write_state(out)
    return out^


def _save(cp: Checkpoint, base: String, compression: String = "stored", level: Int = 1) -> String:
    """The save's code: "accept", the violated invariant, or "io" when a file operation failed
    (or the arguments were refused)."""
    try:
        save_checkpoint(cp, base, compression, level)
        return "accept"
    except e:
        return e.code if e.code else String("io")


def _fresh(name: String) raises -> String:
    """An empty folder TMP/save/NAME (emptied of files left by an earlier run)."""
    var folder = String(TMP, "/save/", name)
    makedirs(folder, exist_ok=True)
    for entry in listdir(folder):
        remove(String(folder, "/", entry))
    return folder^


def _entries(folder: String) raises -> List[String]:
    var names = listdir(folder)
    sort(names)
    return names^


def test_save_is_byte_identical_to_the_reference() raises:
    var base = String(_fresh("golden"), "/checkpoint")
    assert_equal(_save(_golden(), base), "accept")
    assert_true(_read(base + ".npz") == _read(String(GOLDEN, "/checkpoint.npz")))
    assert_true(_read(base + ".json") == _read(String(GOLDEN, "/checkpoint.json")))


def test_save_then_load_gives_the_same_state() raises:
    var cp = _golden()
    for compression in ["stored", "deflate"]:
        var base = String(_fresh(compression), "/checkpoint")
        assert_equal(_save(cp, base, compression), "accept")
        assert_equal(_state(load_checkpoint(base)), _state(cp))
    # Deflated, the archive is smaller and only the digest line of the document differs.
    var stored = String(TMP, "/save/stored/checkpoint")
    var deflated = String(TMP, "/save/deflate/checkpoint")
    assert_true(len(_read(deflated + ".npz")) < len(_read(stored + ".npz")))
    var a = String(unsafe_from_utf8=Span(_read(stored + ".json")))
    var b = String(unsafe_from_utf8=Span(_read(deflated + ".json")))
    assert_equal(a[byte = 0 : a.find('"archive_sha256"')], b[byte = 0 : b.find('"archive_sha256"')])
    # An empty checkpoint is a pair too: an archive without members.
    var empty = String(_fresh("empty"), "/checkpoint")
    assert_equal(_save(Checkpoint(), empty), "accept")
    assert_equal(len(_read(empty + ".npz")), 22)
    assert_equal(load_checkpoint(empty).n_layers(), 0)


def _large() raises -> Checkpoint:
    """The golden checkpoint with a first layer of 700 x 300 weights (1.6 MiB: more than one
    read of the archive pass) that deflate barely compresses."""
    var cp = _golden()
    var values = List[Float64](capacity=210000)
    var x = UInt64(1)
    for _ in range(210000):
        x = x * 6364136223846793005 + 1442695040888963407
        values.append(Float64(Int(x >> 11)) / 9007199254740992.0 - 0.5)
    cp.weights[0] = values^
    cp.inputs[0] = 300
    cp.outputs[0] = 700
    return cp^


def test_large_layers_round_trip_at_every_level() raises:
    var cp = _large()
    var expected = _state(cp)
    var saved = List[Int]()
    for level in [1, 6, 9]:
        for compression in ["stored", "deflate"]:
            var base = String(_fresh(String("large-", compression, level)), "/checkpoint")
            assert_equal(_save(cp, base, compression, level), "accept")
            assert_equal(_state(load_checkpoint(base)), expected)
            if compression == "deflate":
                saved.append(len(_read(base + ".npz")))
    # Random float64 barely compresses at any level (ISA-L's level 3, zlib's 7-9, can even come
    # out a few bytes longer than its level 1), but deflate it is.
    for size in saved:
        assert_true(size < 210000 * 8 and size * 1000 < saved[0] * 1001)


def test_save_refuses_a_level_outside_1_to_9_and_writes_nothing() raises:
    var folder = String(TMP, "/save/levels")
    for level in [0, 10, -1]:
        for compression in ["stored", "deflate"]:
            _ = _fresh("levels")
            rmdir(folder)
            assert_equal(_save(_golden(), String(folder, "/checkpoint"), compression, level), "io")
            assert_false(exists(folder))


def test_save_appends_suffixes_and_creates_folders() raises:
    var folder = String(TMP, "/save/suffix/new/deeper")
    if exists(folder):
        for entry in listdir(folder):
            remove(String(folder, "/", entry))
    assert_equal(_save(_golden(), String(folder, "/model.v1")), "accept")
    # "model.v1" -> "model.v1.json": nothing stripped, no temporary file left.
    var names = _entries(folder)
    assert_equal(len(names), 2)
    assert_equal(names[0], "model.v1.json")
    assert_equal(names[1], "model.v1.npz")


def test_save_refuses_an_invalid_checkpoint_and_writes_nothing() raises:
    for k in range(9):
        var cp = _golden()
        if k == 0:
            cp.layer_names[1] = "hidden"
        elif k == 1:
            cp.layer_names[0] = ""
        elif k == 2:
            cp.inputs[0] = 0
        elif k == 3:
            cp.neuron_types.append("LIF")
        elif k == 4:
            cp.frozen_layers.append("nowhere")
        elif k == 5:
            _ = cp.weights.pop()
        elif k == 6:
            cp.weights[1].append(1.0)
        elif k == 7:
            cp.weights[0][2] = 0.0 * (Float64.MAX * 2.0)
        else:
            var item = cp.metadata.add_container(K_SET)
            cp.metadata.set_member(cp.metadata_root, "set", item)
            cp.layer_names[1] = "hidden"  # the metadata comes first in spec order
        var codes: List[String] = [
            "checkpoint.layer_names.unique", "checkpoint.layer_names.nonempty",
            "checkpoint.layer_sizes.range", "checkpoint.neuron_types.count",
            "checkpoint.frozen_layers.references", "checkpoint.weights.count", "array.shape.match",
            "array.finite", "schema.metadata.type",
        ]
        var folder = String(TMP, "/save/refused/", k)
        assert_equal(_save(cp, String(folder, "/checkpoint")), codes[k])
        assert_false(exists(folder), folder)
    var surrogate: List[UInt8] = [0x61, 0xED, 0xA0, 0x80]
    var cp = _golden()
    cp.neuron_types[0] = String(unsafe_from_utf8=Span(surrogate))
    assert_equal(_save(cp, String(TMP, "/save/refused/s/checkpoint")), "schema.neuron_types.type")
    assert_equal(_save(_golden(), String(TMP, "/save/refused/z/checkpoint"), "zstd"), "io")
    assert_false(exists(String(TMP, "/save/refused")))


def _set_file_size_limit(limit: UInt64) -> UInt64:
    """setrlimit(RLIMIT_FSIZE): a write beyond `limit` bytes then fails with EFBIG (SIGXFSZ is
    ignored so that it fails rather than kills); returns the previous limit."""
    comptime RLIMIT_FSIZE = 1
    comptime SIGXFSZ = 25
    comptime SIG_IGN = 1
    _ = external_call["signal", Int](Int32(SIGXFSZ), SIG_IGN)
    var limits = List[UInt64](length=2, fill=0)
    _ = external_call["getrlimit", Int32](Int32(RLIMIT_FSIZE), limits.unsafe_ptr())
    var previous = limits[0]
    limits[0] = limit
    _ = external_call["setrlimit", Int32](Int32(RLIMIT_FSIZE), limits.unsafe_ptr())
    return previous


def _big_metadata() raises -> Checkpoint:
    """The golden checkpoint with another weight and a 6,000-character metadata string: its
    document is larger than its archive."""
    var cp = _golden()
    cp.weights[0][0] = 7.0
    var values = host(String('{"long": "', "x" * 6000, '"}'))
    cp.metadata = values^
    cp.metadata_root = cp.metadata.root
    return cp^


def test_failed_saves_leave_no_temporary_file_and_the_previous_pair() raises:
    var folder = _fresh("atomic")
    var base = String(folder, "/checkpoint")
    assert_equal(_save(_golden(), base), "accept")
    var npz = _read(base + ".npz")
    var document = _read(base + ".json")
    # A write fails inside the archive: nothing changes.
    var previous = _set_file_size_limit(200)
    var code = _save(_big_metadata(), base)
    _ = _set_file_size_limit(previous)
    assert_equal(code, "io")
    assert_true(_read(base + ".npz") == npz and _read(base + ".json") == document)
    assert_equal(len(_entries(folder)), 2)
    # A folder that cannot be created: nothing is written.
    assert_equal(_save(_golden(), String(base, ".npz/inside/checkpoint")), "io")
    assert_true(_read(base + ".npz") == npz)
    assert_equal(len(_entries(folder)), 2)


def test_a_document_that_fails_to_write_leaves_the_previous_pair() raises:
    # Both temporary files are written and fsynced before either is renamed: a document that
    # cannot be written (the new archive fits under the limit, the document does not) leaves
    # the previous pair whole and no temporary file.
    var folder = _fresh("torn")
    var base = String(folder, "/checkpoint")
    assert_equal(_save(_golden(), base), "accept")
    var npz = _read(base + ".npz")
    var document = _read(base + ".json")
    var previous = _set_file_size_limit(3000)
    var code = _save(_big_metadata(), base)
    _ = _set_file_size_limit(previous)
    assert_equal(code, "io")
    assert_true(_read(base + ".npz") == npz and _read(base + ".json") == document)
    assert_equal(len(_entries(folder)), 2)
    assert_equal(load_code(base), "accept")
    # A crash between the two renames leaves the new archive beside the old document.
    var other = String(_fresh("torn-new"), "/checkpoint")
    assert_equal(_save(_big_metadata(), other), "accept")
    write_file(base + ".npz", _read(other + ".npz"))
    assert_equal(load_code(base), "archive.digest")
    # Saved again in full, the pair is whole.
    assert_equal(_save(_big_metadata(), base), "accept")
    assert_equal(_state(load_checkpoint(base)), _state(_big_metadata()))


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
