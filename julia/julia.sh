#!/bin/sh
# Runs `julia` with the libunwind that setup.sh placed in julia/.deps/lib, if any (see setup.sh).
LIB="$(cd "$(dirname "$0")" && pwd)/.deps/lib"
if [ -d "$LIB" ]; then
    LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
fi
exec julia "$@"
