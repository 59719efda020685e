// Builds a real-text corpus (JSON lines) from Debian packages nobody here wrote, for the data-recipe tests
// and reports: dictd dictionaries (FOLDOC: computing; the Jargon File; GCIDE: Webster's 1913, a seeded
// subset) and the `fortunes` quotation/joke files. Ids are stable (`foldoc:<headword>`,
// `fortunes/<file>#<k>`), so hand labels can refer to documents without copying their text.
// Install: apt-get install -y dict-foldoc dict-jargon dict-gcide fortunes
// Run:     node --import tsx scripts/data/debian-corpus.ts OUT.jsonl [--gcide N]
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Rng } from '../../src/generate/sampler.js';
import type { Doc } from '../../src/data/docs.js';

export const DICTD = '/usr/share/dictd';
export const FORTUNES = '/usr/share/games/fortunes';
export const APT_LINE = 'apt-get install -y dict-foldoc dict-jargon dict-gcide fortunes';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function b64num(s: string): number {
  let n = 0;
  for (const c of s) n = n * 64 + B64.indexOf(c);
  return n;
}

/** Entries of a dictd dictionary: [headword, text], in index order, metadata entries skipped. */
export function dictdEntries(name: string): [string, string][] {
  const dict = gunzipSync(readFileSync(join(DICTD, `${name}.dict.dz`)));
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const line of readFileSync(join(DICTD, `${name}.index`), 'utf8').split('\n')) {
    const [hw, off, len] = line.split('\t');
    if (!len || hw.startsWith('00database') || hw.startsWith('00-database')) continue;
    const key = `${b64num(off)}:${b64num(len)}`;
    if (seen.has(key)) continue; // several headwords can point at one entry
    seen.add(key);
    out.push([hw, dict.subarray(b64num(off), b64num(off) + b64num(len)).toString('utf8').trim()]);
  }
  return out;
}

export function fortuneDocs(): Doc[] {
  const out: Doc[] = [];
  for (const f of readdirSync(FORTUNES).sort()) {
    if (f.includes('.')) continue;
    const p = join(FORTUNES, f);
    let k = 0;
    for (const chunk of readFileSync(p, 'utf8').split(/^%$/m)) {
      const text = chunk.trim();
      if (text) out.push({ id: `fortunes/${f}#${k}`, text });
      k++;
    }
  }
  return out;
}

export function debianAvailable(): boolean {
  return ['foldoc', 'jargon', 'gcide'].every((n) => existsSync(join(DICTD, `${n}.index`))) && existsSync(join(FORTUNES, 'fortunes'));
}

/** The whole corpus; GCIDE (≈100k entries) is cut to a seeded sample of `gcide` entries. */
export function debianCorpus(gcide = 5000, seed = 1): Doc[] {
  if (!debianAvailable()) throw new Error(`the Debian corpora are not installed: ${APT_LINE}`);
  const docs: Doc[] = [];
  const seen = new Map<string, number>();
  // A headword can head several entries: the second is `<id>#2`, and so on.
  const unique = (id: string) => {
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    return n === 1 ? id : `${id}#${n}`;
  };
  for (const name of ['foldoc', 'jargon']) for (const [hw, text] of dictdEntries(name)) docs.push({ id: unique(`${name}:${hw}`), text });
  const g = dictdEntries('gcide');
  const rng = new Rng(seed);
  const chosen = new Set<number>();
  while (chosen.size < Math.min(gcide, g.length)) chosen.add(Math.floor(rng.next() * g.length));
  for (const i of [...chosen].sort((a, b) => a - b)) docs.push({ id: unique(`gcide:${g[i][0]}`), text: g[i][1] });
  docs.push(...fortuneDocs());
  return docs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: debian-corpus.ts OUT.jsonl [--gcide N] [--labels LABELS.jsonl]');
  const gi = process.argv.indexOf('--gcide');
  const docs = debianCorpus(gi > 0 ? Number(process.argv[gi + 1]) : 5000);
  writeFileSync(out, docs.map((d) => JSON.stringify({ id: d.id, text: d.text })).join('\n') + '\n');
  console.error(`wrote ${docs.length} documents to ${out}`);
  // --labels: the hand labels as annotation records (what `phi3 data annotate` writes), for `classifier train`.
  const li = process.argv.indexOf('--labels');
  if (li > 0) {
    const fx = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/fixtures/data/edu-labels.json'), 'utf8')) as { rubric: string; labels: { id: string; score: number }[] };
    const byId = new Map(docs.map((d) => [d.id, d.text]));
    const rows = fx.labels.map((l) => JSON.stringify({ id: l.id, text: byId.get(l.id), score: l.score, judge: 'hand', rubric: fx.rubric }));
    writeFileSync(process.argv[li + 1], rows.join('\n') + '\n');
    console.error(`wrote ${rows.length} hand-labelled documents to ${process.argv[li + 1]}`);
  }
}
