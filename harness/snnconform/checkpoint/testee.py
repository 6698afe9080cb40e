"""The Python reference testee: ``python -m snnconform.checkpoint.testee`` (docs/protocol.md).

It speaks the same JSON Lines protocol as every other implementation and runs each case with
the reference executor (``snnconform.checkpoint._reference.execute_case``), so the Python
reference is checked the same way as the mirrors, out of process.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from snnconform.core._protocol import PROTOCOL_VERSION
from snnconform.core._serve import serve


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sc-neurocore-transfer")
    except metadata.PackageNotFoundError:
        from snnconform import __version__

        return __version__


def _runtime() -> str:
    import numpy

    return f"CPython {platform.python_version()}, numpy {numpy.__version__}"


def hello(spec_version: int, capabilities: tuple[str, ...]) -> dict[str, Any]:
    return {
        "implementation": "python", "version": _version(), "runtime": _runtime(),
        "spec_version": spec_version, "protocol": PROTOCOL_VERSION,
        "capabilities": list(capabilities),
    }


def main() -> int:
    try:
        from snnconform.checkpoint._reference import OPERATIONS, execute_case
        from snnconform.checkpoint._spec import load_spec

        spec_version = load_spec().spec_version
    except Exception as exc:  # noqa: BLE001 - report why the testee cannot start, then exit
        print(f"testee: cannot load the reference: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return serve(sys.stdin.buffer, sys.stdout, execute_case, hello(spec_version, OPERATIONS))


if __name__ == "__main__":
    sys.exit(main())
