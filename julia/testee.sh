#!/bin/sh
# Starts the Julia testee from the system image build.sh made. An image built from other sources
# is refused, never used. Without an image it runs from the sources only when `build.sh
# --no-image` (the mutation build) said so: it then compiles its code as it warms up (seconds).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
IMAGE="$(dirname "$HERE")/build/julia/snn-sys.so"
if [ -f "$IMAGE" ]; then
    if [ "$(sh "$HERE/image_key.sh")" != "$(cat "$IMAGE.key" 2>/dev/null)" ]; then
        echo "julia/testee.sh: $IMAGE was built from other sources: run sh julia/build.sh" >&2
        exit 1
    fi
    exec "$HERE/julia.sh" --startup-file=no -J "$IMAGE" "$HERE/testee.jl"
fi
if [ ! -f "$(dirname "$IMAGE")/no-image" ]; then
    echo "julia/testee.sh: no system image $IMAGE: run sh julia/build.sh" >&2
    exit 1
fi
exec "$HERE/julia.sh" --startup-file=no "$HERE/testee.jl"
