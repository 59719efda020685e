// Phi-3-small on the WASM backend (kernels/small.c) against the reference ops (src/backend/ref/small.ts),
// kernel by kernel at 1 and 2 threads (and the SIMD128 build) on odd shapes (FACTS.md §4.1 LayerNorm with
// bias and biases on every linear, §4.5 GeGeLU even/odd split and ±limit clamp, §4.4 blocksparse
// attention with §4.2's grouped-query heads, prefill, decode and chunks across block boundaries); with NaN
// in every key/value the layout forbids, so a kernel that reads outside the layout fails (it must be
// sparse, not a dense mask). The dense kernel at the real shape (§4.2: head dim 128, 4 query heads per kv
// head, muP scale 1/128; §4.3 dense layers). Then the tiny-small model end to end (all of §4.1–4.5 at
// once), teacher-forced on Microsoft's greedy tokens: logits within 1e-3 of the reference backend, and
// Microsoft's own top-5 logits and greedy tokens; and the same model spread over several small WASM
// memories (the sharding a 7B Q4 model needs past 4 GiB).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { refBackend } from '../src/backend/ref/index.js';
import * as ref from '../src/backend/ref/small.js';
import { convertSmallModel } from '../src/convert/small.js';
import { WasmBackend } from '../src/backend/wasm/index.js';
import { buildLayout, type BlockSparseParams } from '../src/model/blocksparse.js';
import { loadModel, type Phi3 } from '../src/phi3.js';
import { randn, sparseAttentionCase, type SparseCase } from './parity.js';
import { REFERENCE, TOKENIZER_DIR, readJson, tempDir } from './helpers.js';

const backends = [new WasmBackend({ threads: 1 }), new WasmBackend({ threads: 2 })];
// the plain SIMD128 build (no fused multiply-add) for engines without relaxed SIMD
const kernelBackends = [...backends, new WasmBackend({ threads: 2, simd: 'simd128' })];
after(() => {
  for (const b of kernelBackends) b.dispose();
});

/** Largest |a − b|, with NaN (a kernel that read a poisoned value) counting as infinite. */
function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return Infinity;
    if (d > m) m = d;
  }
  return m;
}

describe('Phi-3-small element-wise kernels vs reference', () => {
  for (const be of kernelBackends) {
    it(`layernorm on ${be.name}: odd rows, large means, 1 to 16 tokens (§4.1)`, () => {
      for (const [dim, n, mean] of [[101, 1, 0], [96, 5, 30], [4096, 16, -7]]) {
        const x = randn(dim * n, dim + n, 2, mean);
        const w = randn(dim, 3);
        const b = randn(dim, 4);
        const want = new Float32Array(dim * n);
        const y = new Float32Array(dim * n).fill(NaN);
        ref.layernorm(want, x, w, b, 1e-5, n, dim);
        be.layernorm(y, x, w, b, 1e-5, n, dim);
        assert.ok(maxAbs(y, want) < 2e-5, `dim ${dim}: ${maxAbs(y, want)}`);
      }
    });

    it(`addBias on ${be.name}: odd rows, and enough rows to use every thread (§4.1)`, () => {
      for (const [dim, n] of [[101, 3], [6144, 40]]) {
        const y = randn(dim * n, dim, 3);
        const b = randn(dim, n);
        const want = y.slice();
        ref.addBias(want, b, n, dim);
        be.addBias(y, b, n, dim);
        assert.ok(maxAbs(y, want) === 0, `dim ${dim}: ${maxAbs(y, want)}`);
      }
    });

    it(`gegelu on ${be.name}: even/odd split, clamp at ±limit with infinities and NaN kept, no clamp at limit 0 (§4.5)`, () => {
      for (const [n, ff, limit] of [[1, 101, 20], [3, 14336, 20], [2, 50, 0]]) {
        // scale 15: many values beyond ±20, so both clamps act
        const x = randn(n * 2 * ff, ff + n, 15);
        x.set([Infinity, -Infinity, -Infinity, Infinity, NaN, 3, 25, -30, 21, 30]);
        const want = new Float32Array(n * ff);
        const y = new Float32Array(n * ff);
        ref.gegelu(want, x, n, ff, limit);
        be.gegelu(y, x, n, ff, limit);
        assert.deepEqual(Array.from(y.subarray(0, 3)), Array.from(want.subarray(0, 3)), 'inf and NaN inputs');
        let worst = 0;
        for (let i = 3; i < want.length; i++) worst = Math.max(worst, Math.abs(y[i] - want[i]) / Math.max(1, Math.abs(want[i])));
        assert.ok(worst < 1e-5, `ff ${ff}: relative error ${worst}`);
        if (limit) {
          // a = min(25, 20) → 20·σ(34.04)·(1 − 20) = −380 (b = −30 clamped to −20); a = 21 → 20, b = 30 → 20
          assert.ok(Math.abs(y[3] + 380) < 1e-3 && Math.abs(y[4] - 20 * 21) < 1e-3, `clamped: ${y[3]}, ${y[4]}`);
        }
      }
    });
  }
});

const TINY: BlockSparseParams = { blockSize: 16, localBlocks: 2, vertStride: 2, homoHeadPattern: false, numHeads: 8 };
const REAL: BlockSparseParams = { blockSize: 64, localBlocks: 16, vertStride: 8, homoHeadPattern: false, numHeads: 32 };
const CASES: SparseCase[] = [
  { name: 'tiny-small shape, prefill of 37', p: TINY, numKvHeads: 2, headDim: 12, nTokens: 37, startPos: 0, context: 512 },
  { name: 'tiny-small shape, chunk of 20 across a block boundary', p: TINY, numKvHeads: 2, headDim: 12, nTokens: 20, startPos: 45, context: 512 },
  { name: 'decode at 300, odd head dim, 3 heads per kv head', p: { ...TINY, numHeads: 6, vertStride: 4, localBlocks: 1 }, numKvHeads: 2, headDim: 10, nTokens: 1, startPos: 300, context: 512 },
  { name: 'homo-head pattern, no GQA', p: { ...TINY, homoHeadPattern: true, numHeads: 4 }, numKvHeads: 4, headDim: 16, nTokens: 9, startPos: 120, context: 256 },
  { name: 'phi-3-small-8k shape, decode at position 8191', p: REAL, numKvHeads: 8, headDim: 128, nTokens: 1, startPos: 8191, context: 8192 },
  { name: 'phi-3-small-8k shape, prefill of 70 after 1400', p: REAL, numKvHeads: 8, headDim: 128, nTokens: 70, startPos: 1400, context: 8192 },
];

describe('blocksparse attention vs reference (§4.4, GQA §4.2), NaN outside the layout', () => {
  for (const c of CASES) {
    const { layout, q, qStride, kv, shape, want, poisoned } = sparseAttentionCase(c);
    const positions = c.startPos + c.nTokens;
    for (const be of kernelBackends)
      it(`${c.name} on ${be.name}`, () => {
        if (c.startPos > 1000) assert.ok(poisoned > positions / 4, `only ${poisoned} poisoned positions`);
        const y = new Float32Array(want.length).fill(NaN);
        be.blocksparseAttention(y, q, qStride, kv, shape, layout);
        assert.ok(maxAbs(y, want) < 1e-5, `max |Δ| ${maxAbs(y, want)}`);
      });
  }

  it('rejects a layout for other heads or too short a context', () => {
    const layout = buildLayout(TINY, 64);
    const kv = { k: new Float32Array(100 * 24), v: new Float32Array(100 * 24) };
    const shape = { nTokens: 1, startPos: 0, numHeads: 8, numKvHeads: 2, headDim: 12, scale: 1, window: 0 };
    const out = new Float32Array(96);
    assert.throws(() => backends[0].blocksparseAttention(out, new Float32Array(96), 96, kv, { ...shape, numHeads: 4 }, layout), /layout is for 8 heads/);
    assert.throws(() => backends[0].blocksparseAttention(out, new Float32Array(96), 96, kv, { ...shape, startPos: 64 }, layout), /covers 64 positions/);
  });
});

describe('dense attention at the phi-3-small shape (§4.2: head dim 128, 4 q heads per kv head, muP scale 1/128)', () => {
  for (const be of kernelBackends)
    it(`decode at 700 and a prefill chunk of 33 on ${be.name}`, () => {
      for (const [nTokens, startPos] of [[1, 700], [33, 64]]) {
        const kvDim = 8 * 128;
        const positions = startPos + nTokens;
        const q = randn(nTokens * 32 * 128, positions, 1);
        const kv = { k: randn(positions * kvDim, 5, 1), v: randn(positions * kvDim, 6) };
        // mup_attn_multiplier / head_dim = 1/128, not 1/sqrt(128)
        const shape = { nTokens, startPos, numHeads: 32, numKvHeads: 8, headDim: 128, scale: 1 / 128, window: 0 };
        const want = new Float32Array(nTokens * 32 * 128);
        const y = new Float32Array(want.length);
        refBackend.attention(want, q, 32 * 128, kv, shape);
        be.attention(y, q, 32 * 128, kv, shape);
        assert.ok(maxAbs(y, want) < 1e-5, `${nTokens} tokens at ${startPos}: ${maxAbs(y, want)}`);
      }
    });
});

// --- tiny-small end to end -----------------------------------------------------------------------------

const DIR = join(REFERENCE, 'tiny-small');
const TIK = join(TOKENIZER_DIR, 'phi-3-small');
interface Prompt { name: string; ids: number[]; greedy: number[]; steps: { top5_ids: number[]; top5_logits: number[] }[] }
const EXP = readJson<{ prompts: Prompt[]; dummy_token_ids: number[] }>(join(DIR, 'expected.json'));
const DUMMY = new Set(EXP.dummy_token_ids);

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!DUMMY.has(i)) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Prefill, then decode teacher-forced on Microsoft's greedy tokens: at every step `ours` is within 1e-3 of
 * the reference backend on every logit, its top-5 logits within 1e-3 of Microsoft's, and its argmax is
 * Microsoft's greedy token (where the top two differ by more than the tolerance).
 */
function checkAgainstReference(ours: Phi3, refModel: Phi3, p: Prompt, steps: number): void {
  const a = refModel.model.newCache();
  const b = ours.model.newCache();
  let la = refModel.model.forward(p.ids, a);
  let lb = ours.model.forward(p.ids, b);
  for (let s = 0; s < steps; s++) {
    const d = maxDiff(lb, la);
    assert.ok(d <= 1e-3, `${p.name} step ${s}: max |Δlogit| vs reference backend ${d}`);
    const { top5_ids: ids, top5_logits: logits } = p.steps[s];
    ids.forEach((id, j) => assert.ok(Math.abs(lb[id] - logits[j]) < 1e-3, `${p.name} step ${s}: logit of ${id} ${lb[id]}, Microsoft ${logits[j]}`));
    if (logits[0] - logits[1] > 2e-3) assert.equal(argmax(lb), p.greedy[s], `${p.name} step ${s}: greedy token`);
    for (const id of DUMMY) assert.equal(lb[id], -Infinity);
    la = refModel.model.forward([p.greedy[s]], a);
    lb = ours.model.forward([p.greedy[s]], b);
  }
}

describe('tiny-small on the WASM backend', () => {
  it('greedy tokens and logits of Microsoft\'s reference within 1e-3, at 1 and 2 threads; weights and KV cache in WASM memory', async () => {
    const refModel = await loadModel(join(DIR, 'hf'), { tokenizer: TIK, backend: refBackend });
    for (const be of backends) {
      const ours = await loadModel(join(DIR, 'hf'), { tokenizer: TIK, backend: be });
      const cache = ours.model.newCache();
      ours.model.forward([1, 2], cache);
      assert.ok(be.arena.owns(cache.layers[0].k) && be.arena.owns(cache.layers[0].v), 'KV cache in WASM memory');
      const w = (ours.model as unknown as { weights: { layers: { qkv: { data: Uint8Array } }[] } }).weights;
      assert.ok(be.arena.owns(w.layers[0].qkv.data), 'weights in WASM memory');
      // p300 crosses 18 blocks of 16: every sparse layer reads local and strided blocks
      for (const name of ['p33', 'p300']) checkAgainstReference(ours, refModel, EXP.prompts.find((p) => p.name === name)!, 8);
    }
  });

  it('spread over 10.75 MiB memories (tied embedding and layer 0 in one, later layers and the cache in the next): same logits', async () => {
    // The BF16 tied embedding (100352 × 96, 18.4 MiB) is most of the model: use the Q4_0 file phi3
    // quantize writes (embedding Q8_0, 9.8 MiB), so that a memory holds it and part of the layers.
    const path = join(tempDir(), 'tiny-small-q4_0.gguf');
    convertSmallModel({ input: join(DIR, 'hf'), out: path, type: 'q4_0', tokenizer: TIK });
    const be = new WasmBackend({ threads: 2, memoryBytes: 10.75 * 2 ** 20 });
    try {
      const ours = await loadModel(path, { backend: be });
      // the truth: the same file on one 4 GiB memory (same kernels, so the same floats), and the
      // reference backend (float activations where WASM quantizes them to 8 bits: looser)
      const whole = await loadModel(path, { backend: backends[1] });
      const refModel = await loadModel(path, { backend: refBackend });
      assert.ok(be.shards.length >= 2, `${be.shards.length} memories`);
      const w = (ours.model as unknown as { weights: { tokenEmbd: { data: Uint8Array }; layers: { qkv: { data: Uint8Array } }[] } }).weights;
      const shardOf = (a: Uint8Array | Float32Array) => be.shards.findIndex((s) => s.arena.owns(a));
      // a short prompt: in memories this small only a few tokens' activations fit beside the weights
      const p = EXP.prompts.find((x) => x.name === 'p33')!;
      const [a, b, c] = [refModel.model.newCache(), ours.model.newCache(), whole.model.newCache()];
      let la = refModel.model.forward(p.ids, a);
      let lb = ours.model.forward(p.ids, b);
      let lc = whole.model.forward(p.ids, c);
      const used = new Set([shardOf(w.tokenEmbd.data), shardOf(w.layers[0].qkv.data), shardOf(w.layers[3].qkv.data), shardOf(b.layers[3].k)]);
      assert.ok(used.size >= 2 && !used.has(-1), `embedding, layers and cache in memories ${[...used]}`);
      for (let s = 0; s < 4; s++) {
        assert.deepEqual(lb, lc, `step ${s}: sharded and unsharded logits differ`);
        // NMSE as llama.cpp's test-backend-ops measures quantized matmuls (5e-4 each there)
        let num = 0;
        let den = 0;
        for (let i = 0; i < la.length; i++) if (!DUMMY.has(i)) [num, den] = [num + (lb[i] - la[i]) ** 2, den + la[i] ** 2];
        assert.ok(num / den < 1e-3, `step ${s}: NMSE ${num / den} from the reference backend`);
        const t = argmax(lc);
        la = refModel.model.forward([t], a);
        lb = ours.model.forward([t], b);
        lc = whole.model.forward([t], c);
      }
    } finally {
      be.dispose();
    }
  });
});
