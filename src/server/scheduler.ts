// Who computes when. The server holds `cacheSlots` KV caches (one per sequence, kept between requests so
// a follow-up turn reuses its conversation's prefix) and lets at most `parallel` sequences run at once;
// later requests wait in a bounded FIFO queue (full → 503 with Retry-After). Running sequences take
// turns on the one compute thread through a FIFO turn queue: each turn is one step (a prefill chunk or
// one token), then the sequence goes to the back, so N sequences advance token by token, fairly.
//
// Contract: acquire() → Lease; the holder calls turn()/endTurn() around every step and release() once.
// A request whose client leaves while queued is dropped from the queue at once.
import type { KVCache } from '../model/kv-cache.js';
import { ApiError, overloaded } from './api-error.js';

export interface SchedulerOptions {
  /** Sequences decoding at once (≥ 1). */
  parallel: number;
  /** Requests allowed to wait for a slot; beyond that, 503. */
  maxQueue: number;
  /** KV caches kept for prefix reuse (≥ parallel; default parallel). */
  cacheSlots?: number;
}

interface Slot {
  cache: KVCache;
  busy: boolean;
  lastUsed: number;
}

interface Waiter {
  prompt: readonly number[];
  resolve: (lease: Lease) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** FIFO mutex: whoever asked first computes next. */
class TurnQueue {
  private busy = false;
  private readonly queue: (() => void)[] = [];

  take(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  give(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.busy = false;
  }
}

export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

export class Lease {
  private released = false;
  private inTurn = false;

  constructor(
    readonly cache: KVCache,
    private readonly scheduler: Scheduler,
    private readonly slot: Slot,
    /** Prompt tokens this cache already held when the lease was granted. */
    readonly reusable: number,
  ) {}

  async turn(): Promise<void> {
    await this.scheduler.turns.take();
    this.inTurn = true;
  }

  endTurn(): void {
    if (!this.inTurn) return;
    this.inTurn = false;
    this.scheduler.turns.give();
  }

  release(): void {
    if (this.released) return;
    this.endTurn();
    this.released = true;
    this.scheduler.releaseSlot(this.slot);
  }
}

export class Scheduler {
  readonly parallel: number;
  readonly maxQueue: number;
  readonly cacheSlots: number;
  /** @internal shared with leases */
  readonly turns = new TurnQueue();
  private readonly slots: Slot[] = [];
  private readonly waiting: Waiter[] = [];
  private active = 0;
  private closed = false;
  /** Moving average of how long a lease is held, for Retry-After. */
  private avgHoldMs = 2000;
  private readonly grantedAt = new WeakMap<Slot, number>();

  constructor(
    private readonly newCache: () => KVCache,
    opts: SchedulerOptions,
  ) {
    if (!Number.isInteger(opts.parallel) || opts.parallel < 1) throw new RangeError('parallel must be an integer ≥ 1');
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new RangeError('maxQueue must be an integer ≥ 0');
    this.parallel = opts.parallel;
    this.maxQueue = opts.maxQueue;
    this.cacheSlots = Math.max(opts.parallel, opts.cacheSlots ?? opts.parallel);
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Bytes held by all KV caches. */
  get cacheBytes(): number {
    return this.slots.reduce((n, s) => n + s.cache.bytes, 0);
  }

  /** Seconds a client should wait before retrying, from the queue length and typical hold time. */
  retryAfter(): number {
    const ahead = this.waiting.length + 1;
    return Math.min(60, Math.max(1, Math.ceil((ahead * this.avgHoldMs) / this.parallel / 1000)));
  }

  acquire(prompt: readonly number[], signal?: AbortSignal): Promise<Lease> {
    if (this.closed) return Promise.reject(new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down'));
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.active < this.parallel && this.waiting.length === 0) return Promise.resolve(this.grant(prompt));
    if (this.waiting.length >= this.maxQueue)
      return Promise.reject(
        overloaded(`the server is busy: ${this.active} requests running and ${this.waiting.length} waiting (the queue holds ${this.maxQueue}); retry later`, this.retryAfter()),
      );
    return new Promise<Lease>((resolve, reject) => {
      const w: Waiter = { prompt, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortError());
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiting.push(w);
    });
  }

  /** Refuses new work and fails everything still queued (running sequences end through their signals). */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down'));
    }
  }

  /** @internal */
  releaseSlot(slot: Slot): void {
    slot.busy = false;
    slot.lastUsed = performance.now();
    const began = this.grantedAt.get(slot);
    if (began !== undefined) this.avgHoldMs = 0.8 * this.avgHoldMs + 0.2 * (slot.lastUsed - began);
    this.active--;
    while (this.active < this.parallel && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve(this.grant(w.prompt));
    }
  }

  private grant(prompt: readonly number[]): Lease {
    const slot = this.pickSlot(prompt);
    slot.busy = true;
    this.active++;
    this.grantedAt.set(slot, performance.now());
    return new Lease(slot.cache, this, slot, commonPrefix(slot.cache.tokens, prompt));
  }

  /** The idle cache sharing the longest prefix with the prompt; else a new one while allowed; else the least recently used. */
  private pickSlot(prompt: readonly number[]): Slot {
    let best: Slot | undefined;
    let bestLen = 0;
    let lru: Slot | undefined;
    for (const s of this.slots) {
      if (s.busy) continue;
      const n = commonPrefix(s.cache.tokens, prompt);
      if (n > bestLen) {
        best = s;
        bestLen = n;
      }
      if (!lru || s.lastUsed < lru.lastUsed) lru = s;
    }
    if (best) return best;
    if (this.slots.length < this.cacheSlots) {
      const slot: Slot = { cache: this.newCache(), busy: false, lastUsed: 0 };
      this.slots.push(slot);
      return slot;
    }
    if (!lru) throw new Error('scheduler invariant broken: no idle slot');
    return lru;
  }
}

export function abortError(): Error {
  const e = new Error('the client went away');
  e.name = 'AbortError';
  return e;
}
