"""The Python reference testee: ``python -m snnconform.checkpoint.testee`` (docs/protocol.md).

It speaks the same JSON Lines protocol as every other implementation and runs each case with
the reference executor (``snnconform.checkpoint._reference.execute_case``), so the Python
reference is checked the same way as the mirrors, out of process. It has the ``timing``
capability: a ``run`` request with ``"timing": true`` gets each operation's wall time.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
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


class _TimedApi(ModuleType):
    """The reference's public API with every function timed: ``seconds`` adds up the wall time
    spent inside them, which is the operations themselves (not the observable state, the
    written files' digests or the answer)."""

    def __init__(self, api: ModuleType) -> None:
        super().__init__(api.__name__)
        self.seconds = 0.0
        for name in api.__all__:
            value = getattr(api, name)
            setattr(self, name, value if name == "CheckpointError" else self._timed(value))

    def _timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - began

        return call


def _execute(case: Mapping[str, Any], root: Path, timing: bool = False) -> dict[str, Any]:
    """The reference executor; with ``timing``, each result also holds its ``seconds``."""
    import sc_neurocore.transfer

    from snnconform.checkpoint import _reference

    if not timing:
        return _reference.execute_case(case, root)
    api = _TimedApi(sc_neurocore.transfer)
    results: list[dict[str, Any]] = []
    checkpoint = None
    for op in case["ops"]:  # execute_case's loop, timing each operation's API calls
        api.seconds = 0.0
        try:
            checkpoint, payload = _reference._run(op, root, checkpoint, api)
        except api.CheckpointError as error:
            results.append({"op": op["op"], "verdict": "reject", "code": error.code,
                            "message": str(error), "seconds": api.seconds})
            break
        results.append({"op": op["op"], "verdict": "accept", **payload, "seconds": api.seconds})
    return {"results": results}


def main() -> int:
    try:
        from snnconform.checkpoint._reference import OPERATIONS
        from snnconform.checkpoint._spec import load_spec

        spec_version = load_spec().spec_version
    except Exception as exc:  # noqa: BLE001 - report why the testee cannot start, then exit
        print(f"testee: cannot load the reference: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return serve(sys.stdin.buffer, sys.stdout, _execute, hello(spec_version, (*OPERATIONS, "timing")))


if __name__ == "__main__":
    sys.exit(main())
