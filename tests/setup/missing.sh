#!/usr/bin/env bash
# What `make setup` must install: prints the Debian packages that are
# missing, one per line, and exits 0 (nothing printed: all there).
#
#   missing.sh native|cross [ROOT]
#
# Every check looks at the exact file the build or the tests use, under ROOT
# (default /), so that tests/setup_check.rs can run it against a staged tree:
#   - libclang the way bindgen's clang-sys finds it at run time: a file named
#     libclang.so, libclang-*.so, libclang.so.* or libclang-*.so.* (never
#     libclang-cpp: clang-sys skips it, and that is all the Rust image has)
#     in $LIBCLANG_PATH or clang-sys's Linux directories, plus clang's own
#     stddef.h, which bindgen needs to parse XRT's headers. Both come with
#     libclang-dev.
#   - verilator >= 5.006 (the version the RTL is written for), by running it;
#   - yosys, g++, tclsh, python3 (with venv's ensurepip and pip wheel), the
#     cross linkers and qemu-user, as the executables the Makefile calls;
#   - zlib.h, which Verilator's FST tracing includes.
set -uo pipefail

what=${1:-native}
root=${2:-}
root=${root%/}

# The first executable NAME on PATH, under ROOT; empty when there is none.
find_exe() {
  local dir
  local IFS=:
  for dir in ${PATH:-/usr/local/bin:/usr/bin:/bin}; do
    if [ -f "$root$dir/$1" ] && [ -x "$root$dir/$1" ]; then
      echo "$root$dir/$1"
      return 0
    fi
  done
  return 1
}

have_exe() { find_exe "$1" >/dev/null; }

# libclang as clang-sys 1.x searches for it (build/common.rs, build/dynamic.rs).
have_libclang() {
  local dirs=() d f name
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    dirs=("$root$LIBCLANG_PATH")
  else
    shopt -s nullglob
    dirs=("$root"/usr/local/llvm*/lib* "$root"/usr/local/lib*/*/* "$root"/usr/local/lib*/*
      "$root"/usr/local/lib* "$root"/usr/lib*/*/* "$root"/usr/lib*/* "$root"/usr/lib*)
    shopt -u nullglob
  fi
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for f in "$d"/libclang.so "$d"/libclang-*.so "$d"/libclang.so.* "$d"/libclang-*.so.*; do
      [ -e "$f" ] || continue
      name=${f##*/}
      case $name in *-cpp.*) continue ;; esac
      return 0
    done
  done
  return 1
}

# clang's resource headers (stddef.h and friends), which bindgen's libclang
# needs for any C header that includes the standard library.
have_clang_headers() {
  local f
  for f in "$root"/usr/lib/llvm-*/lib/clang/*/include/stddef.h; do
    [ -f "$f" ] && return 0
  done
  return 1
}

# Verilator's version as "MAJOR.MINOR" from `verilator --version`
# ("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)").
verilator_ok() {
  local exe version major minor
  exe=$(find_exe verilator) || return 1
  version=$("$exe" --version 2>/dev/null | sed -n 's/^Verilator \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -1)
  [ -n "$version" ] || return 1
  read -r major minor <<<"$version"
  # 10#: 006 is decimal six, not octal.
  [ "$major" -gt 5 ] || { [ "$major" -eq 5 ] && [ $((10#$minor)) -ge 6 ]; }
}

missing=()
need() { missing+=("$1"); }

case $what in
  native)
    verilator_ok || need verilator
    have_exe yosys || need yosys
    [ -f "$root/usr/include/zlib.h" ] || need zlib1g-dev
    have_exe g++ || need g++
    have_libclang && have_clang_headers || need libclang-dev
    have_exe tclsh || need tcl
    have_exe python3 || need python3
    # The test models are written by the onnx package in a venv, which
    # needs ensurepip and Debian's bundled pip wheel (both python3-venv).
    { compgen -G "$root/usr/lib/python3*/ensurepip/__init__.py" >/dev/null &&
      compgen -G "$root/usr/share/python-wheels/pip-*.whl" >/dev/null; } || need python3-venv
    ;;
  cross)
    have_exe arm-linux-gnueabihf-gcc || need gcc-arm-linux-gnueabihf
    have_exe aarch64-linux-gnu-gcc || need gcc-aarch64-linux-gnu
    { have_exe qemu-arm && have_exe qemu-aarch64; } || need qemu-user
    ;;
  *)
    echo "missing.sh: say native or cross, not '$what'" >&2
    exit 2
    ;;
esac

for p in "${missing[@]}"; do echo "$p"; done
exit 0
