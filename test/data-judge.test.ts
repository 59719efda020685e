// The LLM judge and LLM synthesis against a local stand-in OpenAI-compatible server on 127.0.0.1:
// timeouts, 429, 500, bodies that are not JSON and replies without a score are retried with backoff;
// every sampled document ends up annotated exactly once, with the score the judge gave; an interrupted or
// partly failed run resumes without redoing or double-counting anything.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { annotate, readAnnotations, sampleDocs } from '../src/data/annotate.js';
import { readDocs } from '../src/data/docs.js';
import { ChatClient } from '../src/data/llm-client.js';
import { DEFAULT_RUBRIC, judgePrompt, loadRubric, parseScore } from '../src/data/rubric.js';
import { llmItem, llmSynth } from '../src/data/synth/llm.js';
import { tempDir } from './helpers.js';

type Handler = (prompt: string, attempt: number, res: import('node:http').ServerResponse, body: { temperature?: number }) => void;

async function standIn(handler: Handler): Promise<{ url: string; server: Server; attempts: Map<string, number> }> {
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions') return res.writeHead(404).end('no route');
      const parsed = JSON.parse(body) as { messages: { content: string }[]; temperature?: number };
      const prompt = parsed.messages[0].content;
      const n = (attempts.get(prompt) ?? 0) + 1;
      attempts.set(prompt, n);
      handler(prompt, n, res, parsed);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server, attempts };
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

const reply = (res: import('node:http').ServerResponse, content: string) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }));

/** The stand-in judge's verdict: the document carries its true score as "[edu=N]". */
const truth = (prompt: string) => Number(/\[edu=(\d)\]/.exec(prompt)![1]);
const docIndex = (prompt: string) => Number(/doc (\d+) /.exec(prompt)![1]);

function corpus(dir: string, n: number): string {
  const p = join(dir, 'corpus.jsonl');
  writeFileSync(p, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: `doc ${i} about topic ${i * 7} [edu=${(i * 5) % 6}]` })).join('\n') + '\n');
  return p;
}

/** Failure schedule by document: first attempt hangs / 429 / 500 / non-JSON body / no score / fine. */
const retryTemperature = new Map<number, number | undefined>();
const flaky: Handler = (prompt, attempt, res, body) => {
  if (attempt === 2) retryTemperature.set(docIndex(prompt) % 6, body.temperature);
  const kind = attempt === 1 ? docIndex(prompt) % 6 : 5;
  if (kind === 0) return void setTimeout(() => res.destroyed || reply(res, '{"score": 0}'), 6000).unref();
  if (kind === 1) return void res.writeHead(429, { 'retry-after': '0' }).end('slow down');
  if (kind === 2) return void res.writeHead(500).end('boom');
  if (kind === 3) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [ {"mess');
  if (kind === 4) return reply(res, 'This document seems quite useful for students.');
  reply(res, `{"reason": "stand-in", "score": ${truth(prompt)}}`);
};

test('judge: timeout, 429, 500, broken JSON and score-less replies are retried; each document annotated once, correctly', async () => {
  const { url, server, attempts } = await standIn(flaky);
  try {
    const dir = tempDir();
    const out = join(dir, 'ann.jsonl');
    const client = new ChatClient({ url, model: 'stand-in', timeoutMs: 1000, backoffMs: 5, retries: 3 });
    const r = await annotate(corpus(dir, 30), out, client, loadRubric(), { sample: 24, seed: 3, concurrency: 6 });
    const ann = readAnnotations(out);
    assert.equal(r.failed.length, 0, JSON.stringify(r.failed));
    assert.equal(ann.length, 24);
    assert.equal(new Set(ann.map((a) => a.id)).size, 24);
    for (const a of ann) assert.equal(a.score, truth(a.text), a.id);
    const expectedSample = (await sampleDocs(readDocs(join(dir, 'corpus.jsonl')), 24, 3)).map((d) => d.id).sort();
    assert.deepEqual(ann.map((a) => a.id).sort(), expectedSample);
    // Each failure kind happened and was retried exactly once per affected document.
    const kinds = expectedSample.map((id) => Number(id.slice(4)) % 6);
    const count = (k: number) => kinds.filter((x) => x === k).length;
    // (A loaded machine can make an ordinary reply miss the 1 s timeout too: timeouts are a lower bound.)
    assert.ok(r.failures.timeout >= count(0), JSON.stringify(r.failures));
    assert.deepEqual({ ...r.failures, timeout: count(0) }, { timeout: count(0), '429': count(1), '500': count(2), malformed: count(3) + count(4) });
    assert.equal(r.retries, Object.values(r.failures).reduce((a, b) => a + b, 0), 'every failure was retried once, none given up');
    assert.equal([...attempts.values()].reduce((a, b) => a + b, 0), r.requests);
    // Greedy again after a transport failure; sampled after an unusable (greedy) reply, which would repeat.
    assert.deepEqual([1, 2, 3, 4].map((k) => retryTemperature.get(k)), [0, 0, 0.7, 0.7]);
    assert.ok(ann.every((a) => a.rubric === loadRubric().id && a.judge === 'stand-in'));
  } finally {
    await stop(server);
  }
});

test('judge: a run that gives up on some documents and a killed run both resume without double counting', async () => {
  const dir = tempDir();
  const path = corpus(dir, 20);
  const out = join(dir, 'ann.jsonl');
  // Run 1: documents 0–4 always get 500; with 1 retry they fail and are left out.
  const bad = await standIn((prompt, _n, res) => (docIndex(prompt) < 5 ? void res.writeHead(500).end('down') : reply(res, `{"score": ${truth(prompt)}}`)));
  try {
    const r1 = await annotate(path, out, new ChatClient({ url: bad.url, backoffMs: 1, retries: 1 }), loadRubric(), { sample: 20, seed: 1 });
    assert.equal(r1.failed.length, 5);
    assert.equal(r1.annotated, 15);
    assert.match(r1.failed[0].error, /gave up after 2 attempts.*500/);
  } finally {
    await stop(bad.server);
  }
  // A killed writer leaves half a line.
  appendFileSync(out, '{"id":"doc-3","text":"doc 3 ab');
  const good = await standIn((prompt, _n, res) => reply(res, `{"score": ${truth(prompt)}}`));
  try {
    const r2 = await annotate(path, out, new ChatClient({ url: good.url, backoffMs: 1 }), loadRubric(), { sample: 20, seed: 1 });
    assert.equal(r2.alreadyDone, 15);
    assert.equal(r2.annotated, 5);
    assert.equal(good.attempts.size, 5, 'only the missing documents are sent');
    const ann = readAnnotations(out);
    assert.equal(ann.length, 20);
    assert.equal(new Set(ann.map((a) => a.id)).size, 20);
    for (const a of ann) assert.equal(a.score, truth(a.text));
    // A third run sends nothing.
    const r3 = await annotate(path, out, new ChatClient({ url: good.url }), loadRubric(), { sample: 20, seed: 1 });
    assert.equal(r3.annotated + r3.failed.length, 0);
    assert.equal(readAnnotations(out).length, 20);
  } finally {
    await stop(good.server);
  }
});

test('judge: the same text under two ids is judged once (text cache); client errors that cannot pass fail at once', async () => {
  let calls = 0;
  const s = await standIn((prompt, _n, res) => {
    calls++;
    if (prompt.includes('forbidden')) return void res.writeHead(401).end('bad key');
    reply(res, '{"score": 4}');
  });
  try {
    const dir = tempDir();
    const p = join(dir, 'c.jsonl');
    writeFileSync(p, '{"id":"a","text":"The same text."}\n{"id":"b","text":"the SAME text"}\n');
    const r = await annotate(p, join(dir, 'o.jsonl'), new ChatClient({ url: s.url }), loadRubric(), { sample: 10, concurrency: 1 });
    assert.equal(calls, 1);
    assert.equal(r.cachedByText, 1);
    assert.deepEqual(readAnnotations(join(dir, 'o.jsonl')).map((a) => [a.id, a.score]), [['a', 4], ['b', 4]]);
    await assert.rejects(new ChatClient({ url: s.url, retries: 5 }).complete({ messages: [{ role: 'user', content: 'forbidden' }] }), /HTTP 401: bad key/);
    assert.equal(calls, 2);
  } finally {
    await stop(s.server);
  }
  assert.throws(() => new ChatClient({ url: 'localhost:8080' }), /not a URL|must be http/);
});

test('rubric: the prompt embeds the document; scores are read from JSON or "score: N"; anything else is rejected', () => {
  const r = loadRubric();
  assert.ok(judgePrompt(r, 'Photosynthesis turns light into sugar.').includes('<document>\nPhotosynthesis turns light into sugar.\n</document>'));
  assert.ok(judgePrompt(r, 'x'.repeat(10000), 100).length < DEFAULT_RUBRIC.length + 200);
  assert.deepEqual(parseScore('```json\n{"reason": "clear intro", "score": 3}\n```'), { score: 3, reason: 'clear intro' });
  assert.deepEqual(parseScore('Educational score: 2'), { score: 2 });
  assert.throws(() => parseScore('{"score": 7}'), /no 0–5 score/);
  assert.throws(() => parseScore('great!'), /no 0–5 score/);
  const dir = tempDir();
  writeFileSync(join(dir, 'r.txt'), 'no placeholder');
  assert.throws(() => loadRubric(join(dir, 'r.txt')), /no \{\{text\}\} placeholder/);
});

test('LLM synth: seeded prompts with diversity draws, duplicates dropped, resumable', async () => {
  let k = 0;
  const s = await standIn((prompt, _n, res) => {
    const topic = /"([^"]+)"/.exec(prompt)![1];
    // The "fractions" topic always gets the same chapter: later ones are duplicates. Others are all distinct.
    const fresh = Array.from({ length: 40 }, (_, j) => `w${k}x${j}`).join(' ');
    k++;
    reply(res, topic === 'fractions' ? 'Fractions. A fraction names equal parts of a whole: the numerator counts the parts taken and the denominator the parts in the whole.' : `Chapter on ${topic}. ${fresh}`);
  });
  try {
    const dir = tempDir();
    const out = join(dir, 'synth.jsonl');
    const topics = ['fractions', 'fractions', 'photosynthesis', 'binary search', 'the water cycle'];
    assert.deepEqual(llmItem(topics, 'T {{topic}} {{audience}} {{style}}', 5, 3), llmItem(topics, 'T {{topic}} {{audience}} {{style}}', 5, 3));
    const r = await llmSynth(topics, new ChatClient({ url: s.url }), out, { template: 'textbook', count: 12, seed: 5, concurrency: 1 });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; topic: string });
    const fractions = Array.from({ length: 12 }, (_, i) => llmItem(topics, 'x {{topic}}', 5, i)).filter((it) => it.topic === 'fractions').length;
    assert.ok(fractions >= 2);
    assert.equal(r.duplicates, fractions - 1);
    assert.equal(r.written + r.duplicates, 12);
    assert.equal(lines.length, r.written);
    const again = await llmSynth(topics, new ChatClient({ url: s.url }), out, { template: 'textbook', count: 12, seed: 5 });
    assert.equal(again.written, 0);
    assert.equal(again.alreadyDone, r.written);
  } finally {
    await stop(s.server);
  }
});

test('client: --rps spaces request starts (10 requests at 40/s take at least 9/40 s)', async () => {
  const starts: number[] = [];
  const s = await standIn((_p, _n, res) => {
    starts.push(performance.now());
    reply(res, 'ok');
  });
  try {
    const c = new ChatClient({ url: s.url, rps: 40 });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.complete({ messages: [{ role: 'user', content: `q${i}` }] })));
    // The 10th request may not leave before its slot at t0 + 9 × 25 ms (a loaded machine only delays it more).
    assert.equal(starts.length, 10);
    assert.ok(Math.max(...starts) - t0 >= 9 * 25 - 2, `last request arrived ${Math.max(...starts) - t0} ms after the first was sent`);
  } finally {
    await stop(s.server);
  }
});
