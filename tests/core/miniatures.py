"""Fake testees for the harness tests: ``python miniatures.py NAME``.

Each miniature speaks the protocol correctly (answers computed by the toy domain) except in
the one way its docstring describes, and misbehaves only on cases whose id starts with
``victim`` so a test can also check that the harness recovers for the cases after it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import toydomain  # noqa: E402

Handler = Callable[[dict[str, Any], dict[str, Any]], bool]


def write(message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer(request: dict[str, Any]) -> dict[str, Any]:
    case = request["case"]
    return {"seq": request["seq"], "id": case["id"], "results": toydomain.run_ops(case["ops"])}


def victim(request: dict[str, Any]) -> bool:
    return bool(request["case"]["id"].startswith("victim"))


# ---------------------------------------------------------------------------------- miniatures
# A miniature returns True when it handled the request itself, False to answer correctly.


def good(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Answers every case correctly."""
    return False


def chatty(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Answers correctly but writes noise to stderr and words its messages differently."""
    print("chatty: working on", request["case"]["id"], file=sys.stderr)
    reply = answer(request)
    for result in reply["results"]:
        if "message" in result:
            result["message"] = "a different message that must not matter"
    write(reply)
    return True


def crash(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Exits with status 3 (after a stderr line) instead of answering the victim case."""
    if victim(request):
        print("crash: segmentation fault (pretend)", file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)
    return False


def hang(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Never answers the victim case (sleeps)."""
    if victim(request):
        print("hang: thinking forever", file=sys.stderr)
        sys.stderr.flush()
        time.sleep(3600)
    return False


def garbage(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Prints a line that is not JSON instead of answering the victim case."""
    if victim(request):
        sys.stdout.write("Segfault? no: just garbage {\n")
        sys.stdout.flush()
        return True
    return False


def wrong_seq(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Answers the victim case with a seq it was never sent."""
    if victim(request):
        reply = answer(request)
        reply["seq"] = request["seq"] + 1000
        write(reply)
        return True
    return False


def out_of_order(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Answers the case before the victim twice, so the victim receives a stale answer."""
    if request["case"]["id"] == "reject-1":
        write(answer(request))
        write(answer(request))
        return True
    return False


def lie_verdict(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Accepts the victim case's rejected operation (reports a state instead)."""
    if victim(request):
        reply = answer(request)
        reply["results"][-1] = {"op": "add", "verdict": "accept", "state": {"value": 0, "half": 0.0}}
        write(reply)
        return True
    return False


def lie_code(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Rejects the victim case with the wrong invariant ID."""
    if victim(request):
        reply = answer(request)
        reply["results"][-1]["code"] = "toy.overflow"
        write(reply)
        return True
    return False


def lie_state(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Reports the victim's first state ``value`` as the float 1.0 where the integer 1 is right."""
    if victim(request):
        reply = answer(request)
        reply["results"][0]["state"]["value"] = 1.0
        write(reply)
        return True
    return False


def negative_zero(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Reports ``half`` as -0.0 where the answer is 0.0 (case ok-2): not bit-exact."""
    if request["case"]["id"] == "ok-2":
        reply = answer(request)
        reply["results"][0]["state"]["half"] = -0.0
        write(reply)
        return True
    return False


def errored(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Reports an internal error (``errored``) for the victim case."""
    if victim(request):
        write({"seq": request["seq"], "id": request["case"]["id"],
               "errored": {"message": "IndexError: list index out of range", "context": "add"}})
        return True
    return False


def skips(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Answers ``skipped`` for the victim case."""
    if victim(request):
        write({"seq": request["seq"], "id": request["case"]["id"],
               "skipped": {"reason": "negative numbers are out of scope"}})
        return True
    return False


def no_message(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Leaves out the message of every rejection (only --validate-protocol notices)."""
    reply = answer(request)
    for result in reply["results"]:
        result.pop("message", None)
    write(reply)
    return True


def limit_37(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Puts the upper limit at 37 instead of 100: rejects with ``toy.overflow`` any operation
    that takes the counter above 37 (on every case; ``snnconform fuzz`` must find it)."""
    reply = answer(request)
    value = 0
    for index, op in enumerate(request["case"]["ops"]):
        value = op["value"] if op["op"] == "set" else value + op["value"]
        result = reply["results"][index] if index < len(reply["results"]) else None
        if result is None or result["verdict"] == "reject":
            break
        if value > 37:
            reply["results"][index:] = [{"op": op["op"], "verdict": "reject", "code": "toy.overflow",
                                         "message": f"{op['op']}: above 37"}]
            break
    write(reply)
    return True


def crash_13(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """Exits with status 3 on any case with an operation whose value is 13 (on every case)."""
    if any(op["value"] == 13 for op in request["case"]["ops"]):
        os._exit(3)
    return False


MINIATURES: dict[str, Handler] = {
    f.__name__: f
    for f in (good, chatty, crash, hang, garbage, wrong_seq, out_of_order, lie_verdict, lie_code,
              lie_state, negative_zero, errored, skips, no_message, limit_37, crash_13)
}


# ------------------------------------------------------------------ misbehaving at the edges


def no_start() -> int:
    """Fails to start: exits with status 1 before reading anything."""
    print("no_start: error while loading shared libraries: libtoy.so", file=sys.stderr)
    return 1


def probe_missing() -> int:
    """A probe for a toolchain that is not installed."""
    print("toycc: command not found", file=sys.stderr)
    return 127


def serve(handler: Handler, *, protocol: int = 1, capabilities: tuple[str, ...] = ("set", "add"),
          stop_status: int = 0) -> int:
    state: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "hello":
            write({"implementation": "toy", "version": "0.0.1", "runtime": "python",
                   "spec_version": 1, "protocol": protocol, "capabilities": list(capabilities)})
        elif request["cmd"] == "run":
            if not handler(request, state):
                write(answer(request))
        elif request["cmd"] == "stop":
            write({"stopped": True})
            return stop_status
    return 0


EDGES: dict[str, Callable[[], int]] = {
    "no_start": no_start,
    "probe_missing": probe_missing,
    # Speaks protocol 2, which this harness does not.
    "bad_hello": lambda: serve(good, protocol=2),
    # Declares only `set`, so cases using `add` must be recorded as skipped.
    "no_caps": lambda: serve(good, capabilities=("set",)),
    # Exits with status 4 after answering stop.
    "bad_stop": lambda: serve(good, stop_status=4),
}


def main() -> int:
    name = sys.argv[1]
    if name in EDGES:
        return EDGES[name]()
    return serve(MINIATURES[name])


if __name__ == "__main__":
    sys.exit(main())
