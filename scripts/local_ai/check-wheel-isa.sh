#!/usr/bin/env bash
# Checks that a built llama-cpp-python wheel holds no instructions beyond its baseline:
#   scripts/local_ai/check-wheel-isa.sh WHEEL [avx2|plain|generic]   (default: $LOCAL_AI_CPU)
# avx2: no AVX-512 (zmm registers, k masks) and no AMX (tmm tiles); plain: not even AVX (ymm).
# A native build on a CPU with AVX-512/AMX would pass the engine smoke there and crash with
# SIGILL elsewhere: this catches it on the build machine. Needs objdump (binutils, with gcc).
set -euo pipefail
wheel="$1"
level="${2:-${LOCAL_AI_CPU:-avx2}}"
case "$level" in
  avx2) pattern='%zmm|%tmm|\{%k[1-7]\}|tilezero|tileloadd|ldtilecfg' ;;
  plain) pattern='%ymm|%zmm|%tmm|\{%k[1-7]\}|ldtilecfg' ;;
  *) echo "    ISA check skipped for baseline '$level'"; exit 0 ;;
esac
if ! command -v objdump >/dev/null; then
  echo "    ISA check skipped: no objdump (install binutils)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in z.namelist() if ".so" in n.rsplit("/", 1)[-1]]' "$wheel" "$tmp"
bad=0
while IFS= read -r so; do
  n=$(objdump -d --no-show-raw-insn "$so" | grep -cE "$pattern" || true)
  if [ "$n" != 0 ]; then
    echo "!! $(basename "$so"): $n instructions beyond the '$level' baseline, e.g.:" >&2
    objdump -d --no-show-raw-insn "$so" | grep -E "$pattern" | head -n 3 >&2
    bad=1
  fi
done < <(find "$tmp" -name '*.so*' -type f)
if [ "$bad" = 1 ]; then
  echo "!! the llama.cpp build is not portable (CMAKE_ARGS: ${CMAKE_ARGS:-?}); refusing to install it" >&2
  exit 1
fi
echo "    ISA check: no instructions beyond the '$level' baseline in $(basename "$wheel")"
