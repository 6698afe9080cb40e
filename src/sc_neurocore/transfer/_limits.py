"""The spec's numeric limits and accepted dtypes, in one place (a test keeps them equal to
``spec/checkpoint.yaml``'s ``limits`` and ``npy.accepted_dtypes``)."""

from __future__ import annotations

import re
from typing import Final

JSON_MAX_DEPTH: Final = 64
# Integers: int64 ∪ uint64, kept exactly (spec 2).
JSON_INTEGER_MIN: Final = -(2**63)
JSON_INTEGER_MAX: Final = 2**64 - 1
LAYER_FEATURES_MAX: Final = 2**31 - 1
METADATA_MAX_DEPTH: Final = 63

# In spec order: "|" one-byte types, "<" little-endian, ">" big-endian; all widen to float64.
ACCEPTED_DTYPES: Final = (
    "<f8", ">f8", "<f4", ">f4", "<f2", ">f2", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8",
    "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
)

#: A lone surrogate: no UTF-8 document can carry it, so no string may hold one.
SURROGATE: Final = re.compile("[\ud800-\udfff]")
