"""``snnconform merge``: one results document from per-implementation shards of one corpus.

CI runs one job per implementation (``.github/workflows/conformance.yml``), and each job writes
its own ``bench_transfer.json``. Merging them gives the document one full run would have
written: the same verdicts, counts, matrix, disagreements and failed checks, so the gate, the
reports and ``compare`` work on it unchanged. The shards must come from the same corpus (spec
and protocol versions, corpus figures and, when recorded, the digest of ``cases.jsonl``) and
hold different implementations: merging anything else would gate on a mixture.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

# The top-level keys of a results document, in its order (see _report.build_document).
_KEYS = ("status", "failed_checks", "spec_version", "protocol_version", "corpus",
         "implementations", "matrix", "disagreements", "python", "benchmarks", "environment",
         "production_benchmark_claim")


class MergeError(Exception):
    """The shards cannot be merged: different corpora, or one implementation twice."""


def _identity(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What must be equal across shards for their verdicts to be about the same cases."""
    return {
        "spec_version": doc.get("spec_version"),
        "protocol_version": doc.get("protocol_version"),
        "corpus": doc.get("corpus"),
        "corpus sha256": (doc.get("environment") or {}).get("corpus_sha256"),
    }


def _first_mismatch(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    for key in a:
        if a[key] == b[key]:
            continue
        if isinstance(a[key], dict) and isinstance(b[key], dict):
            inner = next((k for k in [*a[key], *b[key]] if a[key].get(k) != b[key].get(k)), "keys")
            return f"corpus {inner} {a[key].get(inner)!r} vs {b[key].get(inner)!r}"
        return f"{key} {a[key]!r} vs {b[key]!r}"
    return None


def _check_shards(shards: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """Refuse shards of different corpora or overlapping implementations; impl -> shard name."""
    first_name, first = shards[0]
    reference = _identity(first)
    owner: dict[str, str] = {}
    for name, doc in shards:
        mismatch = _first_mismatch(reference, _identity(doc))
        if mismatch is not None:
            raise MergeError(f"{name} is from another corpus than {first_name} ({mismatch}); "
                             "merge shards of one corpus")
        for impl in doc.get("implementations", {}):
            if impl in owner:
                raise MergeError(f"{name}: implementation {impl!r} is also in {owner[impl]}; "
                                 "merge shards of different implementations")
            owner[impl] = name
    return owner


def _ordered(names: Sequence[str], configured: Sequence[str]) -> list[str]:
    """Configured order first (as one full run lists them), then any others as they came."""
    return [n for n in configured if n in names] + [n for n in names if n not in configured]


def _checks(shards: Sequence[Mapping[str, Any]], order: Sequence[str],
            missing: Sequence[str]) -> list[str]:
    """Each implementation's checks in implementation order, then the shared ones, once."""
    owned: dict[str, list[str]] = {name: [] for name in order}
    shared: list[str] = []
    for doc in shards:
        for check in doc.get("failed_checks", []):
            impl = next((n for n in doc.get("implementations", {}) if check.startswith(f"{n}: ")), None)
            if impl is not None:
                owned[impl].append(check)
            elif check not in shared:  # e.g. the reference's own contradictions, in every shard
                shared.append(check)
    lines = [check for name in order for check in owned[name]]
    lines += [f"{name}: no results were merged for it (its shard did not run or did not upload)"
              for name in missing]
    return lines + shared


def _environment(shards: Sequence[tuple[str, Mapping[str, Any]]], present: set[str]) -> dict[str, Any]:
    envs = [dict(doc.get("environment") or {}) for _, doc in shards]
    merged = envs[0]
    merged["tools"] = {k: v for env in envs for k, v in (env.get("tools") or {}).items()}
    excluded = {name for env in envs for name in env.get("excluded", [])}
    merged["excluded"] = sorted(excluded - present)
    merged["filtered"] = any(env.get("filtered") for env in envs)
    merged["wall_seconds"] = max((env.get("wall_seconds") or 0.0 for env in envs), default=0.0)
    merged["merged_from"] = [name for name, _ in shards]
    return merged


def _suites(shards: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The domain's suites (producer x consumer, fuzz, ...) of every shard: their failures are
    already in the shards' failed checks; their figures and reports are kept per shard, since
    each shard ran a suite with its own implementations."""
    names = list(dict.fromkeys(name for _, doc in shards for name in doc.get("suites", [])))
    merged: dict[str, Any] = {"suites": names} if names else {}
    for name in names:
        parts = {shard: doc[name] for shard, doc in shards if isinstance(doc.get(name), Mapping)}
        markdown = [line for shard, part in parts.items()
                    for line in ["", f"*From {shard}:*", *part.get("markdown", [])]]
        merged[name] = {"shards": {shard: {k: v for k, v in part.items() if k != "markdown"}
                                   for shard, part in parts.items()}, "markdown": markdown[1:]}
    return merged


def merge_documents(shards: Sequence[tuple[str, Mapping[str, Any]]],
                    configured: Sequence[str] = ()) -> dict[str, Any]:
    """Merge ``(name, document)`` shards; ``configured`` lists the implementations expected.

    A configured implementation that no shard holds (and that no shard excluded) fails the
    merged gate: a CI job that never uploaded must not pass as if it had agreed.
    """
    if not shards:
        raise MergeError("no results documents to merge")
    owner = _check_shards(shards)
    order = _ordered(list(owner), configured)
    docs = {name: doc for name, doc in shards}
    implementations = {impl: docs[owner[impl]]["implementations"][impl] for impl in order}
    matrix: dict[str, dict[str, Any]] = {}
    for _, doc in shards:
        for invariant in doc.get("matrix", {}):
            matrix.setdefault(invariant, {})
    for invariant, cells in matrix.items():
        for impl in order:
            cell = docs[owner[impl]].get("matrix", {}).get(invariant, {}).get(impl)
            if cell is not None:
                cells[impl] = cell
    rank = {impl: index for index, impl in enumerate(order)}
    disagreements = sorted((d for _, doc in shards for d in doc.get("disagreements", [])),
                           key=lambda d: rank.get(d.get("implementation"), len(rank)))
    environment = _environment(shards, set(order))
    missing = [n for n in configured if n not in owner and n not in environment["excluded"]]
    failed = _checks([doc for _, doc in shards], order, missing)
    first = shards[0][1]
    merged = {
        "status": "fail" if failed else "pass",
        "failed_checks": failed,
        "spec_version": first.get("spec_version"),
        "protocol_version": first.get("protocol_version"),
        "corpus": first.get("corpus"),
        "implementations": implementations,
        "matrix": matrix,
        "disagreements": disagreements,
        "python": next((doc["python"] for _, doc in shards if doc.get("python")), {}),
        "benchmarks": {k: v for _, doc in reversed(shards) for k, v in (doc.get("benchmarks") or {}).items()},
        "environment": environment,
        "production_benchmark_claim": False,
    }
    suites = _suites(shards)
    ordered = {key: merged[key] for key in _KEYS}
    # As in a full run's document: the suites right after the benchmarks.
    at = list(ordered).index("environment")
    items = list(ordered.items())
    return dict(items[:at] + list(suites.items()) + items[at:])
