#!/bin/sh
# The Julia build: precompiles SNNCheckpoints into the depot (for the unit tests), then builds the
# testee's system image build/julia/snn-sys.so (sysimage.jl: the module and the native code of its
# workload; julia/README.md says why), unless the image's key (image_key.sh) says it is current.
# Any failure fails the build, and testee.sh never runs without a current image unless
# `build.sh --no-image` (the mutation build: minutes per mutant otherwise) asked for that.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$(dirname "$HERE")/build/julia"
IMAGE="$OUT/snn-sys.so"
JULIA="$HERE/julia.sh"

"$JULIA" --startup-file=no "$HERE/build.jl"
mkdir -p "$OUT"
if [ "${1:-}" = "--no-image" ]; then
    rm -f "$IMAGE" "$IMAGE.key"
    touch "$OUT/no-image"
    echo "julia: no system image (the testee compiles its code as it starts)"
    exit 0
fi
rm -f "$OUT/no-image"
key=$(sh "$HERE/image_key.sh")
if [ -f "$IMAGE" ] && [ "$(cat "$IMAGE.key" 2>/dev/null)" = "$key" ]; then
    echo "julia system image is current: $IMAGE"
    exit 0
fi
rm -f "$IMAGE" "$IMAGE.key" "$OUT/snn-sys.o"
base=$("$JULIA" --startup-file=no -e 'print(unsafe_string(Base.JLOptions().image_file))')
libjulia=$("$JULIA" --startup-file=no -e 'using Libdl; print(first(filter(p -> occursin("libjulia", basename(p)), Libdl.dllist())))')
# --compiled-modules=no: the image takes the module from its sources, never from the depot's cache.
"$JULIA" --startup-file=no --compiled-modules=no --output-o "$OUT/snn-sys.o" -J "$base" "$HERE/sysimage.jl"
# There is no libjulia.so for -ljulia on Debian: link the library file itself.
gcc -shared -o "$OUT/snn-sys.so.tmp" -Wl,--whole-archive "$OUT/snn-sys.o" -Wl,--no-whole-archive "$libjulia"
rm -f "$OUT/snn-sys.o"
mv "$OUT/snn-sys.so.tmp" "$IMAGE"
echo "$key" > "$IMAGE.key"
echo "julia system image built: $IMAGE"
