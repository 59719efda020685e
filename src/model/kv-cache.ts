// The KV cache of one sequence: per layer, the keys and values of every position seen so far (f32),
// plus the token ids that produced them, so a caller can reuse a shared prefix (multi-turn chat) and
// the model can recompute everything when LongRoPE switches factor sets. Storage grows by doubling,
// so a 128K-context model costs only what the conversation uses.
import type { KVLayer } from '../backend/backend.js';
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
      const k = new Float32Array(cap * this.kvDim);
      const v = new Float32Array(cap * this.kvDim);
      k.set(layer.k);
      v.set(layer.v);
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
