// What every handler shares: the model, its public id, the scheduler, default sampling settings,
// search, counters — and the steps both completion endpoints take: check the model name and the
// context budget, and run one choice (acquire a cache slot, run the sequence, time it, release).
import { randomInt } from 'node:crypto';
import type { FinishReason, GenerateOptions, GenerationResult } from '../generate/generate.js';
import type { Phi3 } from '../phi3.js';
import type { SearchService } from '../search/service.js';
import { ApiError, invalid } from './api-error.js';
import type { Fields } from './fields.js';
import type { SamplingDefaults } from './request.js';
import type { Scheduler } from './scheduler.js';
import { runSequence, type SequencePiece } from './sequence.js';

export interface Metrics {
  requests: number;
  /** Tokens run through the model (prompt and generated). */
  evaluated: number;
  forwards: number;
  /** Responses by status code. */
  statuses: Map<number, number>;
  generated: number;
  aborted: number;
  /** Forward passes run for sequences after their client had gone (0 or 1 each, by design). */
  tokensAfterAbort: number;
  /** The most forward passes any one sequence ran after its client had gone. */
  maxAfterAbort: number;
}

export interface ServerContext {
  phi3: Phi3;
  modelId: string;
  /** Unix seconds the model was loaded. */
  created: number;
  fingerprint: string;
  scheduler: Scheduler;
  defaults: SamplingDefaults;
  metrics: Metrics;
  search?: SearchService;
}

export function newMetrics(): Metrics {
  return { requests: 0, statuses: new Map(), evaluated: 0, forwards: 0, generated: 0, aborted: 0, tokensAfterAbort: 0, maxAfterAbort: 0 };
}

/** 404 for a model this server does not serve; a missing model field means the loaded one. */
export function checkModel(ctx: ServerContext, f: Fields): void {
  const model = f.string('model');
  if (model !== undefined && model !== ctx.modelId)
    throw new ApiError(404, `The model ${JSON.stringify(model)} does not exist; this server serves ${JSON.stringify(ctx.modelId)}`, 'invalid_request_error', 'model', 'model_not_found');
}

/** 400 with the numbers when the prompt (plus max_tokens) does not fit the context. */
export function checkContext(ctx: ServerContext, promptTokens: number, maxTokens: number | undefined, param: string): void {
  const size = ctx.phi3.model.contextSize;
  if (promptTokens > size)
    throw new ApiError(400, `${param}: the prompt has ${promptTokens} tokens but the context holds only ${size}`, 'invalid_request_error', param, 'context_length_exceeded');
  if (maxTokens !== undefined && promptTokens + maxTokens > size)
    throw invalid('max_tokens', `the prompt has ${promptTokens} tokens and max_tokens asks for ${maxTokens} more, but the context holds only ${size} (${promptTokens} + ${maxTokens} > ${size})`, 'context_length_exceeded');
}

/** Refuses at once (503) a request whose choices could not all even be queued. */
export function checkCapacity(ctx: ServerContext, choices: number): void {
  const s = ctx.scheduler;
  const free = Math.max(0, s.parallel - s.running) + Math.max(0, s.maxQueue - s.queued);
  if (choices > free) {
    const e = new ApiError(
      503,
      `the server is busy: ${s.running} requests running and ${s.queued} waiting (the queue holds ${s.maxQueue}); retry later`,
      'server_error',
      null,
      'server_overloaded',
      s.retryAfter(),
    );
    throw e;
  }
}

export interface Timings {
  /** Waiting for a free slot. */
  queued_ms: number;
  prompt_n: number;
  /** Prompt tokens taken from the cache. */
  cached_n: number;
  /** From the slot to the first token: prefill plus one sample. */
  prompt_ms: number;
  predicted_n: number;
  /** From the first token to the last. */
  predicted_ms: number;
  predicted_per_second: number;
}

export interface ChoiceResult extends GenerationResult {
  index: number;
  timings: Timings;
}

/** OpenAI's finish_reason for a finished sequence. */
export function finishReason(r: FinishReason): 'stop' | 'length' {
  return r === 'length' || r === 'context' ? 'length' : 'stop';
}

export function choiceSeed(seed: number | undefined, index: number): number {
  return seed !== undefined ? seed + index : randomInt(0, 2 ** 31 - 1);
}

export async function runChoice(
  ctx: ServerContext,
  index: number,
  prompt: number[],
  options: GenerateOptions,
  signal: AbortSignal,
  onPiece: (p: SequencePiece) => Promise<void> | void,
): Promise<ChoiceResult> {
  const t0 = performance.now();
  const lease = await ctx.scheduler.acquire(prompt, signal);
  const t1 = performance.now();
  let first: number | undefined;
  let abortedAt: number | undefined;
  const m = ctx.metrics;
  let forwards = 0;
  const onAbort = () => (abortedAt = forwards);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const gen = runSequence(ctx.phi3, lease, prompt, { ...options, signal }, (n) => {
      forwards++;
      m.forwards++;
      m.evaluated += n;
    });
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        const t2 = performance.now();
        const r = step.value;
        m.generated += r.tokens.length;
        if (r.finishReason === 'abort') m.aborted++;
        if (abortedAt !== undefined) {
          m.tokensAfterAbort += forwards - abortedAt;
          m.maxAfterAbort = Math.max(m.maxAfterAbort, forwards - abortedAt);
        }
        const start = first ?? t2;
        const predictedMs = t2 - start;
        return {
          ...r,
          index,
          timings: {
            queued_ms: round(t1 - t0),
            prompt_n: r.promptTokens,
            cached_n: r.cachedTokens,
            prompt_ms: round(start - t1),
            predicted_n: r.tokens.length,
            predicted_ms: round(predictedMs),
            predicted_per_second: r.tokens.length > 1 && predictedMs > 0 ? round(((r.tokens.length - 1) * 1000) / predictedMs) : 0,
          },
        };
      }
      first ??= performance.now();
      await onPiece(step.value);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    lease.release();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * Runs every choice of a request at once; if one fails, the others are stopped (their slots freed)
 * and the failure is thrown. The client's signal stops them all.
 */
export async function allChoices<T>(signal: AbortSignal, n: number, run: (index: number, signal: AbortSignal) => Promise<T>): Promise<T[]> {
  const ac = new AbortController();
  const follow = () => ac.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  try {
    return await Promise.all(
      Array.from({ length: n }, (_, i) =>
        run(i, ac.signal).catch((e: unknown) => {
          ac.abort(e);
          throw e;
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', follow);
  }
}
