#!/usr/bin/env bash
# Installs Intel ISA-L (libisal-dev, the save's deflate) from Debian and the pinned Mojo toolchain
# into the project venv (.venv at the repository root). Idempotent: installs ISA-L only when its
# header is missing, and Mojo only when .venv/bin/mojo does not report the pinned version.
set -euo pipefail
MOJO_PIN="1.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
sh "$ROOT/scripts/install-libisal.sh"
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
