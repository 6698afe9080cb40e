"""Write the native fuzzers' seed corpus from the fixture corpus: one file per pair.

    python fuzz/seeds.py OUT_DIR

Each pair a case of ``fixtures/cases.jsonl`` (or of the regression corpus) loads becomes one
input in the format both targets split: the document's length as four little-endian bytes,
the document, then the archive. Pairs whose files are missing or folders (cases built that
way on purpose) are skipped; so are pairs over 1 MiB, which would only slow the fuzzers.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1 << 20


def pairs(fixtures: Path) -> list[tuple[bytes, bytes]]:
    found = []
    for manifest in (fixtures / "cases.jsonl", fixtures / "regressions" / "cases.jsonl"):
        if not manifest.is_file():
            continue
        for line in manifest.read_text("utf-8").splitlines():
            first = json.loads(line)["ops"][0]
            if first["op"] != "load":
                continue
            files = [fixtures / (first["base"] + suffix) for suffix in (".json", ".npz")]
            if all(f.is_file() for f in files) and sum(f.stat().st_size for f in files) <= MAX_BYTES:
                found.append((files[0].read_bytes(), files[1].read_bytes()))
    return found


def encode(document: bytes, archive: bytes) -> bytes:
    """One fuzz input: ``len(document)`` (u32, little-endian), the document, the archive."""
    return struct.pack("<I", len(document)) + document + archive


def split(data: bytes) -> tuple[bytes, bytes]:
    """The inverse of :func:`encode` for any input (both targets split the same way)."""
    if len(data) < 4:
        return b"", b""
    declared = struct.unpack("<I", data[:4])[0]
    rest = data[4:]
    cut = declared % (len(rest) + 1)
    return rest[:cut], rest[cut:]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python fuzz/seeds.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for document, archive in pairs(ROOT / "fixtures"):
        data = encode(document, archive)
        path = out / hashlib.sha1(data).hexdigest()  # libFuzzer's own naming
        if not path.exists():
            path.write_bytes(data)
            written += 1
    print(f"{written} new seed(s) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
