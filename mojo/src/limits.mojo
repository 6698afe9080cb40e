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
# input_features and output_features lie in [1, LAYER_FEATURES_MAX].
comptime LAYER_FEATURES_MAX = 2147483647
# In-memory metadata nests at most this many containers (itself included).
comptime METADATA_MAX_DEPTH = 63


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
