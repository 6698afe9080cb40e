"""The Python testee's timing capability and the save op's level (docs/protocol.md)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from sc_neurocore.transfer import SNNCheckpoint, save_checkpoint
from snnconform.checkpoint import testee
from snnconform.checkpoint._reference import OPERATIONS
from snnconform.core._serve import serve


def _converse(requests: list[dict[str, Any]], capabilities: tuple[str, ...]) -> list[dict[str, Any]]:
    stdin = io.BytesIO("".join(json.dumps(r) + "\n" for r in requests).encode())
    stdout = io.StringIO()
    assert serve(stdin, stdout, testee._execute, testee.hello(2, capabilities)) == 0
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def _case(tmp_path: Path) -> dict[str, Any]:
    # Values of one decimal: compressible, and better at a higher level (constant values are
    # not: ISA-L's level 3 writes a few bytes more than its level 1 for them).
    rng = np.random.default_rng(7)
    weights = [np.round(rng.random((64, 64)), 1), np.round(rng.random((4, 64)), 1)]
    save_checkpoint(SNNCheckpoint(weights=weights, layer_names=["a", "b"], layer_sizes=[(64, 64), (64, 4)]),
                    tmp_path / "in")
    return {"id": "t", "root": str(tmp_path), "ops": [
        {"op": "load", "base": "in"},
        {"op": "apply_transfer_config", "config": {"freeze_until": 0}},
        {"op": "save", "out": str(tmp_path / "out" / "x"), "compression": "deflate", "level": 9},
        {"op": "freeze_layers", "args": {"layer_names": ["nope"]}},
    ]}


def test_timing_adds_seconds_to_every_result_and_nothing_else(tmp_path: Path) -> None:
    case = _case(tmp_path)
    capabilities = (*OPERATIONS, "timing")
    hello, timed, plain = _converse(
        [{"cmd": "hello", "protocol": 1}, {"cmd": "run", "seq": 1, "timing": True, "case": case},
         {"cmd": "run", "seq": 2, "case": case}], capabilities)
    assert "timing" in hello["capabilities"]
    assert [r["verdict"] for r in timed["results"]] == ["accept", "accept", "accept", "reject"]
    for with_time, without in zip(timed["results"], plain["results"], strict=True):
        seconds = with_time.pop("seconds")
        assert isinstance(seconds, float) and seconds > 0.0
        if with_time["op"] == "save":  # the same files both times: compare what was written
            assert with_time["saved"]["npz"] == without["saved"]["npz"]
        else:
            assert with_time == without
    assert "seconds" not in json.dumps(plain)


def test_timing_is_ignored_without_the_capability(tmp_path: Path) -> None:
    (answer,) = _converse([{"cmd": "run", "seq": 1, "timing": True, "case": _case(tmp_path)}], OPERATIONS)
    assert all("seconds" not in result for result in answer["results"])


def test_the_save_level_reaches_the_writer(tmp_path: Path) -> None:
    case = _case(tmp_path)
    sizes = {}
    for level in (1, 9):
        case["ops"][2]["level"] = level
        (answer,) = _converse([{"cmd": "run", "seq": 1, "case": case}], OPERATIONS)
        sizes[level] = answer["results"][2]["saved"]["npz"]["size"]
    assert sizes[9] < sizes[1]
