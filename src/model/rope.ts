// RoPE angles, with LongRoPE (Phi-3 128K and 3.5): θ(p, i) = p · base^(−2i/d) / factor[i], and cos/sin
// multiplied by the attention factor (mscale). Without rope scaling factor[i] = 1 and mscale = 1.
//
// Which factor set applies (FACTS.md §3.1 lists three rules in the wild):
//  - 'dynamic' (default, Hugging Face transformers): long iff the largest position in the forward call
//    is ≥ original_max_position_embeddings. When a sequence crosses that point, HF drops its KV cache and
//    recomputes the whole sequence with long factors; src/model/phi3.ts does the same.
//  - 'context' (llama.cpp): long iff the configured context size > original_max_position_embeddings,
//    fixed for the whole session.
//  - 'short' / 'long': forced.
import type { RopeAngles } from '../backend/backend.js';
import type { Phi3Config } from './config.js';

export type RopeFactorMode = 'dynamic' | 'context' | 'short' | 'long';
export type RopeFactorSet = 'short' | 'long';

/** Which factor set a forward call uses, given the largest position it touches (0-based). */
export function chooseFactorSet(c: Phi3Config, mode: RopeFactorMode, maxPos: number, contextSize: number): RopeFactorSet {
  if (!c.ropeScaling) return 'short';
  switch (mode) {
    case 'short':
    case 'long':
      return mode;
    case 'context':
      return contextSize > c.originalContextLength ? 'long' : 'short';
    case 'dynamic':
      return maxPos + 1 > c.originalContextLength ? 'long' : 'short';
  }
}

/** Inverse frequencies base^(−2i/d) / factor[i] for i < rotaryDim/2. */
export function inverseFrequencies(c: Phi3Config, set: RopeFactorSet): Float64Array {
  const half = c.rotaryDim / 2;
  const factors = c.ropeScaling ? (set === 'long' ? c.ropeScaling.longFactor : c.ropeScaling.shortFactor) : null;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.pow(c.ropeTheta, (-2 * i) / c.rotaryDim) / (factors ? factors[i] : 1);
  return inv;
}

/** cos/sin for positions startPos..startPos+n−1. */
export function ropeAngles(c: Phi3Config, set: RopeFactorSet, startPos: number, n: number): RopeAngles {
  const inv = inverseFrequencies(c, set);
  const half = inv.length;
  const mscale = c.ropeScaling ? c.ropeScaling.attentionFactor : 1;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  for (let t = 0; t < n; t++) {
    const p = startPos + t;
    for (let i = 0; i < half; i++) {
      const theta = p * inv[i];
      cos[t * half + i] = Math.cos(theta) * mscale;
      sin[t * half + i] = Math.sin(theta) * mscale;
    }
  }
  return { cos, sin, half };
}
