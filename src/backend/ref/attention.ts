// Reference causal attention over the KV cache: for each query token and head, scores against every
// visible cached position, a max-subtracted softmax, and the weighted sum of values. GQA maps query
// head h to kv head floor(h / (numHeads / numKvHeads)).
import type { AttentionShape, KVLayer } from '../backend.js';

export function attention(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape): void {
  const { nTokens, startPos, numHeads, numKvHeads, headDim, scale, window } = s;
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headDim;
  const scores = new Float64Array(startPos + nTokens);
  const acc = new Float64Array(headDim);
  for (let t = 0; t < nTokens; t++) {
    const pos = startPos + t;
    const first = window > 0 ? Math.max(0, pos - window + 1) : 0;
    for (let h = 0; h < numHeads; h++) {
      const qo = t * qRowStride + h * headDim;
      const kvo = Math.floor(h / group) * headDim;
      let max = -Infinity;
      for (let p = first; p <= pos; p++) {
        let dot = 0;
        const ko = p * kvDim + kvo;
        for (let i = 0; i < headDim; i++) dot += q[qo + i] * kv.k[ko + i];
        scores[p] = dot * scale;
        if (scores[p] > max) max = scores[p];
      }
      let sum = 0;
      for (let p = first; p <= pos; p++) sum += scores[p] = Math.exp(scores[p] - max);
      acc.fill(0);
      for (let p = first; p <= pos; p++) {
        const w = scores[p] / sum;
        const vo = p * kvDim + kvo;
        for (let i = 0; i < headDim; i++) acc[i] += w * kv.v[vo + i];
      }
      const oo = t * numHeads * headDim + h * headDim;
      for (let i = 0; i < headDim; i++) out[oo + i] = acc[i];
    }
  }
}
