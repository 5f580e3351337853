#!/usr/bin/env bash
# Edit-to-verdict latency of a user's loop (make bench-loop): a project from
# `kiln new` in a temporary folder with a cache of its own, then
#   1. `kiln pe verify` on its PE, cold (the Verilator runtime and the PE),
#   2. the same after a one-line change to the PE's RTL,
#   3. the same with nothing changed,
#   4. `kiln gemm` on the project's design, cold for the design,
#   5. the same after a one-line change to the design's PE,
#   6. the same with nothing changed.
# Each figure is the wall time of the whole command (process start to
# verdict), so "nothing changed" bounds the time before simulation starts.
# Usage: edit_loop.sh KILN [ROUNDS]
set -euo pipefail
kiln=$(realpath "$1")
rounds=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KILN_CACHE="$work/cache"
cd "$work"
"$kiln" new loop >/dev/null
cd loop
rtl=pe/pot3/rtl/pot3.sv
gemm=(gemm --design gemm-pot3-8x8 --m 64 --n 64 --k 256)

# Wall seconds of one command, which must succeed.
timed() {
  local start end
  start=$(date +%s.%N)
  "$kiln" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

# A one-line edit: the comment on one assignment changes every round, so
# the RTL's bytes (and the cache key) differ while its function does not.
edit() {
  sed -i "s|^  assign prod_d .*|  assign prod_d  = wcode_i[2] ? 16'd0 - mag : mag;  // edit $1|" "$rtl"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

cold_pe=$(timed pe verify --pe pot3)
cold_design=$(timed "${gemm[@]}")
edit_pe=(); same_pe=(); edit_design=(); same_design=()
for r in $(seq 1 "$rounds"); do
  edit "pe-$r"
  edit_pe+=("$(timed pe verify --pe pot3)")
  same_pe+=("$(timed pe verify --pe pot3)")
  edit "design-$r"
  edit_design+=("$(timed "${gemm[@]}")")
  same_design+=("$(timed "${gemm[@]}")")
done
row() { printf '| %s | %.2f |\n' "$1" "$2"; }
echo "| step (median of $rounds rounds; cold: once) | wall s |"
echo "|---|---:|"
row "kiln pe verify --pe pot3, cold cache (Verilator runtime + PE)" "$cold_pe"
row "kiln ${gemm[*]}, design first used" "$cold_design"
row "one-line RTL change, kiln pe verify --pe pot3" "$(printf '%s\n' "${edit_pe[@]}" | median)"
row "nothing changed, kiln pe verify --pe pot3" "$(printf '%s\n' "${same_pe[@]}" | median)"
row "one-line change to the design's PE, kiln ${gemm[*]}" "$(printf '%s\n' "${edit_design[@]}" | median)"
row "nothing changed, kiln ${gemm[*]}" "$(printf '%s\n' "${same_design[@]}" | median)"
