// The training recipe's pieces against hand-derived values: AdamW's first step, the warmup + cosine
// schedule, the DPO loss, SFT's assistant-only mask; and the standard sanity test of a training stack:
// a tiny Phi-3 overfits one batch to near-zero loss. Also the run.json checks and the loss-curve plot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromHF } from '../src/model/config.js';
import { toChat } from '../src/data/synth/index.js';
import { verifyRecord } from '../src/data/synth/verify.js';
import { chatTokens, heldOutRecords, isHeldOut, openTokenizer, record, trainRecord, stepRng } from '../src/train/data.js';
import { basic } from '../src/train/easy-synth.js';
import { crossEntropy, dpoLoss } from '../src/train/losses.js';
import { TrainModel } from '../src/train/model.js';
import { AdamW, DEFAULT_OPTIM, learningRate } from '../src/train/optim.js';
import { Phi3Params } from '../src/train/params.js';
import { plotSvg } from '../src/train/plot.js';
import { readRunSpec } from '../src/train/stages.js';
import type { ChatMessage } from '../src/chat/template.js';
import { REPO, tempDir } from './helpers.js';

const TOKENIZER = join(REPO, 'runs/phi3-chat/tokenizer');

test('AdamW first step: bias-corrected update = lr·sign(g), decoupled decay on matrices only', () => {
  const views = [
    { name: 'm', dims: [2, 1], offset: 0, size: 2, decay: true },
    { name: 'n', dims: [1], offset: 2, size: 1, decay: false },
  ];
  const p = Float32Array.from([1, -2, 3]);
  const g = Float32Array.from([0.5, -4, 2]);
  const o = { ...DEFAULT_OPTIM, lr: 0.1, totalSteps: 10, weightDecay: 0.5, clip: 0, eps: 0 };
  new AdamW(views, 3).step(p, g, 0.1, o);
  // step 1: m̂ = g, v̂ = g², update = g/|g| = sign(g); decay multiplies by (1 − lr·wd) = 0.95 first
  assert.ok(Math.abs(p[0] - (1 * 0.95 - 0.1)) < 1e-6);
  assert.ok(Math.abs(p[1] - (-2 * 0.95 + 0.1)) < 1e-6);
  assert.ok(Math.abs(p[2] - (3 - 0.1)) < 1e-6, 'norm weights are not decayed');
  // clipping: a gradient of norm 5 clipped to 1 gives the same sign step (Adam is scale-free), but the norm is reported
  const q = Float32Array.from([0, 0, 0]);
  const n = new AdamW(views, 3).step(q, Float32Array.from([3, 4, 0]), 0.1, { ...o, clip: 1, weightDecay: 0 });
  assert.equal(n, 5);
});

test('learning rate: linear warmup, cosine to minLr, flat after', () => {
  const o = { ...DEFAULT_OPTIM, lr: 1, minLr: 0.1, warmupSteps: 4, totalSteps: 14 };
  assert.equal(learningRate(o, 0), 0.25);
  assert.equal(learningRate(o, 3), 1);
  assert.ok(Math.abs(learningRate(o, 4) - 1) < 1e-12);
  assert.ok(Math.abs(learningRate(o, 9) - 0.55) < 1e-12, 'half way down the cosine: (1 + 0.1) / 2');
  assert.ok(Math.abs(learningRate(o, 14) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(o, 100) - 0.1) < 1e-12);
});

test('DPO loss, rewards and gradient equal the hand-derived values', () => {
  // one pair, T = 2 rows each; policy log-probs chosen −1 −2 (= −3), rejected −0.5 −0.5 (= −1)
  const logp = Float64Array.from([-1, -2, -0.5, -0.5]);
  const targets = Int32Array.from([5, 6, 7, 8]);
  const ref = Float64Array.from([-4, -0.5]);
  const beta = 0.5;
  const d = dpoLoss(logp, ref, targets, 2, 2, beta);
  const rc = beta * (-3 - -4), rr = beta * (-1 - -0.5); // 0.5, −0.25
  const z = rc - rr;
  assert.ok(Math.abs(d.loss - Math.log(1 + Math.exp(-z))) < 1e-12);
  assert.ok(Math.abs(d.chosenReward - rc) < 1e-12 && Math.abs(d.rejectedReward - rr) < 1e-12);
  assert.equal(d.accuracy, 1);
  const g = -beta / (1 + Math.exp(z));
  assert.deepEqual(Array.from(d.dlogp).map((x) => +x.toFixed(12)), [g, g, -g, -g].map((x) => +x.toFixed(12)));
  assert.throws(() => dpoLoss(logp, ref, targets, 3, 1, beta), /even/);
});

test('cross-entropy ignores unscored rows and scales its gradient', () => {
  const r = crossEntropy(Float64Array.from([-1, -9, -3]), Int32Array.from([1, -1, 2]), 0.5);
  assert.equal(r.loss, 2);
  assert.equal(r.count, 2);
  assert.deepEqual(Array.from(r.dlogp), [-0.25, 0, -0.25]);
});

test('SFT mask: exactly the assistant answer and its <|end|> are scored, for every assistant turn', () => {
  const tok = openTokenizer(TOKENIZER);
  const msgs: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Ava has 2 pens and gets 3 more. How many pens does Ava have now?' },
    { role: 'assistant', content: '2 + 3 = 5\nAnswer: 5' },
    { role: 'user', content: 'And 4 more?' },
    { role: 'assistant', content: 'Answer: 9' },
  ];
  const { ids, scored } = chatTokens(msgs, tok);
  const targets = ids.slice(1).filter((_, t) => scored[t]);
  const text = tok.tokenizer.decode(targets);
  // (the space before the second answer is SentencePiece's dummy prefix after a special token)
  assert.equal(text, '2 + 3 = 5\nAnswer: 5<|end|> Answer: 9<|end|>');
  assert.equal(scored.filter(Boolean).length, targets.length);
});

test('synthetic data: basic records verify, held-out questions are never drawn for training', () => {
  for (let i = 0; i < 200; i++) {
    const r = record('basic', 3, i);
    assert.deepEqual(verifyRecord(r, basic), [], r.question);
  }
  const held = heldOutRecords('basic', 3, 20);
  assert.ok(held.every((r) => isHeldOut(r.question)));
  const rng = stepRng(3, 0, 0);
  for (let i = 0; i < 300; i++) assert.ok(!isHeldOut(trainRecord('basic', 3, rng).question));
  assert.equal(toChat(held[0])[1].content.split('\n').at(-1), `Answer: ${held[0].answer}`);
});

test('a tiny Phi-3 overfits one batch to near-zero loss', () => {
  const config = configFromHF({ hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64 });
  const params = new Phi3Params(config).initRandom(5);
  const model = new TrainModel(params);
  const rng = stepRng(1, 0, 0);
  const B = 2, T = 16;
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * 64));
  const targets = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * 64));
  const batch = { batch: B, seqLen: T, tokens, targets };
  const opt = new AdamW(params.views, params.count);
  const o = { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: 150, weightDecay: 0 };
  const grads = new Float32Array(params.count);
  let first = 0, last = 0;
  for (let s = 0; s < 150; s++) {
    grads.fill(0);
    const ce = crossEntropy(model.forward(batch), targets);
    model.backward(ce.dlogp, grads);
    opt.step(params.data, grads, learningRate(o, s), o);
    if (s === 0) first = ce.loss;
    last = ce.loss;
  }
  assert.ok(first > 3.5, `starts near ln 64 ≈ 4.16, got ${first}`);
  assert.ok(last < 0.05, `random targets memorised: final loss ${last}`);
});

test('run.json: missing fields and bad phases are named', () => {
  const dir = tempDir();
  const write = (o: unknown) => {
    writeFileSync(join(dir, 'run.json'), JSON.stringify(o));
    return join(dir, 'run.json');
  };
  assert.throws(() => readRunSpec(write({ tokenizer: 't', model: {} })), /needs "out"/);
  assert.throws(() => readRunSpec(write({ out: 'o', tokenizer: 't', model: {}, phases: [] })), /non-empty "phases"/);
  assert.throws(() => readRunSpec(write({ out: 'o', tokenizer: 't', model: {}, phases: [{ name: 'p', steps: 0, lr: 1 }] })), /steps must be a positive integer/);
  writeFileSync(join(dir, 'bad.json'), '{');
  assert.throws(() => readRunSpec(join(dir, 'bad.json')), /cannot read run config/);
});

test('plot: one polyline per phase and field, through the logged points', () => {
  const recs = [
    { phase: 'a', step: 1, loss: 4 },
    { phase: 'a', step: 2, loss: 2, heldOutLoss: 3 },
    { phase: 'b', step: 1, loss: 1 },
  ];
  const svg = plotSvg(recs);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 3);
  const pts = /data-phase="a" data-field="loss"[^>]*points="([^"]+)"/.exec(svg)![1].split(' ');
  assert.equal(pts.length, 2);
  const ys = pts.map((p) => Number(p.split(',')[1]));
  assert.ok(ys[0] < ys[1], 'higher loss is drawn higher (smaller y)');
  assert.throws(() => plotSvg([{ step: 1 }]), /no numeric field/);
});

test('bf16 working weights: the forward sees bf16-rounded weights, the fp32 master keeps the full update', async () => {
  const { trainLoop } = await import('../src/train/trainer.js');
  const { readCheckpoint } = await import('../src/train/checkpoint.js');
  const { bf16ToF32, f32ToBf16 } = await import('../src/quant/index.js');
  const config = configFromHF({ hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 32, max_position_embeddings: 32 });
  const params = new Phi3Params(config).initRandom(2);
  const dir = tempDir();
  const batch = { batch: 1, seqLen: 8, tokens: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), targets: Int32Array.from([2, 3, 4, 5, 6, 7, 8, 9]) };
  trainLoop(params, {
    phase: 'b', steps: 3, accum: 2, optim: { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 3 }, checkpoint: join(dir, 'b.ckpt'), ckptEvery: 1,
    log: join(dir, 'b.jsonl'), resume: false, weights: 'bf16', state: {}, quiet: true,
    micro(model, _s, _m, grads, scale) {
      const ce = crossEntropy(model.forward(batch), batch.targets, scale);
      model.backward(ce.dlogp, grads);
      return { loss: ce.loss, tokens: 8 };
    },
  });
  assert.ok(params.data.every((x) => bf16ToF32(f32ToBf16(x)) === x), 'working weights are bf16 values');
  const master = readCheckpoint(join(dir, 'b.ckpt')).buffers.get('params')!;
  assert.ok(master.some((x) => bf16ToF32(f32ToBf16(x)) !== x), 'master weights keep fp32 precision');
  assert.ok(master.every((x, i) => bf16ToF32(f32ToBf16(x)) === params.data[i]));
});

test('preference pairs: the rejected answer carries one consistent wrong result', async () => {
  const { synthPair } = await import('../src/train/data.js');
  for (let i = 0; i < 50; i++) {
    const r = record('basic', 5, i);
    const p = synthPair(r, stepRng(5, i, 0));
    const [eq, ans] = p.rejected.split('\n');
    const wrong = /^Answer: (\d+)$/.exec(ans)![1];
    assert.notEqual(wrong, r.answer);
    assert.ok(eq.endsWith(`= ${wrong}`), `${eq} / ${ans}`);
    assert.equal(p.chosen, `${r.solution}\nAnswer: ${r.answer}`);
  }
});
