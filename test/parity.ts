// Shared pieces of the backend parity suites (test/wasm-*.test.ts, test/webgpu.test.ts): seeded inputs,
// random weights of any type, and the error measures that compare a backend with the reference one.
import type { AttentionShape, KVLayer } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/ref/index.js';
import * as refSmall from '../src/backend/ref/small.js';
import { buildLayout, keyBlocks, type BlockSparseLayout, type BlockSparseParams } from '../src/model/blocksparse.js';
import { NormalRng } from '../src/model/random.js';
import type { Tensor } from '../src/model/tensor.js';
import { quantizeRow } from '../src/quant/index.js';
import { GGMLType } from '../src/quant/types.js';

/** n seeded normal values × scale, + offset. */
export function randn(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rng = new NormalRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * rng.next();
  return a;
}

/** Normalised mean squared error Σ(y − ref)² / Σ ref², as llama.cpp's test-backend-ops measures. */
export function nmse(y: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (y[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return num / den;
}

export function maxAbs(y: Float32Array, ref: Float32Array): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(y[i] - ref[i]));
  return m;
}

/** A [k, rows] weight of `type` from seeded normals scaled by 1/√k (so outputs stay O(1)). */
export function makeTensor(type: GGMLType, k: number, rows: number, seed: number): Tensor {
  const w = randn(k * rows, seed, 1 / Math.sqrt(k));
  const data = type === GGMLType.F32 ? new Uint8Array(w.buffer) : quantizeRow(type, w, k * rows);
  return { name: `w${type}`, type, dims: [k, rows], data };
}

/** One attention parity case: its seeded q rows and cache (longer than needed), and the reference output. */
export function attentionCase(c: Omit<AttentionShape, 'scale'>): {
  q: Float32Array;
  qStride: number;
  kv: KVLayer;
  shape: AttentionShape;
  ref: Float32Array;
} {
  const pos = c.startPos + c.nTokens;
  const kvDim = c.numKvHeads * c.headDim;
  const qStride = c.numHeads * c.headDim + 2 * kvDim;
  const q = randn(c.nTokens * qStride, pos, 2);
  const kv = { k: randn(pos * kvDim + 50, 11, 2), v: randn(pos * kvDim + 50, 12) };
  const shape = { ...c, scale: 1 / Math.sqrt(c.headDim) };
  const ref = new Float32Array(c.nTokens * c.numHeads * c.headDim);
  refBackend.attention(ref, q, qStride, kv, shape);
  return { q, qStride, kv, shape, ref };
}

/** A blocksparse attention case: layout parameters, GQA shape, and the query rows' positions. */
export interface SparseCase {
  name: string;
  p: BlockSparseParams;
  numKvHeads: number;
  headDim: number;
  nTokens: number;
  startPos: number;
  context: number;
}

/**
 * Seeded inputs for a blocksparse case with every key/value position that no query head of its kv group
 * may read set to NaN (so a kernel that reads outside the layout fails), and the reference output.
 */
export function sparseAttentionCase(c: SparseCase): {
  layout: BlockSparseLayout;
  q: Float32Array;
  qStride: number;
  kv: KVLayer;
  shape: AttentionShape;
  want: Float32Array;
  /** (position, kv head) pairs poisoned */
  poisoned: number;
} {
  const layout = buildLayout(c.p, c.context);
  const kvDim = c.numKvHeads * c.headDim;
  const qStride = c.p.numHeads * c.headDim + 2 * kvDim; // q rows inside a fused row, as the model passes them
  const positions = c.startPos + c.nTokens;
  const q = randn(c.nTokens * qStride, positions);
  const kv = { k: randn(positions * kvDim + 7, 11), v: randn(positions * kvDim + 7, 12) };
  const group = c.p.numHeads / c.numKvHeads;
  let poisoned = 0;
  for (let g = 0; g < c.numKvHeads; g++) {
    const read = new Uint8Array(positions);
    for (let t = 0; t < c.nTokens; t++)
      for (let h = g * group; h < (g + 1) * group; h++)
        for (const kb of keyBlocks(layout, h, Math.floor((c.startPos + t) / c.p.blockSize)))
          read.fill(1, kb * c.p.blockSize, Math.min(positions, (kb + 1) * c.p.blockSize));
    for (let p = 0; p < positions; p++)
      if (!read[p]) {
        for (const a of [kv.k, kv.v]) a.fill(NaN, p * kvDim + g * c.headDim, p * kvDim + (g + 1) * c.headDim);
        poisoned++;
      }
  }
  const shape = { nTokens: c.nTokens, startPos: c.startPos, numHeads: c.p.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, scale: 1 / c.headDim, window: 0 };
  const want = new Float32Array(c.nTokens * c.p.numHeads * c.headDim);
  refSmall.blocksparseAttention(want, q, qStride, kv, shape, layout);
  return { layout, q, qStride, kv, shape, want, poisoned };
}
