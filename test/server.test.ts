// The OpenAI-compatible API, driven by the official `openai` client against a server on 127.0.0.1 that
// runs the real tiny-4k reference model. Truths: temperature-0 answers must equal the library's
// `model.chat` / `model.generate`, which the engine tests tie to llama.cpp; completion logprobs must
// equal llama.cpp's recorded logits (expected.json: top-5 logit − logsumexp at every step).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { loadModel, type GenerationResult, type Phi3 } from '../src/index.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { REFERENCE, readJson } from './helpers.js';

interface Expected {
  runs: {
    main: {
      prompts: Array<{
        name: string;
        ids: number[];
        greedy: number[];
        'n_leading_steps_margin_ge_0.02': number;
        steps: Array<{ top5_ids: number[]; top5_logits: number[]; logsumexp: number }>;
      }>;
    };
  };
}

const MODEL = join(REFERENCE, 'tiny-4k/model.gguf');
const expected = readJson<Expected>(join(REFERENCE, 'tiny-4k/expected.json'));

async function run(gen: AsyncGenerator<unknown, GenerationResult>): Promise<GenerationResult> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

let model: Phi3;
let server: RunningServer;
let client: OpenAI;
let id: string;

before(async () => {
  model = await loadModel(MODEL);
  server = await startServer({ model, port: 0, host: '127.0.0.1', parallel: 2, modelId: 'tiny-4k' });
  await server.ready;
  id = 'tiny-4k';
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
});

after(async () => {
  await server?.close();
});

const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];

describe('models and health', () => {
  it('lists the one model and retrieves it by id', async () => {
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      [id],
    );
    const m = await client.models.retrieve(id);
    assert.equal(m.object, 'model');
    await assert.rejects(client.models.retrieve('gpt-4'), OpenAI.NotFoundError);
  });

  it('/health and /props say what is served', async () => {
    const h = await (await fetch(`${server.url}/health`)).json();
    assert.equal(h.status, 'ok');
    const p = await (await fetch(`${server.url}/props`)).json();
    assert.equal(p.model, id);
    assert.equal(p.context_size, 4096);
    assert.equal(p.search, null);
  });
});

describe('chat completions', () => {
  it('temperature 0 answers exactly what model.chat gives, with usage counts', async () => {
    const lib = await run(model.chat(question, { maxTokens: 12 }));
    const r = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 12 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, lib.text);
    assert.equal(r.choices[0].finish_reason, lib.finishReason === 'length' ? 'length' : 'stop');
    assert.equal(r.usage?.prompt_tokens, model.chatPromptIds(question).length);
    assert.equal(r.usage?.completion_tokens, lib.tokens.length);
    assert.equal(r.usage?.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it('streams the same text in chunks, then a usage chunk, then ends', async () => {
    const whole = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 10 });
    const stream = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 10, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, whole.choices[0].message.content);
    assert.ok(chunks.filter((c) => c.choices[0]?.delta.content).length >= 2, 'text arrives in several chunks');
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0].choices[0].finish_reason, whole.choices[0].finish_reason);
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, whole.usage?.completion_tokens);
    assert.equal(last.usage?.prompt_tokens, whole.usage?.prompt_tokens);
  });

  it('stops at a stop string and leaves it out', async () => {
    const lib = await run(model.chat(question, { maxTokens: 12 }));
    const stop = lib.text.slice(6, 9);
    const r = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 12, stop: [stop] });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.choices[0].message.content, lib.text.slice(0, lib.text.indexOf(stop)));
  });

  it('a seed makes sampling reproducible; n choices use seeds seed, seed+1, …', async () => {
    const ask = (seed: number, n = 1) => client.chat.completions.create({ model: id, messages: question, temperature: 1, max_tokens: 6, seed, n });
    const a = await ask(7);
    const b = await ask(7);
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    const two = await ask(7, 2);
    assert.deepEqual(
      two.choices.map((c) => c.index),
      [0, 1],
    );
    assert.equal(two.choices[0].message.content, a.choices[0].message.content);
    assert.equal(two.choices[1].message.content, (await ask(8)).choices[0].message.content);
    const lib = await run(model.chat(question, { maxTokens: 6, temperature: 1, seed: 7 }));
    assert.equal(a.choices[0].message.content, lib.text);
  });

  it('logprobs are the log-softmax of the model\'s own logits', async () => {
    const r = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 3, logprobs: true, top_logprobs: 4 });
    const content = r.choices[0].logprobs!.content!;
    assert.equal(content.length, 3);
    // Independent: the library's forward pass over the prompt gives the first token's distribution.
    const logits = model.forward(model.chatPromptIds(question));
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    const order = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]);
    assert.ok(Math.abs(content[0].logprob - (logits[order[0]] - lse)) < 1e-4);
    assert.equal(content[0].top_logprobs.length, 4);
    content[0].top_logprobs.forEach((t, k) => assert.ok(Math.abs(t.logprob - (logits[order[k]] - lse)) < 1e-4));
    assert.equal(content[0].token, content[0].top_logprobs[0].token);
    assert.deepEqual(content[0].bytes, [...Buffer.from(content[0].token, 'utf8')]);
  });

  it('JSON mode returns an object that JSON.parse accepts', async () => {
    // A nudge towards quotes so the random-weight model closes its strings within the token budget.
    const quote = model.tokenizer.tokenId('"')!;
    const r = await client.chat.completions.create({
      model: id,
      messages: [{ role: 'user', content: 'Give me a JSON object.' }],
      temperature: 0,
      max_tokens: 80,
      response_format: { type: 'json_object' },
      logit_bias: { [quote]: 10 },
    });
    assert.equal(r.choices[0].finish_reason, 'stop');
    const value = JSON.parse(r.choices[0].message.content!);
    assert.equal(typeof value, 'object');
    assert.ok(value !== null && !Array.isArray(value));
    // Sampling too: whatever is drawn stays valid JSON.
    const s = await client.chat.completions.create({
      model: id,
      messages: [{ role: 'user', content: 'JSON please' }],
      temperature: 0.8,
      top_k: 40,
      seed: 3,
      max_tokens: 120,
      response_format: { type: 'json_object' },
      logit_bias: { [quote]: 8, [model.tokenizer.tokenId('}')!]: 4 },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    if (s.choices[0].finish_reason === 'stop') JSON.parse(s.choices[0].message.content!);
  });

  it('a follow-up turn reuses the cached conversation prefix and answers as a fresh model would', async () => {
    const first = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 5 });
    const turn2 = [...question, { role: 'assistant' as const, content: first.choices[0].message.content! }, { role: 'user' as const, content: 'And of Spain?' }];
    const second = await client.chat.completions.create({ model: id, messages: turn2, temperature: 0, max_tokens: 5 });
    const firstPrompt = model.chatPromptIds(question).length;
    assert.ok(second.usage!.prompt_tokens_details!.cached_tokens! >= firstPrompt, `cached ${second.usage!.prompt_tokens_details!.cached_tokens} of ${firstPrompt}`);
    const fresh = await run(model.chat(turn2, { maxTokens: 5 }));
    assert.equal(second.choices[0].message.content, fresh.text);
  });

  it('presence and frequency penalties, logit_bias and top_k change what is sampled', async () => {
    const lib = await run(model.chat(question, { maxTokens: 1 }));
    const banned = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 1, logit_bias: { [lib.tokens[0]]: -100 } });
    assert.notEqual(banned.choices[0].message.content, lib.text);
    const forced = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 3, logit_bias: { 1576: 100 } });
    assert.equal(forced.choices[0].message.content, model.tokenizer.decode([1576, 1576, 1576]));
    const penalised = await client.chat.completions.create({ model: id, messages: question, temperature: 0, max_tokens: 3, logit_bias: { 1576: 30 }, frequency_penalty: 2, presence_penalty: 2 });
    assert.equal(penalised.usage!.completion_tokens, 3);
  });
});

describe('completions', () => {
  const hello = expected.runs.main.prompts[0];
  const chat = expected.runs.main.prompts[1];

  it('greedy continuation of token ids and its logprobs equal llama.cpp\'s recorded ones', async () => {
    for (const p of [hello, chat]) {
      const n = Math.min(12, p['n_leading_steps_margin_ge_0.02']);
      const r = await client.completions.create({ model: id, prompt: p.ids, max_tokens: n, temperature: 0, logprobs: 5 });
      const c = r.choices[0];
      assert.equal(c.text, model.tokenizer.decode(p.greedy.slice(0, n)), p.name);
      assert.equal(r.usage?.prompt_tokens, p.ids.length);
      const lp = c.logprobs!;
      assert.equal(lp.token_logprobs!.length, n);
      for (let s = 0; s < n; s++) {
        const step = p.steps[s];
        assert.ok(Math.abs(lp.token_logprobs![s] - (step.top5_logits[0] - step.logsumexp)) < 2e-3, `${p.name} step ${s}`);
        const top = Object.values(lp.top_logprobs![s]);
        step.top5_logits.forEach((l, k) => assert.ok(Math.abs(top[k] - (l - step.logsumexp)) < 2e-3, `${p.name} step ${s} top ${k}`));
      }
      assert.equal(lp.text_offset![0], 0);
    }
  });

  it('streams the same text; echo prepends the prompt; several prompts give several choices', async () => {
    const whole = await client.completions.create({ model: id, prompt: 'Hello, my name is', max_tokens: 6, temperature: 0 });
    const stream = await client.completions.create({ model: id, prompt: 'Hello, my name is', max_tokens: 6, temperature: 0, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, whole.choices[0].text);
    assert.equal(finish, 'length');
    const lib = await run(model.generate('Hello, my name is', { maxTokens: 6 }));
    assert.equal(whole.choices[0].text, lib.text);
    const echo = await client.completions.create({ model: id, prompt: 'Hello, my name is', max_tokens: 6, temperature: 0, echo: true });
    assert.equal(echo.choices[0].text, `Hello, my name is${lib.text}`);
    const multi = await client.completions.create({ model: id, prompt: ['Hello, my name is', 'The sky'], max_tokens: 4, temperature: 0 });
    assert.deepEqual(
      multi.choices.map((c) => c.index),
      [0, 1],
    );
    assert.equal(multi.choices[0].text, (await run(model.generate('Hello, my name is', { maxTokens: 4 }))).text);
    assert.equal(multi.choices[1].text, (await run(model.generate('The sky', { maxTokens: 4 }))).text);
  });
});

describe('errors', () => {
  const post = (path: string, body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers, body });

  it('malformed JSON, a non-object body and a wrong content type are 400 / 415 in OpenAI\'s shape', async () => {
    let r = await post('/v1/chat/completions', '{"messages": [');
    assert.equal(r.status, 400);
    let j = await r.json();
    assert.equal(j.error.type, 'invalid_request_error');
    assert.match(j.error.message, /not valid JSON/);
    r = await post('/v1/chat/completions', '[1,2]');
    assert.equal(r.status, 400);
    r = await post('/v1/chat/completions', '', {});
    assert.equal(r.status, 415);
    j = await r.json();
    assert.match(j.error.message, /application\/json/);
  });

  it('missing and invalid fields are 400s that name the field', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{}, 'messages', /required/],
      [{ messages: [] }, 'messages', /non-empty/],
      [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', /expected/],
      [{ messages: [{ role: 'user' }] }, 'messages[0].content', /required/],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0].type', /only text/],
      [{ messages: question, temperature: 'hot' }, 'temperature', /number/],
      [{ messages: question, temperature: 3 }, 'temperature', /\[0, 2\]/],
      [{ messages: question, top_p: 0 }, 'top_p', /> 0/],
      [{ messages: question, max_tokens: -1 }, 'max_tokens', /integer ≥ 1/],
      [{ messages: question, n: 9 }, 'n', /\[1, 8\]/],
      [{ messages: question, seed: 1.5 }, 'seed', /integer/],
      [{ messages: question, stop: [1] }, 'stop', /string/],
      [{ messages: question, logit_bias: { x: 1 } }, 'logit_bias', /token ids/],
      [{ messages: question, top_logprobs: 2 }, 'top_logprobs', /logprobs: true/],
      [{ messages: question, stream_options: { include_usage: true } }, 'stream_options', /stream is true/],
      [{ messages: question, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools', /not supported/],
      [{ messages: question, response_format: { type: 'json_schema' } }, 'response_format.type', /json_schema/],
      [{ messages: question, search: true }, 'search', /without a search provider/],
    ];
    for (const [body, param, message] of cases) {
      await assert.rejects(
        client.chat.completions.create(body as never),
        (e: unknown) => e instanceof OpenAI.BadRequestError && (e.error as { param?: string }).param === param && message.test(e.message),
        `${JSON.stringify(body)} → 400 naming ${param}`,
      );
    }
    await assert.rejects(client.completions.create({ model: id, prompt: [99999] }), (e: unknown) => e instanceof OpenAI.BadRequestError && /0\.\.32063/.test(e.message));
    await assert.rejects(client.completions.create({ model: id, prompt: 'x', suffix: 'y' }), OpenAI.BadRequestError);
    await assert.rejects(client.completions.create({ model: id, prompt: 'x', search: true } as never), (e: unknown) => e instanceof OpenAI.BadRequestError && /chat\/completions only/.test(e.message));
  });

  it('an unknown model is 404', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: question }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && (e.error as { code?: string }).code === 'model_not_found',
    );
  });

  it('a prompt over the context is 400 with the numbers', async () => {
    const long = 'word '.repeat(5000);
    await assert.rejects(
      client.chat.completions.create({ model: id, messages: [{ role: 'user', content: long }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /the prompt has \d+ tokens but the context holds only 4096/.test(e.message) && (e.error as { code?: string }).code === 'context_length_exceeded',
    );
    await assert.rejects(
      client.chat.completions.create({ model: id, messages: question, max_tokens: 5000 }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /\d+ \+ 5000 > 4096/.test(e.message),
    );
  });

  it('unknown routes are 404 and wrong methods 405', async () => {
    let r = await fetch(`${server.url}/v1/nothing`);
    assert.equal(r.status, 404);
    assert.ok((await r.json()).error.message);
    r = await fetch(`${server.url}/v1/chat/completions`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
  });
});
