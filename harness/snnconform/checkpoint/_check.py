"""``snnconform check`` for checkpoints: the user's arguments as ``load`` inputs.

``conformance.toml [domain] check_inputs`` names :func:`inputs`. An argument is a pair's base
path (``model`` for ``model.json`` + ``model.npz``), one of the pair's files, or a folder that
is searched (recursively) for pairs. Only reading happens here; testees then read the same
files. Nothing is written anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

SUFFIXES = (".json", ".npz")


def _base_of(argument: str) -> str:
    """The pair's base for an explicit argument, or a one-line ValueError saying what is missing."""
    if any(os.path.lexists(argument + suffix) for suffix in SUFFIXES):
        base = argument
    elif argument.endswith(SUFFIXES) and os.path.lexists(argument):
        base = argument[: -len(next(s for s in SUFFIXES if argument.endswith(s)))]
    else:
        raise ValueError(f"{argument}: no such checkpoint pair ({argument}.json + .npz) or folder")
    json_path, npz_path = base + ".json", base + ".npz"
    for path, other in ((json_path, npz_path), (npz_path, json_path)):
        if not os.path.lexists(path):
            raise ValueError(f"{other} has no {os.path.basename(path)} beside it: a checkpoint is "
                             "a pair")
        if not os.path.isfile(path):
            raise ValueError(f"{path}: not a regular file")
    return base


def _pairs_in(folder: str) -> Iterator[str]:
    """Bases of every pair under ``folder`` (depth first, sorted); lone files are ignored."""
    for directory, subdirs, files in os.walk(folder):
        subdirs.sort()
        present = set(files)
        for name in sorted(files):
            if name.endswith(".json") and name[: -len(".json")] + ".npz" in present:
                base = os.path.join(directory, name[: -len(".json")])
                if os.path.isfile(base + ".json") and os.path.isfile(base + ".npz"):
                    yield base


def _input(base: str) -> dict[str, Any]:
    path = Path(base).absolute()
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{base}: the path is not valid UTF-8, which the protocol cannot carry; "
                         "rename it") from None
    return {"id": base, "root": str(path.parent), "ops": [{"op": "load", "base": path.name}]}


def inputs(arguments: Sequence[str]) -> list[dict[str, Any]]:
    """One ``load`` input per checkpoint pair the arguments name, in order, without repeats.

    Raises
    ------
    ValueError
        With a one-line message: a missing file, a path without its pair, an empty folder.
    """
    bases: list[str] = []
    for argument in arguments:
        if os.path.isdir(argument):
            found = list(_pairs_in(argument))
            if not found:
                raise ValueError(f"{argument}: no checkpoint pair (NAME.json beside NAME.npz) in "
                                 "this folder")
            bases += found
        else:
            bases.append(_base_of(argument))
    seen: set[str] = set()
    unique = []
    for base in bases:
        key = str(Path(base).absolute())
        if key not in seen:
            seen.add(key)
            unique.append(_input(base))
    return unique
