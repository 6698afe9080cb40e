"""JUnit XML for CI systems: one testsuite per implementation, one testcase per fixture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Sequence

from snnconform.core._judge import Judgment
from snnconform.core._report import rerun_command

# Testee failures (the implementation never produced a verdict) are JUnit errors; wrong verdicts
# are failures; cases that were not run, or are expected to fail, are skipped.
_ERRORS = {"crashed", "malformed", "errored", "timed_out"}


def write_junit(path: Path, judgments: Sequence[Judgment], seconds: float) -> None:
    root = ET.Element("testsuites", name="snnconform", time=f"{seconds:.3f}")
    names = list(dict.fromkeys(j.implementation for j in judgments))
    for name in names:
        mine = [j for j in judgments if j.implementation == name]
        kinds = Counter(
            "error" if j.status in _ERRORS else "failure" if j.failing else
            "skipped" if j.status in ("known", "not_run") else "ok"
            for j in mine
        )
        suite = ET.SubElement(
            root, "testsuite", name=name, tests=str(len(mine)),
            failures=str(kinds["failure"]), errors=str(kinds["error"]),
            skipped=str(kinds["skipped"]),
            time=f"{sum(j.outcome.seconds for j in mine):.3f}",
        )
        for j in mine:
            case = ET.SubElement(suite, "testcase", classname=f"snnconform.{name}",
                                 name=j.case.id, time=f"{j.outcome.seconds:.4f}")
            text = f"{j.headline()}\nrerun: {rerun_command(name, j.case.id)}"
            if j.status in _ERRORS:
                ET.SubElement(case, "error", type=j.status, message=j.headline().splitlines()[0]).text = text
            elif j.failing:
                ET.SubElement(case, "failure", type=j.status, message=j.headline().splitlines()[0]).text = text
            elif j.status == "known":
                ET.SubElement(case, "skipped", message=f"known divergence: {j.reason}")
            elif j.status == "not_run":
                ET.SubElement(case, "skipped", message=f"not run: {j.outcome.detail.splitlines()[0] if j.outcome.detail else ''}")
            if j.outcome.stderr:
                ET.SubElement(case, "system-err").text = j.outcome.stderr
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
