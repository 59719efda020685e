// Scoring as lm-evaluation-harness defines it: multiple-choice acc / acc_norm (by character length) /
// TruthfulQA MC2, regex answer extraction with the "[invalid]" fallback, HF-evaluate exact_match,
// the unbiased pass@k estimator, and mean ± standard error. Pure functions; tested against hand-derived
// values in test/eval-metrics.test.ts.

/** Index of the largest value; the first wins a tie (as numpy.argmax). */
export function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function isGold(i: number, gold: number | number[]): boolean {
  return Array.isArray(gold) ? gold.includes(i) : i === gold;
}

/** acc, acc_norm (LL / characters of the choice) and, with `truth`, TruthfulQA's mc1-style acc and mc2. */
export function scoreMultipleChoice(lls: number[], gold: number | number[], choiceTexts: string[], truth?: boolean[]): Record<string, number> {
  const acc = isGold(argmax(lls), gold) ? 1 : 0;
  const norm = lls.map((ll, i) => ll / Math.max(1, choiceTexts[i].length));
  const out: Record<string, number> = { acc, acc_norm: isGold(argmax(norm), gold) ? 1 : 0 };
  if (truth) out.mc2 = mc2(lls, truth);
  return out;
}

/**
 * TruthfulQA MC2: p_i = exp(LL_i) (no length normalisation), normalised over all choices; the score is
 * the probability mass on the true answers. Computed from the max for stability.
 */
export function mc2(lls: number[], truth: boolean[]): number {
  const m = Math.max(...lls);
  let all = 0;
  let good = 0;
  for (let i = 0; i < lls.length; i++) {
    const p = Math.exp(lls[i] - m);
    all += p;
    if (truth[i]) good += p;
  }
  return good / all;
}

export const INVALID = '[invalid]';

/**
 * lm-eval's `regex` filter: findall(pattern) on the text; `select` 0 keeps the first match, −1 the last;
 * a match with groups yields its first non-empty group; stripped. No match → "[invalid]".
 */
export function regexExtract(text: string, pattern: string, select = 0): string {
  const re = new RegExp(pattern, 'g');
  const matches: string[] = [];
  for (const m of text.matchAll(re)) {
    if (m.length > 1) {
      const g = m.slice(1).find((x) => x !== undefined && x !== '');
      matches.push(g ?? '');
    } else matches.push(m[0]);
  }
  if (matches.length === 0) return INVALID;
  const pick = select < 0 ? matches[matches.length + select] : matches[select];
  return (pick ?? INVALID).trim();
}

export interface ExactMatchOptions {
  ignoreCase?: boolean;
  ignorePunctuation?: boolean;
  regexesToIgnore?: string[];
}

const ASCII_PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

function normalise(s: string, o: ExactMatchOptions): string {
  for (const r of o.regexesToIgnore ?? []) s = s.replace(new RegExp(r, 'g'), '');
  if (o.ignoreCase) s = s.toLowerCase();
  if (o.ignorePunctuation) s = s.replace(ASCII_PUNCT, '');
  return s;
}

/** HF `evaluate` exact_match; with several references, 1 when any matches. */
export function exactMatch(pred: string, refs: string | string[], o: ExactMatchOptions = {}): number {
  const p = normalise(pred, o);
  return (Array.isArray(refs) ? refs : [refs]).some((r) => normalise(r, o) === p) ? 1 : 0;
}

/** Unbiased pass@k from n samples with c correct: 1 − C(n−c, k)/C(n, k), computed as a product. */
export function passAtK(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Mean and the standard error of the mean (sample standard deviation / √n), as lm-eval reports. */
export function meanStderr(xs: number[]): { mean: number; stderr: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, stderr: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, stderr: NaN };
  const v = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1);
  return { mean, stderr: Math.sqrt(v / n) };
}

/** log P(token) from a logits row: logit − logsumexp (in float64). */
export function logSoftmaxAt(logits: Float32Array, offset: number, vocab: number, token: number): number {
  let m = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i] > m) m = logits[offset + i];
  let s = 0;
  for (let i = 0; i < vocab; i++) s += Math.exp(logits[offset + i] - m);
  return logits[offset + token] - m - Math.log(s);
}

/** Whether `token` is the argmax of a logits row (lm-eval's is_greedy). */
export function isArgmax(logits: Float32Array, offset: number, vocab: number, token: number): boolean {
  const t = logits[offset + token];
  for (let i = 0; i < vocab; i++) if (logits[offset + i] > t) return false;
  return true;
}
