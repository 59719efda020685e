// `phi3 data mix`: a phase of a recipe → tokenized, shuffled, packed shards (shards.ts) + a report of
// tokens per source. Two passes, so nothing is held whole in memory:
//   1. every source of the phase is tokenized once into a temporary token file + document offsets
//      (documents flagged by the contamination check are dropped here and counted);
//   2. each source gets `weight / Σweights` of the phase's tokens: whole shuffled passes (epochs) over it,
//      then a partial pass; the chosen (source, document) pairs are shuffled together and written out.
// Without `tokens` in the phase, the target is the largest that repeats no source.
// Recipe format: see RECIPE_HELP below and docs/data.md. Tested in test/data-mix.test.ts.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Phi3Error } from '../errors.js';
import { Rng } from '../generate/sampler.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { ContaminationTally, type ContaminationIndex } from './contamination.js';
import { readDocs, type Doc } from './docs.js';
import { ShardWriter, type ShardIndex } from './shards.js';
import { generateSynth, toText } from './synth/index.js';

export const RECIPE_HELP = `recipe.json:
{
  "seed": 1, "shardTokens": 16777216,
  "sources": {
    "web":     { "path": "web.jsonl", "field": "text" },           // JSON lines, text files or folders
    "web-edu": { "path": "web.filtered.jsonl" },                  // e.g. the output of phi3 data filter
    "math":    { "synth": { "skills": ["arithmetic", "units"], "count": 20000, "seed": 3 } }
  },
  "phases": {
    "1": { "weights": { "web": 0.9, "math": 0.1 }, "tokens": 50000000 },
    "2": { "weights": { "web-edu": 0.5, "math": 0.5 } }
  }
}
weights are shares of the phase's tokens; without "tokens" a phase takes the most it can without repeating a source.`;

export interface SourceSpec {
  path?: string;
  format?: 'auto' | 'jsonl' | 'text';
  field?: string;
  split?: string;
  synth?: { skills: string[]; count: number; seed?: number };
}

export interface Recipe {
  seed?: number;
  shardTokens?: number;
  sources: Record<string, SourceSpec>;
  phases: Record<string, { weights: Record<string, number>; tokens?: number }>;
}

export interface SourceReport {
  docsAvailable: number;
  tokensAvailable: number;
  contaminatedDocs: number;
  docsTaken: number;
  tokensTaken: number;
  /** tokensTaken / tokensAvailable: above 1 means the source is repeated. */
  epochs: number;
  share: number;
}

export interface MixReport {
  phase: string;
  totalTokens: number;
  documents: number;
  shards: number;
  sources: Record<string, SourceReport>;
  contamination?: ReturnType<ContaminationTally['toJSON']> | { skipped: string };
  seconds: number;
}

/** Reads and checks a recipe; relative paths resolve against the recipe's folder. */
export function loadRecipe(path: string): Recipe {
  let r: Recipe;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as Recipe;
  } catch (e) {
    throw new Phi3Error(`cannot read recipe ${path}: ${(e as Error).message}`);
  }
  if (!r || typeof r.sources !== 'object' || typeof r.phases !== 'object') throw new Phi3Error(`recipe ${path} needs "sources" and "phases" objects\n${RECIPE_HELP}`);
  for (const [name, s] of Object.entries(r.sources)) {
    if (!s || (s.path === undefined) === (s.synth === undefined)) throw new Phi3Error(`recipe ${path}: source "${name}" needs exactly one of "path" or "synth"`);
    if (s.path !== undefined && !isAbsolute(s.path)) s.path = resolve(dirname(path), s.path);
  }
  for (const [p, ph] of Object.entries(r.phases)) {
    if (!ph || typeof ph.weights !== 'object') throw new Phi3Error(`recipe ${path}: phase ${p} has no "weights"`);
    for (const [s, w] of Object.entries(ph.weights)) {
      if (!(s in r.sources)) throw new Phi3Error(`recipe ${path}: phase ${p} weighs unknown source "${s}" (sources: ${Object.keys(r.sources).join(', ')})`);
      if (!(typeof w === 'number' && w >= 0 && Number.isFinite(w))) throw new Phi3Error(`recipe ${path}: phase ${p} weight of "${s}" must be a number ≥ 0`);
    }
    if (!Object.values(ph.weights).some((w) => w > 0)) throw new Phi3Error(`recipe ${path}: phase ${p} has no positive weight`);
    if (ph.tokens !== undefined && !(Number.isInteger(ph.tokens) && ph.tokens > 0)) throw new Phi3Error(`recipe ${path}: phase ${p} "tokens" must be a positive integer`);
  }
  return r;
}

async function* sourceDocs(s: SourceSpec): AsyncGenerator<Doc> {
  if (s.synth) {
    for (const rec of generateSynth(s.synth.skills, s.synth.count, s.synth.seed ?? 1)) yield { id: rec.id, text: toText(rec) };
  } else yield* readDocs(s.path!, { format: s.format, field: s.field, split: s.split });
}

/** Pass 1 for one source: tokens to `file` (u32), document start offsets returned. */
async function tokenizeSource(s: SourceSpec, tok: Tokenizer, file: string, tally: ContaminationTally | undefined, contamination: ContaminationIndex | undefined, onDoc: () => void) {
  const fd = openSync(file, 'w');
  const offsets: number[] = [0];
  let contaminated = 0;
  try {
    for await (const d of sourceDocs(s)) {
      onDoc();
      if (contamination && tally!.add(d.id, contamination.check(d.text), 1)) {
        contaminated++;
        continue;
      }
      const ids = Uint32Array.from(tok.encode(d.text, { parseSpecial: false }));
      if (ids.length === 0) continue;
      writeSync(fd, new Uint8Array(ids.buffer));
      offsets.push(offsets[offsets.length - 1] + ids.length);
    }
  } finally {
    closeSync(fd);
  }
  return { offsets, contaminated };
}

export interface MixOptions {
  tokenizer: Tokenizer;
  contamination?: ContaminationIndex;
  contaminationSkipped?: string;
  /** Called per document read in pass 1 and per document written in pass 2. */
  onProgress?: (stage: 'tokenize' | 'write', source: string, n: number) => void;
}

export async function mixPhase(recipe: Recipe, phase: string, outDir: string, o: MixOptions): Promise<{ index: ShardIndex; report: MixReport }> {
  const t0 = performance.now();
  const ph = recipe.phases[phase];
  if (!ph) throw new Phi3Error(`the recipe has no phase "${phase}" (phases: ${Object.keys(recipe.phases).join(', ')})`);
  const sepId = o.tokenizer.tokenId('<|endoftext|>') ?? o.tokenizer.eosId;
  if (sepId === undefined) throw new Phi3Error('the tokenizer has no <|endoftext|> or EOS token to separate documents');
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, '.mix-tmp');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const tally = o.contamination ? new ContaminationTally() : undefined;
  const names = Object.keys(ph.weights).filter((s) => ph.weights[s] > 0);
  const src: Record<string, { offsets: number[]; contaminated: number; file: string }> = {};
  try {
    for (const name of names) {
      let n = 0;
      const file = join(tmp, `${names.indexOf(name)}.u32`);
      src[name] = { file, ...(await tokenizeSource(recipe.sources[name], o.tokenizer, file, tally, o.contamination, () => o.onProgress?.('tokenize', name, ++n))) };
      if (src[name].offsets.length === 1) throw new Phi3Error(`source "${name}" has no documents (after the contamination check)`);
    }
    // Token budget per source.
    const wsum = names.reduce((a, s) => a + ph.weights[s], 0);
    const avail = (s: string) => src[s].offsets[src[s].offsets.length - 1] + src[s].offsets.length - 1; // + separators
    const target = ph.tokens ?? Math.floor(Math.min(...names.map((s) => avail(s) / (ph.weights[s] / wsum))));
    const rng = new Rng((recipe.seed ?? 1) * 1000 + [...phase].reduce((a, c) => a * 31 + c.charCodeAt(0), 7));
    const picks: [number, number][] = [];
    const sources: Record<string, SourceReport> = {};
    names.forEach((s, si) => {
      const need = Math.round((target * ph.weights[s]) / wsum);
      const off = src[s].offsets;
      const nd = off.length - 1;
      let got = 0, docs = 0;
      while (got < need) {
        const order = Array.from({ length: nd }, (_, i) => i);
        for (let i = nd - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        for (const d of order) {
          if (got >= need) break;
          picks.push([si, d]);
          got += off[d + 1] - off[d] + 1;
          docs++;
        }
      }
      sources[s] = { docsAvailable: nd, tokensAvailable: avail(s), contaminatedDocs: src[s].contaminated, docsTaken: docs, tokensTaken: got, epochs: got / avail(s), share: 0 };
    });
    for (let i = picks.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [picks[i], picks[j]] = [picks[j], picks[i]];
    }
    const w = new ShardWriter(outDir, o.tokenizer.vocabSize, sepId, recipe.shardTokens ?? 1 << 24);
    const fds = names.map((s) => openSync(src[s].file, 'r'));
    try {
      let n = 0;
      for (const [si, d] of picks) {
        const off = src[names[si]].offsets;
        const len = off[d + 1] - off[d];
        const buf = Buffer.alloc(len * 4);
        readSync(fds[si], buf, 0, buf.length, off[d] * 4);
        w.addDocument(new Uint32Array(buf.buffer, buf.byteOffset, len));
        o.onProgress?.('write', names[si], ++n);
      }
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
    const total = Object.values(sources).reduce((a, s) => a + s.tokensTaken, 0);
    for (const s of Object.values(sources)) s.share = s.tokensTaken / total;
    const report: MixReport = {
      phase, totalTokens: total, documents: picks.length, shards: 0, sources,
      contamination: tally ? tally.toJSON() : { skipped: o.contaminationSkipped ?? 'no benchmark folder given' },
      seconds: (performance.now() - t0) / 1000,
    };
    const index = w.close({ phase, recipeSeed: recipe.seed ?? 1, weights: ph.weights, report });
    report.shards = index.shards.length;
    writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(outDir, 'report.md'), mixReportMarkdown(report));
    return { index, report };
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
}

export function mixReportMarkdown(r: MixReport): string {
  const rows = Object.entries(r.sources).map(
    ([s, x]) => `| ${s} | ${x.docsAvailable} | ${x.tokensAvailable} | ${x.contaminatedDocs} | ${x.docsTaken} | ${x.tokensTaken} | ${(x.share * 100).toFixed(1)}% | ${x.epochs.toFixed(2)} |`,
  );
  const c = r.contamination && 'flagged' in r.contamination ? `${r.contamination.flagged} of ${r.contamination.docs} documents dropped for benchmark n-gram overlap ${JSON.stringify(r.contamination.byBenchmark)}` : `skipped (${(r.contamination as { skipped: string }).skipped})`;
  return [
    `# Mix, phase ${r.phase}`,
    '',
    `${r.totalTokens} tokens (separators included) in ${r.documents} documents, ${r.shards} shard(s), ${r.seconds.toFixed(1)} s.`,
    '',
    '| source | docs available | tokens available | contaminated docs | docs taken | tokens taken | share | epochs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Contamination check: ${c}.`,
    '',
  ].join('\n');
}
