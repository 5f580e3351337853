#!/usr/bin/env bash
# The board binaries under qemu-user against the native kiln (called by
# `make cross-test`):  check.sh TARBALL:QEMU [TARBALL:QEMU ...]
# For each deployment tarball: the kiln inside is statically linked, says
# the same --version, and gives the same JSON (wall-clock fields aside) as
# the native kiln for golden GEMMs and BFP MatMuls, output hashes included.
set -uo pipefail
native=target/release/kiln
passed=0 failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ok() { echo "ok    $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1"; failed=$((failed + 1)); }

# JSON without the fields that measure this machine's wall clock.
strip_clock() {
  python3 -c 'import json, sys
def drop(v):
    if isinstance(v, dict):
        return {k: drop(x) for k, x in v.items() if k not in ("wall_seconds", "simulated_cycles_per_second")}
    if isinstance(v, list):
        return [drop(x) for x in v]
    return v
print(json.dumps(drop(json.load(sys.stdin)), sort_keys=True, indent=1))'
}

cases=(
  "gemm --backend golden --design gemm-pot-8x8 --m 64 --n 48 --k 200 --seed 3 --json"
  "gemm --backend golden --design gemm-mac-dsp-8x8 --m 17 --n 33 --k 65 --output int32 --seed 4 --json"
  "gemm --backend golden --design gemm-apot-8x8 --m 5 --n 7 --k 300 --seed 5 --json"
  "matmul --backend golden --design bfp-mxint8 --m 3 --n 64 --k 512 --seed 6 --json"
  "matmul --backend golden --design bfp-mxint4 --m 1 --n 32 --k 256 --data gaussian --seed 7 --json"
)

for spec in "$@"; do
  tarball=${spec%%:*} qemu=${spec##*:}
  name=$(basename "$tarball" .tar.gz)
  tar -xzf "$tarball" -C "$work"
  bin=$work/$name/kiln
  # A static binary asks for no program interpreter and no shared library.
  if readelf -lW "$bin" | grep -q "program interpreter" || readelf -dW "$bin" | grep -q NEEDED; then
    bad "$name: not statically linked: $(readelf -dW "$bin" | grep NEEDED | tr -s ' ' | head -3)"
  else
    ok "$name: statically linked"
  fi
  if [ "$("$qemu" "$bin" --version)" = "$("$native" --version)" ]; then ok "$name: --version"; else bad "$name: --version differs"; fi
  if "$qemu" "$bin" boards --json | python3 -c 'import json,sys; b=json.load(sys.stdin); assert any(x["name"]=="'"${name#kiln-}"'" for x in b)'; then
    ok "$name: boards --json"
  else
    bad "$name: boards --json"
  fi
  for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    "$native" $c | strip_clock > "$work/native.json" || { bad "$name: native $c"; continue; }
    # shellcheck disable=SC2086
    "$qemu" "$bin" $c | strip_clock > "$work/cross.json" || { bad "$name: $c under $qemu"; continue; }
    if cmp -s "$work/native.json" "$work/cross.json"; then
      ok "$name: $c"
    else
      bad "$name: $c: JSON differs from the native run"
      diff "$work/native.json" "$work/cross.json" | head -20
    fi
  done
  # The board build has no simulator and says so.
  refusal=$("$qemu" "$bin" gemm --backend sim 2>&1)
  if [ $? -eq 2 ] && grep -q "built without the simulator" <<< "$refusal"; then
    ok "$name: sim backend refused clearly"
  else
    bad "$name: sim backend not refused clearly"
  fi
done

echo "cross: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
