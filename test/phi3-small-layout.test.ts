// Phi-3-small's blocksparse attention: the layout rule (src/model/blocksparse.ts) against a table derived
// by hand from the published rule (FACTS.md §4.4) and against the layout Microsoft's original code built
// for tiny-small (reference/tiny-small/attention_masks.json); which layers are dense (§4.3); and the
// sparse attention kernel (src/backend/ref/small.ts) against plain dense attention under the equivalent
// token mask — with poisoned (NaN) keys/values in every disallowed block, which proves the kernel never
// reads them, i.e. it really is sparse.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { blocksparseAttention } from '../src/backend/ref/small.js';
import { blockAllowed, buildLayout, keyBlocks, type BlockSparseParams } from '../src/model/blocksparse.js';
import { configFromHFSmall, isDenseLayer } from '../src/model/config-small.js';
import { NormalRng } from '../src/model/random.js';
import { REFERENCE, SHARED, readJson } from './helpers.js';

const rows = (p: BlockSparseParams, h: number, n: number) => Array.from({ length: n }, (_, qb) => Array.from(keyBlocks(buildLayout(p, n * p.blockSize), h, qb)));

describe('blocksparse layout', () => {
  // 4 heads, 2 local blocks, vertical stride 4: step = max(1, floor(4/4)) = 1, so head h's vertical
  // blocks are the kb with (kb + h + 1) % 4 == 0: h0 {3}, h1 {2}, h2 {1, 5}, h3 {0, 4}; plus {qb−1, qb}.
  const P: BlockSparseParams = { blockSize: 4, localBlocks: 2, vertStride: 4, homoHeadPattern: false, numHeads: 4 };
  const HAND = [
    [[0], [0, 1], [1, 2], [2, 3], [3, 4], [3, 4, 5]],
    [[0], [0, 1], [1, 2], [2, 3], [2, 3, 4], [2, 4, 5]],
    [[0], [0, 1], [1, 2], [1, 2, 3], [1, 3, 4], [1, 4, 5]],
    [[0], [0, 1], [0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 5]],
  ];

  it('matches the hand-derived table for a small config', () => {
    for (let h = 0; h < 4; h++) assert.deepEqual(rows(P, h, 6), HAND[h], `head ${h}`);
  });

  it('homo_head gives every head head 0\'s pattern; heads beyond vert_stride repeat; wide strides shift by more', () => {
    for (let h = 0; h < 4; h++) assert.deepEqual(rows({ ...P, homoHeadPattern: true }, h, 6), HAND[0]);
    // 8 heads, stride 4: step = max(1, floor(4/8)) = 1, so head 4+h has head h's pattern.
    for (let h = 0; h < 4; h++) assert.deepEqual(rows({ ...P, numHeads: 8 }, h + 4, 6), HAND[h]);
    // 2 heads, stride 8, 1 local block: step = floor(8/2) = 4, head 1's vertical blocks are kb ≡ 3 (mod 8).
    const wide = { ...P, numHeads: 2, vertStride: 8, localBlocks: 1 };
    assert.deepEqual(rows(wide, 0, 12)[11], [7, 11]);
    assert.deepEqual(rows(wide, 1, 12)[11], [3, 11]);
  });

  it('covers exactly the pairs blockAllowed accepts, the ceil(max/block) blocks of the context', () => {
    const l = buildLayout(P, 21);
    assert.equal(l.numBlocks, 6);
    for (let h = 0; h < 4; h++)
      for (let qb = 0; qb < 6; qb++)
        for (let kb = 0; kb < 6; kb++) assert.equal(keyBlocks(l, h, qb).includes(kb), blockAllowed(P, h, qb, kb));
  });
});

describe('tiny-small layout against Microsoft\'s code', () => {
  const cfg = configFromHFSmall(readJson(join(REFERENCE, 'tiny-small/hf/config.json')));
  const masks = readJson<{
    n_blocks: number;
    layer_kinds: string[];
    layers: { layer: number; kind: string; pairs_per_head: [number, number][][] }[];
    layout_at_max_position_embeddings: { max_position_embeddings: number; allowed_key_blocks_per_head_per_query_block: number[][][] };
  }>(join(REFERENCE, 'tiny-small/attention_masks.json'));
  const layout = buildLayout(cfg, cfg.contextLength);

  it('builds the layout the original code built for max_position_embeddings', () => {
    const ref = masks.layout_at_max_position_embeddings.allowed_key_blocks_per_head_per_query_block;
    assert.equal(layout.numBlocks, ref[0].length);
    for (let h = 0; h < cfg.numHeads; h++)
      for (let qb = 0; qb < layout.numBlocks; qb++) assert.deepEqual(Array.from(keyBlocks(layout, h, qb)), ref[h][qb], `head ${h} qb ${qb}`);
  });

  it('uses dense attention on layers 1 and 3 and the layout on 0 and 2, as the p300 run did', () => {
    assert.deepEqual(masks.layer_kinds, [0, 1, 2, 3].map((l) => (isDenseLayer(cfg, l) ? 'dense' : 'blocksparse')));
    for (const layer of masks.layers)
      for (let h = 0; h < cfg.numHeads; h++) {
        const ours: [number, number][] = [];
        for (let qb = 0; qb < masks.n_blocks; qb++)
          for (let kb = 0; kb <= qb; kb++) if (layer.kind === 'dense' || keyBlocks(layout, h, qb).includes(kb)) ours.push([qb, kb]);
        assert.deepEqual(ours, layer.pairs_per_head[h], `layer ${layer.layer} head ${h}`);
      }
  });

  it('reads dense_attention_every_n_layers as the 8k config has it: odd layers dense', () => {
    const c8k = configFromHFSmall(readJson(join(SHARED, 'phi3/configs/phi-3-small-8k-instruct.json')));
    assert.deepEqual([0, 1, 2, 3, 30, 31].map((l) => isDenseLayer(c8k, l)), [false, true, false, true, false, true]);
    assert.equal(configFromHFSmall({ ...readJson<Record<string, unknown>>(join(REFERENCE, 'tiny-small/hf/config.json')), dense_attention_every_n_layers: null }).denseEveryN, 0);
  });
});

/** Plain dense attention with an explicit token mask, written separately from the kernel under test. */
function denseMasked(q: Float32Array, k: Float32Array, v: Float32Array, n: number, H: number, Hkv: number, d: number, scale: number, allowed: (h: number, i: number, j: number) => boolean): Float64Array {
  const out = new Float64Array(n * H * d);
  for (let i = 0; i < n; i++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv));
      const s: number[] = [];
      for (let j = 0; j < n; j++) {
        if (!allowed(h, i, j)) {
          s.push(-Infinity);
          continue;
        }
        let dot = 0;
        for (let x = 0; x < d; x++) dot += q[i * H * d + h * d + x] * k[j * Hkv * d + g * d + x];
        s.push(dot * scale);
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < n; j++) for (let x = 0; x < d; x++) out[i * H * d + h * d + x] += (e[j] / z) * v[j * Hkv * d + g * d + x];
    }
  return out;
}

describe('blocksparse attention kernel', () => {
  const P: BlockSparseParams = { blockSize: 4, localBlocks: 2, vertStride: 3, homoHeadPattern: false, numHeads: 4 };
  const n = 37;
  const d = 8;
  const rng = new NormalRng(42);
  const rand = (len: number) => Float32Array.from({ length: len }, () => rng.next());
  const layout = buildLayout(P, 64);
  const mask = (h: number, i: number, j: number) => j <= i && blockAllowed(P, h, Math.floor(i / 4), Math.floor(j / 4));

  for (const Hkv of [4, 2])
    it(`equals dense attention under the equivalent mask (${4 / Hkv} query heads per kv head), prefill and decode`, () => {
      const q = rand(n * 4 * d);
      const k = rand(n * Hkv * d);
      const v = rand(n * Hkv * d);
      const want = denseMasked(q, k, v, n, 4, Hkv, d, 1 / d, mask);
      const shape = { nTokens: n, startPos: 0, numHeads: 4, numKvHeads: Hkv, headDim: d, scale: 1 / d, window: 0 };
      const out = new Float32Array(n * 4 * d);
      blocksparseAttention(out, q, 4 * d, { k, v }, shape, layout);
      for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - want[i]) < 1e-5, `element ${i}: ${out[i]} vs ${want[i]}`);
      // Token by token from a cache (startPos > 0) gives the same rows.
      for (const t of [5, 16, 36]) {
        const one = new Float32Array(4 * d);
        blocksparseAttention(one, q.subarray(t * 4 * d), 4 * d, { k, v }, { ...shape, nTokens: 1, startPos: t }, layout);
        for (let i = 0; i < 4 * d; i++) assert.ok(Math.abs(one[i] - want[t * 4 * d + i]) < 1e-5);
      }
    });

  it('never reads keys or values outside the layout (they are NaN here)', () => {
    // One kv head per query head, so each head's disallowed positions can be poisoned in its own slice.
    const q = rand(n * 4 * d);
    const k = rand(n * 4 * d);
    const v = rand(n * 4 * d);
    const want = denseMasked(q, k, v, n, 4, 4, d, 1 / d, mask);
    const last = n - 1;
    for (let h = 0; h < 4; h++)
      for (let j = 0; j < n; j++)
        if (!mask(h, last, j))
          for (let x = 0; x < d; x++) k[j * 4 * d + h * d + x] = v[j * 4 * d + h * d + x] = NaN;
    const out = new Float32Array(4 * d);
    const shape = { nTokens: 1, startPos: last, numHeads: 4, numKvHeads: 4, headDim: d, scale: 1 / d, window: 0 };
    blocksparseAttention(out, q.subarray(last * 4 * d), 4 * d, { k, v }, shape, layout);
    for (let i = 0; i < 4 * d; i++) assert.ok(Math.abs(out[i] - want[last * 4 * d + i]) < 1e-5, `element ${i}: ${out[i]}`);
  });
});
