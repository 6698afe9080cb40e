"""Atheris target: ``sc_neurocore.transfer.load_checkpoint`` on a pair made from one input.

    python fuzz/python/load_checkpoint_fuzz.py [libFuzzer options] [CORPUS_DIR ...]

The input is split as ``fuzz/seeds.py`` writes it (the document's length in four
little-endian bytes, the document, the archive); both files go to a private folder (in memory
under /dev/shm when it exists, see :func:`_folder`) and the reference loads them through its
public API. A
``CheckpointError`` is a verdict; any other exception escapes, and atheris reports it as a
finding (with the input saved as ``crash-*``), as it does a hang (``-timeout``) or memory
beyond ``-rss_limit_mb``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seeds import split  # noqa: E402

with atheris.instrument_imports():
    from sc_neurocore.transfer import CheckpointError, load_checkpoint


def _folder() -> Path:
    """``SNN_FUZZ_SCRATCH`` (``make fuzz-native`` makes and removes one in memory), else a new
    folder under /dev/shm or the temporary folder (left behind: libFuzzer ends the process
    without running Python's exit handlers)."""
    given = os.environ.get("SNN_FUZZ_SCRATCH")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return Path(given)
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="snn-atheris-", dir=shm if shm.is_dir() else None))


BASE = _folder() / "checkpoint"


def test_one_input(data: bytes) -> None:
    document, archive = split(data)
    BASE.with_suffix(".json").write_bytes(document)
    BASE.with_suffix(".npz").write_bytes(archive)
    try:
        load_checkpoint(BASE)
    except CheckpointError:
        pass  # a coded rejection is the loader doing its job


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
