// AdamW (Loshchilov & Hutter: weight decay decoupled from the adaptive step, applied to matrices only),
// linear warmup then cosine decay to a floor, and global-norm gradient clipping. State is three flat
// Float32Arrays (params, m, v) laid out like Phi3Params.data, so a checkpoint is three buffers + a step.
// Tested by test/train.test.ts (one step against hand-computed values; overfitting one batch).
import type { ParamView } from './params.js';

export interface OptimConfig {
  lr: number;
  /** Learning rate at the end of the cosine (default lr/10). */
  minLr?: number;
  warmupSteps: number;
  totalSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this (0 = off). */
  clip: number;
}

export const DEFAULT_OPTIM: Omit<OptimConfig, 'lr' | 'totalSteps'> = {
  warmupSteps: 0,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  clip: 1,
};

/** Learning rate at `step` (0-based): linear warmup to lr, then cosine down to minLr at totalSteps. */
export function learningRate(o: OptimConfig, step: number): number {
  const minLr = o.minLr ?? o.lr / 10;
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const p = Math.min(1, (step - o.warmupSteps) / span);
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * p));
}

export function gradNorm(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Updates done so far (the bias-correction exponent). */
  t = 0;

  constructor(
    readonly views: ParamView[],
    size: number,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** Clips `g` in place to norm ≤ clip (if clip > 0), then updates `p`. Returns the norm before clipping. */
  step(p: Float32Array, g: Float32Array, lr: number, o: OptimConfig): number {
    const norm = gradNorm(g);
    const k = o.clip > 0 && norm > o.clip ? o.clip / norm : 1;
    this.t++;
    const bc1 = 1 - Math.pow(o.beta1, this.t);
    const bc2 = 1 - Math.pow(o.beta2, this.t);
    const { m, v } = this;
    const b1 = o.beta1, b2 = o.beta2;
    for (const view of this.views) {
      const decay = view.decay ? 1 - lr * o.weightDecay : 1;
      const end = view.offset + view.size;
      for (let i = view.offset; i < end; i++) {
        const gi = g[i] * k;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] = p[i] * decay - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + o.eps);
      }
    }
    return norm;
  }
}
