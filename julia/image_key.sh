#!/bin/sh
# Prints the key of the system image the sources would build: the SHA-256 of everything that
# goes into it (the module's sources, the image script, the testee script) and of the Julia that
# builds it. build.sh stores it beside the image; testee.sh refuses an image whose key differs.
HERE=$(cd "$(dirname "$0")" && pwd)
{ cat "$HERE"/src/*.jl "$HERE/sysimage.jl" "$HERE/testee.jl" "$HERE/Project.toml"; "$HERE/julia.sh" --version; } |
    sha256sum | cut -c1-64
