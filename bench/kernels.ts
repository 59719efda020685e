// Per-kernel speed of the WASM backend's matmul, one weight type at a time, on phi-3-mini's shapes:
// weight GB/s and integer GOP/s (2·rows·k·tokens per second) for decode (1 token) and prefill (128
// tokens), and prefill on a matrix small enough to stay in L2 (its compute ceiling, with memory out of
// the way). Each figure is the fastest of repeated calls, timed in CPU time of this
// process (process.cpuUsage) with one thread, so that a busy machine disturbs it less; wall time with more.
// Weights are random bytes (speed does not depend on values; scales are kept finite and normal).
// Also the int8 dot-product ceiling of one core; then decode attention (one query token, phi-3-mini's 32 heads × 96) over 144 and 1024 cached positions,
// and SwiGLU over 128 tokens.
//   node --import tsx bench/kernels.ts [--threads 1] [--types q4_0,q4_k,q5_k,q6_k,q8_0] [--simd relaxed|simd128]
import { cpuUsage } from 'node:process';
import { createWasmBackend, type SimdFlavor } from '../src/backend/wasm/index.js';
import { GGMLType, typeInfo } from '../src/quant/types.js';
import type { Tensor } from '../src/model/tensor.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const threads = Number(arg('--threads', '1'));
const simd = arg('--simd', 'relaxed') as SimdFlavor;
const types = arg('--types', 'q4_0,q4_k,q5_k,q6_k,q8_0').split(',').map((s) => GGMLType[s.toUpperCase() as keyof typeof GGMLType]);
const be = createWasmBackend({ threads, simd });

/** Random block bytes with every 16-bit word's exponent bits tamed, so f16 scales are small normals. */
function weights(type: GGMLType, k: number, rows: number): Tensor {
  const info = typeInfo(type)!;
  const bytes = (k / info.blockSize) * info.typeSize * rows;
  const data = be.allocate!(bytes);
  let s = 0x9e3779b9;
  for (let i = 0; i < bytes; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = i & 1 ? (s >>> 24) & 0x37 | 0x10 : s >>> 24; // high byte of any f16: exponent 4..13
  }
  return { name: `${GGMLType[type]} ${rows}×${k}`, type, dims: [k, rows], data };
}

/** Fastest of repeated calls (ms): the least disturbed by other processes on a shared machine. */
function time(f: () => void, minMs: number): number {
  f(); // warm up
  let best = Infinity;
  const w0 = performance.now();
  do {
    const c0 = cpuUsage();
    const t0 = performance.now();
    f();
    const c = cpuUsage(c0);
    best = Math.min(best, threads === 1 ? (c.user + c.system) / 1000 : performance.now() - t0);
  } while (performance.now() - w0 < minMs);
  return best;
}

// The int8 dot-product ceiling of one core under V8: 8 independent chains of pmaddubsw + i16 add (the
// inner step of every kernel here), 16 multiply-adds each. Built from this C with clang-19 --target=wasm32
// -O2 -nostdlib -msimd128 -mrelaxed-simd -Wl,--no-entry -Wl,--export=peak:
//   #define R(a) a = wasm_i16x8_add(wasm_i16x8_relaxed_dot_i8x16_i7x16(a, y), a)
//   int peak(int n, int seed) { y = splat8(seed & 63); a0..a7 = splat16(seed + i);
//     for (int i = 0; i < n; i++) { R(a0); ...; R(a7); } return lane 0 of Σ a; }
const PEAK_WASM = 'AGFzbQEAAAABBwFgAn9/AX8DAgEABQMBAAIGCAF/AUGAiAQLBxECBm1lbW9yeQIABHBlYWsAAAqDAgGAAgEJeyABQQdq/RAhAiABQQZq/RAhAyABQQVq/RAhBCABQQRq/RAhBSABQQNq/RAhBiABQQJq/RAhByABQQFq/RAhCCAB/RAhCQJAIABBAUgNACABQT9x/Q8hCgNAIAIgCv2SAiAC/Y4BIQIgAyAK/ZICIAP9jgEhAyAEIAr9kgIgBP2OASEEIAUgCv2SAiAF/Y4BIQUgBiAK/ZICIAb9jgEhBiAHIAr9kgIgB/2OASEHIAggCv2SAiAI/Y4BIQggCSAK/ZICIAn9jgEhCSAAQX9qIgANAAsLIAcgCP2OASAG/Y4BIAX9jgEgBP2OASAD/Y4BIAL9jgEgCf2OAf0YAAs=';
if (be.simd === 'relaxed') {
  const peak = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(PEAK_WASM, 'base64'))).exports.peak as (n: number, s: number) => number;
  const n = 1 << 22;
  const ms = time(() => peak(n, 3), 1000);
  console.log(`int8 dot peak (1 core, relaxed SIMD): ${((n * 8 * 16 * 2) / ms / 1e6).toFixed(1)} GOP/s\n`);
}

console.log(`wasm-${be.simd} × ${be.threads} thread(s); fastest call, ${threads === 1 ? 'CPU' : 'wall'} time`);
console.log('| weights | shape (rows×k) | tokens | ms/call | weight GB/s | GOP/s |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const type of types) {
  // qkv (9216×3072) and ffn_down (3072×8192) for decode; qkv for prefill, and 128×3072 (L2-resident) for
  // the prefill kernel's compute ceiling (activation quantization included)
  for (const [rows, k, ntok] of [
    [9216, 3072, 1],
    [3072, 8192, 1],
    [9216, 3072, 128],
    [128, 3072, 128],
  ]) {
    const w = weights(type, k, rows);
    const x = new Float32Array(k * ntok).map((_, i) => Math.sin(i * 0.37));
    const y = new Float32Array(rows * ntok);
    const ms = time(() => be.matmul(y, x, w, ntok), ntok > 1 ? 3000 : 1500);
    const gb = w.data.length / ms / 1e6;
    const gop = (2 * rows * k * ntok) / ms / 1e6;
    console.log(`| ${GGMLType[type]} | ${rows}×${k} | ${ntok} | ${ms.toFixed(3)} | ${gb.toFixed(2)} | ${gop.toFixed(1)} |`);
    be.release(w.data);
  }
}
console.log('\n| op | positions | ms/call |\n| --- | --- | --- |');
for (const positions of [144, 1024]) {
  const heads = 32;
  const hd = 96;
  const kv = { k: be.allocate!(positions * heads * hd * 4), v: be.allocate!(positions * heads * hd * 4) };
  // the cache lives in WASM memory, as the model's does (filled in place: no copy per call)
  const k = new Float32Array(kv.k.buffer, kv.k.byteOffset, positions * heads * hd);
  const v = new Float32Array(kv.v.buffer, kv.v.byteOffset, positions * heads * hd);
  for (let i = 0; i < k.length; i++) {
    k[i] = Math.sin(i * 0.01);
    v[i] = Math.cos(i * 0.01);
  }
  const q = new Float32Array(heads * hd).map((_, i) => Math.sin(i * 0.3));
  const out = new Float32Array(heads * hd);
  const shape = { nTokens: 1, startPos: positions - 1, numHeads: heads, numKvHeads: heads, headDim: hd, scale: 1 / Math.sqrt(hd), window: 0 };
  const ms = time(() => be.attention(out, q, heads * hd, { k, v }, shape), 1000);
  console.log(`| attention (decode) | ${positions} | ${ms.toFixed(3)} |`);
}
{
  // SwiGLU over a prefill's 128 tokens × phi-3-mini's 8192
  const gu = be.allocate!(128 * 2 * 8192 * 4);
  const g = new Float32Array(gu.buffer, gu.byteOffset, 128 * 2 * 8192);
  for (let i = 0; i < g.length; i++) g[i] = Math.sin(i * 0.001) * 4;
  const o = be.allocate!(128 * 8192 * 4);
  const out = new Float32Array(o.buffer, o.byteOffset, 128 * 8192);
  console.log(`| swiglu (prefill) | 128 × 8192 | ${time(() => be.swiglu(out, g, 128, 8192), 1000).toFixed(3)} |`);
}
be.dispose();
