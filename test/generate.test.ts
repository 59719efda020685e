// Sampling and the generation loop. Sampler maths is checked against hand-computed distributions;
// the loop runs the real tiny-4k reference model, whose greedy continuation llama.cpp recorded.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RequestError } from '../src/errors.js';
import { Rng, Sampler, argmax } from '../src/generate/sampler.js';
import { loadModel, type GenerationResult, type Phi3 } from '../src/index.js';
import { REFERENCE, readJson } from './helpers.js';

async function collect(gen: AsyncGenerator<{ token: number | null; text: string }, GenerationResult>) {
  const pieces: string[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { pieces, result: r.value };
    pieces.push(r.value.text);
  }
}

describe('sampler', () => {
  it('greedy takes the first index of a tie', () => {
    assert.equal(argmax(new Float32Array([1, 3, 3, 2])), 1);
    assert.equal(new Sampler({ temperature: 0 }).sample(new Float32Array([0, 5, 5])), 1);
  });

  it('the PRNG is deterministic per seed and uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
    const r = new Rng(7);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 100000; i++) bins[Math.floor(r.next() * 10)]++;
    for (const n of bins) assert.ok(Math.abs(n - 10000) < 500, `bin count ${n}`);
  });

  it('temperature sampling follows softmax(logits / T)', () => {
    // logits ln(1), ln(2), ln(3), ln(4) at T=1 → probabilities 0.1 0.2 0.3 0.4 (hand-derived).
    const logits = new Float32Array([0, Math.log(2), Math.log(3), Math.log(4)]);
    const s = new Sampler({ temperature: 1, seed: 1 });
    const counts = [0, 0, 0, 0];
    const N = 40000;
    for (let i = 0; i < N; i++) counts[s.sample(logits)]++;
    [0.1, 0.2, 0.3, 0.4].forEach((p, i) => assert.ok(Math.abs(counts[i] / N - p) < 0.01, `token ${i}: ${counts[i] / N}`));
    // T = 0.5 squares the odds: 1:4:9:16 over 30.
    const s2 = new Sampler({ temperature: 0.5, seed: 2 });
    const c2 = [0, 0, 0, 0];
    for (let i = 0; i < N; i++) c2[s2.sample(logits)]++;
    [1 / 30, 4 / 30, 9 / 30, 16 / 30].forEach((p, i) => assert.ok(Math.abs(c2[i] / N - p) < 0.01));
  });

  it('top-k, top-p and min-p cut the candidate set as defined', () => {
    const logits = new Float32Array([0, Math.log(2), Math.log(3), Math.log(4)]); // p = .1 .2 .3 .4
    const seen = (o: object) => {
      const s = new Sampler({ temperature: 1, seed: 3, ...o });
      const set = new Set<number>();
      for (let i = 0; i < 2000; i++) set.add(s.sample(logits));
      return [...set].sort();
    };
    assert.deepEqual(seen({ topK: 2 }), [2, 3]);
    assert.deepEqual(seen({ topP: 0.65 }), [2, 3]); // .4 + .3 = .7 ≥ .65
    assert.deepEqual(seen({ topP: 0.35 }), [3]);
    assert.deepEqual(seen({ minP: 0.6 }), [2, 3]); // keep p ≥ .6 · .4 = .24
    assert.deepEqual(seen({ minP: 0.8 }), [3]);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    const s = new Sampler({ repetitionPenalty: 2 });
    // token 0: 3 → 1.5 (seen) < token 1: 2 → greedy picks 1
    assert.equal(s.sample(new Float32Array([3, 2, -1]), [0]), 1);
    // token 2: -1 → -2 when seen; token 0 1 unseen
    assert.equal(new Sampler({ repetitionPenalty: 2 }).sample(new Float32Array([-1.5, -1.8, -1]), [2]), 0);
  });

  it('same seed, same tokens; different seed, different tokens', () => {
    const logits = new Float32Array(1000).map((_, i) => Math.sin(i));
    const run = (seed: number) => {
      const s = new Sampler({ temperature: 1.5, seed });
      return Array.from({ length: 20 }, () => s.sample(logits));
    };
    assert.deepEqual(run(11), run(11));
    assert.notDeepEqual(run(11), run(12));
  });
});

interface Expected {
  runs: { main: { prompts: Array<{ ids: number[]; greedy: number[]; greedy_pieces: string[]; 'n_leading_steps_margin_ge_0.02': number }> } };
}

describe('generation loop on tiny-4k', () => {
  const expected = readJson<Expected>(join(REFERENCE, 'tiny-4k/expected.json'));
  const hello = expected.runs.main.prompts[0];
  let model: Phi3;
  const get = async () => (model ??= await loadModel(join(REFERENCE, 'tiny-4k/model.gguf')));

  it('streams pieces whose concatenation is the decoded text', async () => {
    const m = await get();
    const { pieces, result } = await collect(m.generate(hello.ids, { maxTokens: 8, noStop: true }));
    assert.equal(pieces.join(''), result.text);
    assert.equal(result.text, m.tokenizer.decode(result.tokens));
    assert.equal(result.finishReason, 'length');
    assert.equal(result.tokens.length, 8);
  });

  it('stops at a stop string and leaves it out', async () => {
    const m = await get();
    const n = hello['n_leading_steps_margin_ge_0.02'];
    const full = m.tokenizer.decode(hello.greedy.slice(0, n));
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    const { pieces, result } = await collect(m.generate(hello.ids, { maxTokens: n, noStop: true, stop: [stop] }));
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.text, full.slice(0, full.indexOf(stop)));
    assert.equal(pieces.join(''), result.text);
  });

  it('stops at an end-of-generation token unless noStop', async () => {
    const m = await get();
    const greedyFirst = hello.greedy[0];
    const { result } = await collect(m.generate(hello.ids, { maxTokens: 4, stopTokens: [greedyFirst] }));
    assert.deepEqual(result.tokens, []);
    assert.equal(result.finishReason, 'stop');
    const { result: r2 } = await collect(m.generate(hello.ids, { maxTokens: 1, stopTokens: [greedyFirst], noStop: true }));
    assert.deepEqual(r2.tokens, [greedyFirst]);
  });

  it('seeded sampling is reproducible', async () => {
    const m = await get();
    const a = await collect(m.generate(hello.ids, { maxTokens: 6, temperature: 1, seed: 9, noStop: true }));
    const b = await collect(m.generate(hello.ids, { maxTokens: 6, temperature: 1, seed: 9, noStop: true }));
    assert.deepEqual(a.result.tokens, b.result.tokens);
  });

  it('a session reuses the cached prefix of a follow-up prompt', async () => {
    const m = await get();
    const s = m.newSession();
    const first = await collect(s.generate(hello.ids, { maxTokens: 3, noStop: true }));
    const follow = [...hello.ids, ...first.result.tokens, 29871];
    const second = await collect(s.generate(follow, { maxTokens: 2, noStop: true }));
    assert.equal(second.result.cachedTokens, hello.ids.length + 2); // the last sampled token was never fed back
    const fresh = await collect(m.generate(follow, { maxTokens: 2, noStop: true }));
    assert.deepEqual(second.result.tokens, fresh.result.tokens);
  });

  it('a prompt longer than the context is an error that says the numbers', async () => {
    const small = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'), { contextSize: 4 });
    await assert.rejects(collect(small.generate(hello.ids)), (e: Error) => e instanceof RequestError && /5 tokens.*4/.test(e.message));
  });

  it('generation ends with finishReason "context" when the context fills up', async () => {
    const small = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'), { contextSize: 8 });
    const { result } = await collect(small.generate(hello.ids, { noStop: true }));
    assert.equal(result.finishReason, 'context');
    assert.equal(result.tokens.length, 4); // positions 5..7 are filled by 3 fed-back tokens; the 4th is sampled last
  });

  it('rejects bad sampling options with a clear message', async () => {
    const m = await get();
    await assert.rejects(collect(m.generate(hello.ids, { temperature: -1 })), /temperature must be ≥ 0/);
    await assert.rejects(collect(m.generate(hello.ids, { topP: 0 })), /topP must be in \(0, 1\]/);
    await assert.rejects(collect(m.generate([99999])), /outside the vocabulary/);
  });

  it('an aborted signal ends generation with finishReason "abort"', async () => {
    const m = await get();
    const ac = new AbortController();
    const gen = m.generate(hello.ids, { noStop: true, signal: ac.signal });
    await gen.next();
    ac.abort();
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    assert.equal(r.value.finishReason, 'abort');
  });
});
