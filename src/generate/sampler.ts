// Picking the next token from a row of logits: greedy, or seeded sampling with repetition penalty,
// temperature, top-k, top-p and min-p, applied in that order (llama.cpp's default chain order).
// Same seed and same logits → same token, on every platform: the PRNG is ours, not Math.random.

export interface SamplingOptions {
  /** 0 (default) = greedy: argmax, the first index winning a tie. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = off). */
  topP?: number;
  /** Drop tokens with probability < minP · p(best) (0 = off). */
  minP?: number;
  /** Divide positive logits (multiply negative ones) of recently seen tokens by this (1 = off). */
  repetitionPenalty?: number;
  /** How many recent tokens the penalty looks at (default 64). */
  repetitionWindow?: number;
  /** Seed of the sampling PRNG (default: a fixed seed, so runs are reproducible unless you vary it). */
  seed?: number;
}

/** xoshiro128** with a splitmix32 seeding: small, fast, and identical in every JS engine. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** Uniform in [0, 1). */
  next(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export function validateSampling(o: SamplingOptions): string | undefined {
  const bad = (name: string, v: number | undefined, ok: (v: number) => boolean, range: string) =>
    v !== undefined && (!Number.isFinite(v) || !ok(v)) ? `${name} must be ${range}, got ${v}` : undefined;
  return (
    bad('temperature', o.temperature, (v) => v >= 0, '≥ 0') ??
    bad('topK', o.topK, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0') ??
    bad('topP', o.topP, (v) => v > 0 && v <= 1, 'in (0, 1]') ??
    bad('minP', o.minP, (v) => v >= 0 && v <= 1, 'in [0, 1]') ??
    bad('repetitionPenalty', o.repetitionPenalty, (v) => v > 0, '> 0') ??
    bad('repetitionWindow', o.repetitionWindow, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0') ??
    bad('seed', o.seed, (v) => Number.isInteger(v), 'an integer')
  );
}

export class Sampler {
  private readonly rng: Rng;

  constructor(private readonly opts: SamplingOptions = {}) {
    this.rng = new Rng(opts.seed ?? 0x5eed);
  }

  /** Chooses the next token. `recent` are the ids seen so far (for the repetition penalty). */
  sample(logits: Float32Array, recent: readonly number[] = []): number {
    const o = this.opts;
    const penalty = o.repetitionPenalty ?? 1;
    let row = logits;
    if (penalty !== 1 && recent.length > 0) {
      row = Float32Array.from(logits);
      const window = o.repetitionWindow ?? 64;
      for (const id of new Set(recent.slice(Math.max(0, recent.length - window)))) {
        row[id] = row[id] > 0 ? row[id] / penalty : row[id] * penalty;
      }
    }
    const temperature = o.temperature ?? 0;
    if (temperature === 0) return argmax(row);

    // Unnormalised probabilities (the best token has 1). Top-k, top-p and min-p each become a threshold
    // on them, found on a sorted copy of the values, so no per-token comparator sort of the vocabulary
    // is needed. Tokens tied at a threshold are all kept.
    const n = row.length;
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (row[i] > max) max = row[i];
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = Math.exp((row[i] - max) / temperature);
    let threshold = 0;
    const topK = o.topK ?? 0;
    const topP = o.topP ?? 1;
    const minP = o.minP ?? 0;
    if ((topK > 0 && topK < n) || topP < 1) {
      const sorted = Float64Array.from(p).sort(); // ascending
      if (topK > 0 && topK < n) threshold = sorted[n - topK];
      if (topP < 1) {
        let kept = 0;
        for (let i = n - 1; i >= 0 && sorted[i] >= threshold; i--) kept += sorted[i];
        let cum = 0;
        for (let i = n - 1; i >= 0; i--) {
          cum += sorted[i];
          if (cum >= topP * kept) {
            threshold = Math.max(threshold, sorted[i]);
            break;
          }
        }
      }
    }
    if (minP > 0) threshold = Math.max(threshold, minP);
    let sum = 0;
    for (let i = 0; i < n; i++) if (p[i] >= threshold) sum += p[i];
    let r = this.rng.next() * sum;
    let last = 0;
    for (let i = 0; i < n; i++) {
      if (p[i] < threshold) continue;
      last = i;
      r -= p[i];
      if (r < 0) return i;
    }
    return last;
  }
}
