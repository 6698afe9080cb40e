"""The Python reference testee: ``python -m snnconform.testee`` (docs/protocol.md).

It speaks the same JSON Lines protocol as every other implementation and runs each case with
the reference executor (``snnconform._reference.execute_case``), so the Python reference is
checked the same way as the mirrors, out of process.
"""

from __future__ import annotations

import json
import platform
import sys
import traceback
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Sequence, TextIO

from snnconform._protocol import PROTOCOL_VERSION

Executor = Callable[[Mapping[str, Any], Path], Mapping[str, Any]]


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sc-neurocore-transfer")
    except metadata.PackageNotFoundError:
        from snnconform import __version__

        return __version__


def _runtime() -> str:
    try:
        import numpy

        return f"CPython {platform.python_version()}, numpy {numpy.__version__}"
    except ImportError:
        return f"CPython {platform.python_version()}"


def _write(out: TextIO, message: Mapping[str, Any]) -> None:
    out.write(json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def _answer_run(request: Mapping[str, Any], execute: Executor) -> dict[str, Any]:
    seq, case = request["seq"], request["case"]
    head = {"seq": seq, "id": case["id"]}
    try:
        answer = dict(execute(case, Path(case["root"])))
        json.dumps(answer, allow_nan=False)  # an answer that cannot be sent is an error
        return {**head, "results": answer["results"]}
    except Exception as exc:  # noqa: BLE001 - the protocol's `errored` exists for exactly this
        return {**head, "errored": {
            "message": f"{type(exc).__name__}: {exc}",
            "context": "".join(traceback.format_exception(exc)[-6:]),
        }}


def serve(
    stdin: BinaryIO, stdout: TextIO, execute: Executor, spec_version: int,
    capabilities: Sequence[str],
) -> int:
    """Answer requests until ``stop`` or end of input; returns the exit status."""
    for raw in stdin:
        try:
            request = json.loads(raw)
            command = request["cmd"]
        except (ValueError, KeyError, TypeError) as exc:
            print(f"testee: not a request ({exc}): {raw[:200]!r}", file=sys.stderr)
            return 2
        if command == "hello":
            _write(stdout, {
                "implementation": "python", "version": _version(), "runtime": _runtime(),
                "spec_version": spec_version, "protocol": PROTOCOL_VERSION,
                "capabilities": list(capabilities),
            })
        elif command == "run":
            _write(stdout, _answer_run(request, execute))
        elif command == "stop":
            _write(stdout, {"stopped": True})
            return 0
        else:
            print(f"testee: unknown command {command!r}", file=sys.stderr)
            return 2
    return 0


def main() -> int:
    try:
        from snnconform._reference import OPERATIONS, execute_case
        from snnconform._spec import load_spec

        spec_version = load_spec().spec_version
    except Exception as exc:  # noqa: BLE001 - report why the testee cannot start, then exit
        print(f"testee: cannot load the reference: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return serve(sys.stdin.buffer, sys.stdout, execute_case, spec_version, OPERATIONS)


if __name__ == "__main__":
    sys.exit(main())
