#!/bin/sh
# Installs Julia 1.5.3 from Debian bullseye (pinned low so nothing else comes from bullseye) and,
# when needed, bullseye's libunwind beside it. Idempotent; fast when all is in place.
#
# Why libunwind: Debian 12's libunwind 1.6 makes bullseye's Julia 1.5.3 segfault whenever an
# exception is thrown inside compiled code (even inside try/catch). bullseye's libunwind 1.3.2 is
# extracted into julia/.deps/lib (not installed system-wide: other packages use libunwind8) and
# julia/julia.sh puts it on LD_LIBRARY_PATH. Any newer Julia that throws fine needs none of this.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

add_bullseye() {
    $SUDO sh -c "echo 'deb http://deb.debian.org/debian bullseye main' > /etc/apt/sources.list.d/bullseye-julia.list"
    $SUDO sh -c "printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' > /etc/apt/preferences.d/bullseye-julia"
    $SUDO apt-get update
}

# Exit status 0 when Julia (through the wrapper) survives an exception thrown in compiled code.
throws_fine() {
    "$HERE/julia.sh" --startup-file=no -e 'f() = error("probe"); try f() catch end' >/dev/null 2>&1
}

if ! command -v julia >/dev/null 2>&1; then
    add_bullseye
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bullseye julia
fi

if ! throws_fine; then
    [ -f /etc/apt/sources.list.d/bullseye-julia.list ] || add_bullseye
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && apt-get download libunwind8/bullseye 2>/dev/null || { $SUDO apt-get update && apt-get download libunwind8/bullseye; })
    dpkg -x "$work"/libunwind8_*.deb "$work/root"
    mkdir -p "$HERE/.deps/lib"
    cp -a "$(dirname "$(find "$work/root" -name 'libunwind.so.8' | head -n 1)")"/libunwind*.so* "$HERE/.deps/lib/"
    throws_fine || { echo "setup.sh: julia still crashes on exceptions" >&2; exit 1; }
fi
# ISA-L (libisal-dev): the writer deflates through libisal, the test's layout probe needs its header.
"$HERE/../scripts/install-libisal.sh"
"$HERE/julia.sh" --version
