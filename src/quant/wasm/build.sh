#!/usr/bin/env bash
# Builds kquants.wasm beside this script from kquants.c. Needs Debian's clang-19 and lld-19. The output
# is committed, so users and CI need no compiler. -ffp-contract=off: no fused multiply-adds, as ggml's
# portable build (wasm32 scalar code has none anyway).
set -euo pipefail
cd "$(dirname "$0")"
"${CLANG:-clang-19}" --target=wasm32 -O3 -nostdlib -ffreestanding -msimd128 -ffp-contract=off -fno-math-errno -fuse-ld=lld \
  -Wall -Wextra -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all -Wl,-z,stack-size=65536 -o kquants.wasm kquants.c
ls -l kquants.wasm
