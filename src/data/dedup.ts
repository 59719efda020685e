// Deduplication, streaming, first occurrence wins:
//   exact — the word sequence (lowercased letters/digits: text.ts) hashed to 53 bits;
//   near  — MinHash over word n-gram shingles (`perms` hash functions), banded LSH (`bands` × rows) to
//           find candidates among kept documents, then the signature-estimated Jaccard similarity must reach
//           `threshold`. With 128 perms in 32 bands of 4 rows a pair at Jaccard 0.6 becomes a candidate with
//           probability 1 − (1 − 0.6⁴)³² ≈ 0.99, one at 0.2 with ≈ 0.05 (and is then rejected by the estimate).
// Memory: one signature (perms × 4 bytes) per kept document plus its band keys.
// Tested in test/data-dedup.test.ts (planted exact and near duplicates: recall and precision).
import { Phi3Error } from '../errors.js';
import { fmix32, hashPair, ngramHashesOf, wordHashes } from './text.js';

export interface DedupOptions {
  exact?: boolean;
  near?: boolean;
  /** Words per shingle (default 5). */
  shingle?: number;
  /** MinHash functions (default 128). */
  perms?: number;
  /** LSH bands; perms must be a multiple (default 32). */
  bands?: number;
  /** Estimated Jaccard similarity at or above which a document is a near duplicate (default 0.6). */
  threshold?: number;
  seed?: number;
}

export interface DedupVerdict {
  keep: boolean;
  kind?: 'exact' | 'near';
  /** Id of the kept document this one duplicates. */
  of?: string;
  similarity?: number;
}

export interface RemovedEntry {
  id: string;
  kind: 'exact' | 'near';
  of: string;
  similarity: number;
}

export interface DedupStats {
  docs: number;
  kept: number;
  exact: number;
  near: number;
  bytesIn: number;
  bytesKept: number;
  removed: RemovedEntry[];
}

export class Deduper {
  readonly shingle: number;
  readonly perms: number;
  readonly bands: number;
  readonly rows: number;
  readonly threshold: number;
  private readonly doExact: boolean;
  private readonly doNear: boolean;
  private readonly seeds: Uint32Array;
  private readonly exactSeen = new Map<number, number>();
  private readonly buckets = new Map<number, number[]>();
  private readonly ids: string[] = [];
  private readonly sigs: Uint32Array[] = [];
  readonly stats: DedupStats = { docs: 0, kept: 0, exact: 0, near: 0, bytesIn: 0, bytesKept: 0, removed: [] };

  constructor(o: DedupOptions = {}) {
    this.shingle = o.shingle ?? 5;
    this.perms = o.perms ?? 128;
    this.bands = o.bands ?? 32;
    this.threshold = o.threshold ?? 0.6;
    this.doExact = o.exact ?? true;
    this.doNear = o.near ?? true;
    if (!Number.isInteger(this.shingle) || this.shingle < 1) throw new Phi3Error(`shingle size must be a positive integer, got ${this.shingle}`);
    if (!Number.isInteger(this.perms) || !Number.isInteger(this.bands) || this.bands < 1 || this.perms % this.bands !== 0)
      throw new Phi3Error(`--perms (${this.perms}) must be a multiple of --bands (${this.bands})`);
    if (!(this.threshold > 0 && this.threshold <= 1)) throw new Phi3Error(`threshold must be in (0, 1], got ${this.threshold}`);
    this.rows = this.perms / this.bands;
    this.seeds = new Uint32Array(this.perms);
    for (let i = 0; i < this.perms; i++) this.seeds[i] = fmix32((i + 1) * 0x9e3779b9 + (o.seed ?? 0));
  }

  /** MinHash signature of a text: per hash function, the minimum over its shingles. */
  signature(text: string): Uint32Array {
    return this.signatureOf(wordHashes(text));
  }

  /**
   * Hash function p of a shingle hash x is xorshift(imul(x ^ seed_p, odd constant)): three cheap ops, a
   * bijection of 32-bit values per p (so distinct shingles never merge), independent enough across p for
   * MinHash (the planted-duplicate test measures the result). Shingle-outer order keeps x in a register.
   */
  private signatureOf(wh: Uint32Array): Uint32Array {
    const sh = ngramHashesOf(wh, this.shingle);
    const sig = new Uint32Array(this.perms).fill(0xffffffff);
    const seeds = this.seeds, P = this.perms;
    for (let i = 0; i < sh.length; i++) {
      const x = sh[i];
      for (let p = 0; p < P; p++) {
        let h = Math.imul(x ^ seeds[p], 0x9e3779b1);
        h = (h ^ (h >>> 15)) >>> 0;
        if (h < sig[p]) sig[p] = h;
      }
    }
    return sig;
  }

  /** Decides on one document and, if kept, remembers it. */
  check(id: string, text: string): DedupVerdict {
    const bytes = Buffer.byteLength(text);
    this.stats.docs++;
    this.stats.bytesIn += bytes;
    const verdict = this.decide(id, text);
    if (verdict.keep) {
      this.stats.kept++;
      this.stats.bytesKept += bytes;
      return verdict;
    }
    const kind = verdict.kind!;
    const of = this.ids[verdict.index!];
    this.stats[kind]++;
    this.stats.removed.push({ id, kind, of, similarity: verdict.similarity! });
    return { keep: false, kind, of, similarity: verdict.similarity };
  }

  private decide(id: string, text: string): DedupVerdict & { index?: number } {
    // Exact key: 53 bits from two chains over the word hashes (same words, any case/spacing/punctuation → same key).
    const wh = wordHashes(text);
    let k1 = 1, k2 = 2;
    for (let i = 0; i < wh.length; i++) {
      k1 = hashPair(k1, wh[i]);
      k2 = hashPair(k2 ^ 0x5bd1e995, wh[i]);
    }
    const key = k1 * 2097152 + (k2 >>> 11);
    if (this.doExact) {
      const j = this.exactSeen.get(key);
      if (j !== undefined) return { keep: false, kind: 'exact', index: j, similarity: 1 };
    }
    const index = this.ids.length;
    let sig: Uint32Array | undefined;
    let bandKeys: number[] = [];
    if (this.doNear && wh.length > 0) {
      sig = this.signatureOf(wh);
      bandKeys = this.bandKeys(sig);
      let best = -1, bestSim = 0;
      const seen = new Set<number>();
      for (const k of bandKeys)
        for (const j of this.buckets.get(k) ?? []) {
          if (seen.has(j)) continue;
          seen.add(j);
          const sim = this.similarityAtLeast(sig, this.sigs[j], Math.max(this.threshold, bestSim));
          if (sim > bestSim) {
            bestSim = sim;
            best = j;
          }
        }
      if (best >= 0 && bestSim >= this.threshold) return { keep: false, kind: 'near', index: best, similarity: bestSim };
    }
    // Kept: remember it for later documents.
    this.ids.push(id);
    if (this.doExact) this.exactSeen.set(key, index);
    if (sig) {
      this.sigs[index] = sig;
      for (const k of bandKeys) {
        const b = this.buckets.get(k);
        if (b) b.push(index);
        else this.buckets.set(k, [index]);
      }
    }
    return { keep: true };
  }

  /** One key per band: the band's rows hashed together with the band number. */
  private bandKeys(sig: Uint32Array): number[] {
    const keys: number[] = [];
    for (let b = 0; b < this.bands; b++) {
      let h = b + 1;
      for (let r = 0; r < this.rows; r++) h = fmix32((Math.imul(h, 0x01000193) ^ sig[b * this.rows + r]) >>> 0);
      keys.push(fmix32((h ^ Math.imul(b + 1, 0x9e3779b9)) >>> 0) >>> 1); // 31 bits: a small-integer Map key (fast); rare cross-band clashes only add a candidate
    }
    return keys;
  }

  /** The estimate if it reaches `min`, else 0 — stopping as soon as too many slots differ (most candidates). */
  private similarityAtLeast(a: Uint32Array, b: Uint32Array, min: number): number {
    const maxMiss = Math.floor((1 - min) * a.length);
    let miss = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && ++miss > maxMiss) return 0;
    return (a.length - miss) / a.length;
  }

  similarity(a: Uint32Array, b: Uint32Array): number {
    let eq = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
    return eq / a.length;
  }
}
