// The WASM backend against the reference backend, op by op: every matmul weight type (F32, F16, BF16,
// Q4_0, Q8_0, Q4_K, Q5_K, Q6_K) at 1 and 2 threads, on odd shapes (row counts not divisible by the
// thread count, K not a multiple of 256 where the type allows, token counts not a multiple of the
// kernels' 4-token tile), with a normalised error bound per type as llama.cpp's test-backend-ops uses
// (NMSE = Σ(y − y_ref)² / Σ y_ref²); RMSNorm, RoPE, SwiGLU and attention (GQA, window, continuation)
// to float32 rounding. Then whole models: the reference models of ../shared/reference give the same
// greedy tokens and logits within 1e-3 on the WASM backend as on the reference backend.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { refBackend } from '../src/backend/ref/index.js';
import { WasmBackend } from '../src/backend/wasm/index.js';
import { GGMLType } from '../src/quant/types.js';
import { loadModel } from '../src/index.js';
import type { Tensor } from '../src/model/tensor.js';
import { attentionCase, makeTensor, maxAbs, nmse, randn } from './parity.js';
import { REFERENCE, readJson } from './helpers.js';

const backends = [new WasmBackend({ threads: 1 }), new WasmBackend({ threads: 2 })];
const simd128 = new WasmBackend({ threads: 2, simd: 'simd128' });
after(() => {
  for (const b of [...backends, simd128]) b.dispose();
});

// Bounds: float weights differ only by f32 accumulation order; quantized weights also by the 8-bit
// activation quantization (test-backend-ops allows 5e-4 for every mul_mat).
const TYPES: { type: GGMLType; name: string; ks: number[]; bound: number }[] = [
  { type: GGMLType.F32, name: 'F32', ks: [100, 256], bound: 1e-10 },
  { type: GGMLType.F16, name: 'F16', ks: [100, 256], bound: 1e-10 },
  { type: GGMLType.BF16, name: 'BF16', ks: [100, 256], bound: 1e-10 },
  { type: GGMLType.Q4_0, name: 'Q4_0', ks: [96, 512], bound: 5e-4 },
  { type: GGMLType.Q8_0, name: 'Q8_0', ks: [96, 512], bound: 5e-4 },
  { type: GGMLType.Q4_K, name: 'Q4_K', ks: [256, 768], bound: 5e-4 },
  { type: GGMLType.Q5_K, name: 'Q5_K', ks: [256, 768], bound: 5e-4 },
  { type: GGMLType.Q6_K, name: 'Q6_K', ks: [256, 768], bound: 5e-4 },
];

describe('wasm matmul vs reference, every weight type', () => {
  for (const { type, name, ks, bound } of TYPES) {
    for (const be of [...backends, simd128]) {
      it(`${name} on ${be.name}: K ${ks.join(', ')}, 37 and 67 rows, 1, 3, 4 and 9 tokens, NMSE ≤ ${bound}`, () => {
        for (const k of ks) {
          for (const [rows, nTok] of [[37, 1], [67, 3], [37, 4], [67, 9]]) {
            const w = makeTensor(type, k, rows, k * 31 + rows);
            const x = randn(k * nTok, rows * 7 + nTok);
            const ref = new Float32Array(rows * nTok);
            refBackend.matmul(ref, x, w, nTok);
            const y = new Float32Array(rows * nTok).fill(NaN);
            be.matmul(y, x, w, nTok);
            const e = nmse(y, ref);
            assert.ok(e <= bound, `K=${k} rows=${rows} tokens=${nTok}: NMSE ${e} > ${bound}`);
          }
        }
      });
    }
  }

  // Prefill (≥ 4 tokens) runs other kernels than decode: 4 tokens interleaved in vector lanes, K-quant
  // rows unpacked first. Both consume the same 8-bit activations with exact integer sums, so a batch must
  // give each token what a one-token call gives it, up to float32 summation order — a far tighter check
  // of the prefill kernels than the NMSE bound against the reference (a wrong zero point, scale or lane
  // would show at the 1e-2 level or worse).
  for (const { type, name, ks } of TYPES.filter((t) => t.bound === 5e-4)) {
    for (const be of [...backends, simd128]) {
      it(`${name} on ${be.name}: a batch of 1, 4, 6 or 11 tokens = one token at a time (to 2e-6 relative)`, () => {
        for (const k of ks) {
          const rows = 45;
          const w = makeTensor(type, k, rows, k + 3);
          for (const nTok of [1, 4, 6, 11]) {
            const x = randn(k * nTok, k + nTok);
            const y = new Float32Array(rows * nTok).fill(NaN);
            be.matmul(y, x, w, nTok);
            let scale = 0;
            let diff = 0;
            for (let t = 0; t < nTok; t++) {
              const y1 = new Float32Array(rows).fill(NaN);
              be.matmul(y1, x.subarray(t * k, (t + 1) * k), w, 1);
              for (let r = 0; r < rows; r++) {
                scale = Math.max(scale, Math.abs(y1[r]));
                diff = Math.max(diff, Math.abs(y1[r] - y[t * rows + r]));
              }
            }
            assert.ok(diff <= 2e-6 * scale, `K=${k} tokens=${nTok}: max difference ${diff} (largest value ${scale})`);
          }
        }
      });
    }
  }

  it('F16 weights of every magnitude, subnormals, zeros and both signs included, decode exactly', () => {
    // the kernels' half → float conversion (kernels/common.h) against the reference's, through F16
    // matmuls with one-hot activations: y[r] is exactly weight r
    const k = 32;
    const rows = 2048;
    const h = new Uint16Array(k * rows);
    for (let r = 0; r < rows; r++) {
      // 32 patterns per exponent: the low and high ends of the mantissa, both signs
      const e = r % 31;
      const m = (r >> 5) & 0x3ff;
      for (let i = 0; i < k; i++) h[r * k + i] = ((i & 1) << 15) | (e << 10) | ((m * 37 + i * 101) & 0x3ff);
    }
    const w: Tensor = { name: 'f16', type: GGMLType.F16, dims: [k, rows], data: new Uint8Array(h.buffer) };
    for (const be of [...backends, simd128]) {
      for (const col of [0, 1, 7, 30]) {
        const x = new Float32Array(k);
        x[col] = 1;
        const ref = new Float32Array(rows);
        const y = new Float32Array(rows);
        refBackend.matmul(ref, x, w, 1);
        be.matmul(y, x, w, 1);
        assert.deepEqual(y, ref, `${be.name}, column ${col}`);
      }
    }
  });

  it('weights placed by allocate() are used in place and give the same result', () => {
    const be = backends[1];
    const w = makeTensor(GGMLType.Q4_0, 256, 40, 5);
    const inWasm = be.allocate!(w.data.length);
    inWasm.set(w.data);
    const x = randn(256 * 2, 6);
    const a = new Float32Array(80);
    const b = new Float32Array(80);
    be.matmul(a, x, w, 2);
    be.matmul(b, x, { ...w, data: inWasm }, 2);
    assert.deepEqual(a, b);
    be.release(inWasm);
  });

  it('a weight type without a kernel falls back to the reference result', () => {
    const k = 64;
    const w: Tensor = { name: 'q5_0', type: GGMLType.Q5_0, dims: [k, 3], data: new Uint8Array((k / 32) * 22 * 3) };
    const y = new Float32Array(3).fill(NaN);
    const ref = new Float32Array(3);
    try {
      refBackend.matmul(ref, randn(k, 1), w, 1);
    } catch (e) {
      // the reference has no Q5_0 codec either: the WASM backend must fail the same clear way
      assert.throws(() => backends[0].matmul(y, randn(k, 1), w, 1), { message: (e as Error).message });
      return;
    }
    backends[0].matmul(y, randn(k, 1), w, 1);
    assert.deepEqual(y, ref);
  });
});

describe('wasm element-wise kernels and attention vs reference', () => {
  for (const be of backends) {
    it(`rmsnorm on ${be.name} (rows of 100 and 3072, 1 and 5 tokens)`, () => {
      for (const [dim, n] of [[100, 1], [3072, 5], [3072, 16]]) {
        const x = randn(dim * n, dim + n, 3);
        const w = randn(dim, 2);
        const ref = new Float32Array(dim * n);
        const y = new Float32Array(dim * n);
        refBackend.rmsnorm(ref, x, w, 1e-5, n, dim);
        be.rmsnorm(y, x, w, 1e-5, n, dim);
        assert.ok(maxAbs(y, ref) < 1e-5, `dim ${dim}: ${maxAbs(y, ref)}`);
      }
    });

    it(`rope on ${be.name} (q and k of a fused row, odd half)`, () => {
      // the last case is large enough to run on every thread
      for (const [n, nHeads, headDim] of [[3, 4, 96], [12, 2, 10], [40, 32, 96]]) {
        const half = headDim / 2;
        const rowStride = nHeads * headDim + 7;
        const angles = { cos: randn(n * half, 3), sin: randn(n * half, 4), half };
        const x = randn(n * rowStride, 5);
        const ref = x.slice();
        refBackend.rope(ref, n, rowStride, 7, nHeads, headDim, angles);
        be.rope(x, n, rowStride, 7, nHeads, headDim, angles);
        assert.ok(maxAbs(x, ref) < 1e-5, `headDim ${headDim}: ${maxAbs(x, ref)}`);
      }
    });

    it(`swiglu on ${be.name}`, () => {
      // odd widths: 4-wide loops with scalar tails, work slices that start and end mid-row
      for (const [n, ff] of [[1, 100], [7, 8192], [3, 1001], [5, 9999]]) {
        const gu = randn(n * 2 * ff, 9, 4);
        const ref = new Float32Array(n * ff);
        const y = new Float32Array(n * ff);
        refBackend.swiglu(ref, gu, n, ff);
        be.swiglu(y, gu, n, ff);
        // float32 rounding: a few ulps of each value (|y| reaches ~150 here, where an ulp is 1.5e-5)
        let rel = 0;
        for (let i = 0; i < ref.length; i++) rel = Math.max(rel, Math.abs(y[i] - ref[i]) / Math.max(1, Math.abs(ref[i])));
        assert.ok(nmse(y, ref) < 1e-12 && rel < 1e-6, `ff ${ff}: ${maxAbs(y, ref)}, relative ${rel}`);
      }
    });

    it(`attention on ${be.name} (GQA, continuation, sliding window, odd head size)`, () => {
      const cases = [
        { nTokens: 5, startPos: 0, numHeads: 4, numKvHeads: 4, headDim: 16, window: 0 },
        { nTokens: 1, startPos: 300, numHeads: 32, numKvHeads: 32, headDim: 96, window: 0 },
        // large enough (> 1M multiply-adds) to run on every thread
        { nTokens: 9, startPos: 120, numHeads: 32, numKvHeads: 32, headDim: 96, window: 0 },
        { nTokens: 6, startPos: 9, numHeads: 8, numKvHeads: 2, headDim: 10, window: 0 },
        { nTokens: 4, startPos: 20, numHeads: 6, numKvHeads: 3, headDim: 8, window: 7 },
      ];
      for (const c of cases) {
        const { q, qStride, kv, shape, ref } = attentionCase(c);
        const y = new Float32Array(ref.length);
        be.attention(y, q, qStride, kv, shape);
        assert.ok(maxAbs(y, ref) < 1e-5, `${JSON.stringify(c)}: ${maxAbs(y, ref)}`);
      }
    });
  }
});

describe('a model spread over several WASM memories', () => {
  it('tiny-gqa over 12 MiB memories: several memories in use, same logits as the reference backend', async () => {
    const be = new WasmBackend({ threads: 2, memoryBytes: 12 * 2 ** 20 });
    try {
      const path = join(REFERENCE, 'tiny-gqa/model.gguf');
      const ours = await loadModel(path, { backend: be });
      const ref = await loadModel(path, { backend: refBackend });
      assert.ok(be.shards.length >= 2, `${be.shards.length} memories`);
      const ids = [15043, 29892, 590, 1024, 338];
      const a = ref.newSession();
      const b = ours.newSession();
      let la = ref.model.forward(ids, a.cache);
      let lb = ours.model.forward(ids, b.cache);
      for (let s = 0; s < 4; s++) {
        assert.ok(maxAbs(lb, la) <= 1e-3, `step ${s}: ${maxAbs(lb, la)}`);
        const t = la.indexOf(Math.max(...la));
        la = ref.model.forward([t], a.cache);
        lb = ours.model.forward([t], b.cache);
      }
      assert.throws(() => be.allocate!(13 * 2 ** 20), /out of WebAssembly memory/);
    } finally {
      be.dispose();
    }
  });
});

interface Expected {
  runs: { main: { prompts: { name: string; ids: number[]; greedy: number[] }[] } };
}

describe('reference models: WASM backend = reference backend', () => {
  for (const model of ['tiny-4k', 'tiny-gqa']) {
    it(`${model}: greedy tokens equal and logits within 1e-3 at 1 and 2 threads`, async () => {
      const dir = join(REFERENCE, model);
      const expected = readJson<Expected>(join(dir, 'expected.json'));
      const ref = await loadModel(join(dir, 'model.gguf'), { backend: refBackend });
      for (const be of backends) {
        const ours = await loadModel(join(dir, 'model.gguf'), { backend: be });
        for (const p of expected.runs.main.prompts.slice(0, 2)) {
          const steps = 8;
          const a = ref.newSession();
          const b = ours.newSession();
          let la = ref.model.forward(p.ids, a.cache);
          let lb = ours.model.forward(p.ids, b.cache);
          // the cache and the weights live in WASM memory: kernels read them in place
          assert.ok(be.arena.owns(b.cache.layers[0].k) && be.arena.owns(b.cache.layers[0].v), 'KV cache in WASM memory');
          const w = (ours.model as unknown as { weights: { layers: { qkv: { data: Uint8Array } }[] } }).weights;
          assert.ok(be.arena.owns(w.layers[0].qkv.data), 'weights in WASM memory');
          for (let s = 0; s < steps; s++) {
            const d = maxAbs(lb, la);
            assert.ok(d <= 1e-3, `${p.name} step ${s}: max |Δlogit| ${d}`);
            const ta = la.indexOf(Math.max(...la));
            const tb = lb.indexOf(Math.max(...lb));
            assert.equal(tb, ta, `${p.name} step ${s}: greedy token`);
            la = ref.model.forward([ta], a.cache);
            lb = ours.model.forward([tb], b.cache);
          }
        }
      }
    });
  }
});
