"""A stand-in domain for the harness tests: a counter with two invariants.

It exercises the harness core without any checkpoint: ``set`` replaces the counter, ``add``
adds to it; a result below 0 violates ``toy.negative``, above 100 ``toy.overflow`` (in that
spec order). The state of an accepted operation is ``{"value": int, "half": float}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

OPERATIONS = ("set", "add")


@dataclass(frozen=True)
class Invariant:
    id: str
    phase: str


@dataclass(frozen=True)
class ToySpec:
    spec_version: int
    invariants: tuple[Invariant, ...]


def load_spec(path: Path | None = None) -> ToySpec:
    return ToySpec(1, (Invariant("toy.negative", "toy"), Invariant("toy.overflow", "toy")))


def run_ops(ops: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    value = 0
    results: list[dict[str, Any]] = []
    for op in ops:
        name = op["op"]
        new = op["value"] if name == "set" else value + op["value"]
        if new < 0:
            results.append({"op": name, "verdict": "reject", "code": "toy.negative",
                            "message": f"{name}: the counter would be {new} (< 0)"})
            break
        if new > 100:
            results.append({"op": name, "verdict": "reject", "code": "toy.overflow",
                            "message": f"{name}: the counter would be {new} (> 100)"})
            break
        value = new
        results.append({"op": name, "verdict": "accept", "state": {"value": value, "half": value / 2}})
    return results


def execute_case(case: Mapping[str, Any], root: Path) -> dict[str, Any]:
    return {"results": run_ops(list(case["ops"]))}


# id, ops as (op, value) pairs, covers
CASES = [
    ("ok-1", [("set", 2), ("add", 3)], []),
    ("ok-2", [("set", 0), ("add", 1)], []),
    ("reject-1", [("set", 5), ("add", -10)], ["toy.negative"]),
    ("victim-1", [("set", 1), ("add", -5)], ["toy.negative"]),
    ("ok-3", [("set", 10)], []),
    ("overflow-1", [("set", 99), ("add", 5)], ["toy.overflow"]),
]


def make_case(case_id: str, pairs: list[tuple[str, int]], covers: list[str]) -> dict[str, Any]:
    ops = [{"op": op, "value": value} for op, value in pairs]
    results = [{k: v for k, v in r.items() if k != "message"} for r in run_ops(ops)]
    last = results[-1]
    rejected = last["verdict"] == "reject"
    klass = "valid" if not covers else "targeted" if len(covers) == 1 else "mixed"
    return {
        "id": case_id, "class": klass, "ops": ops,
        "expect": {"verdict": last["verdict"], "op_index": len(results) - 1 if rejected else None,
                   "code": last.get("code"), "results": results},
        "covers": covers, "origin": {"operator": "hand", "params": {}, "seed": 0},
    }


def write_corpus(spec: ToySpec, out_dir: Path) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = [make_case(*c) for c in CASES]
    with (out_dir / "cases.jsonl").open("w") as handle:
        for case in cases:
            handle.write(json.dumps(case) + "\n")
    per = {inv.id: sum(inv.id in c["covers"] for c in cases) for inv in spec.invariants}
    return {
        "cases": len(cases), "valid": sum(c["class"] == "valid" for c in cases),
        "invalid_targeted": sum(c["class"] == "targeted" for c in cases), "mixed": 0,
        "invariants": len(per), "min_cases_per_invariant": min(per.values()), "per_invariant": per,
    }


def check_inputs(arguments: list[str]) -> list[dict[str, Any]]:
    """``snnconform check`` for the toy: each argument is a ``NAME.toy`` file (a JSON list of
    ``[op, value]`` pairs) or a folder of them; an input's id is ``NAME``."""
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files += sorted(path.glob("*.toy"))
        elif path.suffix == ".toy" and path.is_file():
            files.append(path)
        else:
            raise ValueError(f"{argument}: no such toy file or folder")
    return [{"id": file.stem, "root": str(file.parent.absolute()),
             "ops": [{"op": op, "value": value} for op, value in json.loads(file.read_text())]}
            for file in files]
