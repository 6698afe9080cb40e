"""Keep what a native fuzzer found as regression cases (fixtures/regressions, run by every run).

    python fuzz/record.py [--config conformance.toml] INPUT...

Each input (a ``crash-*``, ``timeout-*`` or ``oom-*`` file libFuzzer or atheris left, in the
format of ``fuzz/seeds.py``) becomes a ``load`` case of the regression corpus: its two files go
to ``cases/<id>/``, and its expectation is the reference's answer, as for every case (a case on
which the reference itself raises waits in ``pending.jsonl``, a gate problem, until the
reference is fixed and ``snnconform fixtures`` refreshes it). The id is
``regression-<the reference's code, or the exception it raised>-<first 8 hex of the input's
SHA-256>``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seeds import split  # noqa: E402

from snnconform.core import _regressions  # noqa: E402
from snnconform.core._config import find_config, load_config  # noqa: E402
from snnconform.core._domain import reference_executor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def record(path: Path, config_path: Path | None = None) -> str:
    """Record one input; returns the case id (and why it is pending, if it is)."""
    config = load_config(config_path or find_config(ROOT))
    reference = reference_executor(config)
    if config.regressions is None or reference is None:
        raise SystemExit("record: conformance.toml needs [harness] regressions and [domain] reference")
    data = path.read_bytes()
    document, archive = split(data)
    digest = hashlib.sha256(data).hexdigest()[:8]
    scratch = config.regressions / "cases" / f"native-{digest}"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "checkpoint.json").write_bytes(document)
    (scratch / "checkpoint.npz").write_bytes(archive)
    fixtures = config.fixtures.resolve()
    base = os.path.relpath(scratch.resolve(), fixtures) + "/checkpoint"
    try:
        results = reference({"id": "native", "ops": [{"op": "load", "base": base}]}, fixtures)["results"]
        name = results[-1].get("code") or "accept"
    except Exception as exc:  # noqa: BLE001 - a reference bug names the case
        name = type(exc).__name__
    case_id = f"regression-{name}-{digest}"
    folder = config.regressions / "cases" / case_id
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    base = os.path.relpath(folder.resolve(), fixtures) + "/checkpoint"
    origin = {"kind": "native", "found_by": "make fuzz-native", "input": path.name}
    error = _regressions.add_case(config, case_id, [{"op": "load", "base": base}], origin, reference)
    return f"{case_id}" + (f" (pending: the reference raises {error})" if error else "")


def main(argv: list[str]) -> int:
    arguments = argv[1:]
    config = None
    if arguments[:1] == ["--config"] and len(arguments) > 1:
        config, arguments = Path(arguments[1]), arguments[2:]
    if not arguments:
        print("usage: python fuzz/record.py [--config conformance.toml] INPUT...", file=sys.stderr)
        return 2
    for argument in arguments:
        path = Path(argument)
        if not path.is_file():
            print(f"record: {argument}: no such file", file=sys.stderr)
            return 2
        print(f"{argument} -> {record(path, config)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
