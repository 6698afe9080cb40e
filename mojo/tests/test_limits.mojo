"""The limits and accepted dtypes are the spec's (spec/checkpoint.yaml `limits:` and
`npy.accepted_dtypes`), in spec order."""

from std.testing import assert_equal, assert_true, TestSuite

from limits import (
    JSON_MAX_DEPTH,
    JSON_INTEGER_MIN,
    JSON_INTEGER_MAX,
    LAYER_FEATURES_MIN,
    LAYER_FEATURES_MAX,
    LAYER_INDEX_MIN,
    METADATA_MAX_DEPTH,
    WEIGHT_MAX_DEPTH,
    FLOAT64_MAX,
    NPY_HEADER_LENGTH_MAX_V1,
    NPY_HEADER_LENGTH_MAX_V2,
    NPY_DIMENSION_DIGITS_MAX,
    ZIP_U16_MAX,
    ZIP_U32_MAX,
    accepted_dtypes,
    is_accepted_dtype,
)

comptime SPEC = "../spec/checkpoint.yaml"


def _section(header: String, indent: Int) raises -> List[String]:
    """The lines of the spec's block `header` (matched after stripping), up to the first line
    indented by less than `indent` spaces; comments and blank lines left out."""
    var out = List[String]()
    var inside = False
    var prefix = String(" ") * indent
    for line in open(SPEC, "r").read().splitlines():
        var s = String(line)
        if not inside:
            inside = String(s.strip()) == header
            continue
        if not s.strip() or String(s.strip()).startswith("#"):
            continue
        if not s.startswith(prefix):
            break
        out.append(String(s.strip()))
    return out^


def _limit(name: String) raises -> String:
    for line in _section("limits:", 2):
        if line.startswith(name + ":"):
            return String(line.removeprefix(name + ":").strip())
    raise Error(String("no limit ", name, " in the spec"))


def test_limits_equal_the_spec() raises:
    assert_equal(_limit("json_max_depth"), String(JSON_MAX_DEPTH))
    assert_equal(_limit("json_integer_min"), String(JSON_INTEGER_MIN))
    assert_equal(_limit("json_integer_max"), String(JSON_INTEGER_MAX))
    assert_equal(_limit("layer_features_min"), String(LAYER_FEATURES_MIN))
    assert_equal(_limit("layer_features_max"), String(LAYER_FEATURES_MAX))
    assert_equal(_limit("layer_index_min"), String(LAYER_INDEX_MIN))
    assert_equal(_limit("metadata_max_depth"), String(METADATA_MAX_DEPTH))
    assert_equal(_limit("weight_max_depth"), String(WEIGHT_MAX_DEPTH))
    assert_equal(atof(_limit("float64_max")), FLOAT64_MAX)
    assert_equal(_limit("npy_header_length_max_v1"), String(NPY_HEADER_LENGTH_MAX_V1))
    assert_equal(_limit("npy_header_length_max_v2"), String(NPY_HEADER_LENGTH_MAX_V2))
    assert_equal(_limit("npy_dimension_digits_max"), String(NPY_DIMENSION_DIGITS_MAX))
    assert_equal(_limit("zip_u16_max"), String(ZIP_U16_MAX))
    assert_equal(_limit("zip_u32_max"), String(ZIP_U32_MAX))


def test_accepted_dtypes_equal_the_spec_in_order() raises:
    var spec = List[String]()
    for line in _section("accepted_dtypes:", 4):
        # '"<f8": float64'
        spec.append(String(line.split(":")[0].strip().strip('"')))
    var mine = accepted_dtypes()
    assert_equal(len(spec), 20)
    assert_equal(len(mine), len(spec))
    for i in range(len(spec)):
        assert_equal(mine[i], spec[i])
        assert_true(is_accepted_dtype(spec[i]))
    assert_true(not is_accepted_dtype("=f8"))
    assert_true(not is_accepted_dtype("<i1"))


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()
