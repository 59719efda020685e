// Perplexity the way llama.cpp's `llama-perplexity` computes it (tools/perplexity/perplexity.cpp), so
// numbers are comparable with what users see there:
// - the text is tokenized with special tokens NOT parsed, BOS prepended only if the vocab says so
//   (Phi-3: add_bos_token false, so none);
// - it is cut into n_chunk = floor(n_tokens / n_ctx) non-overlapping chunks of n_ctx tokens (the
//   remainder is dropped); at least 2·n_ctx tokens are required;
// - each chunk is evaluated from an empty cache; if add_bos, the chunk's first token is replaced by BOS;
// - only the second half is scored: with first = floor(n_ctx/2), the logits at positions
//   first .. n_ctx-2 predict tokens first+1 .. n_ctx-1 (n_ctx - first - 1 tokens per chunk);
// - PPL = exp(mean NLL); the ± is ppl·sqrt((mean(NLL²) - mean(NLL)²)/(count-1)).
// scoreTokens is the reusable core (log-likelihood of a token run after a prefix, one forward pass).
// Tested in test/perplexity.test.ts against a hand computation from the reference logits.
import { RequestError } from '../errors.js';
import type { Phi3 } from '../phi3.js';

export interface TokenScores {
  /** Σ −log P(ids[i+1] | ids[..i]) over the scored positions. */
  nll: number;
  /** Σ of the squared per-token NLLs (for the error estimate). */
  nll2: number;
  /** Number of scored tokens. */
  count: number;
}

/**
 * Runs `ids` through the model from an empty cache and scores ids[from+1 ..]: the logits at every
 * position i ≥ from predict ids[i+1]. Positions before `from` run without producing logits.
 */
export function scoreTokens(model: Phi3, ids: number[], from: number): TokenScores {
  if (!Number.isInteger(from) || from < 0 || from > ids.length - 2)
    throw new RequestError(`scoreTokens: from = ${from} must be in 0..${ids.length - 2} for ${ids.length} tokens`);
  const m = model.model;
  const cache = m.newCache();
  if (from > 0) m.forward(ids.slice(0, from), cache);
  const logits = m.forward(ids.slice(from), cache, { allLogits: true });
  const V = model.config.vocabSize;
  let nll = 0;
  let nll2 = 0;
  const count = ids.length - 1 - from;
  for (let i = 0; i < count; i++) {
    const v = -logSoftmaxAt(logits, i * V, V, ids[from + i + 1]);
    nll += v;
    nll2 += v * v;
  }
  return { nll, nll2, count };
}

/** log softmax(row)[target] in float64, max-subtracted. */
function logSoftmaxAt(logits: Float32Array, off: number, n: number, target: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (logits[off + j] > max) max = logits[off + j];
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(logits[off + j] - max);
  return logits[off + target] - max - Math.log(sum);
}

export interface PerplexityOptions {
  /** Tokens per chunk (llama.cpp -c); default 512. */
  ctx?: number;
  /** Evaluate at most this many chunks (llama.cpp --chunks). */
  maxChunks?: number;
  /** Called after each chunk with the running perplexity. */
  onChunk?: (chunk: number, chunks: number, ppl: number) => void;
}

export interface PerplexityResult {
  ppl: number;
  /** llama.cpp's "+/-" figure. */
  error: number;
  /** Mean NLL per scored token (nats). */
  nll: number;
  count: number;
  chunks: number;
  ctx: number;
  tokens: number;
  /** Running perplexity after each chunk (llama.cpp's "[i]ppl," line). */
  running: number[];
}

export function perplexityOfTokens(model: Phi3, tokens: number[], o: PerplexityOptions = {}): PerplexityResult {
  const ctx = o.ctx ?? 512;
  if (!Number.isInteger(ctx) || ctx < 4) throw new RequestError(`context ${ctx} is too small for perplexity (at least 4)`);
  if (ctx > model.model.contextSize)
    throw new RequestError(`context ${ctx} exceeds the model's context size ${model.model.contextSize}`);
  if (tokens.length < 2 * ctx)
    throw new RequestError(`the text has ${tokens.length} tokens; perplexity with a context of ${ctx} needs at least ${2 * ctx} (use a longer text or a smaller --ctx)`);
  const maxChunks = Math.floor(tokens.length / ctx);
  const chunks = o.maxChunks !== undefined && o.maxChunks > 0 ? Math.min(o.maxChunks, maxChunks) : maxChunks;
  const tok = model.tokenizer;
  const first = Math.floor(ctx / 2);
  let nll = 0;
  let nll2 = 0;
  let count = 0;
  const running: number[] = [];
  for (let c = 0; c < chunks; c++) {
    const ids = tokens.slice(c * ctx, (c + 1) * ctx);
    if (tok.addBos && tok.bosId !== undefined) ids[0] = tok.bosId;
    const s = scoreTokens(model, ids, first);
    nll += s.nll;
    nll2 += s.nll2;
    count += s.count;
    running.push(Math.exp(nll / count));
    o.onChunk?.(c + 1, chunks, running[running.length - 1]);
  }
  const mean = nll / count;
  const ppl = Math.exp(mean);
  const variance = nll2 / count - mean * mean;
  const error = variance > 0 && count > 1 ? Math.sqrt(variance / (count - 1)) * ppl : NaN;
  return { ppl, error, nll: mean, count, chunks, ctx, tokens: tokens.length, running };
}

/** Tokenizes `text` as llama-perplexity does (specials not parsed, BOS per the vocab) and scores it. */
export function perplexity(model: Phi3, text: string, o: PerplexityOptions = {}): PerplexityResult {
  return perplexityOfTokens(model, model.tokenizer.encode(text, { parseSpecial: false }), o);
}
