"""Serve an in-process executor as a testee (docs/protocol.md).

Any domain whose reference runs in Python can be checked out of process, exactly like the
implementations in other languages: its testee module builds the ``hello`` answer and calls
:func:`serve` with its executor. A testee whose ``hello`` lists the ``timing`` capability has an
executor that also takes ``timing=True``, for ``run`` requests that carry ``"timing": true``
(each result then holds its ``seconds``).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, TextIO

# execute(case, root), and execute(case, root, timing=True) with the timing capability.
Executor = Callable[..., Mapping[str, Any]]


def _write(out: TextIO, message: Mapping[str, Any]) -> None:
    out.write(json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def _answer_run(request: Mapping[str, Any], execute: Executor, timing: bool) -> dict[str, Any]:
    seq, case = request["seq"], request["case"]
    head = {"seq": seq, "id": case["id"]}
    try:
        root = Path(case["root"])
        answer = dict(execute(case, root, timing=True) if timing else execute(case, root))
        json.dumps(answer, allow_nan=False)  # an answer that cannot be sent is an error
        return {**head, "results": answer["results"]}
    except Exception as exc:  # noqa: BLE001 - the protocol's `errored` exists for exactly this
        return {**head, "errored": {
            "message": f"{type(exc).__name__}: {exc}",
            "context": "".join(traceback.format_exception(exc)[-6:]),
        }}


def serve(stdin: BinaryIO, stdout: TextIO, execute: Executor, hello: Mapping[str, Any]) -> int:
    """Answer requests until ``stop`` or end of input; returns the exit status.

    ``hello`` is the whole answer to the ``hello`` request (implementation, version, runtime,
    spec_version, protocol, capabilities).
    """
    timing = "timing" in hello.get("capabilities", ())
    for raw in stdin:
        try:
            request = json.loads(raw)
            command = request["cmd"]
        except (ValueError, KeyError, TypeError) as exc:
            print(f"testee: not a request ({exc}): {raw[:200]!r}", file=sys.stderr)
            return 2
        if command == "hello":
            _write(stdout, hello)
        elif command == "run":
            _write(stdout, _answer_run(request, execute, timing and request.get("timing") is True))
        elif command == "stop":
            _write(stdout, {"stopped": True})
            return 0
        else:
            print(f"testee: unknown command {command!r}", file=sys.stderr)
            return 2
    return 0
