"""Tests for fields.mojo: every schema.* and checkpoint.* invariant on both surfaces, and the
array.shape/array.finite checks of in-memory weights."""

from std.testing import assert_equal, assert_true, TestSuite

from fields import LOAD, check_fields, check_state, check_checkpoint, sorted_unique
from json import Tree, K_OBJECT, parse_document
from support import host, two_layer_document, valid_state


def _doc(replace: String, with_text: String) -> String:
    """The valid two-layer document with one member's text replaced (textually)."""
    var doc = two_layer_document()
    return doc.replace(replace, with_text)


def _load_code(document: String) -> String:
    try:
        var tree = parse_document(document.as_bytes(), "t.json")
        _ = check_fields(tree, tree.root, LOAD, "t.json")
        return "accept"
    except e:
        return e.code


def _state_code(state: String) raises -> String:
    var values = host(state)
    try:
        _ = check_state(values, values.root)
        return "accept"
    except e:
        return e.code


# ===----------------------------------------------------------------------=== #
# Load surface (a parsed metadata document)
# ===----------------------------------------------------------------------=== #


def test_load_fields_of_a_valid_document() raises:
    var tree = parse_document(two_layer_document().as_bytes(), "t.json")
    var fields = check_fields(tree, tree.root, LOAD, "t.json")
    assert_equal(len(fields.layer_names), 2)
    assert_equal(fields.inputs[1], 4)
    assert_equal(fields.outputs[1], 2)
    assert_equal(fields.frozen_layers[0], "out")
    assert_equal(fields.archive_sha256, "")
    assert_true(fields.metadata_root >= 0)


def test_load_schema() raises:
    assert_equal(_load_code("[1]"), "schema.root.type")
    assert_equal(_load_code(_doc('"n_layers": 2, ', "")), "schema.keys.required")
    assert_equal(_load_code(_doc('"n_layers": 2', '"n_layers": 2, "version": 1')),
                 "schema.keys.known")
    # Required beats known, whatever the document order.
    assert_equal(_load_code(_doc('"n_layers": 2', '"version": 1')), "schema.keys.required")
    assert_equal(_load_code(_doc('["hidden", "out"]', '["hidden", 5]')), "schema.layer_names.type")
    assert_equal(_load_code(_doc("[[3, 4], [4, 2]]", "[[3, 4], [4, 2.0]]")), "schema.layer_sizes.type")
    assert_equal(_load_code(_doc("[[3, 4], [4, 2]]", "[[3, 4], [4, 2, 1]]")), "schema.layer_sizes.type")
    assert_equal(_load_code(_doc('["LIF", "LIF"]', '"LIF"')), "schema.neuron_types.type")
    assert_equal(_load_code(_doc('["out"]', "[null]")), "schema.frozen_layers.type")
    assert_equal(_load_code(_doc('"n_layers": 2', '"n_layers": 2.0')), "schema.n_layers.type")
    assert_equal(_load_code(_doc('"total_params": 20', '"total_params": 2e1')),
                 "schema.total_params.type")
    assert_equal(_load_code(_doc('{"task": "mnist"}', "[]")), "schema.metadata.type")
    var upper = String(', "archive_sha256": "', "AB" * 32, '"')
    assert_equal(_load_code(two_layer_document(upper)), "schema.archive_sha256.type")
    assert_equal(_load_code(two_layer_document(', "archive_sha256": null')),
                 "schema.archive_sha256.type")
    assert_equal(_load_code(two_layer_document(String(', "archive_sha256": "', "ab" * 32, '"'))),
                 "accept")


def test_load_checkpoint_values() raises:
    assert_equal(_load_code(_doc('["hidden", "out"]', '["", "out"]')),
                 "checkpoint.layer_names.nonempty")
    assert_equal(_load_code(_doc('["hidden", "out"]', '["out", "out"]')),
                 "checkpoint.layer_names.unique")
    assert_equal(_load_code(_doc("[[3, 4], [4, 2]]", "[[3, 4]]")), "checkpoint.layer_sizes.count")
    assert_equal(_load_code(_doc("[[3, 4], [4, 2]]", "[[3, 4], [4, 0]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(_load_code(_doc("[[3, 4], [4, 2]]", "[[3, 4], [2147483648, 2]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(_load_code(_doc('["LIF", "LIF"]', '["LIF"]')), "checkpoint.neuron_types.count")
    assert_equal(_load_code(_doc('["out"]', '["ghost"]')), "checkpoint.frozen_layers.references")
    assert_equal(_load_code(_doc('"n_layers": 2', '"n_layers": 3')),
                 "checkpoint.n_layers.consistent")
    assert_equal(_load_code(_doc('"total_params": 20', '"total_params": 21')),
                 "checkpoint.total_params.consistent")
    # Beyond int64 but within the JSON range: compared exactly, never wrapped.
    var wide: List[String] = ["18446744073709551615", "-9223372036854775808", "9223372036854775810"]
    for literal in wide:
        assert_equal(_load_code(_doc('"n_layers": 2', String('"n_layers": ', literal))),
                     "checkpoint.n_layers.consistent", literal)
    wide = ["9223372036854775808", "18446744073709551615", "18446744073709551596", "-9223372036854775808"]
    for literal in wide:
        assert_equal(_load_code(_doc('"total_params": 20', String('"total_params": ', literal))),
                     "checkpoint.total_params.consistent", literal)
    var sizes: List[String] = ["[[18446744073709551615, 2], [4, 2]]", "[[3, 4], [4, 9223372036854775808]]",
                               "[[3, 4], [-9223372036854775808, 2]]", "[[3, 4], [4, 4294967298]]"]
    for text in sizes:
        assert_equal(_load_code(_doc("[[3, 4], [4, 2]]", text)), "checkpoint.layer_sizes.range", text)
    # Layer checks come before the declared counts.
    assert_equal(_load_code(_doc('"n_layers": 2', '"n_layers": 3').replace('["LIF", "LIF"]', '["LIF"]')),
                 "checkpoint.neuron_types.count")


# ===----------------------------------------------------------------------=== #
# Construct surface (decoded host values)
# ===----------------------------------------------------------------------=== #


def _deep_metadata(arrays: Int) -> String:
    var out = String('{"d": ')
    for _ in range(arrays):
        out += "["
    for _ in range(arrays):
        out += "]"
    out += "}"
    return out^


def test_construct_state_fields() raises:
    var values = host(valid_state())
    var fields = check_state(values, values.root)
    assert_equal(len(fields.weights), 2)
    assert_equal(fields.weights[0][5], 6.0)
    assert_equal(fields.weight_shapes[1][1], 2)
    assert_equal(fields.frozen_layers[0], "b")
    # Absent optional fields take their defaults.
    values = host(valid_state("metadata", ""))
    assert_equal(check_state(values, values.root).metadata_root, -1)


def test_construct_schema() raises:
    assert_equal(_state_code(valid_state("layer_names", "")), "schema.layer_names.type")
    assert_equal(_state_code(valid_state("layer_names", '"ab"')), "schema.layer_names.type")
    assert_equal(_state_code(valid_state("layer_names", '["a", "\\ud800"]')), "schema.layer_names.type")
    assert_equal(_state_code(valid_state("layer_sizes", "")), "schema.layer_sizes.type")
    assert_equal(_state_code(valid_state("layer_sizes", "[[3, 2], [2, true]]")), "schema.layer_sizes.type")
    assert_equal(_state_code(valid_state("layer_sizes", '[[3, 2], {"$tuple": [2, 1]}]')), "accept")
    assert_equal(_state_code(valid_state("neuron_types", "null")), "schema.neuron_types.type")
    assert_equal(_state_code(valid_state("neuron_types", "")), "accept")
    assert_equal(_state_code(valid_state("frozen_layers", '{"$set": ["b"]}')), "schema.frozen_layers.type")
    var metadata_bad: List[String] = [
        "[]", '{"v": {"$float": "NaN"}}', '{"v": {"$set": [1, 2]}}', '{"v": {"$bytes": "00ff"}}',
        '{"v": {"$object": "object()"}}', '{"$map": [[3, "layer"]]}', '{"v": {"$tuple": [1, "two"]}}',
        '{"v": "\\udc00"}',
    ]
    for m in metadata_bad:
        assert_equal(_state_code(valid_state("metadata", m)), "schema.metadata.type", m)
    # metadata itself is container 1: 62 nested arrays inside reach the limit of 63.
    assert_equal(_state_code(valid_state("metadata", _deep_metadata(62))), "accept")
    assert_equal(_state_code(valid_state("metadata", _deep_metadata(63))), "schema.metadata.type")
    assert_equal(_state_code(valid_state("weights", "")), "schema.weights.type")
    var weights_bad: List[String] = ['"w"', '[1, [[1, 2]]]', '[[[1, 2]], "w"]', '[[[true, false]], [[1]]]',
                                     '[[[1, 2], [3]], [[1]]]', '[[["1", 2]], [[1]]]', '[[[1.5, true]], [[1]]]']
    for w in weights_bad:
        assert_equal(_state_code(valid_state("weights", w)), "schema.weights.type", w)


def _wrapped(value: String, lists: Int) -> String:
    """`value` wrapped in `lists` nested lists."""
    return String("[") * lists + value + String("]") * lists


def test_construct_weights_nest_at_most_32_levels() raises:
    # The weight itself is level 1: a number in 32 lists is a rank-32 array, in 33 it is refused
    # before any array is built (spec limits.weight_max_depth).
    var second = ", [[0.5, 1.5]]]"
    assert_equal(_state_code(valid_state("weights", "[" + _wrapped("1", 32) + second)),
                 "array.shape.rank")
    assert_equal(_state_code(valid_state("weights", "[" + _wrapped("1", 33) + second)),
                 "schema.weights.type")
    assert_equal(_state_code(valid_state("weights", "[" + _wrapped("[]", 32) + second)),
                 "schema.weights.type")
    assert_equal(_state_code(valid_state("weights", "[" + _wrapped("true", 2) + second)),
                 "schema.weights.type")


def test_construct_weight_leaves() raises:
    var second = ", [[0.5, 1.5]]]"
    # Integers in the metadata range, rounded to the nearest float64.
    var good: List[String] = ["18446744073709551615", "-9223372036854775808", "9007199254740993"]
    for leaf in good:
        var weight = String("[[[", leaf, ", 2, 3], [4, 5, 6]]", second)
        assert_equal(_state_code(valid_state("weights", weight)), "accept", leaf)
    var values = host(valid_state("weights", "[[[9007199254740993, 2, 3], [4, 5, 6]]" + second))
    assert_equal(check_state(values, values.root).weights[0][0], 9007199254740992.0)
    var bad: List[String] = ["18446744073709551616", "-9223372036854775809", "1" * 40,
                             '{"$array": {"shape": [], "data": [1]}}', "null", '"1"']
    for leaf in bad:
        var weight = String("[[[", leaf, ", 2, 3], [4, 5, 6]]", second)
        assert_equal(_state_code(valid_state("weights", weight)), "schema.weights.type", leaf)
    # An empty sequence is a dimension of length 0; an array of any rank is a weight.
    assert_equal(_state_code(valid_state("weights", "[[]" + second)), "array.shape.rank")
    assert_equal(_state_code(valid_state("weights", "[[[]]" + second)), "array.shape.match")
    assert_equal(_state_code(valid_state(
        "weights", '[{"$array": {"shape": [1, 1, 1], "data": [1]}}' + second)), "array.shape.rank")


def _metadata_positions(literal: String) -> List[String]:
    """Metadata holding the integer at its root, in a nested object, and inside arrays."""
    return [String('{"v": ', literal, "}"), String('{"m": {"k": {"v": ', literal, "}}}"),
            String('{"a": [1, [2, ', literal, "]]}")]


def test_construct_metadata_integers_are_int64_and_uint64() raises:
    var good: List[String] = ["-9223372036854775808", "9223372036854775807", "9223372036854775808",
                              "18446744073709551615", "9007199254740993", "-0"]
    for literal in good:
        for text in _metadata_positions(literal):
            assert_equal(_state_code(valid_state("metadata", text)), "accept", text)
    var bad: List[String] = [
        "18446744073709551616", "-9223372036854775809", "1000000000000000000000000000000",
        "-1000000000000000000000000000000000000000000000000", "123456789012345678901234567890",
        "-237462374673276894279832749832423479823246327846",
    ]
    for literal in bad:
        for text in _metadata_positions(literal):
            assert_equal(_state_code(valid_state("metadata", text)), "schema.metadata.type", text)
    # Layer sizes keep their narrower range, without wrapping.
    assert_equal(_state_code(valid_state("layer_sizes", "[[18446744073709551615, 2], [2, 1]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(_state_code(valid_state("layer_sizes", "[[3, 2], [2, -100000000000000000000]]")),
                 "checkpoint.layer_sizes.range")


def test_construct_checkpoint_and_array_invariants() raises:
    assert_equal(_state_code(valid_state("layer_names", '["", "b"]')), "checkpoint.layer_names.nonempty")
    assert_equal(_state_code(valid_state("layer_names", '["b", "b"]')), "checkpoint.layer_names.unique")
    assert_equal(_state_code(valid_state("layer_sizes", "[[3, 2]]")), "checkpoint.layer_sizes.count")
    assert_equal(_state_code(valid_state("layer_sizes", "[[3, 2], [2, 10000000000000000000000]]")),
                 "checkpoint.layer_sizes.range")
    assert_equal(_state_code(valid_state("neuron_types", '["LIF"]')), "checkpoint.neuron_types.count")
    assert_equal(_state_code(valid_state("frozen_layers", '["c"]')), "checkpoint.frozen_layers.references")
    assert_equal(_state_code(valid_state("weights", "[[[0.5, 1.5]]]")), "checkpoint.weights.count")
    assert_equal(_state_code(valid_state("weights", '[[1, 2, 3, 4, 5, 6], [[0.5, 1.5]]]')), "array.shape.rank")
    assert_equal(_state_code(valid_state("weights", '[[[1, 2], [3, 4], [5, 6]], [[0.5, 1.5]]]')),
                 "array.shape.match")
    assert_equal(_state_code(valid_state("weights", '[[[1, 2, 3], [4, 5, 6]], [[0.5, {"$float": "NaN"}]]]')),
                 "array.finite")
    # Rank is checked on every layer before shapes: layer 0 mismatched, layer 1 rank 1.
    assert_equal(_state_code(valid_state("weights", '[[[1, 2], [3, 4], [5, 6]], [0.5, 1.5]]')),
                 "array.shape.rank")


def _typed_code(
    names: List[String], inputs: List[Int], outputs: List[Int], weights: List[List[Float64]],
    neuron_types: List[String] = [],
) -> String:
    """check_checkpoint on typed fields (no frozen layers, empty metadata)."""
    var metadata = Tree()
    var root = metadata.add_container(K_OBJECT)
    try:
        check_checkpoint(names, inputs, outputs, neuron_types, List[String](), metadata, root, weights)
        return "accept"
    except e:
        return e.code


def test_typed_fields_follow_the_construct_order() raises:
    # Every code is reached through save in test_checkpoint; here the typed-only cases.
    var one: List[List[Float64]] = [[1.0, 2.0]]
    assert_equal(_typed_code(["a"], [2], [1], one), "accept")
    # A string's content is a schema.* type rule, before any checkpoint.* rule.
    var lone: List[UInt8] = [0xED, 0xB0, 0x80]
    assert_equal(_typed_code([String(unsafe_from_utf8=Span(lone))], [2], [0], one),
                 "schema.layer_names.type")
    # Inputs and outputs are kept apart: each needs one entry per layer.
    assert_equal(_typed_code(["a"], [2, 3], [1], one), "checkpoint.layer_sizes.count")
    assert_equal(_typed_code(["a"], [2], List[Int](), one), "checkpoint.layer_sizes.count")
    assert_equal(_typed_code(["a", "a"], [2], List[Int](), one), "checkpoint.layer_names.unique")
    # A matrix is its values: a wrong count is a shape mismatch.
    var three: List[List[Float64]] = [[1.0, 2.0, 3.0]]
    assert_equal(_typed_code(["a"], [2], [1], three), "array.shape.match")


def test_sorted_unique_by_code_point() raises:
    var names: List[String] = ["b", "é", "a", "B", "b"]
    var out = sorted_unique(names)
    assert_equal(len(out), 4)
    assert_equal(out[0], "B")
    assert_equal(out[3], "é")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
