// What the server does with a step's logits besides sampling: log-probabilities for `logprobs` (taken
// from the model's own distribution, log softmax of the raw logits, before penalties or masks), and the
// OpenAI logit adjustments — presence/frequency penalties, logit_bias, JSON mode — composed into one
// `processLogits` hook for the generation loop.
import type { Phi3 } from '../phi3.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { JsonConstraint } from './json-grammar.js';

const tables = new WeakMap<Tokenizer, (Uint8Array | undefined)[]>();
const utf8 = new TextEncoder();

/**
 * The bytes each token adds to the text, undefined for special tokens (<|end|>…) and for tokens whose
 * bytes cannot be known through the Tokenizer interface. Found by decoding [anchor, id] (the anchor
 * keeps SentencePiece's leading-space rule out of the way); a token that decodes to part of a
 * character is read from its SentencePiece byte piece `<0xHH>`. Built once per tokenizer.
 */
export function tokenBytesTable(tok: Tokenizer): (Uint8Array | undefined)[] {
  let t = tables.get(tok);
  if (t) return t;
  t = new Array<Uint8Array | undefined>(tok.vocabSize);
  const anchorIds = tok.encode('a', { parseSpecial: false });
  const anchor = anchorIds[anchorIds.length - 1];
  const anchorText = tok.decode([anchor]);
  for (let id = 0; id < tok.vocabSize; id++) {
    if (tok.isSpecial(id)) continue;
    const text = tok.decode([anchor, id]).slice(anchorText.length);
    if (!text.includes('\uFFFD')) {
      t[id] = utf8.encode(text);
      continue;
    }
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(tok.idToPiece(id));
    if (byte) t[id] = Uint8Array.of(parseInt(byte[1], 16));
  }
  tables.set(tok, t);
  return t;
}

/** The token's text as OpenAI shows it in logprobs (lossy for a lone byte of a longer character). */
export function tokenText(tok: Tokenizer, bytes: readonly (Uint8Array | undefined)[], id: number): string {
  const b = bytes[id];
  return b ? new TextDecoder().decode(b) : tok.isSpecial(id) ? tok.idToPiece(id) : tok.decode([id]);
}

/** The token's bytes for logprobs. */
export function tokenUtf8(tok: Tokenizer, bytes: readonly (Uint8Array | undefined)[], id: number): number[] {
  return Array.from(bytes[id] ?? utf8.encode(tokenText(tok, bytes, id)));
}

/** log Σ exp(x), in float64. */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** Ids of the k largest entries, largest first (ties: lower id first). */
export function topIds(row: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let id = 0; id < row.length && k > 0; id++) {
    const v = row[id];
    if (out.length === k && !(v > row[out[k - 1]])) continue;
    if (out.length < k) out.push(id); // room at the end; when full, the last entry is dropped
    let i = out.length - 1;
    while (i > 0 && row[out[i - 1]] < v) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = id;
  }
  return out;
}

export interface TokenLogprob {
  token: number;
  logprob: number;
  top: { token: number; logprob: number }[];
}

export function logprobOf(row: Float32Array, token: number, top: number): TokenLogprob {
  const lse = logSumExp(row);
  return {
    token,
    logprob: row[token] - lse,
    top: topIds(row, top).map((id) => ({ token: id, logprob: row[id] - lse })),
  };
}

export interface Adjustments {
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** token id → bias added to its logit (−100 bans, +100 forces, as OpenAI documents). */
  logitBias?: Map<number, number>;
  json?: boolean;
}

/** One processLogits hook applying penalties, bias and the JSON constraint; undefined if none is asked. */
export function adjustLogits(phi3: Phi3, a: Adjustments): ((row: Float32Array, generated: readonly number[]) => Float32Array | void) | undefined {
  const presence = a.presencePenalty ?? 0;
  const frequency = a.frequencyPenalty ?? 0;
  const bias = a.logitBias && a.logitBias.size > 0 ? a.logitBias : undefined;
  const json = a.json ? new JsonConstraint(tokenBytesTable(phi3.tokenizer), phi3.stopTokens) : undefined;
  if (presence === 0 && frequency === 0 && !bias && !json) return undefined;
  return (row, generated) => {
    let out = row;
    const own = () => (out === row ? (out = Float32Array.from(row)) : out);
    if (presence !== 0 || frequency !== 0) {
      // OpenAI: μ[j] − c[j]·frequency_penalty − [c[j] > 0]·presence_penalty, c = counts in the completion.
      const counts = new Map<number, number>();
      for (const t of generated) counts.set(t, (counts.get(t) ?? 0) + 1);
      const o = own();
      for (const [t, c] of counts) o[t] -= c * frequency + presence;
    }
    if (bias) {
      const o = own();
      for (const [t, b] of bias) o[t] += b;
    }
    if (json) out = json.apply(out, generated);
    return out;
  };
}
