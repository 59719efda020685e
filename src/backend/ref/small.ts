// Reference ops for Phi-3-small (FACTS.md §4): LayerNorm with bias, bias add, GeGeLU with its even/odd
// split and clamp, and blocksparse attention that walks only the allowed key blocks. float64 inside,
// float32 out. These are the truth fast kernels are compared with, and the fallback the model uses for
// any of these a backend does not implement. Tested by test/phi3-small-layout.test.ts (sparse == dense
// under the equivalent mask) and end to end by test/phi3-small.test.ts.
import type { AttentionShape, KVLayer } from '../backend.js';
import { keyBlocks, type BlockSparseLayout } from '../../model/blocksparse.js';

export function layernorm(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array, eps: number, nTokens: number, dim: number): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * dim;
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
  }
}

export function addBias(y: Float32Array, bias: Float32Array, nTokens: number, dim: number): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * dim;
    for (let i = 0; i < dim; i++) y[o + i] += bias[i];
  }
}

export function gegelu(out: Float32Array, x: Float32Array, nTokens: number, ff: number, limit: number): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * 2 * ff;
    for (let i = 0; i < ff; i++) {
      let a = x[o + 2 * i];
      let b = x[o + 2 * i + 1];
      if (limit > 0) {
        // torch.where(isinf(x), x, x.clamp(...)): infinities pass through the clamp untouched.
        if (Number.isFinite(a)) a = Math.min(a, limit);
        if (Number.isFinite(b)) b = Math.min(Math.max(b, -limit), limit);
      }
      out[t * ff + i] = (a / (1 + Math.exp(-1.702 * a))) * (b + 1);
    }
  }
}

export function blocksparseAttention(
  out: Float32Array,
  q: Float32Array,
  qRowStride: number,
  kv: KVLayer,
  s: AttentionShape,
  layout: BlockSparseLayout,
): void {
  const { nTokens, startPos, numHeads, numKvHeads, headDim, scale } = s;
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headDim;
  const B = layout.blockSize;
  const scores = new Float64Array(startPos + nTokens);
  const acc = new Float64Array(headDim);
  for (let t = 0; t < nTokens; t++) {
    const pos = startPos + t;
    const qb = Math.floor(pos / B);
    for (let h = 0; h < numHeads; h++) {
      const qo = t * qRowStride + h * headDim;
      const kvo = Math.floor(h / group) * headDim;
      const blocks = keyBlocks(layout, h, qb);
      let max = -Infinity;
      for (const kb of blocks) {
        const end = Math.min(kb * B + B - 1, pos);
        for (let p = kb * B; p <= end; p++) {
          let dot = 0;
          const ko = p * kvDim + kvo;
          for (let i = 0; i < headDim; i++) dot += q[qo + i] * kv.k[ko + i];
          scores[p] = dot * scale;
          if (scores[p] > max) max = scores[p];
        }
      }
      let sum = 0;
      for (const kb of blocks) {
        const end = Math.min(kb * B + B - 1, pos);
        for (let p = kb * B; p <= end; p++) sum += scores[p] = Math.exp(scores[p] - max);
      }
      acc.fill(0);
      for (const kb of blocks) {
        const end = Math.min(kb * B + B - 1, pos);
        for (let p = kb * B; p <= end; p++) {
          const w = scores[p] / sum;
          const vo = p * kvDim + kvo;
          for (let i = 0; i < headDim; i++) acc[i] += w * kv.v[vo + i];
        }
      }
      const oo = t * numHeads * headDim + h * headDim;
      for (let i = 0; i < headDim; i++) out[oo + i] = acc[i];
    }
  }
}
