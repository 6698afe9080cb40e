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
"input_features and output_features lie in [1, LAYER_FEATURES_MAX]."
const LAYER_FEATURES_MAX = 2147483647
"In-memory metadata nests at most this many containers (itself included)."
const METADATA_MAX_DEPTH = 63

"The limits under their names in the spec's `limits:` section."
const LIMITS = Dict{String,Int128}(
    "json_max_depth" => JSON_MAX_DEPTH,
    "json_integer_min" => JSON_INTEGER_MIN,
    "json_integer_max" => JSON_INTEGER_MAX,
    "layer_features_max" => LAYER_FEATURES_MAX,
    "metadata_max_depth" => METADATA_MAX_DEPTH)

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
