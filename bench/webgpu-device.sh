#!/usr/bin/env bash
# Prefill and decode tokens/s of the phi-3-mini-shaped Q4_0 model on a GPU machine (the session's
# `device` tool): our WebGPU backend (Dawn on Vulkan) vs our WASM backend vs llama.cpp (CUDA llama-bench).
# One prepared script in two steps, because that machine is bare and offline (no npm, no registry,
# perhaps no node and no Vulkan loader):
#
#   here:    bash bench/webgpu-device.sh prepare
#            → bench/models/webgpu-kit/ (git-ignored, ~45 MB): the CLI bundled by esbuild into one file
#              with its .wasm kernels, Dawn's dawn.node (xz), a node binary (xz), the Vulkan loader deb,
#              and llama.cpp's source (from node-llama-cpp's git bundle) to build llama-bench there.
#   device:  run(command="bash bench/webgpu-device.sh run all", carry=["bench/models/webgpu-kit"], timeout_s=590)
#            `run all` builds llama-bench (CUDA, sm_90, ~5 min on all cores) while it makes the model
#            (~2-3 min on one core), then measures webgpu, wasm and llama.cpp (~3 min). `run ours` skips
#            llama.cpp; `run llama` skips ours. Each result is printed as soon as it is measured and saved
#            to $OUT/*.json, so a run cut short still reports what it finished.
#
# Local dry run of the `run` path (llvmpipe, a tiny model):
#   MODEL=../shared/reference/tiny-gqa/model.gguf PHI3_WEBGPU_BACKEND=opengles bash bench/webgpu-device.sh run ours
set -uo pipefail
cd "$(dirname "$0")/.."
KIT=bench/models/webgpu-kit
MODE=${1:-}
PROMPT=${PROMPT:-128}
GEN=${GEN:-64}
REPEATS=${REPEATS:-3}

prepare() {
  set -e
  rm -rf "$KIT" && mkdir -p "$KIT/wasm" "$KIT/node_modules/webgpu/dist/linux-x64" "$KIT/debs"
  # The whole CLI in one ESM file; webgpu (native), pdfjs and node-llama-cpp stay outside.
  node_modules/.bin/esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
    --outfile="$KIT/phi3.mjs" --external:webgpu --external:pdfjs-dist --external:node-llama-cpp --log-level=error \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  cp src/backend/wasm/kernels-*.wasm "$KIT/"
  cp src/quant/wasm/kquants.wasm "$KIT/wasm/"
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$KIT/node_modules/webgpu/"
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$KIT/dawn.node.xz"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >"$KIT/node.xz"
  # llama.cpp at the commit node-llama-cpp ships, without models, docs, tests and examples.
  local src
  src=$(mktemp -d)
  git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$src/llama.cpp" 2>/dev/null
  tar -C "$src/llama.cpp" -cJf "$KIT/llama-src.tar.xz" --exclude=./.git --exclude=./models --exclude=./docs \
    --exclude=./media --exclude=./gguf-py --exclude=./tools/ui --exclude=./tests --exclude=./examples .
  rm -rf "$src"
  # The Vulkan loader (Dawn dlopens libvulkan.so.1; the NVIDIA driver there provides only the ICD).
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd "$KIT/debs" && apt-get $o download libvulkan1 >/dev/null)
  du -sh "$KIT"
}

# Prints a JSON result as one table row: name, prefill tok/s, decode tok/s.
row() { node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(process.argv[1].padEnd(28),String(Math.round(d.prefill_tok_s)).padStart(9),String(Math.round(d.decode_tok_s*10)/10).padStart(9))' "$1"; }

setup() {
  OUT=${OUT:-/tmp/webgpu-bench-out}
  mkdir -p "$OUT" /tmp/kit-bin
  [ -d "$KIT" ] || { echo "no $KIT: run 'bash bench/webgpu-device.sh prepare' here first and carry it" >&2; exit 1; }
  if ! command -v node >/dev/null; then
    xz -dc "$KIT/node.xz" >/tmp/kit-bin/node && chmod +x /tmp/kit-bin/node
    export PATH=/tmp/kit-bin:$PATH
  fi
  [ -f "$KIT/node_modules/webgpu/dist/linux-x64/dawn.node" ] || xz -dc "$KIT/dawn.node.xz" >"$KIT/node_modules/webgpu/dist/linux-x64/dawn.node"
  if ! ldconfig -p | grep -q libvulkan.so.1; then
    for f in "$KIT"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
    ldconfig
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$icd}
  export PHI3_WEBGPU_BACKEND=${PHI3_WEBGPU_BACKEND:-vulkan}
  MODEL=${MODEL:-/tmp/phi-3-mini-q4_0.gguf}
  node --version
  nvidia-smi -L 2>/dev/null || true
  echo "model $MODEL, $PROMPT prompt tokens, $GEN generated, median of $REPEATS after a warm-up"
}

make_model() {
  [ -f "$MODEL" ] && return
  local t0=$SECONDS
  # one core, ~2-3 min: random weights for 3.8 B parameters, quantized to Q4_0
  node "$KIT/phi3.mjs" init "$MODEL" --preset phi-3-mini-4k --random --type q4_0 --tokenizer models/phi3-tiny.gguf >/dev/null || exit 1
  echo "made $MODEL in $((SECONDS - t0)) s"
}

bench_ours() {
  local args=(-m "$MODEL" --prompt-tokens "$PROMPT" --gen-tokens "$GEN" --repeats "$REPEATS" --json)
  # WebGPU: the weights go to the GPU during the warm-up run, which is not counted.
  timeout 240 node "$KIT/phi3.mjs" bench "${args[@]}" --backend webgpu >"$OUT/webgpu.json" 2>"$OUT/webgpu.err" &&
    row "webgpu (Dawn/$PHI3_WEBGPU_BACKEND)" <"$OUT/webgpu.json" || { echo "webgpu failed:"; grep -v '^ *at \|^$' "$OUT/webgpu.err" | tail -5; }
  local threads
  threads=$(nproc)
  timeout 180 node "$KIT/phi3.mjs" bench "${args[@]}" --backend wasm --threads "$threads" >"$OUT/wasm.json" 2>"$OUT/wasm.err" &&
    row "wasm ($threads threads)" <"$OUT/wasm.json" || { echo "wasm failed:"; tail -5 "$OUT/wasm.err"; }
}

LLAMA=/tmp/llama.cpp
build_llama() {
  local t0=$SECONDS
  [ -x $LLAMA/build/bin/llama-bench ] && return
  mkdir -p $LLAMA && tar -C $LLAMA -xJf "$KIT/llama-src.tar.xz"
  cmake -S $LLAMA -B $LLAMA/build -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_BUILD_TYPE=Release >"$OUT/llama-cmake.log" 2>&1 ||
    { echo "llama.cpp cmake failed"; tail -5 "$OUT/llama-cmake.log"; return 1; }
  timeout 420 cmake --build $LLAMA/build -j"$(nproc)" --target llama-bench >"$OUT/llama-build.log" 2>&1 ||
    { echo "llama.cpp build failed or ran out of time"; tail -5 "$OUT/llama-build.log"; return 1; }
  echo "built llama-bench (CUDA, sm_90) in $((SECONDS - t0)) s"
}

bench_llama() {
  [ -x $LLAMA/build/bin/llama-bench ] || return
  # llama-bench's own JSON: avg_ts per test (pp = prefill, tg = decode)
  $LLAMA/build/bin/llama-bench -m "$MODEL" -p "$PROMPT" -n "$GEN" -r "$REPEATS" -ngl 99 -o json >"$OUT/llama-cuda.json" 2>"$OUT/llama-cuda.err" &&
    node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));const ts=(k)=>r.find((x)=>x[k]>0).avg_ts;console.log("llama.cpp (CUDA, -ngl 99)".padEnd(28),String(Math.round(ts("n_prompt"))).padStart(9),String(Math.round(ts("n_gen")*10)/10).padStart(9))' <"$OUT/llama-cuda.json" ||
    { echo "llama-bench failed"; tail -5 "$OUT/llama-cuda.err"; }
}

header() { printf '%-28s %9s %9s\n' backend 'prefill/s' 'decode/s'; }

case "$MODE" in
  prepare) prepare ;;
  run)
    setup
    case "${2:-all}" in
      ours) make_model && header && bench_ours ;;
      llama) build_llama; make_model && header && bench_llama ;;
      all)
        # the CUDA build (all cores) overlaps the model's making (one core); benches run after both
        build_llama >"$OUT/build.txt" 2>&1 &
        make_model
        wait
        cat "$OUT/build.txt"
        header; bench_ours; bench_llama
        ;;
      *) echo "usage: $0 run [ours|llama|all]" >&2; exit 2 ;;
    esac
    ;;
  *) echo "usage: $0 prepare | run [ours|llama|all]" >&2; exit 2 ;;
esac
