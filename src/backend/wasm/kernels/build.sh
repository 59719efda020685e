#!/usr/bin/env bash
# Builds the WASM kernels: kernels-simd128.wasm and kernels-relaxed.wasm beside this folder.
# Needs Debian's clang-19 and lld-19 (apt-get install -y clang-19 lld-19). The output is committed, so
# users need no compiler; CI rebuilds it and fails if the bytes differ (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
OUT=${OUT:-..}   # CI builds into a temporary folder and compares (see .ci/run)
SRC="quantize.c matmul_q.c matmul_f.c ops.c small.c job.c"
FLAGS=(--target=wasm32 -O3 -nostdlib -ffreestanding -msimd128 -matomics -mbulk-memory -mnontrapping-fptoint -fno-math-errno
  -fuse-ld=lld -Wall -Wextra -Wno-unused-parameter
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 -Wl,-z,stack-size=65536
  -Wl,--export-dynamic -Wl,--export=__heap_base -Wl,--export=__stack_pointer -Wl,--strip-all)
"$CLANG" "${FLAGS[@]}" -o "$OUT/kernels-simd128.wasm" $SRC
"$CLANG" "${FLAGS[@]}" -mrelaxed-simd -DRELAXED -o "$OUT/kernels-relaxed.wasm" $SRC
ls -l "$OUT"/kernels-*.wasm
