"""The in-process Rust testee: ``python -m snn_checkpoint_rs.testee`` speaks docs/protocol.md.

Each request line is handed to the compiled executor (the same code as the ``snn-testee``
binary), so both must agree on the whole corpus; only the transport is Python's.
"""

from __future__ import annotations

import argparse
import sys

from ._native import handle_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snn_checkpoint_rs.testee")
    parser.add_argument("--name", default="rust-inprocess", help="implementation name in hello")
    args = parser.parse_args(argv)
    for line in sys.stdin:
        if not line.strip():
            continue
        answer, stop = handle_line(line.rstrip("\n"), args.name)
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
        if stop:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
