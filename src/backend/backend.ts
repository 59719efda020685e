// The backend interface: the heavy operations of a transformer forward pass, nothing model-specific.
// The model (src/model/phi3.ts) calls only these; a backend (plain TypeScript reference, WASM SIMD,
// WebGPU) implements them. Every fast backend is tested op by op against `ref/`.
//
// Conventions: activations are row-major Float32Arrays of `nTokens` rows; a weight Tensor has ggml
// dims [cols, rows] and may be quantized (the backend dequantizes per block inside its kernel).
import type { BlockSparseLayout } from '../model/blocksparse.js';
import type { Tensor } from '../model/tensor.js';

/** Precomputed RoPE angles for one forward call: cos/sin[pos_index][rotaryDim/2], already scaled. */
export interface RopeAngles {
  cos: Float32Array;
  sin: Float32Array;
  /** rotaryDim / 2 */
  half: number;
}

/** One layer's cached keys and values: row p holds position p, numKvHeads·headDim floats. */
export interface KVLayer {
  k: Float32Array;
  v: Float32Array;
}

export interface AttentionShape {
  nTokens: number;
  /** Position of the first query token; query t attends to positions 0..startPos+t. */
  startPos: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Multiplier on q·k (1/sqrt(headDim) for Phi-3). */
  scale: number;
  /** Attend only to the last `window` positions (query included); 0 = full causal attention. */
  window: number;
}

export interface Backend {
  readonly name: string;
  /** y[t, r] = Σ_c W[r, c] · x[t, c] for t < nTokens. W dims [cols, rows]; y has nTokens·rows floats. */
  matmul(y: Float32Array, x: Float32Array, w: Tensor, nTokens: number): void;
  /** Row t of y = embedding row ids[t] of the table (dims [hidden, vocab]), dequantized. */
  embed(y: Float32Array, table: Tensor, ids: ArrayLike<number>): void;
  /** y = x / sqrt(mean(x²) + eps) · weight, per row of `dim` floats. */
  rmsnorm(y: Float32Array, x: Float32Array, weight: Float32Array, eps: number, nTokens: number, dim: number): void;
  /**
   * In-place NeoX (rotate-half) RoPE on `nHeads` heads of each of nTokens rows of x, where head h of row t
   * starts at t·rowStride + offset + h·headDim. Pairs are (i, i + half) of the first rotaryDim dims.
   */
  rope(x: Float32Array, nTokens: number, rowStride: number, offset: number, nHeads: number, headDim: number, angles: RopeAngles): void;
  /** out[t, h·headDim..] = softmax(scale · q·Kᵀ) · V over the cached positions, causally masked. */
  attention(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, shape: AttentionShape): void;
  /** out[t, i] = silu(gu[t, i]) · gu[t, ff + i]: SwiGLU on the fused gate|up rows (gate first). */
  swiglu(out: Float32Array, gateUp: Float32Array, nTokens: number, ff: number): void;

  // --- Data movement, as ops so that a backend whose arrays live elsewhere (WebGPU) keeps them there. ---
  /** y[i] += x[i] for i < n (the residual connection). */
  add(y: Float32Array, x: Float32Array, n: number): void;
  /**
   * Stores the K and V rows of nTokens fused rows into the cache at positions startPos..: for row t,
   * K = src[t·srcRowStride + srcOffset ..+kvDim] and V follows it directly.
   */
  storeKV(kv: KVLayer, src: Float32Array, srcRowStride: number, srcOffset: number, nTokens: number, startPos: number, kvDim: number): void;
  /** dst.set(src) for whole arrays (KVCache growth). */
  copy?(dst: Float32Array, src: Float32Array): void;
  /** A zero-filled array that lives with the backend (WebGPU: on the GPU, never uploaded): KV-cache storage. */
  zeros?(floats: number): Float32Array;
  /**
   * Present on asynchronous backends (WebGPU), whose ops only record work: runs it and makes `outputs`
   * readable on the CPU. Callers use the model's forwardAsync(), which calls it.
   */
  sync?(outputs: Float32Array[]): Promise<void>;

  /**
   * Optional: memory the backend's kernels read in place (WASM linear memory). Loaders read weights into
   * it and the KV cache lives in it; release() gives it back. Absent = ordinary JS memory.
   */
  readonly allocate?: (bytes: number) => Uint8Array;
  release?(view: ArrayBufferView): void;

  // --- Phi-3-small ops. Optional: the model falls back to ref/small.ts for any a backend lacks. ---
  /** y = (x − mean) / sqrt(var + eps) · weight + bias per row of `dim` floats (biased variance). */
  layernorm?(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array, eps: number, nTokens: number, dim: number): void;
  /** y[t, i] += bias[i] for each of nTokens rows of `dim` floats. */
  addBias?(y: Float32Array, bias: Float32Array, nTokens: number, dim: number): void;
  /**
   * GeGeLU on interleaved columns: a = x[t, 2i] (gelu), b = x[t, 2i+1] (linear); with limit > 0,
   * a = min(a, limit), b = clamp(b, −limit, limit) (±inf kept); out[t, i] = a·σ(1.702a) · (b + 1).
   */
  gegelu?(out: Float32Array, x: Float32Array, nTokens: number, ff: number, limit: number): void;
  /**
   * attention() restricted to a blocksparse layout: query head h at position p reads only the key blocks
   * keyBlocks(layout, h, floor(p / blockSize)), causally. Must visit only those blocks (cost ∝ layout).
   */
  blocksparseAttention?(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, shape: AttentionShape, layout: BlockSparseLayout): void;
}
