#!/usr/bin/env bash
# Runs the Mojo unit tests (built by build.sh) and a protocol smoke test of the testee.
# Exits non-zero when any test fails.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
status=0
for binary in build/test_*; do
    [ -x "$binary" ] || continue
    if ! "./$binary"; then
        echo "FAILED: $binary" >&2
        status=1
    fi
done
if ! ls build/test_* >/dev/null 2>&1; then
    echo "test.sh: no test binaries in $HERE/build; run build.sh first" >&2
    exit 1
fi

# Protocol smoke test: hello, a construct, a rejected freeze, a request that is not JSON, a save
# (into a scratch folder), a refused save, a timed save at level 9, a refused level, stop.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
state='{"weights": [[[1.0]]], "layer_names": ["a"], "layer_sizes": [[1, 1]]}'
answers="$(printf '%s\n' \
    '{"cmd": "hello", "protocol": 1}' \
    '{"cmd": "run", "seq": 7, "case": {"id": "smoke", "root": "/nonexistent", "ops": [{"op": "construct", "state": '"$state"'}, {"op": "freeze_layers", "args": {}}]}}' \
    'not json' \
    '{"cmd": "run", "seq": 8, "case": {"id": "save", "root": "/nonexistent", "ops": [{"op": "save", "state": '"$state"', "out": "'"$scratch"'/a/b", "compression": "stored"}]}}' \
    '{"cmd": "run", "seq": 9, "case": {"id": "refused", "root": "/nonexistent", "ops": [{"op": "save", "state": {"weights": [], "layer_names": ["a"], "layer_sizes": [[1, 1]]}, "out": "'"$scratch"'/c/d"}]}}' \
    '{"cmd": "run", "seq": 10, "timing": true, "case": {"id": "timed", "root": "/nonexistent", "ops": [{"op": "save", "state": '"$state"', "out": "'"$scratch"'/e/f", "level": 9}]}}' \
    '{"cmd": "run", "seq": 11, "case": {"id": "level", "root": "/nonexistent", "ops": [{"op": "save", "state": '"$state"', "out": "'"$scratch"'/g/h", "level": 10}]}}' \
    '{"cmd": "stop"}' | ./build/snn-testee)"
rc=$?
expect_line() {
    if ! printf '%s\n' "$answers" | sed -n "${1}p" | grep -qF -- "$2"; then
        echo "FAILED: testee answer $1 lacks $2" >&2
        printf '%s\n' "$answers" >&2
        status=1
    fi
}
expect_line 1 '"implementation": "mojo"'
expect_line 2 '"seq": 7, "id": "smoke", "results": [{"op": "construct", "verdict": "accept"'
expect_line 2 '"code": "transfer.selector.missing"'
expect_line 3 '"errored"'
expect_line 4 '"saved": {"npz": {"sha256": "'
expect_line 5 '"code": "checkpoint.weights.count"'
expect_line 1 '"timing"'
expect_line 4 '"json": {"sha256": "'
expect_line 6 '"seconds": '
expect_line 7 '"errored"'
expect_line 8 '{"stopped": true}'
if ! printf '%s\n' "$answers" | sed -n 4p | grep -vq '"seconds"'; then
    echo "FAILED: an untimed run reports seconds" >&2
    status=1
fi
if [ ! -f "$scratch/a/b.npz" ] || [ ! -f "$scratch/e/f.npz" ] || [ -e "$scratch/c" ] || [ -e "$scratch/g" ]; then
    echo "FAILED: the saves left $(ls -R "$scratch")" >&2
    status=1
fi
[ "$rc" -eq 0 ] || { echo "FAILED: testee exit status $rc" >&2; status=1; }

# Archives deflated by the testee (ISA-L) at levels 1 and 9 read by other tools: unzip tests
# every member's CRC-32, numpy.load must give back the weights that were sent.
PY="$HERE/../.venv/bin/python"
if ! "$PY" - "$scratch" ./build/snn-testee <<'PYEOF'
import json, subprocess, sys, zipfile
import numpy as np
scratch, testee = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(15)
weights = [rng.standard_normal((300, 200)), rng.standard_normal((7, 300))]
state = {"weights": [w.tolist() for w in weights], "layer_names": ["a", "b"],
         "layer_sizes": [[200, 300], [300, 7]]}
lines = [json.dumps({"cmd": "hello", "protocol": 1})]
for level in (1, 9):
    op = {"op": "save", "state": state, "out": f"{scratch}/deflated{level}/w", "level": level}
    lines.append(json.dumps({"cmd": "run", "seq": level, "case": {"id": "d", "root": "/", "ops": [op]}}))
answers = subprocess.run([testee], input="\n".join(lines + ['{"cmd": "stop"}']) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
for level in (1, 9):
    path = f"{scratch}/deflated{level}/w.npz"
    assert '"saved"' in answers[1 if level == 1 else 2], answers
    subprocess.run(["unzip", "-tq", path], check=True, stdout=subprocess.DEVNULL)
    with zipfile.ZipFile(path) as archive:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    with np.load(path) as loaded:
        for i, w in enumerate(weights):
            assert np.array_equal(loaded[f"layer_{i}"], w), (level, i)
PYEOF
then
    echo "FAILED: a deflated archive of the testee does not pass unzip -t and numpy.load" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "mojo unit tests and protocol smoke test passed"
exit $status
