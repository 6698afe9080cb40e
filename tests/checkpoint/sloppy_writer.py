"""A testee that reads like the reference but writes its documents with indent=4.

Its answers and its archives are right, and every reader loads its files; only the canonical
.json bytes differ, which the producer × consumer matrix must catch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Mapping

from snnconform.checkpoint._reference import OPERATIONS, execute_case
from snnconform.checkpoint._spec import load_spec
from snnconform.checkpoint.testee import hello
from snnconform.core._serve import serve


def sloppy(case: Mapping[str, Any], root: Path) -> Mapping[str, Any]:
    answer = execute_case(case, root)
    for op in case["ops"]:
        document = Path(str(op.get("out", "")) + ".json")
        if op["op"] == "save" and document.is_file():
            document.write_text(json.dumps(json.loads(document.read_text()), indent=4))
    return answer


if __name__ == "__main__":
    sys.exit(serve(sys.stdin.buffer, sys.stdout, sloppy, {**hello(load_spec().spec_version, OPERATIONS),
                                                          "implementation": "sloppy"}))
