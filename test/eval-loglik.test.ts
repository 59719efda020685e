// Log-likelihood scoring against llama.cpp: the log-probability of a continuation computed by hand from
// the reference logits (logprob = logit − logsumexp, summed over the continuation's greedy tokens)
// equals what the harness computes, with and without KV-cache reuse across continuations; and
// lm-eval's context/continuation tokenisation rules.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Phi3EvalModel } from '../src/eval/lm.js';
import { mmluTask } from '../src/eval/tasks/mmlu.js';
import { hellaswag } from '../src/eval/tasks/hellaswag.js';
import type { McInstance } from '../src/eval/types.js';
import { loadModel } from '../src/phi3.js';
import { readJson, readNpyF32, REFERENCE, REPO, SHARED } from './helpers.js';

interface Step {
  top5_ids: number[];
  top5_logits: number[];
  logsumexp: number;
  margin: number;
}
interface Prompt {
  ids: number[];
  greedy: number[];
  steps: Step[];
  'n_leading_steps_margin_ge_0.02': number;
}
const DIR = join(REFERENCE, 'tiny-4k');
const expected = readJson<{ runs: { main: { prompts: Prompt[] } } }>(join(DIR, 'expected.json')).runs.main.prompts;
const model = await loadModel(join(DIR, 'model.gguf'));

function handLogprob(row: Float32Array, token: number): number {
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - m);
  return row[token] - (m + Math.log(s));
}

test('log P(greedy continuation | "Hello, my name is") equals the sum computed from llama.cpp\'s logits (p0.npy)', () => {
  const p = expected[0];
  const { shape, data } = readNpyF32(join(DIR, 'logits/main/p0.npy'));
  const vocab = shape[1];
  const k = Math.min(8, p['n_leading_steps_margin_ge_0.02']);
  assert.ok(k >= 4, 'enough clear greedy steps in the reference');
  let hand = 0;
  for (let s = 0; s < k; s++) hand += handLogprob(data.subarray(s * vocab, (s + 1) * vocab), p.greedy[s]);
  const ev = new Phi3EvalModel(model);
  const r = ev.loglikelihoodTokens(p.ids, p.greedy.slice(0, k));
  assert.ok(Math.abs(r.ll - hand) < 2e-3, `ours ${r.ll} vs hand ${hand}`);
  assert.equal(r.greedy, true);
  assert.equal(r.tokens, k);
  // A non-greedy continuation: the runner-up at step 0 (top5_ids[1]) then nothing else.
  const alt = p.steps[0].top5_ids[1];
  const r2 = ev.loglikelihoodTokens(p.ids, [alt]);
  assert.ok(Math.abs(r2.ll - (p.steps[0].top5_logits[1] - p.steps[0].logsumexp)) < 1e-3);
  assert.equal(r2.greedy, false);
});

test('the same from expected.json\'s top-5 logits and logsumexp (chat prompt), with cache reuse across continuations', () => {
  const p = expected[1];
  const k = Math.min(6, p['n_leading_steps_margin_ge_0.02']);
  let hand = 0;
  for (let s = 0; s < k; s++) {
    assert.equal(p.steps[s].top5_ids[0], p.greedy[s]);
    hand += p.steps[s].top5_logits[0] - p.steps[s].logsumexp;
  }
  const ev = new Phi3EvalModel(model);
  // Interleave continuations of the same context: the second and third calls reuse the cached context.
  const a = ev.loglikelihoodTokens(p.ids, p.greedy.slice(0, k));
  const b = ev.loglikelihoodTokens(p.ids, [p.steps[0].top5_ids[2], 13]);
  const a2 = ev.loglikelihoodTokens(p.ids, p.greedy.slice(0, k));
  assert.ok(Math.abs(a.ll - hand) < 2e-3, `ours ${a.ll} vs hand ${hand}`);
  assert.ok(Math.abs(a2.ll - a.ll) < 1e-4);
  const fresh = new Phi3EvalModel(model).loglikelihoodTokens(p.ids, [p.steps[0].top5_ids[2], 13]);
  assert.ok(Math.abs(b.ll - fresh.ll) < 1e-4, `reused ${b.ll} vs fresh ${fresh.ll}`);
  // A context sharing only a prefix with the cache (the first tokens of the chat prompt) is right too.
  const shorter = p.ids.slice(0, -2);
  const viaCache = ev.loglikelihoodTokens(shorter, [p.ids[p.ids.length - 2], p.ids[p.ids.length - 1]]);
  const viaFresh = new Phi3EvalModel(model).loglikelihoodTokens(shorter, [p.ids[p.ids.length - 2], p.ids[p.ids.length - 1]]);
  assert.ok(Math.abs(viaCache.ll - viaFresh.ll) < 1e-4);
});

test('text requests follow lm-eval\'s _encode_pair: trailing context spaces move to the continuation', () => {
  const ev = new Phi3EvalModel(model);
  const p = expected[0]; // "Hello, my name is" → [15043, 29892, 590, 1024, 338]
  assert.deepEqual(ev.encodePair('Hello, my name', ' is'), { ctx: p.ids.slice(0, 4), cont: [338] });
  assert.deepEqual(ev.encodePair('Hello, my name ', 'is'), { ctx: p.ids.slice(0, 4), cont: [338] });
  const [r] = ev.loglikelihood([{ context: 'Hello, my name', continuation: ' is' }]);
  const [t] = [new Phi3EvalModel(model).loglikelihoodTokens(p.ids.slice(0, 4), [338])];
  assert.ok(Math.abs(r.ll - t.ll) < 1e-6);
  assert.throws(() => ev.loglikelihoodTokens([], [1]), /non-empty/);
});

test('line-wise tokenisation agrees with the tokenizer on real few-shot prompts (its self-check stays on)', async () => {
  const tiny = await loadModel(join(REPO, 'models/phi3-tiny.gguf'));
  const ev = new Phi3EvalModel(tiny);
  const data = join(SHARED, 'datasets');
  const items = [...mmluTask('virology').load({ dataDir: data, shots: 5, style: 'lm-eval' }).slice(0, 10), ...hellaswag.load({ dataDir: data, shots: 2, style: 'lm-eval' }).slice(0, 10)] as McInstance[];
  for (const it of items)
    for (const r of it.requests) {
      const plain = tiny.tokenizer.encode(r.context + r.continuation, { parseSpecial: false });
      const pair = ev.encodePair(r.context, r.continuation);
      assert.deepEqual([...pair.ctx, ...pair.cont], plain);
    }
  assert.equal(ev.fastTokenization, true);
});
