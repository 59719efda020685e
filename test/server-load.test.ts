// Load on loopback, bounded in count and time: 20 concurrent streaming clients × 3 requests each, every
// answer checked against the library's greedy output (no cross-talk between KV caches), no error, no
// socket or timer left behind, heap back to its baseline; fair token-by-token interleaving; 10 clients
// that disconnect mid-stream stop their generation within one token; overload is 503 + Retry-After.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { loadModel, type GenerationResult, type Phi3 } from '../src/index.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { REFERENCE } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MODEL = join(REFERENCE, 'tiny-4k/model.gguf');
const QUESTIONS = ['What is the capital of France?', 'Name three colours.', 'Why is the sky blue?', 'Count to five.', 'Say hello in Spanish.'];
const MAX_TOKENS = 12;

let model: Phi3;
let server: RunningServer;
let client: OpenAI;
let reference: string[];
/** Stop-token ids banned so streams run as long as a test needs. */
let noStop: Record<string, number>;

async function run(gen: AsyncGenerator<unknown, GenerationResult>): Promise<GenerationResult> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

async function streamAnswer(question: string): Promise<{ text: string; finish: string | null }> {
  const stream = await client.chat.completions.create({ messages: [{ role: 'user', content: question }], model: 'tiny', temperature: 0, max_tokens: MAX_TOKENS, stream: true });
  let text = '';
  let finish: string | null = null;
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  return { text, finish };
}

before(async () => {
  model = await loadModel(MODEL);
  server = await startServer({ model, modelId: 'tiny', port: 0, parallel: 4, maxQueue: 64 });
  await server.ready;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  reference = [];
  for (const q of QUESTIONS) reference.push((await run(model.chat([{ role: 'user', content: q }], { maxTokens: MAX_TOKENS }))).text);
  noStop = Object.fromEntries(model.stopTokens.map((t) => [String(t), -100]));
});

after(async () => {
  await server?.close();
});

describe('load', () => {
  it('20 concurrent streaming clients × 3 requests: all complete, right answers, nothing leaked', async () => {
    // Warm up every cache slot, the HTTP client and the JIT, then take the baselines.
    await Promise.all(QUESTIONS.slice(0, 4).map((q) => streamAnswer(q)));
    server.server.closeIdleConnections();
    await sleep(100);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const handlesBefore = resources();

    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, client) => {
        const out = [];
        for (let k = 0; k < 3; k++) {
          const q = (client + k) % QUESTIONS.length;
          out.push({ q, ...(await streamAnswer(QUESTIONS[q])) });
        }
        return out;
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const flat = results.flat();
    assert.equal(flat.length, 60);
    for (const r of flat) {
      assert.equal(r.text, reference[r.q], `answer to "${QUESTIONS[r.q]}"`);
      assert.ok(r.finish === 'length' || r.finish === 'stop');
    }
    const ctx = server.context()!;
    assert.equal(ctx.scheduler.running, 0);
    assert.equal(ctx.scheduler.queued, 0);
    const tokens = flat.length * MAX_TOKENS;
    console.log(`load: 60 streamed requests (20 clients, parallel 4) in ${secs.toFixed(2)} s, ~${(tokens / secs).toFixed(0)} tokens/s overall`);

    // Sockets: close the idle keep-alive ones; anything still open would be a response that never ended.
    server.server.closeIdleConnections();
    await until('sockets and timers back to the baseline', () => {
      const now = resources();
      return Object.entries(now).every(([k, n]) => n <= (handlesBefore[k] ?? 0));
    }, 5000).catch((e: Error) => assert.fail(`${e.message}: before ${JSON.stringify(handlesBefore)}, now ${JSON.stringify(resources())}`));
    gc();
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    console.log(`load: heap ${(heapBefore / 1024 / 1024).toFixed(1)} MiB before, ${grown >= 0 ? '+' : ''}${grown.toFixed(2)} MiB after`);
    assert.ok(grown < 8, `heap grew by ${grown.toFixed(1)} MiB`);
  });

  it('running sequences advance together, token by token', async () => {
    const arrivals: string[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const stream = await client.chat.completions.create({ messages: [{ role: 'user', content: QUESTIONS[i] }], model: 'tiny', temperature: 0, max_tokens: 30, logit_bias: noStop, stream: true });
        for await (const c of stream) if (c.choices[0]?.delta.content) arrivals.push(`${i}`);
      }),
    );
    // Run one after another, the first half of all chunks would come from two streams; interleaved,
    // every stream has a fair share of it.
    const head = arrivals.slice(0, Math.floor(arrivals.length / 2));
    for (const i of ['0', '1', '2', '3']) {
      const share = head.filter((x) => x === i).length;
      assert.ok(share >= head.length / 8, `stream ${i} had ${share} of the first ${head.length} chunks: ${head.join('')}`);
    }
  });

  it('10 clients that disconnect mid-stream stop their generation within one token', async () => {
    const ctx = server.context()!;
    const before = { aborted: ctx.metrics.aborted, generated: ctx.metrics.generated };
    const received: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const stream = await client.chat.completions.create({
          messages: [{ role: 'user', content: `${QUESTIONS[i % 5]} (${i})` }],
          model: 'tiny',
          temperature: 0,
          max_tokens: 3000,
          logit_bias: noStop,
          stream: true,
        });
        let n = 0;
        for await (const c of stream) {
          if (c.choices[0]?.delta.content && ++n >= 3) break; // leaving the loop aborts the request
        }
        received.push(n);
      }),
    );
    const t0 = performance.now();
    await until('every sequence to stop', () => ctx.scheduler.running === 0 && ctx.scheduler.queued === 0, 5000);
    const stopMs = performance.now() - t0;
    assert.equal(ctx.metrics.aborted - before.aborted, 10);
    assert.ok(ctx.metrics.maxAfterAbort <= 1, `a sequence ran ${ctx.metrics.maxAfterAbort} forward passes after its client left`);
    const generated = ctx.metrics.generated - before.generated;
    // Each stream was cut after 3 chunks; a 3000-token budget was nowhere near used.
    assert.ok(generated < 10 * 20, `generated ${generated} tokens for 10 streams cut after 3 chunks`);
    console.log(`disconnects: 10 streams cut after ${received.join(',')} chunks; ${generated} tokens generated in all; all stopped ${stopMs.toFixed(0)} ms after the last client left; most forwards after a disconnect: ${ctx.metrics.maxAfterAbort}`);
  });

  it('when the queue is full the server answers 503 with Retry-After, and recovers', async () => {
    const small = await startServer({ model, modelId: 'tiny', port: 0, parallel: 1, maxQueue: 1 });
    await small.ready;
    const c = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ac = new AbortController();
    const long = () =>
      c.chat.completions
        .create({ messages: [{ role: 'user', content: 'Go on.' }], model: 'tiny', temperature: 0, max_tokens: 3000, logit_bias: noStop }, { signal: ac.signal })
        .catch(() => undefined);
    const running = long();
    await until('the first request to run', () => small.context()!.scheduler.running === 1);
    const queued = long();
    await until('the second request to queue', () => small.context()!.scheduler.queued === 1);
    await assert.rejects(
      c.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], model: 'tiny', max_tokens: 2 }),
      (e: unknown) => e instanceof OpenAI.InternalServerError && e.status === 503 && Number(e.headers?.get('retry-after')) >= 1 && /busy/.test(e.message),
    );
    ac.abort();
    await Promise.all([running, queued]);
    await until('the server to drain', () => small.context()!.scheduler.running === 0 && small.context()!.scheduler.queued === 0);
    const ok = await c.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], model: 'tiny', max_tokens: 2, temperature: 0 });
    assert.equal(ok.usage?.completion_tokens, 2);
    await small.close();
  });
});
