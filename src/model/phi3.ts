// The Phi-3 forward pass (mini, medium, 3.5-mini), top to bottom, in the order the math happens.
// Heavy operations go through the Backend interface; this file never touches a kernel.
//
//   x = embed(tokens)
//   for each layer:
//     a = rmsnorm(x) ;  q|k|v = a · Wqkv ;  rope(q, k) ;  cache k, v
//     x += attention(q, K, V) · Wo
//     m = rmsnorm(x) ;  x += (silu(m · Wgate) ⊙ (m · Wup)) · Wdown
//   logits = rmsnorm(x) · Wout
import type { Backend } from '../backend/backend.js';
import { Phi3Error, RequestError } from '../errors.js';
import type { Phi3Config } from './config.js';
import { KVCache, kvMemory } from './kv-cache.js';
import { chooseFactorSet, ropeAngles, type RopeFactorMode } from './rope.js';
import type { Phi3Weights } from './weights.js';

export interface ForwardOptions {
  /** Return logits for every input position ([n, vocab] row-major) instead of the last one only. */
  allLogits?: boolean;
}

export interface ModelOptions {
  /** Longest sequence a cache may hold; defaults to the model's context length. */
  contextSize?: number;
  /** How LongRoPE picks its factor set (see rope.ts). Default 'dynamic', as Hugging Face does. */
  ropeFactors?: RopeFactorMode;
  /**
   * Apply the config's sliding_window in attention. Off by default, as in llama.cpp (which the
   * reference outputs come from): for Phi-3 it only matters past 2047 tokens on the 4k models.
   */
  slidingWindow?: boolean;
}

export class Phi3Model {
  readonly contextSize: number;
  readonly ropeMode: RopeFactorMode;
  private readonly window: number;

  constructor(
    readonly config: Phi3Config,
    readonly weights: Phi3Weights,
    readonly backend: Backend,
    opts: ModelOptions = {},
  ) {
    this.contextSize = Math.min(opts.contextSize ?? config.contextLength, config.contextLength);
    this.ropeMode = opts.ropeFactors ?? 'dynamic';
    this.window = opts.slidingWindow && config.slidingWindow ? config.slidingWindow : 0;
  }

  newCache(): KVCache {
    const c = this.config;
    return new KVCache(c.numLayers, c.numKvHeads * c.headDim, this.contextSize, kvMemory(this.backend));
  }

  /**
   * Runs `tokens` after the positions already in `cache`, appends them to it, and returns the logits of
   * the last token (or of every token with allLogits).
   */
  forward(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Float32Array {
    if (this.backend.sync)
      throw new Phi3Error(`the ${this.backend.name} backend computes asynchronously: use forwardAsync() (or the generate/chat API)`);
    return this.record(tokens, cache, opts);
  }

  /** forward() for every backend: on an asynchronous one (WebGPU), runs the recorded work and reads the logits back. */
  async forwardAsync(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Promise<Float32Array> {
    const logits = this.record(tokens, cache, opts);
    await this.backend.sync?.([logits]);
    return logits;
  }

  /** Issues the whole forward pass to the backend; on an asynchronous backend the logits are not there yet. */
  private record(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions): Float32Array {
    const n = tokens.length;
    if (n === 0) throw new RequestError('forward() needs at least one token');
    const start = cache.length;
    if (start + n > this.contextSize)
      throw new RequestError(`sequence of ${start + n} tokens exceeds the context size of ${this.contextSize}`);
    for (let i = 0; i < n; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize)
        throw new RequestError(`token id ${id} is outside the vocabulary (0..${this.config.vocabSize - 1})`);
    }
    const set = chooseFactorSet(this.config, this.ropeMode, start + n - 1, this.contextSize);
    if (set !== cache.factorSet && start > 0) {
      // LongRoPE switched factor sets: cached keys were rotated with the other set. Recompute all of it,
      // as Hugging Face does when a generation crosses original_max_position_embeddings.
      const all = [...cache.tokens, ...Array.from(tokens)];
      cache.truncate(0);
      cache.factorSet = set;
      const logits = this.run(all, cache, opts.allLogits === true);
      return opts.allLogits ? logits.subarray(start * this.config.vocabSize) : logits;
    }
    cache.factorSet = set;
    return this.run(Array.from(tokens), cache, opts.allLogits === true);
  }

  private run(tokens: number[], cache: KVCache, allLogits: boolean): Float32Array {
    const c = this.config;
    const be = this.backend;
    const n = tokens.length;
    const start = cache.length;
    const h = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const qkvDim = qDim + 2 * kvDim;
    const ff = c.intermediateSize;
    cache.reserve(start + n);

    const x = new Float32Array(n * h); // residual stream
    const xb = new Float32Array(n * h); // normed input of a sub-block
    const qkv = new Float32Array(n * qkvDim);
    const att = new Float32Array(n * qDim);
    const proj = new Float32Array(n * h); // output of o / down projections
    const gateUp = new Float32Array(n * 2 * ff);
    const hidden = new Float32Array(n * ff);
    const angles = ropeAngles(c, cache.factorSet, start, n);

    be.embed(x, this.weights.tokenEmbd, tokens);
    for (let l = 0; l < c.numLayers; l++) {
      const w = this.weights.layers[l];
      const kv = cache.layers[l];
      // --- attention ---
      be.rmsnorm(xb, x, w.attnNorm, c.rmsNormEps, n, h);
      be.matmul(qkv, xb, w.qkv, n);
      be.rope(qkv, n, qkvDim, 0, c.numHeads, c.headDim, angles); // q
      be.rope(qkv, n, qkvDim, qDim, c.numKvHeads, c.headDim, angles); // k
      be.storeKV(kv, qkv, qkvDim, qDim, n, start, kvDim); // cache K and V of the new positions
      be.attention(att, qkv, qkvDim, kv, {
        nTokens: n,
        startPos: start,
        numHeads: c.numHeads,
        numKvHeads: c.numKvHeads,
        headDim: c.headDim,
        scale: 1 / Math.sqrt(c.headDim),
        window: this.window,
      });
      be.matmul(proj, att, w.o, n);
      be.add(x, proj, x.length);
      // --- MLP ---
      be.rmsnorm(xb, x, w.ffnNorm, c.rmsNormEps, n, h);
      be.matmul(gateUp, xb, w.gateUp, n);
      be.swiglu(hidden, gateUp, n, ff);
      be.matmul(proj, hidden, w.down, n);
      be.add(x, proj, x.length);
    }
    for (const t of tokens) cache.tokens.push(t);

    // Only the rows whose logits are wanted go through the (vocab-sized) output projection.
    const rows = allLogits ? n : 1;
    const last = x.subarray((n - rows) * h);
    const normed = new Float32Array(rows * h);
    be.rmsnorm(normed, last, this.weights.outputNorm, c.rmsNormEps, rows, h);
    const logits = new Float32Array(rows * c.vocabSize);
    be.matmul(logits, normed, this.weights.output, rows);
    return logits;
  }
}
