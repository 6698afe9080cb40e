#!/bin/sh
# Installs Intel ISA-L (Debian's libisal-dev: isa-l/igzip_lib.h and libisal.so), the deflate the
# Mojo and Rust writers link (-lisal). Idempotent: does nothing when the header is present;
# fails loudly when it cannot install it.
set -eu
ISAL_HEADER=/usr/include/isa-l/igzip_lib.h
[ -f "$ISAL_HEADER" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
install_isal() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libisal-dev
}
# Without package lists (a fresh image) apt knows no libisal-dev: update once, then retry.
install_isal || { $SUDO apt-get update && install_isal; } || {
    echo "install-libisal.sh: could not install libisal-dev (ISA-L, needed to link -lisal)" >&2
    exit 1
}
[ -f "$ISAL_HEADER" ] || { echo "install-libisal.sh: libisal-dev installed but $ISAL_HEADER is missing" >&2; exit 1; }
