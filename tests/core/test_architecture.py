"""The core runs another format's suite without loading anything of the checkpoint domain.

import-linter checks the static imports (``make architecture``); this checks what a real run
of the toy domain actually loads, entry points and lazy imports included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOMAIN_MODULES = ("snnconform.checkpoint", "sc_neurocore", "numpy", "hypothesis", "yaml")

PROGRAM = """
import json, sys
from snnconform.core._cli import main
code = main(["run", "--config", sys.argv[1], "--quiet", "--no-bench", "--no-write"])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_a_toy_suite_runs_on_the_core_alone(toy):
    config = toy.add("good", "good").write()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(config)], capture_output=True,
                          text=True, env=env, cwd=toy.root, timeout=120, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0
    loaded = [m for m in result["modules"]
              if any(m == name or m.startswith(name + ".") for name in DOMAIN_MODULES)]
    assert loaded == []
    assert "snnconform.core._runner" in result["modules"] and "toydomain" in result["modules"]
