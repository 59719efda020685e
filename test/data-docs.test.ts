// Corpus I/O and the `phi3 data` command line: JSON lines, delimited and paragraph text, gzip; bad lines
// named by file and line; the CLI runs synth → dedup end to end and refuses bad options with a message.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DocWriter, readDocs } from '../src/data/docs.js';
import { REPO, tempDir } from './helpers.js';

async function collect(path: string, o = {}) {
  const out = [];
  for await (const d of readDocs(path, o)) out.push(d);
  return out;
}

test('docs: JSON lines (custom field, extra fields kept), fortune-style %, paragraphs, gzip, folders', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.jsonl'), '{"id":"x","body":"first","lang":"en"}\n\n{"body":"second"}\n');
  assert.deepEqual(await collect(join(dir, 'a.jsonl'), { field: 'body' }), [
    { id: 'x', text: 'first', meta: { lang: 'en' } },
    { id: `${join(dir, 'a.jsonl')}:3`, text: 'second', meta: undefined },
  ]);
  writeFileSync(join(dir, 'f.txt'), 'one\nline two\n%\nthree\n%\n');
  assert.deepEqual((await collect(join(dir, 'f.txt'), { split: '%' })).map((d) => d.text), ['one\nline two', 'three']);
  writeFileSync(join(dir, 'p.txt.gz'), gzipSync('para one\nstill one\n\n\npara two\n'));
  assert.deepEqual((await collect(join(dir, 'p.txt.gz'), { split: 'blank' })).map((d) => d.text), ['para one\nstill one', 'para two']);
  const all = await collect(dir, { field: 'body', split: 'line' });
  // Folder, sorted: a.jsonl (2 records), f.txt (5 non-empty lines, '%' included), p.txt.gz (3 non-empty lines).
  assert.equal(all.length, 2 + 5 + 3);
  assert.deepEqual(all.slice(2, 4).map((d) => d.text), ['one', 'line two']);
});

test('docs: Parquet is read row group by row group, text column by --field, other columns kept JSON-safe', async () => {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const dir = tempDir();
  const texts = Array.from({ length: 10 }, (_, i) => `document number ${i} about ${['rivers', 'stars', 'cells'][i % 3]}`);
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'content', data: texts, type: 'STRING' },
      { name: 'url', data: texts.map((_, i) => `https://example.org/${i}`), type: 'STRING' },
      { name: 'token_count', data: texts.map((_, i) => BigInt(100 + i)), type: 'INT64' },
    ],
    rowGroupSize: 4,
  });
  writeFileSync(join(dir, 'web.parquet'), new Uint8Array(buf));
  const docs = await collect(join(dir, 'web.parquet'), { field: 'content' });
  assert.deepEqual(docs.map((d) => d.text), texts);
  assert.deepEqual(docs[7], { id: `${join(dir, 'web.parquet')}:7`, text: texts[7], meta: { url: 'https://example.org/7', token_count: 107 } });
  await assert.rejects(collect(join(dir, 'web.parquet')), /has no column "text" \(columns: content, url, token_count/);
  writeFileSync(join(dir, 'broken.parquet'), 'PAR1 this is not parquet PAR1');
  await assert.rejects(collect(join(dir, 'broken.parquet'), { field: 'content' }), /broken\.parquet.*not a readable Parquet file/);
});

test('docs: bad input names the file and line', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'bad.jsonl'), '{"text":"ok"}\n{"text": broken\n');
  await assert.rejects(collect(join(dir, 'bad.jsonl')), /bad\.jsonl.*line 2 is not valid JSON/);
  writeFileSync(join(dir, 'nofield.jsonl'), '{"content":"x"}\n');
  await assert.rejects(collect(join(dir, 'nofield.jsonl')), /line 1 has no string field "text" \(use --field/);
  writeFileSync(join(dir, 'arr.jsonl'), '[1,2]\n');
  await assert.rejects(collect(join(dir, 'arr.jsonl')), /line 1 is not a JSON object/);
  await assert.rejects(collect(join(dir, 'none')), /no such file or folder/);
});

test('docs: writer output reads back', async () => {
  const dir = tempDir();
  const w = new DocWriter(join(dir, 'o.jsonl'));
  await w.write({ id: 'a', text: 'héllo\nworld', meta: { score: 3 } });
  await w.close();
  assert.deepEqual(await collect(join(dir, 'o.jsonl')), [{ id: 'a', text: 'héllo\nworld', meta: { score: 3 } }]);
  const t = new DocWriter(join(dir, 'o.txt'));
  await t.write({ id: 'a', text: 'one' });
  await t.write({ id: 'b', text: 'two' });
  await t.close();
  assert.equal(readFileSync(join(dir, 'o.txt'), 'utf8'), 'one\n%\ntwo\n%\n');
});

const CLI = [join(REPO, 'node_modules/tsx/dist/cli.mjs'), join(REPO, 'src/cli/main.ts')];

test('cli: phi3 data synth → dedup end to end; bad options are clear errors', () => {
  const dir = tempDir();
  const run = (...args: string[]) => execFileSync(process.execPath, [...CLI, 'data', ...args], { encoding: 'utf8', cwd: dir });
  assert.match(run('synth', '--skills', 'arithmetic,code', '--count', '40', '--seed', '3', '-o', 'a.jsonl'), /wrote 40 verified records/);
  run('synth', '--skills', 'arithmetic,code', '--count', '40', '--seed', '3', '-o', 'b.jsonl');
  assert.equal(readFileSync(join(dir, 'a.jsonl'), 'utf8'), readFileSync(join(dir, 'b.jsonl'), 'utf8'));
  const out = JSON.parse(run('dedup', 'a.jsonl', 'b.jsonl', '-o', 'd.jsonl', '--report', 'r.json', '--json')) as { docs: number; kept: number; exact: number };
  assert.deepEqual([out.docs, out.kept, out.exact], [80, 40, 40]);
  const rep = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { removed: { id: string; of: string }[] };
  assert.ok(rep.removed.every((r) => r.id === r.of), 'each copy in b.jsonl points at its twin in a.jsonl');
  const bad = spawnSync(process.execPath, [...CLI, 'data', 'synth', '--skills', 'poetry', '-o', 'x.jsonl'], { encoding: 'utf8', cwd: dir });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unknown skill "poetry"/);
  const bad2 = spawnSync(process.execPath, [...CLI, 'data', 'dedup', 'a.jsonl', '--threshold', '2'], { encoding: 'utf8', cwd: dir });
  assert.match(bad2.stderr, /expected a number in \[0.01, 1\]/);
  const bad3 = spawnSync(process.execPath, [...CLI, 'data', 'annotate', 'a.jsonl'], { encoding: 'utf8', cwd: dir });
  assert.match(bad3.stderr, /--judge URL is required/);
});
