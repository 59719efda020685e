// Mixing a recipe phase into shards, and the benchmark contamination check that guards it: tokens per
// source follow the weights, every packed document decodes back to a source document, runs are
// reproducible, and documents that quote an evaluation set (here: a real GSM8K test question from
// ../shared/datasets) are dropped and reported.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContaminationIndex } from '../src/data/contamination.js';
import { loadRecipe, mixPhase } from '../src/data/mix.js';
import { ShardReader } from '../src/data/shards.js';
import { generateSynth, toText } from '../src/data/synth/index.js';
import { loadDataTokenizer } from '../src/data/tokenizer.js';
import { Rng } from '../src/generate/sampler.js';
import { SHARED, tempDir } from './helpers.js';

const GSM8K = join(SHARED, 'datasets/gsm8k');
const gsmQuestion = (JSON.parse(readFileSync(join(GSM8K, 'test.jsonl'), 'utf8').split('\n')[0]) as { question: string }).question;

function benchDir(): string {
  const dir = tempDir();
  symlinkSync(GSM8K, join(dir, 'gsm8k'));
  mkdirSync(join(dir, 'quiz'));
  writeFileSync(join(dir, 'quiz/q.jsonl'), JSON.stringify({ q: 'Which planet in our solar system has the largest number of known moons as of the year two thousand twenty three' }) + '\n');
  return dir;
}

function words(seed: number, n: number): string[] {
  const r = new Rng(seed);
  const V = ['river', 'stone', 'light', 'garden', 'number', 'market', 'letter', 'window', 'cloud', 'engine', 'paper', 'voice', 'field', 'table', 'winter', 'music'];
  return Array.from({ length: n }, () => Array.from({ length: 20 + Math.floor(r.next() * 60) }, () => V[Math.floor(r.next() * V.length)]).join(' ') + '.');
}

test('contamination: a quoted GSM8K question is found (and which benchmark); synthetic problems and ordinary text are not', () => {
  const idx = ContaminationIndex.build(benchDir());
  assert.deepEqual(idx.benchmarks.sort(), ['gsm8k', 'quiz']);
  const hit = idx.check(`Here is a nice exercise for you. ${gsmQuestion} Think carefully.`);
  assert.ok(hit.hits >= 5, `hits ${hit.hits}`);
  assert.deepEqual(hit.benchmarks, ['gsm8k']);
  assert.deepEqual(idx.check('Trivia: which planet in our solar system has the largest number of known moons as of the year two thousand twenty three?').benchmarks, ['quiz']);
  let flagged = 0;
  for (const r of generateSynth(['arithmetic', 'units', 'logic', 'code'], 2000, 1)) if (idx.check(toText(r)).hits > 0) flagged++;
  assert.equal(flagged, 0, 'programmatic synthetic data must not overlap GSM8K');
  assert.equal(idx.check(words(1, 1)[0]).hits, 0);
  assert.equal(idx.check('too short').hits, 0);
});

test('mix: two phases by weight, packed docs decode to source docs, reproducible, contamination dropped and reported', async () => {
  const dir = tempDir();
  const web = words(2, 300);
  writeFileSync(join(dir, 'web.jsonl'), [...web.map((t, i) => JSON.stringify({ id: `w${i}`, text: t })), JSON.stringify({ id: 'leak', text: `Practice: ${gsmQuestion}` })].join('\n') + '\n');
  const edu = words(3, 80);
  writeFileSync(join(dir, 'edu.txt'), edu.join('\n\n') + '\n');
  const recipe = {
    seed: 4, shardTokens: 5000,
    sources: { web: { path: 'web.jsonl' }, edu: { path: 'edu.txt', split: 'blank' }, math: { synth: { skills: ['arithmetic', 'units'], count: 150, seed: 2 } } },
    phases: { '1': { weights: { web: 0.8, math: 0.2 }, tokens: 12000 }, '2': { weights: { edu: 0.5, math: 0.5 } } },
  };
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(recipe));
  const tok = loadDataTokenizer();
  const contamination = ContaminationIndex.build(benchDir());
  const r1 = await mixPhase(loadRecipe(join(dir, 'recipe.json')), '1', join(dir, 'p1'), { tokenizer: tok, contamination });
  const rep = r1.report;
  assert.equal(rep.sources.web.contaminatedDocs, 1);
  assert.deepEqual((rep.contamination as { byBenchmark: Record<string, number> }).byBenchmark, { gsm8k: 1 });
  assert.ok(Math.abs(rep.totalTokens - 12000) < 200, `total ${rep.totalTokens}`);
  assert.ok(Math.abs(rep.sources.web.share - 0.8) < 0.02 && Math.abs(rep.sources.math.share - 0.2) < 0.02, JSON.stringify(rep.sources));
  assert.ok(r1.index.shards.length >= 3);
  // Every packed document is one source document, tokenized as the tokenizer does; counts match the report.
  const reader = new ShardReader(join(dir, 'p1'));
  const all = [...reader.stream()].flatMap((c) => [...c]);
  assert.equal(all.length, reader.totalTokens);
  const sources = new Map<string, string>();
  web.forEach((t) => sources.set(t, 'web'));
  for (const r of generateSynth(['arithmetic', 'units'], 150, 2)) sources.set(toText(r), 'math');
  const perSource: Record<string, number> = { web: 0, math: 0 };
  let start = 0;
  for (let i = 0; i < all.length; i++)
    if (all[i] === 32000) {
      const text = tok.decode(all.slice(start, i));
      const src = sources.get(text);
      assert.ok(src, `packed document is not a source document: ${text.slice(0, 80)}`);
      perSource[src] += i - start + 1;
      start = i + 1;
    }
  assert.equal(start, all.length, 'the stream ends at a document boundary');
  assert.equal(perSource.web, rep.sources.web.tokensTaken);
  assert.equal(perSource.math, rep.sources.math.tokensTaken);
  assert.match(readFileSync(join(dir, 'p1/report.md'), 'utf8'), /\| web \| 300 \|/);
  // Same recipe, same bytes.
  const again = await mixPhase(loadRecipe(join(dir, 'recipe.json')), '1', join(dir, 'p1b'), { tokenizer: tok, contamination });
  for (const s of r1.index.shards) assert.deepEqual(readFileSync(join(dir, 'p1b', s.file)), readFileSync(join(dir, 'p1', s.file)));
  assert.equal(again.index.totalTokens, r1.index.totalTokens);
  // Phase 2 without a token target takes all of the smaller side once and repeats nothing.
  const r2 = await mixPhase(loadRecipe(join(dir, 'recipe.json')), '2', join(dir, 'p2'), { tokenizer: tok });
  const s2 = r2.report.sources;
  assert.ok(Math.max(s2.edu.epochs, s2.math.epochs) <= 1.0 + 1e-9 && Math.max(s2.edu.epochs, s2.math.epochs) > 0.97, JSON.stringify(s2));
  assert.match(JSON.stringify(r2.report.contamination), /skipped/);
});

test('mix: recipe mistakes are named', () => {
  const dir = tempDir();
  const write = (o: unknown) => (writeFileSync(join(dir, 'r.json'), JSON.stringify(o)), join(dir, 'r.json'));
  assert.throws(() => loadRecipe(write({ sources: {} })), /needs "sources" and "phases"/);
  assert.throws(() => loadRecipe(write({ sources: { a: { path: 'x', synth: { skills: [], count: 1 } } }, phases: {} })), /exactly one of "path" or "synth"/);
  assert.throws(() => loadRecipe(write({ sources: { a: { path: 'x' } }, phases: { '1': { weights: { b: 1 } } } })), /unknown source "b"/);
  assert.throws(() => loadRecipe(write({ sources: { a: { path: 'x' } }, phases: { '1': { weights: { a: -1 } } } })), /must be a number ≥ 0/);
  assert.throws(() => loadRecipe(join(dir, 'missing.json')), /cannot read recipe/);
});
