#!/usr/bin/env bash
# Builds the Mojo testee and the unit-test binaries into mojo/build/ (gitignored).
# Needs the toolchain from setup.sh, ISA-L (-lisal: deflate, inflate, CRC-32; setup.sh installs it)
# and libcrypto (-lcrypto, SHA-256) from the system.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOJO="$HERE/../.venv/bin/mojo"
if [ ! -x "$MOJO" ]; then
    echo "build.sh: $MOJO not found; run mojo/setup.sh first" >&2
    exit 1
fi
export PATH="$(dirname "$MOJO"):$PATH"
LINK=(-Xlinker -lisal -Xlinker -lcrypto)
mkdir -p "$HERE/build"
cd "$HERE"
"$MOJO" build -I src src/testee.mojo -o build/snn-testee "${LINK[@]}"
for test in tests/test_*.mojo; do
    name="$(basename "$test" .mojo)"
    "$MOJO" build -I src -I tests "$test" -o "build/$name" "${LINK[@]}"
done
echo "built $HERE/build/snn-testee and $(ls build/test_* | wc -l) test binaries"
