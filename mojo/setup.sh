#!/usr/bin/env bash
# Installs the pinned Mojo toolchain into the project venv (.venv at the repository root). Idempotent:
# does nothing when .venv/bin/mojo already reports the pinned version.
set -euo pipefail
MOJO_PIN="1.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup.sh: $VENV/bin/python not found; create the project venv first" >&2
    exit 1
fi
if [ -x "$VENV/bin/mojo" ] && "$VENV/bin/mojo" --version 2>/dev/null | grep -Eq "Mojo ${MOJO_PIN//./\\.}(\.|[^0-9]|$)"; then
    echo "mojo $MOJO_PIN already installed: $("$VENV/bin/mojo" --version)"
    exit 0
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check "mojo==${MOJO_PIN}.*"
"$VENV/bin/mojo" --version
