"""The testee protocol (docs/protocol.md): one frozen class per message, and strict decoding.

Requests know how to serialise themselves; answers are parsed from a testee's line by
``parse_*`` functions that raise :class:`ProtocolError` naming the offending member. Those checks
are the minimum needed to interpret an answer; ``SchemaValidator`` adds the full JSON Schema
(``--validate-protocol``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, Mapping, Sequence

PROTOCOL_VERSION = 1

MessageKind = Literal[
    "hello_request", "run_request", "stop_request", "hello_answer", "run_answer", "stop_answer"
]


class ProtocolError(Exception):
    """A line from a testee that is not the answer the protocol requires."""


# ---------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Hello:
    """First request: the harness's protocol version."""

    protocol: int = PROTOCOL_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"cmd": "hello", "protocol": self.protocol}


@dataclass(frozen=True)
class Run:
    """Run one case's operations; ``ops`` are opaque JSON objects passed through unchanged."""

    seq: int
    case_id: str
    root: str
    ops: Sequence[Mapping[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "cmd": "run",
            "seq": self.seq,
            "case": {"id": self.case_id, "root": self.root, "ops": list(self.ops)},
        }


@dataclass(frozen=True)
class Stop:
    """Last request: the testee answers ``{"stopped": true}`` and exits with status 0."""

    def to_json(self) -> dict[str, Any]:
        return {"cmd": "stop"}


Request = Hello | Run | Stop

# ----------------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Started:
    """Answer to ``hello``: who the testee is and which operations it supports."""

    implementation: str
    version: str
    runtime: str
    spec_version: int
    protocol: int
    capabilities: frozenset[str]


@dataclass(frozen=True)
class OpResult:
    """The outcome of one operation. ``message`` is for people and never compared.

    ``payload`` holds every other member: the observable ``state`` (or, for operations that
    report something else, e.g. ``config``) of an accepted operation. The core does not
    interpret it; it compares it.
    """

    op: str
    verdict: Literal["accept", "reject"]
    code: str | None = None
    message: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    def comparable(self) -> dict[str, Any]:
        """The result as the corpus writes it: without the message."""
        out: dict[str, Any] = {"op": self.op, "verdict": self.verdict}
        if self.verdict == "reject":
            out["code"] = self.code
        out.update(self.payload)
        return out


@dataclass(frozen=True)
class Results:
    """Answer to ``run``: one result per executed operation."""

    seq: int
    case_id: str
    results: tuple[OpResult, ...]


@dataclass(frozen=True)
class Skipped:
    """Answer to ``run``: the testee cannot run this case by design."""

    seq: int
    case_id: str
    reason: str


@dataclass(frozen=True)
class Errored:
    """Answer to ``run``: the implementation itself failed; a bug, never a verdict."""

    seq: int
    case_id: str
    message: str
    context: Any = field(default=None)


RunAnswer = Results | Skipped | Errored


@dataclass(frozen=True)
class Stopped:
    """Answer to ``stop``."""


# ---------------------------------------------------------------------------------- decoding


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def decode_line(line: bytes) -> dict[str, Any]:
    """Parse one line strictly: UTF-8, one JSON object, no NaN/Infinity, no duplicate keys.

    Python's json module would otherwise accept ``NaN`` and keep the last duplicate key, which
    would let a testee's answer mean two things.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"line is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_unique_object
        )
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"line is not JSON ({exc}): {excerpt(text)}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"line is a JSON {type(value).__name__}, not an object: {excerpt(text)}")
    return value


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as a line: compact UTF-8 JSON ended by a newline."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    ) + b"\n"


def encode_case(case_id: str, root: str, ops: Sequence[Mapping[str, Any]]) -> bytes:
    """A run request's ``case`` object, encoded once for several testees (:func:`encode_run`)."""
    return encode({"id": case_id, "root": root, "ops": list(ops)})[:-1]


def encode_run(seq: int, case: bytes) -> bytes:
    """The line ``encode(Run(seq, …).to_json())`` gives, from an :func:`encode_case` object."""
    return b'{"cmd":"run","seq":%d,"case":%s}\n' % (seq, case)


def excerpt(text: str, limit: int = 160) -> str:
    text = text.rstrip("\n")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _member(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ProtocolError(f"{where}: missing member {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"{where}/{key}: expected {_kind_name(kind)}, got {json.dumps(value)[:80]}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "an array", dict: "an object"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def parse_started(obj: Mapping[str, Any]) -> Started:
    where = "hello answer"
    caps = _member(obj, "capabilities", list, where)
    if not all(isinstance(c, str) for c in caps):
        raise ProtocolError(f"{where}/capabilities: every entry must be a string")
    return Started(
        implementation=_member(obj, "implementation", str, where),
        version=_member(obj, "version", str, where),
        runtime=_member(obj, "runtime", str, where),
        spec_version=_member(obj, "spec_version", int, where),
        protocol=_member(obj, "protocol", int, where),
        capabilities=frozenset(caps),
    )


def _parse_result(obj: Any, where: str) -> OpResult:
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where}: expected an object")
    op = _member(obj, "op", str, where)
    verdict = _member(obj, "verdict", str, where)
    payload = {k: v for k, v in obj.items() if k not in ("op", "verdict", "code", "message")}
    if verdict == "accept":
        if "code" in obj:
            raise ProtocolError(f"{where}/code: an accepted operation has no code")
        return OpResult(op, "accept", payload=payload)
    if verdict == "reject":
        code = _member(obj, "code", str, where)
        message = obj.get("message")
        return OpResult(op, "reject", code=code,
                        message=message if isinstance(message, str) else None, payload=payload)
    raise ProtocolError(f"{where}/verdict: expected \"accept\" or \"reject\", got {json.dumps(verdict)}")


def parse_run_answer(obj: Mapping[str, Any]) -> RunAnswer:
    where = "run answer"
    seq = _member(obj, "seq", int, where)
    case_id = _member(obj, "id", str, where)
    present = [k for k in ("results", "skipped", "errored") if k in obj]
    if len(present) != 1:
        raise ProtocolError(
            f"{where}: needs exactly one of results/skipped/errored, got {present or 'none'}"
        )
    if "skipped" in obj:
        skipped = _member(obj, "skipped", dict, where)
        return Skipped(seq, case_id, str(skipped.get("reason", "")))
    if "errored" in obj:
        errored = _member(obj, "errored", dict, where)
        return Errored(seq, case_id, str(errored.get("message", "")), errored.get("context"))
    raw = _member(obj, "results", list, where)
    if not raw:
        raise ProtocolError(f"{where}/results: empty; every run executes at least one operation")
    results = tuple(_parse_result(r, f"{where}/results/{i}") for i, r in enumerate(raw))
    for i, result in enumerate(results[:-1]):
        if result.verdict == "reject":
            raise ProtocolError(
                f"{where}/results/{i}: a rejection must be the last result (execution stops there)"
            )
    return Results(seq, case_id, results)


def parse_stopped(obj: Mapping[str, Any]) -> Stopped:
    if obj.get("stopped") is not True:
        raise ProtocolError(f"stop answer: expected {{\"stopped\": true}}, got {json.dumps(obj)[:80]}")
    return Stopped()


# ------------------------------------------------------------------------------------ schema


@cache
def load_schema(name: str = "protocol") -> dict[str, Any]:
    """A JSON Schema shipped inside the package (``schemas/NAME.schema.json``)."""
    text = resources.files("snnconform.core").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class SchemaValidator:
    """Checks every message of a run against ``protocol.schema.json``."""

    def __init__(self) -> None:
        import jsonschema

        defs = load_schema("protocol")["$defs"]
        self._validators = {
            kind: jsonschema.Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{kind}"})
            for kind in defs
        }

    def error(self, message: Mapping[str, Any], kind: MessageKind) -> str | None:
        """The most relevant schema violation as 'pointer: what is wrong', or None."""
        from jsonschema.exceptions import best_match

        found = best_match(self._validators[kind].iter_errors(message))
        if found is None:
            return None
        pointer = "".join(f"/{p}" for p in found.absolute_path) or "/"
        return f"{kind} {pointer}: {found.message}"
