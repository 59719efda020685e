// One sequence on a leased KV cache: reuse the cached prefix, prefill the rest in chunks, then run the
// library's generation loop (src/generate/generate.ts) — every step inside a scheduler turn, so other
// sequences get the thread between any two steps. Yields each piece with the raw logits it was sampled
// from (for logprobs). An aborted signal ends the sequence before its next step: no token is computed
// for a client that has gone.
import { generate, type GeneratedPiece, type GenerateOptions, type GenerationResult } from '../generate/generate.js';
import type { Phi3 } from '../phi3.js';
import type { Lease } from './scheduler.js';

export interface SequencePiece extends GeneratedPiece {
  /** Raw logits the token was drawn from (absent for trailing text). */
  logits?: Float32Array;
}

/** Called for every forward pass with the number of tokens it ran (metrics, abort accounting). */
export type ForwardObserver = (tokens: number) => void;

/** Prompt tokens evaluated per step before the first token, so long prompts don't stall other sequences. */
export const PREFILL_CHUNK = 64;

const yieldToIO = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function* runSequence(
  phi3: Phi3,
  lease: Lease,
  prompt: number[],
  opts: GenerateOptions,
  onForward: ForwardObserver = () => {},
): AsyncGenerator<SequencePiece, GenerationResult, void> {
  const cache = lease.cache;
  const signal = opts.signal;
  const forward = (tokens: number[], c: typeof cache) => {
    onForward(tokens.length);
    return phi3.model.forwardAsync(tokens, c);
  };
  // Keep what the cache shares with the prompt; at least the last prompt token runs in generate().
  const cached = Math.min(lease.reusable, prompt.length - 1);
  cache.truncate(cached);
  const aborted = (tokens: number[] = [], text = ''): GenerationResult => ({ tokens, text, finishReason: 'abort', promptTokens: prompt.length, cachedTokens: cached });

  while (cache.length < prompt.length - 1) {
    await lease.turn();
    try {
      await yieldToIO();
      if (signal?.aborted) return aborted();
      await forward(prompt.slice(cache.length, Math.min(prompt.length - 1, cache.length + PREFILL_CHUNK)), cache);
    } finally {
      lease.endTurn();
    }
  }

  let last: Float32Array | undefined;
  const user = opts.processLogits;
  const gen = generate(forward, phi3.tokenizer, cache, prompt, phi3.stopTokens, {
    ...opts,
    processLogits: (row, generated) => {
      last = row;
      return user?.(row, generated);
    },
  });
  const tokens: number[] = [];
  let text = '';
  let finished = false;
  try {
    for (;;) {
      await lease.turn();
      let step: IteratorResult<GeneratedPiece, GenerationResult>;
      try {
        await yieldToIO();
        if (signal?.aborted) return aborted(tokens, text);
        step = await gen.next();
      } finally {
        lease.endTurn();
      }
      if (step.done) {
        finished = true;
        return { ...step.value, cachedTokens: cached };
      }
      if (step.value.token !== null) tokens.push(step.value.token);
      text += step.value.text;
      yield step.value.token !== null ? { ...step.value, logits: last } : step.value;
    }
  } finally {
    if (!finished) await gen.return(aborted(tokens, text));
  }
}
