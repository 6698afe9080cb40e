"""The spec's `limits:` and `npy.accepted_dtypes`, in one place.

test_limits.mojo reads spec/checkpoint.yaml and fails when these drift from it.
"""

# Lexical nesting depth of the metadata document (json.depth); the root object is depth 1.
comptime JSON_MAX_DEPTH = 64
# Every JSON integer literal, and every integer in in-memory metadata, lies in
# [JSON_INTEGER_MIN, JSON_INTEGER_MAX] = [-2^63, 2^64 - 1], int64 and uint64 together; Int128
# holds them all exactly.
comptime JSON_INTEGER_MIN = Int128(-9223372036854775808)
comptime JSON_INTEGER_MAX = Int128(18446744073709551615)
# input_features and output_features lie in [LAYER_FEATURES_MIN, LAYER_FEATURES_MAX].
comptime LAYER_FEATURES_MIN = 1
comptime LAYER_FEATURES_MAX = 2147483647
# The lowest layer index (freeze_until, until_index): -1 means "no layer".
comptime LAYER_INDEX_MIN = -1
# In-memory metadata nests at most this many containers (itself included).
comptime METADATA_MAX_DEPTH = 63
# A weight given as nested sequences nests at most this many levels (the weight is level 1).
comptime WEIGHT_MAX_DEPTH = 32
# The largest finite float64; a number is finite when it rounds to at most this in magnitude.
comptime FLOAT64_MAX = Float64.MAX_FINITE  # (Float64.MAX is +inf)
# .npy: the largest header length the length field can state (uint16 in 1.0, uint32 in 2.0/3.0),
# and the most decimal digits of a shape dimension (every 18-digit number fits an Int).
comptime NPY_HEADER_LENGTH_MAX_V1 = 65535
comptime NPY_HEADER_LENGTH_MAX_V2 = 4294967295
comptime NPY_DIMENSION_DIGITS_MAX = 18
# zip: the maxima of 16-bit and 32-bit fields (where zip64 applies, placeholders).
comptime ZIP_U16_MAX = 0xFFFF
comptime ZIP_U32_MAX = 0xFFFFFFFF


def accepted_dtypes() -> List[String]:
    """The .npy descrs that widen to float64, in spec order ("|" one-byte, "<" little, ">" big)."""
    return [
        "<f8", ">f8", "<f4", ">f4", "<f2", ">f2", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8",
        "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
    ]


def is_accepted_dtype(descr: String) -> Bool:
    """Whether `descr` is one of accepted_dtypes()."""
    for accepted in accepted_dtypes():
        if accepted == descr:
            return True
    return False
