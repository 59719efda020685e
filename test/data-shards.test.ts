// Packed token shards: what is written is read back token for token, in order, across shard edges;
// files are the documented raw little-endian layout; damaged folders are refused with the reason.
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/generate/sampler.js';
import { ShardReader, ShardWriter } from '../src/data/shards.js';
import { tempDir } from './helpers.js';

function docsOf(seed: number, n: number): number[][] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r.next() * 50) }, () => Math.floor(r.next() * 32000)));
}

test('shards: tokens and separators round-trip across shard boundaries (u16)', () => {
  const dir = tempDir();
  const docs = docsOf(1, 300);
  const w = new ShardWriter(dir, 32064, 32000, 1000);
  docs.forEach((d) => w.addDocument(d));
  const idx = w.close({ phase: 'test' });
  const expected = docs.flatMap((d) => [...d, 32000]);
  assert.equal(idx.dtype, 'u16');
  assert.equal(idx.totalTokens, expected.length);
  assert.ok(idx.shards.length > 3 && idx.shards.slice(0, -1).every((s) => s.tokens === 1000));
  assert.equal(idx.shards.reduce((a, s) => a + s.docs, 0), docs.length);
  // The documented layout: raw little-endian u16, nothing else.
  const raw = readFileSync(join(dir, idx.shards[0].file));
  assert.equal(raw.length, 2000);
  assert.equal(raw.readUInt16LE(2 * 5), expected[5]);
  const r = new ShardReader(dir);
  assert.deepEqual([...r.stream(77)].flatMap((c) => [...c]), expected);
  assert.deepEqual([...r.read(2, 10, 5)], expected.slice(2010, 2015));
  assert.equal((r.index.meta as { phase: string }).phase, 'test');
  r.close();
});

test('shards: u32 for vocabularies past 65536; seeded windows are reproducible and lie in the data', () => {
  const dir = tempDir();
  const w = new ShardWriter(dir, 100352, 100257, 1 << 20);
  const docs = docsOf(2, 50).map((d) => d.map((x) => x + 60000));
  docs.forEach((d) => w.addDocument(d));
  assert.equal(w.close().dtype, 'u32');
  const all = docs.flatMap((d) => [...d, 100257]);
  const r = new ShardReader(dir);
  const a = r.sampleBatch(new Rng(5), 4, 16), b = r.sampleBatch(new Rng(5), 4, 16);
  assert.deepEqual(a, b);
  for (const win of a) {
    assert.equal(win.length, 17);
    const s = all.join(',');
    assert.ok(s.includes([...win].join(',')));
  }
  assert.throws(() => r.sampleBatch(new Rng(1), 1, all.length + 5), /no shard holds/);
});

test('shards: truncated shard, bad index and bad ids are clear errors', () => {
  const dir = tempDir();
  const w = new ShardWriter(dir, 32064, 32000, 100);
  w.addDocument([1, 2, 3]);
  assert.throws(() => w.addDocument([5, 40000]), /outside the vocabulary/);
  const idx = w.close();
  assert.equal(idx.totalTokens, 4, 'the refused document left nothing behind');
  truncateSync(join(dir, idx.shards[0].file), 3);
  assert.throws(() => new ShardReader(dir), /truncated or wrong file/);
  writeFileSync(join(dir, 'index.json'), '{"format":"nope"}');
  assert.throws(() => new ShardReader(dir), /expected "phi3-shards-v1"/);
  assert.throws(() => new ShardReader(tempDir()), /not a shard folder/);
});
