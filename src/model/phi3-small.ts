// The Phi-3-small forward pass (Phi3SmallForCausalLM, FACTS.md §4), top to bottom, in the order the math
// happens. Heavy operations go through the Backend interface; Phi-3-small's own ops (layernorm, bias,
// gegelu, blocksparse attention) are optional there, and this file falls back to ref/small.ts for any a
// backend lacks.
//
//   x = embed(tokens) · mup_embedding_multiplier
//   for each layer i:
//     a = layernorm(x) ;  qkv = a · Wqkv + b  (grouped per kv head: [q…q, k, v]) ;  rope(q, k) ;  cache k, v
//     o = (i+1) % n == 0 ? attention(q, K, V) : blocksparse_attention(q, K, V)   (scale mup_attn/head_dim)
//     x += o · Wdense + b
//     m = layernorm(x) ;  u = m · Wup + b ;  x += gegelu(u) · Wdown + b   (even cols gelu, odd linear)
//   logits = layernorm(x) · Embᵀ / mup_width_multiplier ;  logits[dummy ids] = −inf
//
// Tested by test/phi3-small.test.ts against Microsoft's original code on ../shared/reference/tiny-small.
import type { Backend, RopeAngles } from '../backend/backend.js';
import * as ref from '../backend/ref/small.js';
import { RequestError } from '../errors.js';
import { buildLayout, type BlockSparseLayout } from './blocksparse.js';
import { isDenseLayer, type Phi3SmallConfig } from './config-small.js';
import { KVCache, kvMemory } from './kv-cache.js';
import type { ForwardOptions, ModelOptions } from './phi3.js';
import type { RopeFactorMode, RopeFactorSet } from './rope.js';
import type { Phi3SmallWeights } from './weights-small.js';

/**
 * cos/sin for positions startPos..startPos+n−1 (positional_embedding.py): θ = p · position_scale ·
 * base^(−2i/d) / factor[i]. LongRoPE (128K): short mscale = short_mscale or 1; long mscale = long_mscale
 * or sqrt(1 + ln(max/orig) / ln(orig)).
 */
export function smallRopeAngles(c: Phi3SmallConfig, set: RopeFactorSet, startPos: number, n: number): RopeAngles {
  const half = c.headDim / 2;
  const rs = c.ropeScaling;
  const factors = rs ? (set === 'long' ? rs.longFactor : rs.shortFactor) : null;
  let mscale = 1;
  if (rs && set === 'short' && rs.shortMscale > 0) mscale = rs.shortMscale;
  if (rs && set === 'long') {
    const s = c.contextLength / c.originalContextLength;
    mscale = rs.longMscale > 0 ? rs.longMscale : s <= 1 ? 1 : Math.sqrt(1 + Math.log(s) / Math.log(c.originalContextLength));
  }
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.pow(c.ropeTheta, (-2 * i) / c.headDim) / (factors ? factors[i] : 1);
    for (let t = 0; t < n; t++) {
      const theta = (startPos + t) * c.ropePositionScale * inv;
      cos[t * half + i] = Math.cos(theta) * mscale;
      sin[t * half + i] = Math.sin(theta) * mscale;
    }
  }
  return { cos, sin, half };
}

/** Most tokens one forward step runs at once (llama.cpp's micro-batch is 512). */
export const PREFILL_CHUNK = 128;

export class Phi3SmallModel {
  readonly contextSize: number;
  readonly ropeMode: RopeFactorMode;
  /** Built once for the model's maximum context, as the original code does. */
  readonly layout: BlockSparseLayout;

  constructor(
    readonly config: Phi3SmallConfig,
    readonly weights: Phi3SmallWeights,
    readonly backend: Backend,
    opts: ModelOptions = {},
  ) {
    this.contextSize = Math.min(opts.contextSize ?? config.contextLength, config.contextLength);
    this.ropeMode = opts.ropeFactors ?? 'dynamic';
    this.layout = buildLayout({ ...config }, config.contextLength);
  }

  newCache(): KVCache {
    const c = this.config;
    // in the backend's memory when it has one (WASM), so attention kernels read the cache in place
    return new KVCache(c.numLayers, c.numKvHeads * c.headDim, this.contextSize, kvMemory(this.backend));
  }

  /** Which RoPE set a call ending at position maxPos uses (long iff k_len > original, in 'dynamic'). */
  private factorSet(maxPos: number): RopeFactorSet {
    const c = this.config;
    if (!c.ropeScaling) return 'short';
    if (this.ropeMode === 'short' || this.ropeMode === 'long') return this.ropeMode;
    if (this.ropeMode === 'context') return this.contextSize > c.originalContextLength ? 'long' : 'short';
    return maxPos + 1 > c.originalContextLength ? 'long' : 'short';
  }

  /** Runs `tokens` after the positions in `cache`, appends them, returns the last (or every) logits row. */
  /** Phi-3-small runs on synchronous backends only (it mixes backend ops with JS math on the arrays). */
  async forwardAsync(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Promise<Float32Array> {
    return this.forward(tokens, cache, opts);
  }

  forward(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Float32Array {
    if (this.backend.sync) throw new RequestError(`Phi-3-small does not run on the asynchronous ${this.backend.name} backend; use wasm or ref`);
    const n = tokens.length;
    const V = this.config.vocabSize;
    if (n === 0) throw new RequestError('forward() needs at least one token');
    const start = cache.length;
    if (start + n > this.contextSize)
      throw new RequestError(`sequence of ${start + n} tokens exceeds the context size of ${this.contextSize}`);
    for (let i = 0; i < n; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RequestError(`token id ${id} is outside the vocabulary (0..${V - 1})`);
    }
    const set = this.factorSet(start + n - 1);
    if (set !== cache.factorSet && start > 0) {
      // LongRoPE switched sets: the cached keys were rotated with the other one, so recompute them all.
      const all = [...cache.tokens, ...Array.from(tokens)];
      cache.truncate(0);
      cache.factorSet = set;
      const logits = this.run(all, cache, opts.allLogits === true);
      return opts.allLogits ? logits.subarray(start * V) : logits;
    }
    cache.factorSet = set;
    return this.run(Array.from(tokens), cache, opts.allLogits === true);
  }

  /**
   * A prompt runs in chunks of PREFILL_CHUNK tokens (each attends to the cache the earlier ones filled):
   * the activations of one chunk are what must fit beside the weights in each WASM memory (a 7B model
   * leaves 256 MiB there), whatever the prompt's length. Only the rows of logits asked for are computed.
   */
  private run(tokens: number[], cache: KVCache, allLogits: boolean): Float32Array {
    if (tokens.length <= PREFILL_CHUNK) return this.runChunk(tokens, cache, allLogits ? tokens.length : 1);
    const V = this.config.vocabSize;
    const all = allLogits ? new Float32Array(tokens.length * V) : undefined;
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < tokens.length; i += PREFILL_CHUNK) {
      const part = tokens.slice(i, i + PREFILL_CHUNK);
      const rows = allLogits ? part.length : i + PREFILL_CHUNK >= tokens.length ? 1 : 0;
      last = this.runChunk(part, cache, rows);
      all?.set(last, i * V);
    }
    return all ?? last;
  }

  /** Runs one chunk; returns the logits of its last `rows` tokens (0: none). */
  private runChunk(tokens: number[], cache: KVCache, rows: number): Float32Array {
    const c = this.config;
    const be = this.backend;
    // bound: a backend's methods use its own state (the WASM backend's memories)
    const layernorm = be.layernorm?.bind(be) ?? ref.layernorm;
    const addBias = be.addBias?.bind(be) ?? ref.addBias;
    const gegelu = be.gegelu?.bind(be) ?? ref.gegelu;
    const sparse = be.blocksparseAttention?.bind(be) ?? ref.blocksparseAttention;
    const n = tokens.length;
    const start = cache.length;
    const h = c.hiddenSize;
    const d = c.headDim;
    const G = c.numHeads / c.numKvHeads; // query heads per kv head
    const qDim = c.numHeads * d;
    const kvDim = c.numKvHeads * d;
    const qkvDim = qDim + 2 * kvDim;
    const ff = c.intermediateSize;
    cache.reserve(start + n);

    const x = new Float32Array(n * h); // residual stream
    const xb = new Float32Array(n * h); // normed input of a sub-block
    const qkv = new Float32Array(n * qkvDim);
    const q = new Float32Array(n * qDim);
    const k = new Float32Array(n * kvDim);
    const att = new Float32Array(n * qDim);
    const proj = new Float32Array(n * h);
    const up = new Float32Array(n * 2 * ff);
    const hidden = new Float32Array(n * ff);
    const angles = smallRopeAngles(c, cache.factorSet, start, n);
    const shape = {
      nTokens: n,
      startPos: start,
      numHeads: c.numHeads,
      numKvHeads: c.numKvHeads,
      headDim: d,
      // muP: 1/norm_factor with norm_factor = head_dim / mup_attn_multiplier (not sqrt(head_dim)).
      scale: c.mupUseScaling ? c.mupAttnMultiplier / d : 1 / Math.sqrt(d),
      window: 0,
    };

    be.embed(x, this.weights.tokenEmbd, tokens);
    if (c.mupEmbeddingMultiplier > 0) for (let i = 0; i < x.length; i++) x[i] *= c.mupEmbeddingMultiplier;
    for (let l = 0; l < c.numLayers; l++) {
      const w = this.weights.layers[l];
      const kv = cache.layers[l];
      // --- attention ---
      layernorm(xb, x, w.attnNormW, w.attnNormB, c.layerNormEps, n, h);
      be.matmul(qkv, xb, w.qkv, n);
      addBias(qkv, w.qkvB, n, qkvDim);
      // Ungroup [q_{gG}…q_{gG+G−1}, k_g, v_g] per kv head g into q rows, k rows, and v straight into the cache.
      for (let t = 0; t < n; t++) {
        const row = t * qkvDim;
        for (let g = 0; g < c.numKvHeads; g++) {
          const grp = row + g * (G + 2) * d;
          q.set(qkv.subarray(grp, grp + G * d), t * qDim + g * G * d);
          k.set(qkv.subarray(grp + G * d, grp + (G + 1) * d), t * kvDim + g * d);
          kv.v.set(qkv.subarray(grp + (G + 1) * d, grp + (G + 2) * d), (start + t) * kvDim + g * d);
        }
      }
      be.rope(q, n, qDim, 0, c.numHeads, d, angles);
      be.rope(k, n, kvDim, 0, c.numKvHeads, d, angles);
      kv.k.set(k, start * kvDim);
      if (isDenseLayer(c, l)) be.attention(att, q, qDim, kv, shape);
      else sparse(att, q, qDim, kv, shape, this.layout);
      be.matmul(proj, att, w.o, n);
      addBias(proj, w.oB, n, h);
      for (let i = 0; i < x.length; i++) x[i] += proj[i];
      // --- MLP ---
      layernorm(xb, x, w.ffnNormW, w.ffnNormB, c.layerNormEps, n, h);
      be.matmul(up, xb, w.up, n);
      addBias(up, w.upB, n, 2 * ff);
      gegelu(hidden, up, n, ff, c.gegeluLimit);
      be.matmul(proj, hidden, w.down, n);
      addBias(proj, w.downB, n, h);
      for (let i = 0; i < x.length; i++) x[i] += proj[i];
    }
    for (const t of tokens) cache.tokens.push(t);

    // Only the rows whose logits are wanted go through the (vocab-sized) tied head.
    if (rows === 0) return new Float32Array(0);
    const normed = new Float32Array(rows * h);
    layernorm(normed, x.subarray((n - rows) * h), this.weights.outputNormW, this.weights.outputNormB, c.layerNormEps, rows, h);
    const V = c.vocabSize;
    const logits = new Float32Array(rows * V);
    be.matmul(logits, normed, this.weights.output, rows);
    for (let i = 0; i < logits.length; i++) logits[i] /= c.mupWidthMultiplier;
    for (let r = 0; r < rows; r++) for (const id of c.dummyTokenIds) logits[r * V + id] = -Infinity;
    return logits;
  }
}
