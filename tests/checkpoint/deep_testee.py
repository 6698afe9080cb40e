"""A testee that is the reference but for one dropped check: it never refuses a metadata
document for nesting deeper than the spec's limit (``json.depth``).

Every corpus case that does not go past the limit agrees; ``snnconform fuzz`` must find the
dropped check and shrink it to a document exactly one level too deep.
"""

from __future__ import annotations

import sys

from sc_neurocore.transfer import _json

from snnconform.checkpoint._reference import OPERATIONS, execute_case
from snnconform.checkpoint._spec import load_spec
from snnconform.checkpoint.testee import hello
from snnconform.core._serve import serve

if __name__ == "__main__":
    _json.JSON_MAX_DEPTH = 10**6  # type: ignore[misc]  # the dropped check
    sys.exit(serve(sys.stdin.buffer, sys.stdout, execute_case,
                   {**hello(load_spec().spec_version, OPERATIONS), "implementation": "deep"}))
