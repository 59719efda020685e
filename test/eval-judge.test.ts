// The LLM judge through an OpenAI-compatible endpoint — here a stand-in server on 127.0.0.1. Failing
// requests and unparseable verdicts are retried with backoff and then recorded as missing, never as a
// score; MT-bench and the safety suite turn parsed verdicts into turn scores and DR-x rates.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runEval } from '../src/eval/harness.js';
import { JudgeClient, parseRating } from '../src/eval/judge.js';
import { Phi3EvalModel } from '../src/eval/lm.js';
import { mtBench } from '../src/eval/tasks/mt-bench.js';
import { safetyHarm } from '../src/eval/tasks/safety.js';
import { loadModel } from '../src/phi3.js';
import { REPO, SHARED, tempDir } from './helpers.js';

type Handler = (body: { model: string; messages: { role: string; content: string }[] }, res: ServerResponse) => void;
let handler: Handler = () => {};
let requests = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let data = '';
  req.on('data', (c: Buffer) => (data += c.toString()));
  req.on('end', () => {
    requests++;
    handler(JSON.parse(data) as Parameters<Handler>[0], res);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
after(() => server.close());

const reply = (res: ServerResponse, content: string) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content } }] }));
};
const judge = (attempts = 3) => new JudgeClient({ baseUrl: base, model: 'stand-in', attempts, backoffMs: 5 });
const parse10 = (v: string) => parseRating(v, 1, 10);

test('server errors are retried with backoff until a verdict parses', async () => {
  requests = 0;
  handler = (body, res) => {
    assert.equal(body.model, 'stand-in');
    if (requests < 3) {
      res.writeHead(503);
      res.end('busy');
    } else reply(res, 'Solid answer. Rating: [[6]]');
  };
  const v = await judge(4).verdict('sys', 'user', parse10);
  assert.equal(v.score, 6);
  assert.equal(v.attempts, 3);
});

test('unparseable verdicts, malformed bodies and dead endpoints end as missing, never as a score', async () => {
  requests = 0;
  handler = (_b, res) => reply(res, 'I would rate this highly.');
  const a = await judge(3).verdict('s', 'u', parse10);
  assert.equal(a.score, null);
  assert.match(a.error!, /unparseable verdict \(after 3 attempts\)/);
  assert.equal(requests, 3);

  handler = (_b, res) => {
    res.writeHead(200);
    res.end('{"choices": [');
  };
  const b = await judge(2).verdict('s', 'u', parse10);
  assert.equal(b.score, null);
  assert.match(b.error!, /not JSON/);

  handler = (_b, res) => reply(res, 'Rating: [[42]]'); // out of the 1–10 range
  assert.equal((await judge(2).verdict('s', 'u', parse10)).score, null);

  const dead = new JudgeClient({ baseUrl: 'http://127.0.0.1:1/v1', model: 'x', attempts: 2, backoffMs: 5 });
  const c = await dead.verdict('s', 'u', parse10);
  assert.equal(c.score, null);
  assert.match(c.error!, /after 2 attempts/);
  assert.throws(() => new JudgeClient({ baseUrl: 'not a url', model: 'x' }), /is not a URL/);
});

const tiny = new Phi3EvalModel(await loadModel(join(REPO, 'models/phi3-tiny.gguf')));
const DATA = join(SHARED, 'datasets');

test('MT-bench: both turns answered and judged with the published prompts; score = mean of turns', async () => {
  const seen: string[] = [];
  handler = (body, res) => {
    const user = body.messages[body.messages.length - 1].content;
    seen.push(body.messages[0].content);
    reply(res, user.includes("<|The Start of Assistant A's Conversation with User|>") ? 'Rating: [[6]]' : 'Rating: [[8]]');
  };
  const r = await runEval([mtBench], tiny, { dataDir: DATA, limit: 1, maxGenTokens: 4, itemsPath: join(tempDir(), 'mt.jsonl'), judge: judge() });
  const t = r.tasks[0];
  assert.deepEqual([t.metrics.turn1, t.metrics.turn2, t.metrics.score], [8, 6, 7]);
  assert.equal(r.benchmarks[0].value, 7);
  // The published prompts: single-v1 (turn 1) then single-v1-multi-turn (turn 2).
  assert.equal(seen.length, 2);
  assert.equal(seen[0], 'You are a helpful assistant.');
  assert.ok(seen[1].startsWith('Please act as an impartial judge and evaluate the quality of the response provid'));
});

test('MT-bench with a judge that never gives a rating: turns recorded as missing, no score', async () => {
  handler = (_b, res) => reply(res, 'no rating here');
  const r = await runEval([mtBench], tiny, { dataDir: DATA, limit: 1, maxGenTokens: 2, itemsPath: join(tempDir(), 'mt.jsonl'), judge: judge(2) });
  const t = r.tasks[0];
  assert.equal(t.n, 1);
  assert.ok(!Number.isFinite(t.metrics.score));
  assert.deepEqual(t.missing, { turn1: 1, turn2: 1, score: 1 });
});

test('safety: severities become DR-x defect rates; missing verdicts are excluded', async () => {
  let k = 0;
  handler = (_b, res) => {
    k++;
    reply(res, k === 1 ? 'Rating: [[4]]' : k === 2 ? 'Rating: [[0]]' : 'unsure');
  };
  const r = await runEval([safetyHarm], tiny, { dataDir: DATA, limit: 3, maxGenTokens: 2, itemsPath: join(tempDir(), 's.jsonl'), judge: judge(1) });
  const t = r.tasks[0];
  assert.equal(t.n, 3);
  assert.deepEqual(t.missing, { severity: 1 });
  assert.equal(t.metrics.severity, 2);
  assert.equal(t.metrics['DR-1'], 0.5);
  assert.equal(t.metrics['DR-3'], 0.5);
  assert.equal(t.metrics['DR-5'], 0);
  await assert.rejects(runEval([safetyHarm], tiny, { dataDir: DATA, limit: 1, itemsPath: join(tempDir(), 'x.jsonl') }), /need an LLM judge: pass --judge-url/);
});
