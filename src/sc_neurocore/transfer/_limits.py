"""The spec's numeric limits and accepted dtypes, in one place (a test keeps them equal to
``spec/checkpoint.yaml``'s ``limits`` and ``npy.accepted_dtypes``)."""

from __future__ import annotations

import re
import sys
from typing import Final

JSON_MAX_DEPTH: Final = 64
# Integers: int64 ∪ uint64, kept exactly (spec 2).
JSON_INTEGER_MIN: Final = -(2**63)
JSON_INTEGER_MAX: Final = 2**64 - 1
LAYER_FEATURES_MIN: Final = 1
LAYER_FEATURES_MAX: Final = 2**31 - 1
# The lowest layer index (freeze_until, until_index): -1 means "no layer".
LAYER_INDEX_MIN: Final = -1
METADATA_MAX_DEPTH: Final = 63
# Levels of a weight given as nested sequences (the weight itself is level 1).
WEIGHT_MAX_DEPTH: Final = 32
FLOAT64_MAX: Final = sys.float_info.max
# The .npy header length field's maximum: uint16 in format 1.0, uint32 in 2.0 and 3.0.
NPY_HEADER_LENGTH_MAX_V1: Final = 2**16 - 1
NPY_HEADER_LENGTH_MAX_V2: Final = 2**32 - 1
NPY_DIMENSION_DIGITS_MAX: Final = 18
ZIP_U16_MAX: Final = 0xFFFF
ZIP_U32_MAX: Final = 0xFFFFFFFF

# In spec order: "|" one-byte types, "<" little-endian, ">" big-endian; all widen to float64.
ACCEPTED_DTYPES: Final = (
    "<f8", ">f8", "<f4", ">f4", "<f2", ">f2", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8",
    "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
)

#: A lone surrogate: no UTF-8 document can carry it, so no string may hold one.
SURROGATE: Final = re.compile("[\ud800-\udfff]")
