// The one model interface the rest of the engine (Phi3, Session, generate, server, eval) codes against,
// so Phi-3 (mini/medium/3.5, model/phi3.ts) and Phi-3-small (model/phi3-small.ts) are interchangeable.
// ModelConfig is either config; the fields both share (sizes, context, special ids) mean the same thing.
import type { Backend } from '../backend/backend.js';
import type { Phi3SmallConfig } from './config-small.js';
import type { Phi3Config } from './config.js';
import type { KVCache } from './kv-cache.js';
import type { ForwardOptions } from './phi3.js';
import type { RopeFactorMode } from './rope.js';

export type ModelConfig = Phi3Config | Phi3SmallConfig;

export interface CausalLM {
  readonly config: ModelConfig;
  /** Longest sequence a cache of this model may hold. */
  readonly contextSize: number;
  readonly ropeMode: RopeFactorMode;
  readonly backend: Backend;
  newCache(): KVCache;
  /** Runs `tokens` after the cache's positions, appends them, returns the last (or every) logits row. */
  forward(tokens: ArrayLike<number>, cache: KVCache, opts?: ForwardOptions): Float32Array;
  /** forward() that also works on asynchronous backends (WebGPU): resolves once the logits are read back. */
  forwardAsync(tokens: ArrayLike<number>, cache: KVCache, opts?: ForwardOptions): Promise<Float32Array>;
}
