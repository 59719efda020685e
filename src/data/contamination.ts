// Benchmark contamination check: word n-gram overlap (default 13-grams, as in GPT-3's and Phi's
// decontamination) between training documents and the evaluation sets in ../shared/datasets, which must
// never be trained on. The index is an open-addressing hash set of 64-bit n-gram keys (two independent
// 32-bit hashes: with millions of benchmark n-grams, 32 bits alone flag ~4% of clean documents by
// collision), each tagged with the benchmark it came from. JSON/JSONL files are indexed per string field, other text files as one
// word stream; .gz is read with zlib, .bz2 through the `bzip2` program when present; encrypted .zip
// (GPQA) is skipped and the report says so. Tested in test/data-contamination.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Phi3Error } from '../errors.js';
import { listFiles } from './docs.js';
import { ngramHashesOf, wordHashes } from './text.js';

export interface ContaminationIndexInfo {
  root: string;
  ngram: number;
  benchmarks: string[];
  files: number;
  ngrams: number;
  skipped: { file: string; why: string }[];
}

export interface ContaminationHit {
  hits: number;
  benchmarks: string[];
}

export class ContaminationIndex {
  private keys = new Uint32Array(1 << 16);
  private keys2 = new Uint32Array(1 << 16);
  /** Benchmark number + 1; 0 marks an empty slot. */
  private tags = new Uint8Array(1 << 16);
  private size = 0;
  readonly benchmarks: string[] = [];
  readonly info: ContaminationIndexInfo;

  private constructor(root: string, readonly ngram: number) {
    this.info = { root, ngram, benchmarks: this.benchmarks, files: 0, ngrams: 0, skipped: [] };
  }

  /** Indexes every benchmark folder under `root` (one folder = one benchmark). */
  static build(root: string, ngram = 13): ContaminationIndex {
    if (!Number.isInteger(ngram) || ngram < 4) throw new Phi3Error(`contamination n-gram size must be an integer ≥ 4, got ${ngram}`);
    const idx = new ContaminationIndex(root, ngram);
    for (const file of listFiles(root)) {
      const rel = relative(root, file);
      if (!rel.includes(sep)) continue; // top-level notes (SOURCES.md, SHA256SUMS)
      const bench = rel.split(sep)[0];
      if (/^(LICENSE|README|SHA256SUMS)/i.test(basename(file)) || /\.md$/i.test(file)) continue;
      let text: string;
      try {
        if (/\.zip$/i.test(file)) {
          idx.info.skipped.push({ file: rel, why: 'zip archive (GPQA ships encrypted); not indexed' });
          continue;
        }
        if (/\.bz2$/i.test(file)) {
          const r = spawnSync('bzip2', ['-dc', file], { maxBuffer: 1 << 30 });
          if (r.status !== 0) {
            idx.info.skipped.push({ file: rel, why: 'bz2 and no working `bzip2` program' });
            continue;
          }
          text = r.stdout.toString('utf8');
        } else text = (/\.gz$/i.test(file) ? gunzipSync(readFileSync(file)) : readFileSync(file)).toString('utf8');
      } catch (e) {
        idx.info.skipped.push({ file: rel, why: (e as Error).message });
        continue;
      }
      let tag = idx.benchmarks.indexOf(bench);
      if (tag < 0) tag = idx.benchmarks.push(bench) - 1;
      if (tag > 254) throw new Phi3Error(`${root}: more than 255 benchmark folders`);
      for (const s of idx.strings(file, text)) idx.addText(s, tag + 1);
      idx.info.files++;
    }
    idx.info.ngrams = idx.size;
    return idx;
  }

  /** JSON(L): each string value on its own (fields are separate texts); anything else: the whole text. */
  private *strings(file: string, text: string): Generator<string> {
    const name = file.replace(/\.gz$/i, '');
    const walk = function* (v: unknown): Generator<string> {
      if (typeof v === 'string') yield v;
      else if (Array.isArray(v)) for (const x of v) yield* walk(x);
      else if (v && typeof v === 'object') for (const x of Object.values(v)) yield* walk(x);
    };
    if (/\.jsonl$/i.test(name)) {
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          yield* walk(JSON.parse(line));
        } catch {
          yield line;
        }
      }
    } else if (/\.json$/i.test(name)) {
      try {
        yield* walk(JSON.parse(text));
      } catch {
        yield text;
      }
    } else yield text;
  }

  private addText(s: string, tag: number): void {
    const w0 = wordHashes(s, 0);
    if (w0.length < this.ngram) return;
    const a = ngramHashesOf(w0, this.ngram), b = ngramHashesOf(wordHashes(s, 0x5bd1e995), this.ngram);
    for (let i = 0; i < a.length; i++) this.insert(a[i], b[i], tag);
  }

  private insert(h: number, h2: number, tag: number): void {
    if (this.size * 2 >= this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      if (this.tags[i] === 0) {
        this.keys[i] = h;
        this.keys2[i] = h2;
        this.tags[i] = tag;
        this.size++;
        return;
      }
      if (this.keys[i] === h && this.keys2[i] === h2) return;
    }
  }

  private find(h: number, h2: number): number {
    const mask = this.keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      if (this.tags[i] === 0) return 0;
      if (this.keys[i] === h && this.keys2[i] === h2) return this.tags[i];
    }
  }

  private grow(): void {
    const { keys, keys2, tags } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.keys2 = new Uint32Array(keys.length * 2);
    this.tags = new Uint8Array(keys.length * 2);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (tags[i] !== 0) this.insert(keys[i], keys2[i], tags[i]);
  }

  /** How many of the document's n-grams occur in a benchmark, and which benchmarks. */
  check(text: string): ContaminationHit {
    const w0 = wordHashes(text, 0);
    if (w0.length < this.ngram) return { hits: 0, benchmarks: [] };
    let hits = 0;
    const seen = new Set<number>();
    const a = ngramHashesOf(w0, this.ngram), b = ngramHashesOf(wordHashes(text, 0x5bd1e995), this.ngram);
    for (let i = 0; i < a.length; i++) {
      const t = this.find(a[i], b[i]);
      if (t) {
        hits++;
        seen.add(t);
      }
    }
    return { hits, benchmarks: [...seen].map((t) => this.benchmarks[t - 1]) };
  }
}

/** Running tally for reports: contaminated documents per benchmark, with a few example ids. */
export class ContaminationTally {
  docs = 0;
  flagged = 0;
  readonly byBenchmark: Record<string, number> = {};
  readonly examples: { id: string; hits: number; benchmarks: string[] }[] = [];

  add(id: string, hit: ContaminationHit, minHits: number): boolean {
    this.docs++;
    if (hit.hits < minHits) return false;
    this.flagged++;
    for (const b of hit.benchmarks) this.byBenchmark[b] = (this.byBenchmark[b] ?? 0) + 1;
    if (this.examples.length < 20) this.examples.push({ id, ...hit });
    return true;
  }

  toJSON() {
    return { docs: this.docs, flagged: this.flagged, byBenchmark: this.byBenchmark, examples: this.examples };
  }
}
