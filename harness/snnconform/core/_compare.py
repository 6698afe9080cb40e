"""``snnconform compare OLD NEW``: what regressed or got fixed, per case and implementation."""

from __future__ import annotations

from typing import Any, Mapping

_FAILING = {"disagreed", "crashed", "malformed", "errored", "timed_out", "skipped"}


def _failures(doc: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (d["implementation"], d["case"]): d
        for d in doc.get("disagreements", [])
        if d.get("kind") in _FAILING
    }


def _ran(doc: Mapping[str, Any], implementation: str) -> bool:
    entry = doc.get("implementations", {}).get(implementation)
    return bool(entry and entry.get("available") and entry.get("version") is not None)


def compare_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[str]]:
    """Lines under regressed / fixed / changed / implementations."""
    before, after = _failures(old), _failures(new)
    out: dict[str, list[str]] = {"regressed": [], "fixed": [], "changed": [], "implementations": []}
    for key in sorted(set(before) | set(after)):
        impl, case = key
        if key in after and key not in before:
            out["regressed"].append(f"{impl} {case}: {after[key]['summary'].splitlines()[0]}")
        elif key in before and key not in after:
            if _ran(new, impl):
                out["fixed"].append(f"{impl} {case}: was {before[key]['kind']}")
        elif before[key].get("signature") != after[key].get("signature"):
            out["changed"].append(
                f"{impl} {case}: {before[key].get('signature')} -> {after[key].get('signature')}"
            )
    for name in sorted(set(old.get("implementations", {})) | set(new.get("implementations", {}))):
        o = old.get("implementations", {}).get(name, {})
        n = new.get("implementations", {}).get(name, {})
        for field in ("available", "version"):
            if o.get(field) != n.get(field):
                out["implementations"].append(
                    f"{name}: {field} {o.get(field)!r} -> {n.get(field)!r}"
                )
        for step in ("build", "unit_tests"):
            so, sn = (o.get(step) or {}).get("status"), (n.get(step) or {}).get("status")
            if so != sn:
                out["implementations"].append(f"{name}: {step} {so} -> {sn}")
                if sn == "failed":
                    out["regressed"].append(f"{name}: {step} failed")
    if old.get("status") == "pass" and new.get("status") != "pass" and not out["regressed"]:
        out["regressed"].append("gate: pass -> fail (" + "; ".join(new.get("failed_checks", [])[:3]) + ")")
    return out
