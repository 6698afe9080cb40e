"""Random host values for ``snnconform fuzz``: odd constructor states and transfer arguments.

The corpus's host-value cases change one field in a way the spec names; these throw anything
the host-value encoding (docs/protocol.md) can carry at ``construct``, ``freeze_layers``,
``unfreeze_layers``, ``transfer_config`` and ``apply_transfer_config``: numbers wrapped in
many levels of lists as weights (the nesting depths come from the spec), ragged lists, arrays
of other ranks, huge integers (the spec's limits and the integer widths, one step either
side), non-finite and extreme floats, booleans, strings, null, tuples, sets, bytes, maps with
non-string keys and opaque objects. Operations keep the protocol's shape (known argument
names, the three required state fields), so that any failure is the implementation's and not
a malformed request.

:func:`simplify` then shrinks such values generically: it removes optional members and
operations, unwraps and shortens lists, and moves numbers and strings toward the simplest
value, keeping each change only while the finding persists.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from ._fuzzmutators import Tables

#: The deepest host value drawn: the protocol's lines travel through JSON readers with
#: recursion limits of their own (serde_json's is 128), which are not the spec's to test.
MAX_HOST_DEPTH = 100
STATE_REQUIRED = ("weights", "layer_names", "layer_sizes")
STATE_OPTIONAL = ("neuron_types", "metadata", "frozen_layers")
ARGUMENTS = {
    "freeze_layers": ("args", ("layer_names", "until_index")),
    "unfreeze_layers": ("args", ("layer_names", "all_layers")),
    "transfer_config": ("config", ("freeze_until", "lr_backbone", "lr_head")),
    "apply_transfer_config": ("config", ("freeze_until", "lr_backbone", "lr_head")),
}
_FLOATS: tuple[Any, ...] = (0.0, -0.0, 0.5, 1.0, 0.01, 5e-324, 2.2250738585072014e-308,
                            1.7976931348623157e308, 1e16, 9007199254740993.0, -1.0,
                            {"$float": "NaN"}, {"$float": "Infinity"}, {"$float": "-Infinity"})
_STRINGS = ("", "a", "layer_0", "LIF", "0", "-1", "1e3", " ", "\u00e9", "\U0001f600", "\x00",
            "x" * 300, "NaN", "true")
_TAGS = ("$tuple", "$set", "$bytes", "$map", "$object", "$array")


def scalar(rng: random.Random, tables: Tables) -> Any:
    """A random leaf: an interesting integer, float, string, boolean or null."""
    kind = rng.randrange(10)
    if kind < 4:
        return rng.choice(tables.ints) if rng.random() < 0.7 else rng.randrange(-5, 50)
    if kind < 6:
        return rng.choice(_FLOATS)
    if kind < 8:
        return rng.choice(_STRINGS)
    return rng.choice((True, False, None))


def _array(rng: random.Random, rank: int | None = None) -> dict[str, Any]:
    rank = rng.choice((0, 1, 2, 2, 2, 3)) if rank is None else rank
    shape = [rng.choice((0, 1, 2, 3)) for _ in range(rank)]
    count = 1
    for dim in shape:
        count *= dim
    data = [rng.choice(_FLOATS) if rng.random() < 0.2 else float(rng.randrange(-9, 9)) for _ in range(count)]
    return {"$array": {"shape": shape, "data": data}}


def value(rng: random.Random, tables: Tables, depth: int = 0) -> Any:
    """A random host value: a leaf, a container of values, or a tagged value."""
    kind = rng.randrange(12) if depth < 4 else 0
    if kind < 5:
        return scalar(rng, tables)
    if kind < 7:
        return [value(rng, tables, depth + 1) for _ in range(rng.randrange(4))]
    if kind < 9:
        return {rng.choice(_STRINGS[:6]): value(rng, tables, depth + 1) for _ in range(rng.randrange(3))}
    tag = rng.choice(_TAGS)
    if tag == "$array":
        return _array(rng)
    if tag == "$bytes":
        return {tag: bytes(rng.randrange(256) for _ in range(rng.randrange(4))).hex()}
    if tag == "$object":
        return {tag: "object()"}
    if tag == "$map":
        return {tag: [[scalar(rng, tables), value(rng, tables, depth + 1)] for _ in range(rng.randrange(3))]}
    return {tag: [scalar(rng, tables) for _ in range(rng.randrange(3))]}


def as_list(item: Any) -> list[Any]:
    return item if isinstance(item, list) else []


def nest(leaf: Any, depth: int, container: str = "list") -> Any:
    """``leaf`` wrapped in ``depth`` lists (or single-key objects)."""
    for _ in range(depth):
        leaf = [leaf] if container == "list" else {"d": leaf}
    return leaf


def _depth(rng: random.Random, tables: Tables) -> int:
    return rng.choice([depth for depth in tables.depths if depth <= MAX_HOST_DEPTH])


def weights(rng: random.Random, tables: Tables, state: dict[str, Any]) -> Any:
    """Weights a constructor must refuse, or accept, in every way a host can hand them over."""
    kind = rng.randrange(7)
    sizes = as_list(state.get("layer_sizes"))
    if kind == 0:
        return [nest(scalar(rng, tables), _depth(rng, tables))]
    if kind == 1:  # plain nested lists of the declared shape (not $array): valid if numeric
        out = []
        for pair in sizes:
            rows, columns = (pair if isinstance(pair, list) and len(pair) == 2 else [1, 1])[::-1]
            rows, columns = (n if isinstance(n, int) and 0 <= n <= 4 else 1 for n in (rows, columns))
            out.append([[rng.choice((1.0, 0, -2, 0.5)) for _ in range(columns)] for _ in range(rows)])
        return out
    if kind == 2:
        return [[[1.0, 2.0], [3.0]]]  # ragged
    if kind == 3:
        return [_array(rng, rng.choice((0, 1, 3)))]
    if kind == 4:
        return [nest(_array(rng, 2), rng.choice((1, 2, 31, 32)))]
    return [value(rng, tables) for _ in range(rng.randrange(3))]


def construct_op(rng: random.Random, tables: Tables, base: dict[str, Any] | None) -> dict[str, Any]:
    """A ``construct`` whose state is a valid one with one or two fields replaced, or all new."""
    if base is None or rng.random() < 0.2:
        state: dict[str, Any] = {key: value(rng, tables) for key in STATE_REQUIRED}
        for key in STATE_OPTIONAL:
            if rng.random() < 0.5:
                state[key] = value(rng, tables)
    else:
        state = json.loads(json.dumps(base))
        for _ in range(rng.choice((1, 1, 2))):
            key = rng.choice(STATE_REQUIRED + STATE_OPTIONAL)
            state[key] = weights(rng, tables, state) if key == "weights" else _field(rng, tables, key, state)
    return {"op": "construct", "state": state}


def _field(rng: random.Random, tables: Tables, key: str, state: dict[str, Any]) -> Any:
    names = as_list(state.get("layer_names"))
    if key == "metadata" and rng.random() < 0.5:
        return {"deep": nest([], _depth(rng, tables), rng.choice(("list", "dict")))}
    if key == "layer_sizes" and rng.random() < 0.6:
        return [[rng.choice(tables.ints), rng.choice(tables.ints)] for _ in names] or [[0, 1]]
    if key in ("layer_names", "frozen_layers", "neuron_types") and rng.random() < 0.5:
        pool = list(names) + [scalar(rng, tables) for _ in range(2)]
        return [rng.choice(pool) for _ in range(rng.randrange(4))]
    return value(rng, tables)


def transfer_op(rng: random.Random, tables: Tables, names: list[Any]) -> dict[str, Any]:
    """A transfer operation with a random subset of its arguments, each odd or plausible."""
    op = rng.choice(sorted(ARGUMENTS))
    member, keys = ARGUMENTS[op]
    arguments: dict[str, Any] = {}
    for key in keys:
        if rng.random() < 0.6:
            plausible = rng.random() < 0.5
            if key == "layer_names" and plausible:
                arguments[key] = [rng.choice(names or ["x"]) for _ in range(rng.randrange(3))]
            elif key in ("until_index", "freeze_until") and plausible:
                arguments[key] = rng.choice(names + [-1, 0, 1, len(names), len(names) - 1])
            else:
                arguments[key] = scalar(rng, tables) if rng.random() < 0.7 else value(rng, tables)
    return {"op": op, member: arguments}


# ----------------------------------------------------------------------------- shrinking


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, list):
        yield from range(len(node))
    elif isinstance(node, dict):
        yield from list(node)


def _candidates(node: Any) -> Iterator[Any]:
    """Simpler replacements for one value, simplest first."""
    if isinstance(node, bool) or node is None:
        if node:
            yield False
        return
    if isinstance(node, int):
        yield from (0, 1) if node not in (0, 1) else ()
        return
    if isinstance(node, float):  # 0.0 is the simplest, then 1.0: never back and forth
        yield from (c for c in (0.0, 1.0) if repr(c) != repr(node) and repr(node) != "0.0")
        return
    if isinstance(node, str):
        yield from (c for c in ("", node[:1], node[: len(node) // 2]) if len(c) < len(node))
        return
    if isinstance(node, list):
        if node:
            yield []
        if len(node) == 1:
            yield node[0]  # one level of nesting less
        if len(node) > 1:
            yield node[: len(node) // 2]
            yield node[len(node) // 2 :]
            yield from (node[:i] + node[i + 1 :] for i in range(len(node)))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    for key in _children(node):
        yield from _paths(node[key], (*prefix, key))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _replaced(node: Any, path: tuple[Any, ...], new: Any, delete: bool = False) -> Any:
    if not path:
        return new
    copy = list(node) if isinstance(node, list) else dict(node)
    if len(path) == 1 and delete:
        del copy[path[0]]
    else:
        copy[path[0]] = _replaced(node[path[0]], path[1:], new, delete)
    return copy


def _minimize_int(ops: Any, path: tuple[Any, ...], keep: Callable[[Any], bool]) -> Any:
    """Binary search for the integer closest to 0 at ``path`` that still fails."""
    value = _get(ops, path)
    low, high = (0, value) if value > 0 else (value, 0)
    # Invariant: the bound farthest from 0 fails; the search moves it toward 0.
    while high - low > 1:
        middle = (low + high) // 2
        trial = _replaced(ops, path, middle)
        if keep(trial):
            ops = trial
            low, high = (low, middle) if value > 0 else (middle, high)
        else:
            low, high = (middle, high) if value > 0 else (low, middle)
    return ops


def simplify(ops: list[Any], removable: Callable[[tuple[Any, ...]], bool],
             frozen: Callable[[tuple[Any, ...]], bool], keep: Callable[[Any], bool]) -> list[Any]:
    """Shrink JSON ``ops`` greedily while ``keep`` holds: delete what ``removable`` allows,
    replace values below paths that are not ``frozen`` by simpler ones, and move integers
    toward zero by binary search. Returns the smallest ops reached."""
    tried: set[tuple[tuple[Any, ...], str]] = set()  # (path, value) that could not be simplified
    changed = True
    while changed:
        changed = False
        for path in list(_paths(ops)):
            try:
                node = _get(ops, path)
            except (KeyError, IndexError, TypeError):
                continue  # a path an earlier change removed
            memo = (path, json.dumps(node, sort_keys=True))
            if memo in tried:
                continue
            if path and removable(path):
                trial = _replaced(ops, path, None, delete=True)
                if keep(trial):
                    ops, changed = trial, True
                    break
            if frozen(path):
                continue
            for candidate in _candidates(node):
                trial = _replaced(ops, path, candidate)
                if keep(trial):
                    ops, changed = trial, True
                    break
            if changed:
                break
            if isinstance(node, int) and not isinstance(node, bool) and abs(node) > 1:
                smaller = _minimize_int(ops, path, keep)
                if smaller != ops:
                    ops, changed = smaller, True
                    break
            tried.add(memo)
    return ops


_TAG_BODIES = ("$array", "$float", "$bytes", "$object")


def frozen_path(path: tuple[Any, ...]) -> bool:
    """Paths of host-encoded operations whose value must keep its shape: the operations, their
    names, paths and argument objects, and the bodies of tags (an ``$array``'s shape and data
    go together; a ``$map`` holds pairs), so that shrinking never makes a malformed request."""
    if len(path) <= 2:
        return True
    if any(key in _TAG_BODIES for key in path if isinstance(key, str)):
        return True
    last = path[-1]
    return (isinstance(last, str) and last.startswith("$")) or (len(path) > 1 and path[-2] == "$map")


def removable_path(path: tuple[Any, ...]) -> bool:
    """What shrinking may delete from host-encoded operations: a later operation, an
    argument, an optional state field."""
    if len(path) == 1:
        return isinstance(path[0], int) and path[0] > 0
    if len(path) == 3 and path[1] in ("args", "config"):
        return True
    return len(path) == 3 and path[1] == "state" and path[2] in STATE_OPTIONAL
