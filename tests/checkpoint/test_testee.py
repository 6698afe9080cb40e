"""The Python reference testee, run as a real subprocess."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from snnconform.core._protocol import SchemaValidator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_real_testee_matches_the_in_process_reference(tmp_path):
    """The subprocess testee and the in-process reference give the same answers."""
    pytest.importorskip("sc_neurocore.transfer")
    from snnconform.core._cases import case_from_json
    from snnconform.core._diff import compare_results, without_messages
    from snnconform.checkpoint._reference import execute_case
    from snnconform.core._session import TesteeSession

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "harness"), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    weights = {"$array": {"shape": [1, 2], "data": [1.0, {"$float": "NaN"}]}}
    ops_list = [
        [{"op": "construct", "state": {"weights": [{"$array": {"shape": [1, 2], "data": [1.0, 2.0]}}],
                                       "layer_names": ["a"], "layer_sizes": [[2, 1]]}},
         {"op": "apply_transfer_config", "config": {"freeze_until": 0}},
         {"op": "freeze_layers", "args": {"layer_names": ["zz"]}}],
        [{"op": "construct", "state": {"weights": [weights], "layer_names": ["a"],
                                       "layer_sizes": [[2, 1]]}}],
        [{"op": "load", "base": "cases/missing/checkpoint"}],
    ]
    codes = ["transfer.layer_names.references", "array.finite", "json.file.present"]
    session = TesteeSession(f"{sys.executable} -m snnconform.checkpoint.testee", ROOT, spec_version=None,
                            timeout=30, startup_timeout=60, validator=SchemaValidator(), env=env)
    try:
        for index, ops in enumerate(ops_list):
            reference = execute_case({"id": f"c{index}", "ops": ops}, tmp_path)["results"]
            expect = without_messages(reference)
            last = expect[-1]
            case = case_from_json({
                "id": f"c{index}", "class": "valid", "ops": ops, "covers": [],
                "expect": {"verdict": last["verdict"], "code": last.get("code"),
                           "op_index": len(expect) - 1 if last["verdict"] == "reject" else None,
                           "results": expect}}, "test")
            outcome = session.run_case(case, tmp_path)
            assert outcome.kind == "answered", outcome
            got = [r.comparable() for r in outcome.answer.results]
            assert compare_results(expect, got) is None
            assert got[-1]["code"] == codes[index]
    finally:
        session.stop()
    assert session.stop_problem is None
    assert session.started is not None and session.started.implementation == "python"
