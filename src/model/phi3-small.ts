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
//
// On an asynchronous backend (WebGPU) the activations live on the GPU, so no JS code may touch them
// between ops: there the fused qkv weights are regrouped once to [q…, k…, v…] rows (a row permutation,
// the same numbers), so RoPE, storeKV and attention work on the fused rows in place, as in phi3.ts;
// the residual adds are backend ops, and the muP logit scale and −inf dummy ids are applied after sync.
// Tested by test/webgpu.test.ts on the same reference model.
import type { Backend, RopeAngles } from '../backend/backend.js';
import * as ref from '../backend/ref/small.js';
import { Phi3Error, RequestError } from '../errors.js';
import { typeInfo } from '../quant/types.js';
import { buildLayout, type BlockSparseLayout } from './blocksparse.js';
import { isDenseLayer, type Phi3SmallConfig } from './config-small.js';
import { KVCache, kvMemory } from './kv-cache.js';
import type { ForwardOptions, ModelOptions } from './phi3.js';
import type { RopeFactorMode, RopeFactorSet } from './rope.js';
import type { Tensor } from './tensor.js';
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
  /** Asynchronous backends only: each layer's qkv weights and bias with rows regrouped to [q…, k…, v…]. */
  private readonly fused?: { qkv: Tensor; qkvB: Float32Array }[];

  constructor(
    readonly config: Phi3SmallConfig,
    readonly weights: Phi3SmallWeights,
    readonly backend: Backend,
    opts: ModelOptions = {},
  ) {
    this.contextSize = Math.min(opts.contextSize ?? config.contextLength, config.contextLength);
    this.ropeMode = opts.ropeFactors ?? 'dynamic';
    this.layout = buildLayout({ ...config }, config.contextLength);
    if (backend.sync) {
      const missing = (['layernorm', 'addBias', 'gegelu', 'blocksparseAttention'] as const).filter((op) => !backend[op]);
      if (missing.length) throw new Phi3Error(`Phi-3-small needs the ${missing.join(', ')} ops on the asynchronous ${backend.name} backend`);
      const order = ungroupedRows(config);
      this.fused = weights.layers.map((w) => ({ qkv: permuteRows(w.qkv, order), qkvB: Float32Array.from(order, (r) => w.qkvB[r]) }));
    }
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

  /**
   * forward() for every backend: on an asynchronous one (WebGPU), runs each chunk's recorded work and
   * reads its logits back (one chunk's activations on the GPU at a time).
   */
  async forwardAsync(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Promise<Float32Array> {
    const sync = this.backend.sync?.bind(this.backend);
    if (!sync) return this.forward(tokens, cache, opts);
    const { all, skip } = this.prepare(tokens, cache);
    const V = this.config.vocabSize;
    const out = opts.allLogits ? new Float32Array(all.length * V) : undefined;
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < all.length; i += PREFILL_CHUNK) {
      const part = all.slice(i, i + PREFILL_CHUNK);
      const rows = out ? part.length : i + PREFILL_CHUNK >= all.length ? 1 : 0;
      last = this.runChunk(part, cache, rows);
      await sync([last]);
      this.finishLogits(last, rows);
      out?.set(last, i * V);
    }
    return out ? out.subarray(skip * V) : last;
  }

  /** Runs `tokens` after the positions in `cache`, appends them, returns the last (or every) logits row. */
  forward(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Float32Array {
    if (this.backend.sync) throw new RequestError(`the ${this.backend.name} backend computes asynchronously: use forwardAsync() (or the generate/chat API)`);
    const { all, skip } = this.prepare(tokens, cache);
    const logits = this.run(all, cache, opts.allLogits === true);
    return opts.allLogits ? logits.subarray(skip * this.config.vocabSize) : logits;
  }

  /**
   * Checks the request and picks the RoPE set; returns the tokens to run (all of the cache's too when
   * LongRoPE switched sets: the cached keys were rotated with the other one) and how many of them were
   * already cached.
   */
  private prepare(tokens: ArrayLike<number>, cache: KVCache): { all: number[]; skip: number } {
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
      const all = [...cache.tokens, ...Array.from(tokens)];
      cache.truncate(0);
      cache.factorSet = set;
      return { all, skip: start };
    }
    cache.factorSet = set;
    return { all: Array.from(tokens), skip: 0 };
  }

  /** The muP output scale and the dummy (padding) ids, on the CPU once the logits are there. */
  private finishLogits(logits: Float32Array, rows: number): void {
    const c = this.config;
    const V = c.vocabSize;
    for (let i = 0; i < logits.length; i++) logits[i] /= c.mupWidthMultiplier;
    for (let r = 0; r < rows; r++) for (const id of c.dummyTokenIds) logits[r * V + id] = -Infinity;
  }

  /**
   * A prompt runs in chunks of PREFILL_CHUNK tokens (each attends to the cache the earlier ones filled):
   * the activations of one chunk are what must fit beside the weights in each WASM memory (a 7B model
   * leaves 256 MiB there), whatever the prompt's length. Only the rows of logits asked for are computed.
   */
  private run(tokens: number[], cache: KVCache, allLogits: boolean): Float32Array {
    if (tokens.length <= PREFILL_CHUNK) {
      const rows = allLogits ? tokens.length : 1;
      const logits = this.runChunk(tokens, cache, rows);
      this.finishLogits(logits, rows);
      return logits;
    }
    const V = this.config.vocabSize;
    const all = allLogits ? new Float32Array(tokens.length * V) : undefined;
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < tokens.length; i += PREFILL_CHUNK) {
      const part = tokens.slice(i, i + PREFILL_CHUNK);
      const rows = allLogits ? part.length : i + PREFILL_CHUNK >= tokens.length ? 1 : 0;
      last = this.runChunk(part, cache, rows);
      this.finishLogits(last, rows);
      all?.set(last, i * V);
    }
    return all ?? last;
  }

  /** Runs one chunk; returns the logits of its last `rows` tokens (0: none), before finishLogits(). */
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

    // the residual connection: a backend op where arrays live on the GPU
    const residual = this.fused ? (y: Float32Array, a: Float32Array) => be.add(y, a, y.length) : (y: Float32Array, a: Float32Array) => {
      for (let i = 0; i < y.length; i++) y[i] += a[i];
    };

    // embed() fills x on the CPU on every backend (WebGPU uploads it at the first op that reads it)
    be.embed(x, this.weights.tokenEmbd, tokens);
    if (c.mupEmbeddingMultiplier > 0) for (let i = 0; i < x.length; i++) x[i] *= c.mupEmbeddingMultiplier;
    for (let l = 0; l < c.numLayers; l++) {
      const w = this.weights.layers[l];
      const kv = cache.layers[l];
      // --- attention ---
      layernorm(xb, x, w.attnNormW, w.attnNormB, c.layerNormEps, n, h);
      if (this.fused) {
        // rows [q…, k…, v…]: RoPE in place, K and V into the cache, attention reads q from the fused rows
        be.matmul(qkv, xb, this.fused[l].qkv, n);
        addBias(qkv, this.fused[l].qkvB, n, qkvDim);
        be.rope(qkv, n, qkvDim, 0, c.numHeads, d, angles);
        be.rope(qkv, n, qkvDim, qDim, c.numKvHeads, d, angles);
        be.storeKV(kv, qkv, qkvDim, qDim, n, start, kvDim);
        if (isDenseLayer(c, l)) be.attention(att, qkv, qkvDim, kv, shape);
        else sparse(att, qkv, qkvDim, kv, shape, this.layout);
      } else {
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
      }
      be.matmul(proj, att, w.o, n);
      addBias(proj, w.oB, n, h);
      residual(x, proj);
      // --- MLP ---
      layernorm(xb, x, w.ffnNormW, w.ffnNormB, c.layerNormEps, n, h);
      be.matmul(up, xb, w.up, n);
      addBias(up, w.upB, n, 2 * ff);
      gegelu(hidden, up, n, ff, c.gegeluLimit);
      be.matmul(proj, hidden, w.down, n);
      addBias(proj, w.downB, n, h);
      residual(x, proj);
    }
    for (const t of tokens) cache.tokens.push(t);

    // Only the rows whose logits are wanted go through the (vocab-sized) tied head.
    if (rows === 0) return new Float32Array(0);
    const normed = new Float32Array(rows * h);
    layernorm(normed, x.subarray((n - rows) * h), this.weights.outputNormW, this.weights.outputNormB, c.layerNormEps, rows, h);
    const V = c.vocabSize;
    const logits = new Float32Array(rows * V);
    be.matmul(logits, normed, this.weights.output, rows);
    return logits;
  }
}

/** For each row of [q…, k…, v…], its row in the checkpoint's per-kv-head groups [q_{gG}…q_{gG+G−1}, k_g, v_g]. */
function ungroupedRows(c: Phi3SmallConfig): Int32Array {
  const d = c.headDim;
  const G = c.numHeads / c.numKvHeads;
  const order = new Int32Array((c.numHeads + 2 * c.numKvHeads) * d);
  let r = 0;
  for (let h = 0; h < c.numHeads; h++) for (let i = 0; i < d; i++) order[r++] = Math.floor(h / G) * (G + 2) * d + (h % G) * d + i;
  for (const j of [G, G + 1]) for (let g = 0; g < c.numKvHeads; g++) for (let i = 0; i < d; i++) order[r++] = g * (G + 2) * d + j * d + i;
  return order;
}

/** A copy of weight matrix t with row r taken from row order[r] (whole rows of quantized blocks). */
function permuteRows(t: Tensor, order: Int32Array): Tensor {
  const info = typeInfo(t.type);
  if (!info) throw new Phi3Error(`tensor ${t.name}: unknown type ${t.type}`);
  const rowBytes = (t.dims[0] / info.blockSize) * info.typeSize;
  const data = new Uint8Array(order.length * rowBytes);
  order.forEach((src, r) => data.set(t.data.subarray(src * rowBytes, (src + 1) * rowBytes), r * rowBytes));
  return { ...t, data };
}
