// The KV cache of one sequence: per layer, the keys and values of every position seen so far (f32),
// plus the token ids that produced them, so a caller can reuse a shared prefix (multi-turn chat) and
// the model can recompute everything when LongRoPE switches factor sets. Storage grows by doubling,
// so a 128K-context model costs only what the conversation uses.
import type { Backend, KVLayer } from '../backend/backend.js';

/** Where a cache keeps its floats: a backend's memory (WASM) or, by default, the JS heap. */
export interface KVMemory {
  alloc(floats: number): Float32Array;
  free(a: Float32Array): void;
  /** dst.set(src), for a backend whose arrays live elsewhere (WebGPU: the cache is on the GPU). */
  copy?(dst: Float32Array, src: Float32Array): void;
}

// A dropped cache's backend memory is given back when its arrays are collected.
const collected = new FinalizationRegistry<() => void>((release) => release());

/** The backend's own memory for caches, when it has one. */
export function kvMemory(backend: Backend): KVMemory | undefined {
  const allocate = backend.allocate;
  if (!allocate) {
    const copy = backend.copy?.bind(backend);
    return copy && { alloc: (floats) => backend.zeros?.(floats) ?? new Float32Array(floats), free: () => {}, copy };
  }
  return {
    alloc: (floats) => {
      const u8 = allocate(floats * 4);
      const a = new Float32Array(u8.buffer, u8.byteOffset, floats);
      collected.register(a, () => backend.release?.(u8), a);
      return a;
    },
    free: (a) => {
      collected.unregister(a);
      backend.release?.(a);
    },
  };
}
import type { RopeFactorSet } from './rope.js';

export class KVCache {
  readonly layers: KVLayer[] = [];
  /** Token ids at positions 0..length−1. */
  tokens: number[] = [];
  /** The RoPE factor set the cached keys were rotated with. */
  factorSet: RopeFactorSet = 'short';
  private capacity = 0;

  constructor(
    readonly numLayers: number,
    /** numKvHeads · headDim */
    readonly kvDim: number,
    /** Hard limit: the context size of this sequence. */
    readonly maxPositions: number,
    private readonly memory?: KVMemory,
  ) {
    for (let l = 0; l < numLayers; l++) this.layers.push({ k: new Float32Array(0), v: new Float32Array(0) });
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Makes room for `positions` positions in total (never beyond maxPositions). */
  reserve(positions: number): void {
    if (positions <= this.capacity) return;
    const cap = Math.min(this.maxPositions, Math.max(positions, 2 * this.capacity, 64));
    for (const layer of this.layers) {
      const k = this.memory ? this.memory.alloc(cap * this.kvDim) : new Float32Array(cap * this.kvDim);
      const v = this.memory ? this.memory.alloc(cap * this.kvDim) : new Float32Array(cap * this.kvDim);
      if (this.memory?.copy) {
        this.memory.copy(k, layer.k);
        this.memory.copy(v, layer.v);
      } else {
        k.set(layer.k);
        v.set(layer.v);
      }
      if (this.memory && layer.k.length) {
        this.memory.free(layer.k);
        this.memory.free(layer.v);
      }
      layer.k = k;
      layer.v = v;
    }
    this.capacity = cap;
  }

  /** Forgets positions ≥ n (the stored values there are simply overwritten later). */
  truncate(n: number): void {
    this.tokens.length = Math.min(n, this.tokens.length);
  }

  /** Bytes held by the cache now. */
  get bytes(): number {
    return this.capacity * this.kvDim * 4 * 2 * this.numLayers;
  }
}
