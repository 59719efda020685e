// The educational-value classifier: hashed word n-gram features (1..ngrams, signed feature hashing into
// 2^bits buckets, log-scaled counts, L2-normalised) and a linear regression onto the 0–5 score, trained by
// AdaGrad SGD with L2 (seeded, deterministic). Scoring is a sparse dot product, so filtering runs at
// tokenizer-free CPU speed. Like FineWeb-Edu, a regression whose output is compared with a threshold.
// A linear regression trained on a few hundred labels ranks well but shrinks towards the mean (nothing
// predicted reaches 3), so training also fits an isotonic calibration (pool-adjacent-violators) from
// 5-fold out-of-fold raw predictions to labels; `score` returns the calibrated value, on the label scale.
// The model file is JSON (weights as base64 float32). Tested in test/data-classifier.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { FormatError, Phi3Error } from '../errors.js';
import { Rng } from '../generate/sampler.js';
import { hashPair, wordHashes } from './text.js';

export const CLASSIFIER_FORMAT = 'phi3-edu-classifier-v1';

export interface SparseVec {
  idx: Uint32Array;
  val: Float32Array;
}

export interface TrainOptions {
  bits?: number;
  ngrams?: number;
  epochs?: number;
  lr?: number;
  l2?: number;
  seed?: number;
  /** Fit the isotonic calibration (default: true when there are ≥ 20 documents). */
  calibrate?: boolean;
}

export interface Labelled {
  text: string;
  score: number;
}

export class EduClassifier {
  constructor(
    readonly bits: number,
    readonly ngrams: number,
    readonly weights: Float32Array,
    public bias: number,
    public meta: Record<string, unknown> = {},
    /** Isotonic map raw → score: increasing knots x with values y (empty: identity). */
    public calibration: { x: number[]; y: number[] } = { x: [], y: [] },
    /** Per integer label threshold t ("1".."5"): the score cut that best separated label ≥ t (max F1) out of fold. */
    public cuts: Record<string, number> = {},
  ) {}

  /** The score a document needs to count as label ≥ t: the learned cut for integer t, else t itself. */
  cutFor(t: number): number {
    return this.cuts[String(t)] ?? t;
  }

  static empty(bits = 18, ngrams = 2): EduClassifier {
    if (!Number.isInteger(bits) || bits < 8 || bits > 24) throw new Phi3Error(`feature bits must be an integer in 8..24, got ${bits}`);
    if (!Number.isInteger(ngrams) || ngrams < 1 || ngrams > 4) throw new Phi3Error(`ngrams must be 1..4, got ${ngrams}`);
    return new EduClassifier(bits, ngrams, new Float32Array(1 << bits), 0);
  }

  /** Signed hashed n-gram counts, log1p-scaled and L2-normalised. */
  features(text: string): SparseVec {
    const wh = wordHashes(text);
    const mask = (1 << this.bits) - 1;
    const acc = new Map<number, number>();
    for (let n = 1; n <= this.ngrams; n++)
      for (let i = 0; i + n <= wh.length; i++) {
        let h = n;
        for (let j = i; j < i + n; j++) h = hashPair(h, wh[j]);
        const k = h & mask;
        const sign = h & 0x80000000 ? -1 : 1;
        acc.set(k, (acc.get(k) ?? 0) + sign);
      }
    // Document length matters for educational value (a one-line quip vs an explained entry); n-gram counts
    // are L2-normalised away from it, so it enters as a one-hot log2 length bucket, weighted like ~4 words.
    const lenKey = hashPair(0x6c656e, Math.min(16, Math.floor(Math.log2(1 + wh.length)))) & mask;
    acc.set(lenKey, (acc.get(lenKey) ?? 0) + 4);
    const idx = new Uint32Array(acc.size), val = new Float32Array(acc.size);
    let i = 0, norm = 0;
    for (const [k, c] of acc) {
      const v = Math.sign(c) * Math.log1p(Math.abs(c));
      idx[i] = k;
      val[i++] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < val.length; j++) val[j] /= norm;
    return { idx, val };
  }

  predictFeatures(f: SparseVec): number {
    let s = this.bias;
    for (let i = 0; i < f.idx.length; i++) s += this.weights[f.idx[i]] * f.val[i];
    return s;
  }

  /** The regression output before calibration. */
  rawScore(text: string): number {
    return this.predictFeatures(this.features(text));
  }

  /** Predicted educational score on the 0–5 label scale (calibrated); compare with a threshold. */
  score(text: string): number {
    return this.calibrate(this.rawScore(text));
  }

  calibrate(raw: number): number {
    const { x, y } = this.calibration;
    if (x.length === 0) return raw;
    if (raw <= x[0]) return y[0];
    if (raw >= x[x.length - 1]) return y[y.length - 1];
    let lo = 0, hi = x.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (x[mid] <= raw) lo = mid;
      else hi = mid;
    }
    return y[lo] + ((y[hi] - y[lo]) * (raw - x[lo])) / (x[hi] - x[lo]);
  }

  /** Fits weights (and, by default, the calibration) to `data`. Returns the final training MSE of the raw model. */
  train(data: Labelled[], o: TrainOptions = {}): number {
    if (data.length === 0) throw new Phi3Error('no labelled documents to train on');
    const calibrate = o.calibrate ?? data.length >= 20;
    if (calibrate) {
      const k = 5, rng = new Rng((o.seed ?? 1) + 17);
      const fold = data.map(() => Math.floor(rng.next() * k));
      const oof: { raw: number; y: number }[] = [];
      for (let f = 0; f < k; f++) {
        const m = EduClassifier.empty(this.bits, this.ngrams);
        const part = data.filter((_, i) => fold[i] !== f);
        if (part.length === 0 || part.length === data.length) continue;
        m.fit(part, o);
        data.forEach((d, i) => fold[i] === f && oof.push({ raw: m.rawScore(d.text), y: d.score }));
      }
      this.calibration = isotonic(oof);
      const cal = oof.map((p) => this.calibrate(p.raw));
      this.cuts = {};
      for (let t = 1; t <= 5; t++) {
        const cut = bestCut(cal, oof.map((p) => p.y), t);
        // A higher label never needs a lower score (few examples at the top can suggest otherwise).
        if (cut !== undefined) this.cuts[String(t)] = Math.max(cut, this.cuts[String(t - 1)] ?? -Infinity);
      }
    } else {
      this.calibration = { x: [], y: [] };
      this.cuts = {};
    }
    return this.fit(data, o);
  }

  /** AdaGrad on squared error + L2 (the raw regression). */
  private fit(data: Labelled[], o: TrainOptions): number {
    const epochs = o.epochs ?? 20, lr = o.lr ?? 0.2, l2 = o.l2 ?? 1e-3;
    const rng = new Rng(o.seed ?? 1);
    const feats = data.map((d) => this.features(d.text));
    const ys = data.map((d) => d.score);
    this.bias = ys.reduce((a, b) => a + b, 0) / ys.length;
    const g2 = new Float32Array(this.weights.length);
    let gb2 = 0;
    const order = data.map((_, i) => i);
    let mse = 0;
    for (let e = 0; e < epochs; e++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      mse = 0;
      for (const k of order) {
        const f = feats[k];
        const err = this.predictFeatures(f) - ys[k];
        mse += err * err;
        for (let i = 0; i < f.idx.length; i++) {
          const w = f.idx[i];
          const g = err * f.val[i] + l2 * this.weights[w];
          g2[w] += g * g;
          this.weights[w] -= (lr * g) / Math.sqrt(g2[w] + 1e-8);
        }
        gb2 += err * err;
        this.bias -= (lr * 0.1 * err) / Math.sqrt(gb2 + 1e-8);
      }
      mse /= order.length;
    }
    return mse;
  }

  save(path: string): void {
    const w = Buffer.from(this.weights.buffer, this.weights.byteOffset, this.weights.byteLength).toString('base64');
    writeFileSync(path, JSON.stringify({ format: CLASSIFIER_FORMAT, bits: this.bits, ngrams: this.ngrams, bias: this.bias, calibration: this.calibration, cuts: this.cuts, meta: this.meta, weights: w }) + '\n');
  }

  static load(path: string): EduClassifier {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new FormatError(path, `not a classifier file: ${(e as Error).message}`);
    }
    if (o.format !== CLASSIFIER_FORMAT) throw new FormatError(path, `format is ${JSON.stringify(o.format)}, expected "${CLASSIFIER_FORMAT}" (train one with \`phi3 data classifier train\`)`);
    const bits = Number(o.bits), ngrams = Number(o.ngrams);
    const c = EduClassifier.empty(bits, ngrams);
    const raw = Buffer.from(String(o.weights), 'base64');
    if (raw.length !== c.weights.byteLength) throw new FormatError(path, `weights hold ${raw.length} bytes, expected ${c.weights.byteLength} for ${bits} bits`);
    c.weights.set(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
    c.bias = Number(o.bias);
    c.meta = (o.meta as Record<string, unknown>) ?? {};
    const cal = o.calibration as { x?: unknown; y?: unknown } | undefined;
    if (cal && Array.isArray(cal.x) && Array.isArray(cal.y) && cal.x.length === cal.y.length) c.calibration = { x: cal.x.map(Number), y: cal.y.map(Number) };
    else if (cal !== undefined) throw new FormatError(path, 'calibration must be {x: [...], y: [...]} of equal length');
    if (o.cuts && typeof o.cuts === 'object') c.cuts = Object.fromEntries(Object.entries(o.cuts as Record<string, unknown>).map(([k, v]) => [k, Number(v)]));
    return c;
  }
}

/** The cut on `scores` with the best F1 for labels ≥ t (undefined when no label reaches t). */
export function bestCut(scores: number[], labels: number[], t: number): number | undefined {
  const pos = labels.filter((y) => y >= t).length;
  if (pos === 0) return undefined;
  const order = scores.map((s, i) => [s, labels[i] >= t ? 1 : 0]).sort((a, b) => b[0] - a[0]);
  let tp = 0, best = -1, cut: number | undefined;
  for (let i = 0; i < order.length; i++) {
    tp += order[i][1];
    if (i + 1 < order.length && order[i + 1][0] === order[i][0]) continue; // cut between distinct scores only
    const f1 = (2 * tp) / (i + 1 + pos);
    if (f1 > best) {
      best = f1;
      cut = order[i][0];
    }
  }
  return cut;
}

/** Pool-adjacent-violators: the non-decreasing fit of y on raw; knots at block means. */
export function isotonic(pts: { raw: number; y: number }[]): { x: number[]; y: number[] } {
  const s = [...pts].sort((a, b) => a.raw - b.raw);
  const blocks: { sx: number; sy: number; n: number }[] = [];
  for (const p of s) {
    blocks.push({ sx: p.raw, sy: p.y, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a.sy / a.n < b.sy / b.n) break;
      a.sx += b.sx;
      a.sy += b.sy;
      a.n += b.n;
      blocks.pop();
    }
  }
  return { x: blocks.map((b) => b.sx / b.n), y: blocks.map((b) => b.sy / b.n) };
}

export interface Metrics {
  n: number;
  threshold: number;
  mae: number;
  /** Rounded, clamped prediction equals the label. */
  exactAccuracy: number;
  /** Positive = score ≥ threshold, for both labels and predictions. */
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Agreement of predictions with labels at a label threshold; a prediction counts positive at ≥ `cut` (per document if an array). */
export function agreement(preds: number[], labels: number[], threshold: number, cut: number | number[] = threshold): Metrics {
  let tp = 0, fp = 0, fn = 0, tn = 0, ae = 0, exact = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] >= (typeof cut === 'number' ? cut : cut[i]), l = labels[i] >= threshold;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
    else tn++;
    ae += Math.abs(preds[i] - labels[i]);
    if (Math.min(5, Math.max(0, Math.round(preds[i]))) === labels[i]) exact++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0, recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    n: preds.length, threshold, mae: ae / Math.max(1, preds.length), exactAccuracy: exact / Math.max(1, preds.length),
    precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, tp, fp, fn, tn,
  };
}

/** k-fold cross-validated scores (each document scored by a model that never saw it) and that model's cuts, seeded. */
export function crossValidate(data: Labelled[], k: number, o: TrainOptions & { bits?: number; ngrams?: number } = {}): { scores: number[]; cuts: ((t: number) => number)[] } {
  if (!Number.isInteger(k) || k < 2 || k > data.length) throw new Phi3Error(`cross-validation needs 2 ≤ k ≤ ${data.length} folds, got ${k}`);
  const rng = new Rng((o.seed ?? 1) + 101);
  const order = data.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const fold = new Int32Array(data.length);
  order.forEach((d, r) => (fold[d] = r % k));
  const scores = new Array<number>(data.length);
  const cuts = new Array<(t: number) => number>(data.length);
  for (let f = 0; f < k; f++) {
    const m = EduClassifier.empty(o.bits ?? 18, o.ngrams ?? 2);
    m.train(data.filter((_, i) => fold[i] !== f), o);
    data.forEach((d, i) => fold[i] === f && ((scores[i] = m.score(d.text)), (cuts[i] = (t) => m.cutFor(t))));
  }
  return { scores, cuts };
}

/** Area under the ROC curve of `preds` for labels ≥ threshold (ties count half). */
export function auc(preds: number[], labels: number[], threshold: number): number {
  const pos = preds.filter((_, i) => labels[i] >= threshold), neg = preds.filter((_, i) => labels[i] < threshold);
  if (!pos.length || !neg.length) return NaN;
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (pos.length * neg.length);
}
