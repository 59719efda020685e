// The WebGPU backend (WGSL kernels, src/backend/webgpu) against the reference backend, on Dawn for Node.
// Without a GPU, Dawn runs on Mesa's llvmpipe through OpenGL ES in compatibility mode (apt packages
// libegl1 libegl-mesa0 libgl1-mesa-dri, see .ci/run); every test here is skipped, with the reason,
// only when no Dawn device can be created at all.
//  - matmul, every weight type with a shader (F32, F16, Q4_0, Q8_0, Q4_K, Q6_K) and two converted at
//    upload (BF16, Q5_K), on odd shapes: K not a multiple of 32 for float types, row counts that do not
//    fill a workgroup, token counts around the 8-token tile, unaligned views; NMSE against the float64
//    reference (the shaders dequantize to f32 and keep f32 activations, so only rounding differs);
//  - RMSNorm, RoPE, SwiGLU, add, storeKV, copy and attention (GQA, window, continuation, long cache)
//    to float32 rounding;
//  - Phi-3-small's layernorm, addBias, gegelu and blocksparse attention (NaN in every key/value outside
//    the layout, so a dense-mask kernel fails) vs src/backend/ref/small.ts on odd shapes, and the
//    tiny-small model: same greedy tokens and logits within 1e-3 as the reference backend;
//  - the reference models: same greedy tokens and logits within 1e-3 as the reference backend, and the
//    greedy tokens of llama.cpp, through the generation loop (prefill, decode, KV cache growth on the GPU).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { refBackend } from '../src/backend/ref/index.js';
import * as ref from '../src/backend/ref/small.js';
import { WebGPUBackend, shaderSource } from '../src/backend/webgpu/index.js';
import { dawnDevice } from '../src/backend/webgpu/node.js';
import { MATMUL_TYPES } from '../src/backend/webgpu/wgsl.js';
import { loadModel } from '../src/index.js';
import { buildLayout, type BlockSparseParams } from '../src/model/blocksparse.js';
import { GGMLType } from '../src/quant/types.js';
import type { Tensor } from '../src/model/tensor.js';
import { attentionCase, makeTensor, maxAbs, nmse, randn, sparseAttentionCase } from './parity.js';
import { REFERENCE, REPO, TOKENIZER_DIR, readJson } from './helpers.js';

// Dawn starts in well under a second on llvmpipe; a missing driver fails at once.
let device: GPUDevice | undefined;
let skip: string | false = false;
try {
  device = await dawnDevice();
} catch (e) {
  skip = `no WebGPU device from Dawn (${(e as Error).message.split('\n')[0]})`;
  console.log(`# skipping the WebGPU tests: ${skip}`);
}
const be = device ? new WebGPUBackend(device) : undefined;
after(() => be?.dispose());

/** A copy of `a` placed `pad` floats into a larger buffer: a view whose GPU binding is unaligned. */
function offsetView(a: Float32Array, pad: number): Float32Array {
  const big = new Float32Array(a.length + pad + 5).fill(NaN);
  big.set(a, pad);
  return big.subarray(pad, pad + a.length);
}

// F32 accumulation against the float64 reference: NMSE about 1e-14 in practice.
const BOUND = 1e-10;
const TYPES: { type: GGMLType; name: string; ks: number[] }[] = [
  { type: GGMLType.F32, name: 'F32', ks: [33, 100, 4096] },
  { type: GGMLType.F16, name: 'F16', ks: [33, 100, 256] },
  { type: GGMLType.Q4_0, name: 'Q4_0', ks: [96, 512, 3072] },
  { type: GGMLType.Q8_0, name: 'Q8_0', ks: [96, 512] },
  { type: GGMLType.Q4_K, name: 'Q4_K', ks: [256, 768, 3072] },
  { type: GGMLType.Q6_K, name: 'Q6_K', ks: [256, 768] },
  // no shader: dequantized to F32 when uploaded
  { type: GGMLType.BF16, name: 'BF16', ks: [100] },
  { type: GGMLType.Q5_K, name: 'Q5_K', ks: [256] },
];

describe('webgpu matmul vs reference, every weight type', { skip }, () => {
  it('has a shader for F32, F16, Q4_0, Q8_0, Q4_K and Q6_K', () => {
    assert.deepEqual([...MATMUL_TYPES].sort(), ['F16', 'F32', 'Q4_0', 'Q4_K', 'Q6_K', 'Q8_0']);
  });

  for (const { type, name, ks } of TYPES) {
    it(`${name}: K ${ks.join(', ')}; 1, 3, 8, 9 and 17 tokens over 37 and 67 rows; NMSE ≤ ${BOUND}`, async () => {
      const cases: { k: number; rows: number; nTok: number; y: Float32Array; ref: Float32Array }[] = [];
      for (const k of ks) {
        for (const [rows, nTok] of [[37, 1], [67, 3], [37, 8], [67, 9], [5, 17]]) {
          const w = makeTensor(type, k, rows, k * 31 + rows);
          const x = randn(k * nTok, rows * 7 + nTok);
          const ref = new Float32Array(rows * nTok);
          refBackend.matmul(ref, x, w, nTok);
          const y = new Float32Array(rows * nTok).fill(NaN);
          be!.matmul(y, x, w, nTok);
          cases.push({ k, rows, nTok, y, ref });
        }
      }
      // all recorded first, then one submit: the ops of a batch must not disturb each other
      await be!.sync(cases.map((c) => c.y));
      for (const c of cases) {
        const e = nmse(c.y, c.ref);
        assert.ok(e <= BOUND, `K=${c.k} rows=${c.rows} tokens=${c.nTok}: NMSE ${e} > ${BOUND}`);
      }
    });
  }

  it('views at unaligned offsets of larger buffers (input and output)', async () => {
    const w = makeTensor(GGMLType.Q4_0, 128, 19, 3);
    const x = randn(128 * 3, 4);
    const ref = new Float32Array(19 * 3);
    refBackend.matmul(ref, x, w, 3);
    const y = offsetView(new Float32Array(19 * 3), 7);
    be!.matmul(y, offsetView(x, 3), w, 3);
    await be!.sync([y]);
    assert.ok(nmse(y, ref) <= BOUND, `NMSE ${nmse(y, ref)}`);
    assert.ok(Number.isNaN(new Float32Array(y.buffer)[6]), 'the floats before the view are left alone');
  });

  it('a weight type with no codec at all fails with an error naming it', async () => {
    const w: Tensor = { name: 'bad', type: GGMLType.Q2_K, dims: [256, 2], data: new Uint8Array(2 * 84) };
    const y = new Float32Array(2);
    be!.matmul(y, new Float32Array(256), w, 1);
    await assert.rejects(be!.sync([y]), /Q2_K/);
  });
});

describe('webgpu element-wise kernels and attention vs reference', { skip }, () => {
  it('rmsnorm (rows of 100 and 3072, 1, 5 and 16 tokens)', async () => {
    const out: [Float32Array, Float32Array, number][] = [];
    for (const [dim, n] of [[100, 1], [3072, 5], [3072, 16]]) {
      const x = randn(dim * n, dim + n, 3);
      const w = randn(dim, 2);
      const ref = new Float32Array(dim * n);
      const y = new Float32Array(dim * n);
      refBackend.rmsnorm(ref, x, w, 1e-5, n, dim);
      be!.rmsnorm(y, x, w, 1e-5, n, dim);
      out.push([y, ref, dim]);
    }
    await be!.sync(out.map((o) => o[0]));
    for (const [y, ref, dim] of out) assert.ok(maxAbs(y, ref) < 1e-5, `dim ${dim}: ${maxAbs(y, ref)}`);
  });

  it('rope in place on q and k of a fused row (odd half, partial rotary dims)', async () => {
    for (const [n, nHeads, headDim, half] of [[3, 4, 96, 48], [12, 2, 10, 5], [40, 32, 96, 48], [2, 3, 16, 4]]) {
      const rowStride = nHeads * headDim + 7;
      const angles = { cos: randn(n * half, 3), sin: randn(n * half, 4), half };
      const x = randn(n * rowStride, 5);
      const ref = x.slice();
      refBackend.rope(ref, n, rowStride, 7, nHeads, headDim, angles);
      be!.rope(x, n, rowStride, 7, nHeads, headDim, angles);
      await be!.sync([x]);
      assert.ok(maxAbs(x, ref) < 1e-5, `headDim ${headDim}: ${maxAbs(x, ref)}`);
    }
  });

  it('swiglu and add', async () => {
    for (const [n, ff] of [[1, 100], [7, 8192]]) {
      const gu = randn(n * 2 * ff, 9, 4);
      const ref = new Float32Array(n * ff);
      const y = new Float32Array(n * ff);
      refBackend.swiglu(ref, gu, n, ff);
      be!.swiglu(y, gu, n, ff);
      const r = randn(n * ff, 10);
      const refSum = ref.map((v, i) => v + r[i]);
      be!.add(y, r, n * ff);
      await be!.sync([y]);
      assert.ok(maxAbs(y, refSum) < 1e-5, `ff ${ff}: ${maxAbs(y, refSum)}`);
    }
  });

  it('storeKV and copy keep the cache on the GPU (zeros() arrays start there); sync hands the arrays back', async () => {
    const kvDim = 6;
    const stride = 20;
    const src = randn(3 * stride, 1);
    const kv = { k: be!.zeros(8 * kvDim), v: be!.zeros(8 * kvDim) };
    const want = { k: new Float32Array(8 * kvDim), v: new Float32Array(8 * kvDim) };
    refBackend.storeKV(want, src, stride, 4, 3, 2, kvDim);
    be!.storeKV(kv, src, stride, 4, 3, 2, kvDim);
    // KVCache growth: the bigger arrays get the old contents by a GPU copy
    const grown = { k: be!.zeros(16 * kvDim), v: new Float32Array(16 * kvDim) };
    be!.copy(grown.k, kv.k);
    be!.copy(grown.v, kv.v);
    await be!.sync([grown.k, grown.v]);
    assert.deepEqual(grown.k.subarray(0, 8 * kvDim), want.k);
    assert.deepEqual(grown.v.subarray(0, 8 * kvDim), want.v);
    assert.ok(grown.k.subarray(8 * kvDim).every((v) => v === 0));
    // back on the CPU: a change made there is what the next op sees
    grown.k[0] = 5;
    const y = new Float32Array(grown.k.length);
    be!.add(y, grown.k, y.length);
    await be!.sync([y]);
    assert.equal(y[0], 5);
  });

  it('attention (GQA, continuation, sliding window, odd head sizes, a cache longer than one chunk)', async () => {
    const cases = [
      { nTokens: 5, startPos: 0, numHeads: 4, numKvHeads: 4, headDim: 16, window: 0 },
      { nTokens: 1, startPos: 300, numHeads: 32, numKvHeads: 32, headDim: 96, window: 0 },
      { nTokens: 9, startPos: 120, numHeads: 32, numKvHeads: 8, headDim: 128, window: 0 },
      { nTokens: 6, startPos: 9, numHeads: 8, numKvHeads: 2, headDim: 10, window: 0 },
      { nTokens: 4, startPos: 20, numHeads: 6, numKvHeads: 3, headDim: 8, window: 7 },
      { nTokens: 3, startPos: 200, numHeads: 2, numKvHeads: 1, headDim: 12, window: 100 },
    ];
    for (const c of cases) {
      const { q, qStride, kv, shape, ref } = attentionCase(c);
      const y = new Float32Array(ref.length);
      be!.attention(y, q, qStride, kv, shape);
      await be!.sync([y]);
      assert.ok(maxAbs(y, ref) < 1e-5, `${JSON.stringify(c)}: ${maxAbs(y, ref)}`);
    }
  });
});

describe('webgpu f16 path', { skip }, () => {
  it('F16 weights read as native f16 where the device has shader-f16 (else: source produced, device lacks it)', async (t) => {
    const src = shaderSource('matmul:F16:8:8', true);
    assert.match(src, /^enable f16;/);
    assert.match(src, /vec2<f16>/);
    if (!device!.features.has('shader-f16')) {
      t.diagnostic('this adapter has no shader-f16 (llvmpipe through OpenGL ES): the f16 shader is not compiled here');
      return;
    }
    const f16 = new WebGPUBackend(device!, { f16: true });
    const w = makeTensor(GGMLType.F16, 100, 37, 1);
    const x = randn(300, 2);
    const ref = new Float32Array(111);
    refBackend.matmul(ref, x, w, 3);
    const y = new Float32Array(111);
    f16.matmul(y, x, w, 3);
    await f16.sync([y]);
    assert.ok(f16.f16 && nmse(y, ref) <= BOUND);
  });
});

// --- Phi-3-small ops (FACTS.md §4) and the tiny-small model ---------------------------------------------

describe('webgpu Phi-3-small kernels vs reference (src/backend/ref/small.ts)', { skip }, () => {
  it('layernorm (rows of 101, 96 and 3072 with large means, 1 to 16 tokens, unaligned views), addBias', async () => {
    const out: [Float32Array, Float32Array, string][] = [];
    for (const [dim, n, mean] of [[101, 1, 0], [96, 5, 30], [3072, 16, -7]]) {
      const x = randn(dim * n, dim + n, 2).map((v) => v + mean);
      const w = randn(dim, 3);
      const b = randn(dim, 4);
      const want = new Float32Array(dim * n);
      ref.layernorm(want, x, w, b, 1e-5, n, dim);
      const y = offsetView(new Float32Array(dim * n), 3);
      be!.layernorm(y, offsetView(x, 5), w, b, 1e-5, n, dim);
      out.push([y, want, `layernorm dim ${dim}`]);
      const yb = randn(dim * n, dim, 3);
      const wantB = yb.slice();
      ref.addBias(wantB, b, n, dim);
      be!.addBias(yb, b, n, dim);
      out.push([yb, wantB, `addBias dim ${dim}`]);
    }
    await be!.sync(out.map((o) => o[0]));
    for (const [y, want, name] of out) assert.ok(maxAbs(y, want) < 2e-5, `${name}: ${maxAbs(y, want)}`);
  });

  it('gegelu: even/odd split, clamp at ±limit (values beyond 20 both ways), no clamp at limit 0', async () => {
    const out: [Float32Array, Float32Array, number][] = [];
    for (const [n, ff, limit] of [[1, 101, 20], [3, 1000, 20], [2, 50, 0]]) {
      const x = randn(n * 2 * ff, ff + n, 15);
      x.set([25, -30, 21, 30, -25, 3]);
      const want = new Float32Array(n * ff);
      ref.gegelu(want, x, n, ff, limit);
      const y = new Float32Array(n * ff).fill(NaN);
      be!.gegelu(y, x, n, ff, limit);
      out.push([y, want, ff]);
    }
    await be!.sync(out.map((o) => o[0]));
    for (const [y, want, ff] of out) {
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(y[i] - want[i]) / Math.max(1, Math.abs(want[i])));
      assert.ok(worst < 1e-5, `ff ${ff}: relative error ${worst}`);
    }
    // a = min(25, 20) → 20·σ(34.04)·(1 − 20) = −380 (b = −30 clamped to −20)
    assert.ok(Math.abs(out[0][0][0] + 380) < 1e-3, `clamped: ${out[0][0][0]}`);
  });

  // Shapes as test/wasm-small.test.ts: every key/value no query here may read is NaN, so a kernel that
  // reads outside the layout (a dense mask) fails.
  const TINY: BlockSparseParams = { blockSize: 16, localBlocks: 2, vertStride: 2, homoHeadPattern: false, numHeads: 8 };
  const CASES = [
    { name: 'tiny-small shape, prefill of 37', p: TINY, numKvHeads: 2, headDim: 12, nTokens: 37, startPos: 0, context: 512 },
    { name: 'chunk of 20 across a block boundary', p: TINY, numKvHeads: 2, headDim: 12, nTokens: 20, startPos: 45, context: 512 },
    { name: 'decode at 300, head dim 10, 3 heads per kv head', p: { ...TINY, numHeads: 6, vertStride: 4, localBlocks: 1 }, numKvHeads: 2, headDim: 10, nTokens: 1, startPos: 300, context: 512 },
    { name: 'blocks of 64, head dim 128, decode at 2000', p: { blockSize: 64, localBlocks: 4, vertStride: 8, homoHeadPattern: false, numHeads: 8 }, numKvHeads: 2, headDim: 128, nTokens: 3, startPos: 2000, context: 2048 },
  ];
  it(`blocksparse attention, NaN outside the layout: ${CASES.map((c) => c.name).join('; ')}`, async () => {
    const out: [Float32Array, Float32Array, string][] = [];
    for (const c of CASES) {
      const { layout, q, qStride, kv, shape, want } = sparseAttentionCase(c);
      const y = new Float32Array(want.length).fill(NaN);
      be!.blocksparseAttention(y, q, qStride, kv, shape, layout);
      out.push([y, want, c.name]);
    }
    await be!.sync(out.map((o) => o[0]));
    for (const [y, want, name] of out) {
      assert.ok(!y.some(Number.isNaN), `${name}: NaN (read outside the layout)`);
      assert.ok(maxAbs(y, want) < 1e-5, `${name}: ${maxAbs(y, want)}`);
    }
  });

  it('rejects a layout for other heads or too short a context', () => {
    const layout = buildLayout(TINY, 64);
    const kv = { k: new Float32Array(100 * 24), v: new Float32Array(100 * 24) };
    const shape = { nTokens: 1, startPos: 0, numHeads: 8, numKvHeads: 2, headDim: 12, scale: 1, window: 0 };
    const o = new Float32Array(96);
    assert.throws(() => be!.blocksparseAttention(o, new Float32Array(96), 96, kv, { ...shape, numHeads: 4 }, layout), /layout is for 8 heads/);
    assert.throws(() => be!.blocksparseAttention(o, new Float32Array(96), 96, kv, { ...shape, startPos: 64 }, layout), /covers 64 positions/);
  });
});

describe('tiny-small (Phi-3-small) on WebGPU = reference backend', { skip }, () => {
  it('prefill and teacher-forced decode of p33 and p300 (18 blocks: local and strided): same greedy tokens, logits within 1e-3', async () => {
    const dir = join(REFERENCE, 'tiny-small');
    const tik = join(TOKENIZER_DIR, 'phi-3-small');
    const exp = readJson<{ prompts: { name: string; ids: number[]; greedy: number[] }[]; dummy_token_ids: number[] }>(join(dir, 'expected.json'));
    const dummy = new Set(exp.dummy_token_ids);
    const refModel = await loadModel(join(dir, 'hf'), { tokenizer: tik, backend: refBackend });
    const ours = await loadModel(join(dir, 'hf'), { tokenizer: tik, backend: be });
    assert.throws(() => ours.model.forward([1], ours.model.newCache()), /asynchronous.*forwardAsync/);
    for (const name of ['p33', 'p300']) {
      const p = exp.prompts.find((x) => x.name === name)!;
      const a = refModel.model.newCache();
      const b = ours.model.newCache();
      let la = refModel.model.forward(p.ids, a);
      let lb = await ours.model.forwardAsync(p.ids, b);
      for (let s = 0; s < 6; s++) {
        let d = 0;
        for (let i = 0; i < la.length; i++) if (!dummy.has(i)) d = Math.max(d, Math.abs(lb[i] - la[i]));
        assert.ok(d <= 1e-3, `${name} step ${s}: max |Δlogit| ${d}`);
        for (const id of dummy) assert.equal(lb[id], -Infinity);
        const ta = la.indexOf(Math.max(...la));
        assert.equal(lb.indexOf(Math.max(...lb)), ta, `${name} step ${s}: greedy token`);
        la = refModel.model.forward([ta], a);
        lb = await ours.model.forwardAsync([ta], b);
      }
    }
  });
});

interface Expected {
  runs: { main: { prompts: { name: string; ids: number[]; greedy: number[] }[] } };
}

describe('reference models: WebGPU backend = reference backend = llama.cpp', { skip }, () => {
  for (const model of ['tiny-4k', 'tiny-gqa']) {
    it(`${model}: greedy tokens equal and logits within 1e-3 of the reference backend`, async () => {
      const dir = join(REFERENCE, model);
      const expected = readJson<Expected>(join(dir, 'expected.json'));
      const ref = await loadModel(join(dir, 'model.gguf'), { backend: refBackend });
      const ours = await loadModel(join(dir, 'model.gguf'), { backend: be });
      assert.throws(() => ours.model.forward([1], ours.model.newCache()), /asynchronous.*forwardAsync/);
      for (const p of expected.runs.main.prompts) {
        const steps = p.ids.length > 50 ? 4 : 8;
        const a = ref.model.newCache();
        const b = ours.model.newCache();
        let la = ref.model.forward(p.ids, a);
        let lb = await ours.model.forwardAsync(p.ids, b);
        for (let s = 0; s < steps; s++) {
          const d = maxAbs(lb, la);
          assert.ok(d <= 1e-3, `${p.name} step ${s}: max |Δlogit| ${d}`);
          const ta = la.indexOf(Math.max(...la));
          const tb = lb.indexOf(Math.max(...lb));
          assert.equal(tb, ta, `${p.name} step ${s}: greedy token`);
          la = ref.model.forward([ta], a);
          lb = await ours.model.forwardAsync([tb], b);
        }
      }
    });

    it(`${model}: the generation loop gives llama.cpp's 32 greedy tokens (the KV cache grows on the GPU)`, async () => {
      const dir = join(REFERENCE, model);
      const expected = readJson<Expected>(join(dir, 'expected.json'));
      const ours = await loadModel(join(dir, 'model.gguf'), { backend: be });
      // "hello" (5 prompt tokens) and "paragraph" (101: the cache grows from 101 to 202 positions while decoding)
      for (const p of [expected.runs.main.prompts[0], expected.runs.main.prompts[3]]) {
        const gen = ours.generate(p.ids, { maxTokens: 32, noStop: true });
        let r = await gen.next();
        while (!r.done) r = await gen.next();
        assert.deepEqual(r.value.tokens, p.greedy, p.name);
      }
    });
  }
});

describe('phi3 generate --backend webgpu', { skip }, () => {
  it("prints llama.cpp's greedy tokens for tiny-gqa and exits", () => {
    const expected = readJson<Expected>(join(REFERENCE, 'tiny-gqa/expected.json'));
    const p = expected.runs.main.prompts[0];
    const args = ['generate', '-m', join(REFERENCE, 'tiny-gqa/model.gguf'), '--prompt-ids', p.ids.join(','), '-n', '32', '--no-stop', '--json', '--backend', 'webgpu'];
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).tokens, p.greedy);
  });
});
