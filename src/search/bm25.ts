// Okapi BM25 over passages (k1 = 1.2, b = 0.75, Lucene's always-positive idf
// ln(1 + (N − df + 0.5) / (df + 0.5))). An inverted index — term → (passage, frequency) postings — so a
// query touches only the passages that share a term with it. Serialisable to plain JSON.
import { terms } from './text.js';

export interface Hit {
  id: number;
  score: number;
}

export interface Bm25Json {
  k1: number;
  b: number;
  lengths: number[];
  /** term → flat [id, tf, id, tf, …] */
  postings: Record<string, number[]>;
}

export class Bm25 {
  private readonly postings = new Map<string, number[]>();
  private readonly lengths: number[] = [];
  private totalLength = 0;

  constructor(
    readonly k1 = 1.2,
    readonly b = 0.75,
  ) {}

  get size(): number {
    return this.lengths.length;
  }

  /** Adds a passage; returns its id (0, 1, 2 … in order of adding). */
  add(text: string): number {
    return this.addTerms(terms(text));
  }

  addTerms(ts: string[]): number {
    const id = this.lengths.length;
    const tf = new Map<string, number>();
    for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) {
      let list = this.postings.get(t);
      if (!list) this.postings.set(t, (list = []));
      list.push(id, n);
    }
    this.lengths.push(ts.length);
    this.totalLength += ts.length;
    return id;
  }

  /** The k best passages for the query, best first; passages sharing no term are never returned. */
  search(query: string, k: number): Hit[] {
    return this.searchTerms(terms(query), k);
  }

  searchTerms(queryTerms: string[], k: number): Hit[] {
    const n = this.lengths.length;
    if (n === 0 || k <= 0) return [];
    const avg = this.totalLength / n || 1;
    const scores = new Map<number, number>();
    for (const t of new Set(queryTerms)) {
      const list = this.postings.get(t);
      if (!list) continue;
      const df = list.length / 2;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let i = 0; i < list.length; i += 2) {
        const id = list[i];
        const tf = list[i + 1];
        const norm = tf + this.k1 * (1 - this.b + (this.b * this.lengths[id]) / avg);
        scores.set(id, (scores.get(id) ?? 0) + (idf * tf * (this.k1 + 1)) / norm);
      }
    }
    return [...scores]
      .map(([id, score]) => ({ id, score }))
      .sort((x, y) => y.score - x.score || x.id - y.id)
      .slice(0, k);
  }

  toJSON(): Bm25Json {
    return { k1: this.k1, b: this.b, lengths: this.lengths, postings: Object.fromEntries(this.postings) };
  }

  static fromJSON(j: Bm25Json): Bm25 {
    const index = new Bm25(j.k1, j.b);
    index.lengths.push(...j.lengths);
    index.totalLength = j.lengths.reduce((a, x) => a + x, 0);
    for (const [t, list] of Object.entries(j.postings)) index.postings.set(t, list);
    return index;
  }
}
