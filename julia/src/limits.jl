# The spec's `limits:` and its accepted .npy dtypes (`npy.accepted_dtypes`), in one place;
# test/limits.jl keeps them equal to spec/checkpoint.yaml.

"Lexical nesting depth of the metadata document (json.depth); the root object is depth 1."
const JSON_MAX_DEPTH = 64
"""
Every JSON integer literal, and every integer in in-memory metadata, lies in
[JSON_INTEGER_MIN, JSON_INTEGER_MAX] = [-2^63, 2^64 - 1]: int64 and uint64 together.
"""
const JSON_INTEGER_MIN = Int128(typemin(Int64))
const JSON_INTEGER_MAX = Int128(typemax(UInt64))
"input_features and output_features lie in [LAYER_FEATURES_MIN, LAYER_FEATURES_MAX]."
const LAYER_FEATURES_MIN = 1
const LAYER_FEATURES_MAX = 2147483647
"The smallest layer index (freeze_until, until_index): -1 means \"no layer\"."
const LAYER_INDEX_MIN = -1
"In-memory metadata nests at most this many containers (itself included)."
const METADATA_MAX_DEPTH = 63
"A weight given as nested sequences nests at most this many levels (the weight itself is level 1)."
const WEIGHT_MAX_DEPTH = 32
"The largest finite float64: a number is finite when its nearest float64 is at most this in magnitude."
const FLOAT64_MAX = floatmax(Float64)
"The .npy header length field's maximum: a uint16 in format 1.0, a uint32 in 2.0 and 3.0."
const NPY_HEADER_LENGTH_MAX_V1 = 65535
const NPY_HEADER_LENGTH_MAX_V2 = 4294967295
"A .npy shape dimension has at most this many decimal digits, so that it fits an Int64."
const NPY_DIMENSION_DIGITS_MAX = 18
"Zip field maxima; where zip64 applies, a field at its maximum is a placeholder (archive.zip64)."
const ZIP_U16_MAX = 0xffff
const ZIP_U32_MAX = 0xffffffff

"The limits under their names in the spec's `limits:` section."
const LIMITS = Dict{String,Real}(
    "json_max_depth" => JSON_MAX_DEPTH,
    "json_integer_min" => JSON_INTEGER_MIN,
    "json_integer_max" => JSON_INTEGER_MAX,
    "layer_index_min" => LAYER_INDEX_MIN,
    "layer_features_min" => LAYER_FEATURES_MIN,
    "layer_features_max" => LAYER_FEATURES_MAX,
    "metadata_max_depth" => METADATA_MAX_DEPTH,
    "weight_max_depth" => WEIGHT_MAX_DEPTH,
    "float64_max" => FLOAT64_MAX,
    "npy_header_length_max_v1" => NPY_HEADER_LENGTH_MAX_V1,
    "npy_header_length_max_v2" => NPY_HEADER_LENGTH_MAX_V2,
    "npy_dimension_digits_max" => NPY_DIMENSION_DIGITS_MAX,
    "zip_u16_max" => ZIP_U16_MAX,
    "zip_u32_max" => ZIP_U32_MAX)

"""
The accepted dtypes: descr -> the element type it holds, widened to Float64. The first
character is the byte order ("<" little, ">" big, "|" one byte); the item size is the type's.
"""
const ACCEPTED_DTYPES = Dict{String,DataType}(
    "<f8" => Float64, ">f8" => Float64,
    "<f4" => Float32, ">f4" => Float32,
    "<f2" => Float16, ">f2" => Float16,
    "|i1" => Int8,
    "<i2" => Int16, ">i2" => Int16,
    "<i4" => Int32, ">i4" => Int32,
    "<i8" => Int64, ">i8" => Int64,
    "|u1" => UInt8,
    "<u2" => UInt16, ">u2" => UInt16,
    "<u4" => UInt32, ">u4" => UInt32,
    "<u8" => UInt64, ">u8" => UInt64)
