// Reference RMSNorm, RoPE and SwiGLU, computed in float64 and stored as float32.

import type { KVLayer, RopeAngles } from '../backend.js';

export function rmsnorm(y: Float32Array, x: Float32Array, weight: Float32Array, eps: number, nTokens: number, dim: number): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    // Phi3RMSNorm rounds the normalized value to the activation dtype (f32) before the weight multiply.
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = Math.fround(x[o + i] * inv) * weight[i];
  }
}

export function rope(
  x: Float32Array,
  nTokens: number,
  rowStride: number,
  offset: number,
  nHeads: number,
  headDim: number,
  angles: RopeAngles,
): void {
  const { cos, sin, half } = angles;
  for (let t = 0; t < nTokens; t++) {
    for (let h = 0; h < nHeads; h++) {
      const base = t * rowStride + offset + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i];
        const s = sin[t * half + i];
        const a = x[base + i];
        const b = x[base + i + half];
        // rotate_half: (a, b) -> (a·cos − b·sin, b·cos + a·sin)
        x[base + i] = a * c - b * s;
        x[base + i + half] = b * c + a * s;
      }
    }
  }
}

export function swiglu(out: Float32Array, gateUp: Float32Array, nTokens: number, ff: number): void {
  for (let t = 0; t < nTokens; t++) {
    const g = t * 2 * ff;
    for (let i = 0; i < ff; i++) {
      const gate = gateUp[g + i];
      out[t * ff + i] = (gate / (1 + Math.exp(-gate))) * gateUp[g + ff + i];
    }
  }
}

/** y[i] += x[i] for i < n: the residual connection. */
export function add(y: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) y[i] += x[i];
}

/** Copies the K and V rows of nTokens fused rows (K at srcOffset, V right after it) into the cache at startPos. */
export function storeKV(kv: KVLayer, src: Float32Array, srcRowStride: number, srcOffset: number, nTokens: number, startPos: number, kvDim: number): void {
  for (let t = 0; t < nTokens; t++) {
    const row = t * srcRowStride + srcOffset;
    kv.k.set(src.subarray(row, row + kvDim), (startPos + t) * kvDim);
    kv.v.set(src.subarray(row + kvDim, row + 2 * kvDim), (startPos + t) * kvDim);
  }
}
