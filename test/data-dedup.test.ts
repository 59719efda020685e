// Dedup on a corpus with planted duplicates: exact copies (case, spacing and punctuation changed) and
// near copies (3% of words replaced, a tail cut, a sentence inserted), shuffled among unrelated
// documents; recall and precision are measured against the planting, and the report names the original.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/generate/sampler.js';
import { Deduper } from '../src/data/dedup.js';

function vocab(rng: Rng, n: number): string[] {
  const syl = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'po', 'da', 'fe', 'gu', 'hi', 'ja'];
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => syl[Math.floor(rng.next() * syl.length)]).join('') + Math.floor(rng.next() * 100));
}

export function plantedCorpus(seed: number, originals: number) {
  const rng = new Rng(seed);
  const V = vocab(rng, 3000);
  const word = () => V[Math.floor(V.length * rng.next() ** 2.5)]; // Zipf-like: common words recur across documents
  const docs: { id: string; text: string; dupOf?: string; kind?: 'exact' | 'near' }[] = [];
  for (let i = 0; i < originals; i++) {
    const n = 60 + Math.floor(rng.next() * 240);
    const ws = Array.from({ length: n }, word);
    docs.push({ id: `d${i}`, text: ws.map((w, k) => (k % 12 === 11 ? w + '.' : w)).join(' ') });
  }
  const planted: typeof docs = [];
  for (let i = 0; i < originals / 5; i++) {
    const src = docs[Math.floor(rng.next() * originals)];
    planted.push({ id: `x${i}`, dupOf: src.id, kind: 'exact', text: src.text.toUpperCase().replace(/ /g, '  ').replace(/\./g, '!') });
    const o = docs[Math.floor(rng.next() * originals)];
    const ws = o.text.split(' ');
    const how = i % 3;
    let near: string[];
    if (how === 0) near = ws.map((w) => (rng.next() < 0.03 ? word() : w));
    else if (how === 1) near = ws.slice(0, Math.ceil(ws.length * 0.85));
    else near = [...ws.slice(0, 20), 'this', 'sentence', 'was', 'added', 'by', 'an', 'editor', ...ws.slice(20)];
    planted.push({ id: `n${i}`, dupOf: o.id, kind: 'near', text: near.join(' ') });
  }
  // Duplicates come after their originals (first occurrence wins), shuffled among themselves.
  for (let i = planted.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [planted[i], planted[j]] = [planted[j], planted[i]];
  }
  return [...docs, ...planted];
}

test('dedup: planted exact and near duplicates — recall ≥ 0.97, precision 1, originals named', () => {
  const corpus = plantedCorpus(3, 500);
  const d = new Deduper();
  for (const doc of corpus) d.check(doc.id, doc.text);
  const planted = corpus.filter((x) => x.dupOf);
  const removed = new Map(d.stats.removed.map((r) => [r.id, r]));
  const found = planted.filter((p) => removed.has(p.id));
  const recall = found.length / planted.length;
  const precision = [...removed.keys()].filter((id) => planted.some((p) => p.id === id)).length / removed.size;
  const exact = planted.filter((p) => p.kind === 'exact');
  assert.ok(exact.every((p) => removed.get(p.id)?.kind === 'exact' && removed.get(p.id)?.of === p.dupOf), 'every exact copy found as exact, with its original');
  assert.ok(recall >= 0.97, `recall ${recall}`);
  assert.equal(precision, 1, `precision ${precision}`);
  for (const p of found) assert.equal(removed.get(p.id)!.of, p.dupOf, `${p.id} should point at ${p.dupOf}`);
  assert.equal(d.stats.kept, 500 + planted.length - found.length);
  assert.equal(d.stats.exact + d.stats.near, removed.size);
});

test('dedup: similarity estimate tracks true Jaccard; thresholds and options behave', () => {
  const d = new Deduper({ perms: 256, bands: 64 });
  const words = Array.from({ length: 400 }, (_, i) => `w${i}`);
  // Shingles of 5 words: the first 300 of 400 words shared → |A∩B| = 296, |A∪B| = 396 + 96 = 492.
  const a = words.join(' '), b = [...words.slice(0, 300), ...words.slice(300).map((w) => w + 'x')].join(' ');
  const est = d.similarity(d.signature(a), d.signature(b));
  assert.ok(Math.abs(est - 296 / 492) < 0.08, `estimate ${est} vs ${296 / 492}`);
  const exactOnly = new Deduper({ near: false });
  exactOnly.check('a', a);
  assert.equal(exactOnly.check('b', b).keep, true);
  assert.equal(exactOnly.check('c', a.toUpperCase()).kind, 'exact');
  assert.throws(() => new Deduper({ perms: 100, bands: 32 }), /multiple of --bands/);
  assert.throws(() => new Deduper({ threshold: 0 }), /threshold/);
});

test('text: the fast word hashing equals words() + hashString on ASCII and non-ASCII text', async () => {
  const { hashString, wordHashes, words } = await import('../src/data/text.js');
  for (const t of ['Hello, World! 42 times: x86-64 & C++', '  ', 'ÉCOLE élève — straße İstanbul ΣΊΣΥΦΟΣ 数学 2024', 'tab\tnew\nline_under_score', ''])
    for (const seed of [0, 7])
      assert.deepEqual([...wordHashes(t, seed)], words(t).map((w) => hashString(w, seed)), JSON.stringify(t));
});

test('text: rolling n-gram hashes equal hashing each n-gram on its own', async () => {
  const { ngramHashesOf } = await import('../src/data/text.js');
  const wh = Uint32Array.from({ length: 40 }, (_, i) => (i * 2654435761) >>> 0);
  for (const n of [1, 5, 13, 40, 60]) {
    const all = ngramHashesOf(wh, n);
    assert.equal(all.length, Math.max(1, 40 - n + 1));
    for (let i = 0; i < all.length; i++) assert.equal(all[i], ngramHashesOf(wh.slice(i, i + Math.min(n, 40)), n)[0], `n=${n} i=${i}`);
  }
  assert.notEqual(ngramHashesOf(Uint32Array.of(1, 2, 3), 3)[0], ngramHashesOf(Uint32Array.of(3, 2, 1), 3)[0]);
});
