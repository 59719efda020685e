// The Phi-3 forward pass for training (every activation kept) and its backward, over a batch of B
// sequences of T tokens packed as N = B·T rows. Same math as src/model/phi3.ts (which serves inference
// through the Backend interface); here every op comes with its gradient (ops.ts).
//
//   forward(batch) → logp[t] = log p(target[t] | tokens ≤ t)        (0 where target < 0)
//   backward(dlogp) → grads += ∂L/∂θ for any objective L whose derivative w.r.t. logp is dlogp
// Cross-entropy (pretraining, SFT with masks) and DPO are both such objectives (losses.ts).
// Tested by test/train-grad.test.ts: logits equal llama.cpp's on the reference model; whole-model
// gradients equal finite differences.
import { RequestError } from '../errors.js';
import type { Phi3Config } from '../model/config.js';
import { ropeAngles } from '../model/rope.js';
import * as op from './ops.js';
import type { Phi3Params } from './params.js';

export interface Batch {
  batch: number;
  seqLen: number;
  /** B·T input ids. */
  tokens: Int32Array;
  /** B·T next-token targets; −1 = no prediction wanted at this position. */
  targets: Int32Array;
}

interface LayerActs {
  xIn: Float32Array; // residual entering the layer
  norm1: Float32Array;
  inv1: Float32Array;
  qkv: Float32Array; // after RoPE
  probs: Float32Array;
  att: Float32Array;
  xMid: Float32Array; // residual after attention
  norm2: Float32Array;
  inv2: Float32Array;
  gateUp: Float32Array;
  hidden: Float32Array;
}

export class TrainModel {
  readonly config: Phi3Config;
  private acts: LayerActs[] = [];
  private xFinal!: Float32Array;
  private normF!: Float32Array;
  private invF!: Float32Array;
  /** After forward: softmax probabilities [N, vocab] (becomes dlogits in backward). */
  private probs!: Float32Array;
  private cur: Batch | undefined;
  private shapeKey = '';

  constructor(readonly params: Phi3Params) {
    this.config = params.config;
  }

  private alloc(B: number, T: number): void {
    const key = `${B}x${T}`;
    if (key === this.shapeKey) return;
    const c = this.config;
    const N = B * T;
    const h = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const qkvDim = qDim + 2 * c.numKvHeads * c.headDim;
    const ff = c.intermediateSize;
    this.acts = [];
    for (let l = 0; l < c.numLayers; l++) {
      this.acts.push({
        xIn: new Float32Array(N * h),
        norm1: new Float32Array(N * h),
        inv1: new Float32Array(N),
        qkv: new Float32Array(N * qkvDim),
        probs: new Float32Array(B * c.numHeads * T * T),
        att: new Float32Array(N * qDim),
        xMid: new Float32Array(N * h),
        norm2: new Float32Array(N * h),
        inv2: new Float32Array(N),
        gateUp: new Float32Array(N * 2 * ff),
        hidden: new Float32Array(N * ff),
      });
    }
    this.xFinal = new Float32Array(N * h);
    this.normF = new Float32Array(N * h);
    this.invF = new Float32Array(N);
    this.probs = new Float32Array(N * c.vocabSize);
    this.shapeKey = key;
  }

  /** Runs the batch; returns log p(target) per row. Also leaves the logits readable via `logits()` until backward. */
  forward(b: Batch, logitsOut?: Float32Array): Float64Array {
    const c = this.config;
    const P = this.params;
    const w = P.data;
    const { batch: B, seqLen: T } = b;
    const N = B * T;
    if (b.tokens.length !== N || b.targets.length !== N) throw new RequestError(`batch arrays must hold ${N} ids`);
    if (T > c.contextLength) throw new RequestError(`sequence length ${T} exceeds the context length ${c.contextLength}`);
    for (let i = 0; i < N; i++) {
      if (b.tokens[i] < 0 || b.tokens[i] >= c.vocabSize) throw new RequestError(`token id ${b.tokens[i]} is outside the vocabulary`);
      if (b.targets[i] >= c.vocabSize) throw new RequestError(`target id ${b.targets[i]} is outside the vocabulary`);
    }
    this.alloc(B, T);
    this.cur = b;
    const h = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const qkvDim = qDim + 2 * kvDim;
    const ff = c.intermediateSize;
    const { cos, sin, half } = ropeAngles(c, 'short', 0, T);
    const shape = { batch: B, seqLen: T, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };
    const tmp = new Float32Array(N * h);

    let x = this.acts.length ? this.acts[0].xIn : this.xFinal;
    op.embed(x, P.slice(w, P.tokenEmbd), b.tokens, h);
    for (let l = 0; l < c.numLayers; l++) {
      const a = this.acts[l];
      const lp = P.layers[l];
      if (x !== a.xIn) a.xIn.set(x);
      op.rmsnorm(a.norm1, a.inv1, a.xIn, P.slice(w, lp.attnNorm), c.rmsNormEps, N, h);
      op.matmul(a.qkv, a.norm1, P.slice(w, lp.qkv), N, h, qkvDim);
      op.rope(a.qkv, N, qkvDim, 0, c.numHeads, c.headDim, T, cos, sin, half, 1);
      op.rope(a.qkv, N, qkvDim, qDim, c.numKvHeads, c.headDim, T, cos, sin, half, 1);
      op.attention(a.att, a.probs, a.qkv, shape);
      op.matmul(tmp, a.att, P.slice(w, lp.o), N, qDim, h);
      for (let i = 0; i < N * h; i++) a.xMid[i] = a.xIn[i] + tmp[i];
      op.rmsnorm(a.norm2, a.inv2, a.xMid, P.slice(w, lp.ffnNorm), c.rmsNormEps, N, h);
      op.matmul(a.gateUp, a.norm2, P.slice(w, lp.gateUp), N, h, 2 * ff);
      op.swiglu(a.hidden, a.gateUp, N, ff);
      op.matmul(tmp, a.hidden, P.slice(w, lp.down), N, ff, h);
      const next = l + 1 < c.numLayers ? this.acts[l + 1].xIn : this.xFinal;
      for (let i = 0; i < N * h; i++) next[i] = a.xMid[i] + tmp[i];
      x = next;
    }
    op.rmsnorm(this.normF, this.invF, this.xFinal, P.slice(w, P.outputNorm), c.rmsNormEps, N, h);
    op.matmul(this.probs, this.normF, P.slice(w, P.output), N, h, c.vocabSize);
    if (logitsOut) logitsOut.set(this.probs);
    const logp = new Float64Array(N);
    op.logSoftmaxTargets(logp, this.probs, b.targets, c.vocabSize);
    return logp;
  }

  /** Accumulates into `grads` (laid out like params.data) the gradient for dL/dlogp = dlogp. */
  backward(dlogp: Float64Array, grads: Float32Array): void {
    const b = this.cur;
    if (!b) throw new RequestError('backward() needs a forward() first');
    this.cur = undefined;
    const c = this.config;
    const P = this.params;
    const w = P.data;
    const g = (v: Parameters<Phi3Params['slice']>[1]) => P.slice(grads, v);
    const { batch: B, seqLen: T } = b;
    const N = B * T;
    const h = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const qkvDim = qDim + 2 * kvDim;
    const ff = c.intermediateSize;
    const { cos, sin, half } = ropeAngles(c, 'short', 0, T);
    const shape = { batch: B, seqLen: T, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };

    const dlogits = this.probs;
    op.logSoftmaxBackward(dlogits, dlogp, b.targets, c.vocabSize);
    const dnorm = new Float32Array(N * h);
    op.matmulBackward(dnorm, g(P.output), dlogits, this.normF, P.slice(w, P.output), N, h, c.vocabSize);
    let dx = new Float32Array(N * h); // gradient of the residual stream
    op.rmsnormBackward(dx, g(P.outputNorm), dnorm, this.xFinal, this.invF, P.slice(w, P.outputNorm), N, h);

    const dhidden = new Float32Array(N * ff);
    const dgu = new Float32Array(N * 2 * ff);
    const dqkv = new Float32Array(N * qkvDim);
    const datt = new Float32Array(N * qDim);
    const dp = new Float32Array(T);
    for (let l = c.numLayers - 1; l >= 0; l--) {
      const a = this.acts[l];
      const lp = P.layers[l];
      // MLP: x_out = x_mid + down(swiglu(gateUp(norm2(x_mid))))
      const dmid = dx.slice(); // residual path
      dhidden.fill(0);
      op.matmulBackward(dhidden, g(lp.down), dx, a.hidden, P.slice(w, lp.down), N, ff, h);
      dgu.fill(0);
      op.swigluBackward(dgu, dhidden, a.gateUp, N, ff);
      dnorm.fill(0);
      op.matmulBackward(dnorm, g(lp.gateUp), dgu, a.norm2, P.slice(w, lp.gateUp), N, h, 2 * ff);
      op.rmsnormBackward(dmid, g(lp.ffnNorm), dnorm, a.xMid, a.inv2, P.slice(w, lp.ffnNorm), N, h);
      // attention: x_mid = x_in + o(attn(rope(qkv(norm1(x_in)))))
      const din = dmid.slice();
      datt.fill(0);
      op.matmulBackward(datt, g(lp.o), dmid, a.att, P.slice(w, lp.o), N, qDim, h);
      dqkv.fill(0);
      op.attentionBackward(dqkv, datt, a.probs, a.qkv, dp, shape);
      op.rope(dqkv, N, qkvDim, 0, c.numHeads, c.headDim, T, cos, sin, half, -1);
      op.rope(dqkv, N, qkvDim, qDim, c.numKvHeads, c.headDim, T, cos, sin, half, -1);
      // the saved qkv is post-RoPE; the weight gradient needs only the normed input, so that is fine
      dnorm.fill(0);
      op.matmulBackward(dnorm, g(lp.qkv), dqkv, a.norm1, P.slice(w, lp.qkv), N, h, qkvDim);
      op.rmsnormBackward(din, g(lp.attnNorm), dnorm, a.xIn, a.inv1, P.slice(w, lp.attnNorm), N, h);
      dx = din;
    }
    op.embedBackward(g(P.tokenEmbd), dx, b.tokens, h);
  }
}
