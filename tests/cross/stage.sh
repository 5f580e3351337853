#!/usr/bin/env bash
# Stages and packs a board's deployment tarball (called by `make deploy`):
#   stage.sh BOARD DESIGN CROSS_KILN RUNNER
# writes dist/kiln-BOARD.tar.gz holding kiln-BOARD/ with the cross-built
# kiln, the board file, every manifest in bitstreams/ for BOARD (checked
# first, with its bitstream when present) and the Vivado project for DESIGN
# on BOARD. The board binary does both jobs itself under RUNNER (qemu-arm or
# qemu-aarch64). The tarball is written whole or not at all.
set -euo pipefail
board=$1 design=$2 cross_kiln=$3 runner=$4
kiln() { "$runner" "$cross_kiln" "$@"; }
name=kiln-$board
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dir=$stage/$name
mkdir -p "$dir/boards" "$dir/bitstreams"
cp "$cross_kiln" "$dir/kiln"
cp "boards/$board.toml" "$dir/boards/"
manifests=()
for m in bitstreams/*.toml; do
  [ -e "$m" ] || continue
  grep -q "^board = \"$board\"" "$m" || continue
  kiln bitstream check "$m" >/dev/null
  cp "$m" "$dir/bitstreams/"
  file=$(sed -n 's/^file = "\(.*\)"/\1/p' "$m")
  if [ -f "bitstreams/$file" ]; then cp "bitstreams/$file" "$dir/bitstreams/"; fi
  # PYNQ's Overlay reads the block design's .hwh beside the .bit.
  if [ -f "bitstreams/${file%.*}.hwh" ]; then cp "bitstreams/${file%.*}.hwh" "$dir/bitstreams/"; fi
  manifests+=("$(basename "$m")")
done
kiln bitstream vivado --design "$design" --board "$board" --out "$dir/vivado/$design" >/dev/null
transport=$(sed -n 's/^transport = "\(.*\)"/\1/p' "boards/$board.toml")
{
  echo "# kiln for $board"
  echo
  echo "- \`kiln\`: statically linked for $(sed -n 's/^rust_target = "\(.*\)"/\1/p' "boards/$board.toml"); no simulator (golden, devmem and xrt backends)."
  echo "- \`boards/$board.toml\`: the board file (addresses, clock, DDR)."
  if [ ${#manifests[@]} -eq 0 ]; then
    echo "- \`bitstreams/\`: empty: no bitstream for $board was built into this tree yet."
    echo "  Build one from \`vivado/$design/\` (see its README.md), then write its manifest"
    echo "  with \`kiln bitstream manifest\` and copy both here."
  else
    echo "- \`bitstreams/\`: ${manifests[*]} (checked with \`kiln bitstream check\` before packing)."
  fi
  echo "- \`vivado/$design/\`: the Vivado project that builds $design for $board."
  echo
  echo "On the board, with the bitstream loaded:"
  echo
  if [ "$transport" = xrt ]; then
    echo "    ./kiln gemm --backend xrt --manifest bitstreams/<manifest>.toml   # a kiln built with --features xrt"
    echo "    sudo ./kiln gemm --backend devmem --manifest bitstreams/<manifest>.toml"
  else
    echo "    sudo ./kiln gemm --backend devmem --manifest bitstreams/<manifest>.toml"
  fi
  echo
  echo "docs/bitstreams.md in the kiln tree has the whole procedure."
} > "$dir/README.md"
mkdir -p dist
tar -czf "$stage/$name.tar.gz" -C "$stage" "$name"
mv "$stage/$name.tar.gz" "dist/$name.tar.gz"
if [ ${#manifests[@]} -eq 0 ]; then
  echo "deploy: note: no bitstream manifest for $board in bitstreams/; the tarball carries the Vivado project to build one" >&2
fi
echo "wrote dist/$name.tar.gz"
