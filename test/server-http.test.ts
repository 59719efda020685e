// The HTTP edges of the server: bodies over the size limit refused without being read whole (declared
// and chunked), API keys (401 as the client's AuthenticationError), the loading state (503 +
// Retry-After), CORS off by default, shutdown with a stream running, and the JSON-mode recogniser
// checked against JSON.parse on thousands of generated documents.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { loadModel, type Phi3 } from '../src/index.js';
import { JsonConstraint, advance, initialJsonState, jsonDone, stepJson } from '../src/server/json-grammar.js';
import { tokenBytesTable } from '../src/server/logits.js';
import { Rng } from '../src/generate/sampler.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { REFERENCE } from './helpers.js';

const MODEL = join(REFERENCE, 'tiny-4k/model.gguf');
let model: Phi3;

before(async () => {
  model = await loadModel(MODEL);
});

/** Sends headers and then `chunks` slowly; resolves with the status and how much had been sent by then. */
function pushBody(url: string, headers: Record<string, string>, chunk: Buffer, maxChunks: number): Promise<{ status: number; sent: number; closedMs: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let status = 0;
    let stop = false;
    const t0 = performance.now();
    const req = request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      status = res.statusCode ?? 0;
      stop = true;
      res.resume();
    });
    req.on('error', () => undefined); // the server closing on us mid-upload is the point
    req.on('close', () => resolve({ status, sent, closedMs: performance.now() - t0 }));
    const pump = () => {
      if (stop || sent >= maxChunks * chunk.length) return;
      sent += chunk.length;
      if (req.write(chunk)) setImmediate(pump);
      else req.once('drain', pump);
    };
    req.flushHeaders();
    pump();
    setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref();
  });
}

describe('request bodies', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ model, port: 0, maxBodyBytes: 64 * 1024 });
    await server.ready;
  });
  after(() => server.close());

  it('a declared length over the limit is refused at once, and the connection closed', async () => {
    const r = await pushBody(server.url, { 'Content-Length': String(50 * 1024 * 1024) }, Buffer.alloc(1024, 0x20), 1);
    assert.equal(r.status, 413);
    assert.equal(r.sent, 1024, 'answered after 1 KiB of a declared 50 MiB');
    assert.ok(r.closedMs < 3000);
  });

  it('a chunked body is cut off once it passes the limit, not read to its end', async () => {
    const r = await pushBody(server.url, { 'Transfer-Encoding': 'chunked' }, Buffer.alloc(16 * 1024, 0x20), 4096); // would be 64 MiB
    assert.equal(r.status, 413);
    assert.ok(r.sent < 8 * 1024 * 1024, `sent ${r.sent} bytes before the refusal`);
    console.log(`chunked upload: refused after the client had pushed ${r.sent} bytes into the socket buffers (limit 65536)`);
    const j = await (await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: ' '.repeat(70 * 1024) })).json();
    assert.match(j.error.message, /limit is 65536/);
  });
});

describe('API key, loading state, CORS, shutdown', () => {
  it('a missing or wrong key is 401 (AuthenticationError); /health and the page stay public', async () => {
    const server = await startServer({ model, port: 0, apiKey: 'sekret', modelId: 'tiny' });
    await server.ready;
    try {
      const mk = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
      await assert.rejects(mk('wrong').models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && /invalid API key/.test(e.message));
      const r = await fetch(`${server.url}/v1/models`);
      assert.equal(r.status, 401);
      assert.match((await r.json()).error.message, /missing API key/);
      assert.equal((await mk('sekret').models.list()).data[0].id, 'tiny');
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal((await fetch(`${server.url}/`)).status, 200);
      assert.equal((await fetch(`${server.url}/props`)).status, 401);
    } finally {
      await server.close();
    }
  });

  it('while the model loads: 503 with Retry-After; then it serves; a failed load is a 500 that says why', async () => {
    let resolve!: (m: Phi3) => void;
    const server = await startServer({ model: new Promise<Phi3>((r) => (resolve = r)), port: 0 });
    try {
      const h = await fetch(`${server.url}/health`);
      assert.equal(h.status, 503);
      assert.equal(h.headers.get('retry-after'), '5');
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
      await assert.rejects(client.models.list(), (e: unknown) => e instanceof OpenAI.InternalServerError && e.status === 503 && /loading/.test(e.message));
      resolve(model);
      await server.ready;
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal((await client.models.list()).data.length, 1);
    } finally {
      await server.close();
    }
    const failed = await startServer({ model: Promise.reject(new Error('no such file: x.gguf')), port: 0 });
    await failed.ready.catch(() => undefined);
    try {
      const r = await fetch(`${failed.url}/v1/models`);
      assert.equal(r.status, 500);
      assert.match((await r.json()).error.message, /no such file: x\.gguf/);
    } finally {
      await failed.close();
    }
  });

  it('no CORS headers unless an origin is allowed', async () => {
    const plain = await startServer({ model, port: 0 });
    const open = await startServer({ model, port: 0, corsOrigins: ['http://app.test'] });
    await Promise.all([plain.ready, open.ready]);
    try {
      const get = (s: RunningServer, origin: string) => fetch(`${s.url}/v1/models`, { headers: { Origin: origin } });
      assert.equal((await get(plain, 'http://evil.test')).headers.get('access-control-allow-origin'), null);
      assert.equal((await get(open, 'http://evil.test')).headers.get('access-control-allow-origin'), null);
      assert.equal((await get(open, 'http://app.test')).headers.get('access-control-allow-origin'), 'http://app.test');
      const pre = await fetch(`${open.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { Origin: 'http://app.test', 'Access-Control-Request-Method': 'POST' } });
      assert.equal(pre.status, 204);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    } finally {
      await Promise.all([plain.close(), open.close()]);
    }
  });

  it('close() ends a running stream and frees everything', async () => {
    const server = await startServer({ model, port: 0, modelId: 'tiny' });
    await server.ready;
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const noStop = Object.fromEntries(model.stopTokens.map((t) => [String(t), -100]));
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Go' }], max_tokens: 3000, temperature: 0, logit_bias: noStop, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    const t0 = performance.now();
    await server.close();
    await assert.rejects(async () => {
      for (let r = await it.next(); !r.done; r = await it.next());
    });
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(server.context()!.scheduler.running, 0);
  });
});

describe('JSON mode recogniser', () => {
  const enc = new TextEncoder();
  const accepts = (text: string) => {
    const s = advance(initialJsonState(), enc.encode(text));
    return s !== undefined && jsonDone(s);
  };

  function randomValue(rng: Rng, depth: number): unknown {
    const k = Math.floor(rng.next() * (depth > 3 ? 5 : 7));
    switch (k) {
      case 0: return null;
      case 1: return rng.next() < 0.5;
      case 2: return Math.round((rng.next() - 0.5) * 1e6) / (rng.next() < 0.5 ? 1 : 1000);
      case 3: return rng.next() < 0.5 ? 'plain' : 'é"\\\n\t\u0001😀/';
      case 4: return (rng.next() - 0.5) * 1e-7;
      case 5: return Array.from({ length: Math.floor(rng.next() * 4) }, () => randomValue(rng, depth + 1));
      default: return Object.fromEntries(Array.from({ length: Math.floor(rng.next() * 4) }, (_, i) => [`k${i}"`, randomValue(rng, depth + 1)]));
    }
  }

  it('accepts exactly what JSON.parse accepts as an object, on generated and mutated documents', () => {
    const rng = new Rng(1);
    const alphabet = '{}[]:,"\\ 0123456789.eE+-tfnrul\n';
    let mutants = 0;
    for (let i = 0; i < 3000; i++) {
      const obj = Object.fromEntries([[`a${i}`, randomValue(rng, 0)]]);
      const text = rng.next() < 0.5 ? JSON.stringify(obj) : JSON.stringify(obj, null, 1);
      assert.ok(accepts(text), text);
      // A random edit; the recogniser must agree with JSON.parse either way.
      const at = Math.floor(rng.next() * text.length);
      const ch = alphabet[Math.floor(rng.next() * alphabet.length)];
      const mutant = rng.next() < 0.5 ? text.slice(0, at) + ch + text.slice(at + 1) : text.slice(0, at) + text.slice(at + 1);
      let valid = false;
      try {
        const v = JSON.parse(mutant);
        valid = typeof v === 'object' && v !== null && !Array.isArray(v) && !/\s{33}/.test(mutant);
      } catch {
        valid = false;
      }
      if (!valid) mutants++;
      assert.equal(accepts(mutant), valid, JSON.stringify(mutant));
    }
    assert.ok(mutants > 1000);
    for (const bad of ['[1]', '"s"', '{"a":01}', '{"a":1.}', '{"a":tru}', '{"a":1,}', '{"a" 1}', '{"\\x":1}', '{"a":"\u0001"}'])
      assert.equal(accepts(bad), false, bad);
    // Invalid UTF-8 inside a string is refused byte by byte.
    const s = advance(initialJsonState(), enc.encode('{"a":"'))!;
    assert.equal(stepJson({ ...s }, 0xff), false);
    assert.equal(stepJson({ ...s }, 0x80), false);
  });

  it('decoding under the constraint with random logits always yields valid JSON', () => {
    const bytes = tokenBytesTable(model.tokenizer);
    const stops = model.stopTokens;
    const rng = new Rng(5);
    let completed = 0;
    for (let run = 0; run < 20; run++) {
      const c = new JsonConstraint(bytes, stops);
      const generated: number[] = [];
      const row = new Float32Array(model.config.vocabSize);
      for (let step = 0; step < 200; step++) {
        for (let i = 0; i < row.length; i++) row[i] = rng.next() * 4;
        // Favour structure so documents finish: quotes, braces, colons, commas, digits.
        for (const t of ['"', '}', ':', ',', '1', ']', '[']) row[model.tokenizer.tokenId(t)!] += 3.5;
        const masked = c.apply(row, generated);
        let best = 0;
        for (let i = 1; i < masked.length; i++) if (masked[i] > masked[best]) best = i;
        if (stops.includes(best)) break;
        generated.push(best);
      }
      const text = model.tokenizer.decode(generated);
      if (c.done) {
        completed++;
        const v = JSON.parse(text);
        assert.ok(typeof v === 'object' && !Array.isArray(v), text);
      } else assert.ok(advance(initialJsonState(), new TextEncoder().encode(text)), `a valid prefix: ${text}`);
    }
    assert.ok(completed >= 10, `${completed} of 20 runs closed their object`);
  });
});
