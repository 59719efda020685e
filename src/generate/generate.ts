// The one generation loop, used by the CLI, the library API, the server and the evaluation harness:
// prefill the prompt (reusing whatever prefix the cache already holds), then decode token by token,
// stream text that is never half a UTF-8 character, and stop on end tokens, stop strings, the token
// limit, the context limit or an abort signal.
import { RequestError } from '../errors.js';
import type { KVCache } from '../model/kv-cache.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Sampler, validateSampling, type SamplingOptions } from './sampler.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (default: until a stop or the context is full). */
  maxTokens?: number;
  /** Stop when the text contains one of these; the stop string itself is not returned. */
  stop?: string[];
  /** End-of-generation token ids (default: the model's). */
  stopTokens?: number[];
  /** Ignore stop tokens (stop strings and limits still apply). */
  noStop?: boolean;
  /** Abort generation (Ctrl-C in the chat, a closed HTTP connection). */
  signal?: AbortSignal;
  /**
   * Sees each step's raw logits before sampling, with the tokens generated so far, and may return the
   * row to sample from instead (penalties, logit bias, −Infinity on tokens a grammar forbids). It must
   * not change the row it is given. The server uses it for logprobs, logit_bias and JSON mode.
   */
  processLogits?: (logits: Float32Array, generated: readonly number[]) => Float32Array | void;
}

export type FinishReason = 'stop' | 'length' | 'context' | 'abort';

export interface GeneratedPiece {
  /** The new token, or null for trailing text released at the end (held-back bytes or stop-string prefix). */
  token: number | null;
  /** Text this token completes (may be '' while a multi-byte character or possible stop string is pending). */
  text: string;
}

export interface GenerationResult {
  tokens: number[];
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Prompt tokens that were already in the cache and were not recomputed. */
  cachedTokens: number;
}

/** What the loop needs from a model: a forward pass over a cache. */
export interface ForwardFn {
  (tokens: number[], cache: KVCache): Float32Array | Promise<Float32Array>;
}

/**
 * Evaluates `prompt` into `cache`, reusing the longest common prefix; returns the last logits (a promise
 * of them when `forward` is asynchronous, as on the WebGPU backend).
 */
export function prefill<L extends Float32Array | Promise<Float32Array>>(
  forward: (tokens: number[], cache: KVCache) => L,
  cache: KVCache,
  prompt: number[],
): { logits: L; reused: number } {
  if (prompt.length === 0) throw new RequestError('the prompt is empty');
  if (prompt.length > cache.maxPositions)
    throw new RequestError(`the prompt has ${prompt.length} tokens but the context holds only ${cache.maxPositions}`);
  let common = 0;
  while (common < cache.length && common < prompt.length && cache.tokens[common] === prompt[common]) common++;
  // At least one token must run to produce logits.
  if (common === prompt.length) common--;
  cache.truncate(common);
  return { logits: forward(prompt.slice(common), cache), reused: common };
}

/** Holds back text that could be the start of a stop string, and cuts at the first full match. */
class StopMatcher {
  private pending = '';
  constructor(private readonly stops: string[]) {}

  /** Returns the text safe to emit, and whether a stop string was found. */
  push(text: string): { text: string; stopped: boolean } {
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return { text: out, stopped: true };
    }
    let hold = 0;
    for (const s of this.stops)
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--)
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text: out, stopped: false };
  }

  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }
}

/**
 * Generates after `prompt`. Yields each token with the text it completes; the generator's return value
 * is the whole result.
 */
export async function* generate(
  forward: ForwardFn,
  tokenizer: Tokenizer,
  cache: KVCache,
  prompt: number[],
  defaultStopTokens: number[],
  opts: GenerateOptions = {},
): AsyncGenerator<GeneratedPiece, GenerationResult, void> {
  const problem = validateSampling(opts);
  if (problem) throw new RequestError(problem);
  if (opts.maxTokens !== undefined && (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0))
    throw new RequestError(`maxTokens must be an integer ≥ 0, got ${opts.maxTokens}`);
  const stopTokens = new Set(opts.noStop ? [] : (opts.stopTokens ?? defaultStopTokens));
  const stops = (opts.stop ?? []).filter((s) => s.length > 0);
  const sampler = new Sampler(opts);
  const decoder = tokenizer.createDecodeStream();
  const matcher = new StopMatcher(stops);

  const { logits: first, reused } = prefill(forward, cache, prompt);
  let logits = await first;
  const tokens: number[] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  const maxTokens = opts.maxTokens ?? Infinity;
  const history = [...prompt];
  let stoppedByString = false;

  while (tokens.length < maxTokens) {
    if (opts.signal?.aborted) {
      finishReason = 'abort';
      break;
    }
    const token = sampler.sample(opts.processLogits?.(logits, tokens) ?? logits, history);
    if (stopTokens.has(token)) {
      finishReason = 'stop';
      break;
    }
    tokens.push(token);
    history.push(token);
    const { text: piece, stopped } = matcher.push(decoder.push(token));
    text += piece;
    yield { token, text: piece };
    if (stopped) {
      finishReason = 'stop';
      stoppedByString = true;
      break;
    }
    if (tokens.length >= maxTokens) break;
    if (cache.length >= cache.maxPositions) {
      finishReason = 'context';
      break;
    }
    // Let timers, signals and I/O run between tokens so Ctrl-C and HTTP disconnects are seen.
    await nextTurn();
    logits = await forward([token], cache);
  }
  if (!stoppedByString) {
    const tail = matcher.push(decoder.flush());
    const rest = tail.text + (tail.stopped ? '' : matcher.flush());
    if (rest) {
      text += rest;
      yield { token: null, text: rest };
    }
  }
  return { tokens, text, finishReason, promptTokens: prompt.length, cachedTokens: reused };
}

/**
 * One turn of the event loop: setImmediate in Node; in browsers (no setImmediate) a MessageChannel
 * message, which unlike setTimeout(0) is not clamped to 4 ms once nested.
 */
function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}
