// Gradient checks (like llama.cpp's test-backend-ops grad mode): every op's hand-written backward in
// src/train/ops.ts against central finite differences of its forward, then the whole model's; and the
// training forward against llama.cpp's logits on the shared reference model (an independent truth).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { configFromHF } from '../src/model/config.js';
import { NormalRng } from '../src/model/random.js';
import { ropeAngles } from '../src/model/rope.js';
import * as op from '../src/train/ops.js';
import { TrainModel } from '../src/train/model.js';
import { Phi3Params } from '../src/train/params.js';
import { REFERENCE, readJson, readNpyF32 } from './helpers.js';

const rng = new NormalRng(7);
const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.next());

/**
 * Checks d(Σ r·f(x))/dx_i for sampled i against (L(x+h) − L(x−h)) / 2h. `f` writes its output; `grad`
 * receives r and returns the analytic gradient w.r.t. x.
 */
function check(name: string, x: Float32Array, outLen: number, f: (y: Float32Array) => void, grad: (r: Float32Array) => Float32Array, h = 1e-2, tol = 2e-3): void {
  const r = randn(outLen);
  const g = grad(r);
  const y = new Float32Array(outLen);
  const L = () => {
    f(y);
    let s = 0;
    for (let i = 0; i < outLen; i++) s += r[i] * y[i];
    return s;
  };
  let maxErr = 0, maxG = 0;
  const idx = x.length <= 64 ? [...x.keys()] : Array.from({ length: 64 }, (_, i) => Math.floor((i * x.length) / 64));
  for (const i of idx) {
    const x0 = x[i];
    x[i] = x0 + h;
    const lp = L();
    x[i] = x0 - h;
    const lm = L();
    x[i] = x0;
    const num = (lp - lm) / (2 * h);
    maxErr = Math.max(maxErr, Math.abs(num - g[i]));
    maxG = Math.max(maxG, Math.abs(g[i]));
  }
  assert.ok(maxG > 1e-3, `${name}: gradient is all zeros`);
  assert.ok(maxErr / maxG < tol, `${name}: max |numeric − analytic| = ${maxErr} vs max |g| = ${maxG}`);
}

test('matmul backward (dx and dW) equals finite differences', () => {
  const n = 5, cols = 7, rows = 6;
  const x = randn(n * cols), w = randn(rows * cols);
  const f = (y: Float32Array) => op.matmul(y, x, w, n, cols, rows);
  check('matmul dx', x, n * rows, f, (r) => {
    const dx = new Float32Array(x.length);
    op.matmulBackward(dx, new Float32Array(w.length), r, x, w, n, cols, rows);
    return dx;
  });
  check('matmul dW', w, n * rows, f, (r) => {
    const dw = new Float32Array(w.length);
    op.matmulBackward(null, dw, r, x, w, n, cols, rows);
    return dw;
  });
});

test('rmsnorm backward (dx and dg) equals finite differences', () => {
  const n = 3, dim = 8;
  const x = randn(n * dim), g = randn(dim, 0.5).map((v) => 1 + v);
  const inv = new Float32Array(n);
  const f = (y: Float32Array) => op.rmsnorm(y, inv, x, g, 1e-5, n, dim);
  const back = (r: Float32Array) => {
    const dx = new Float32Array(x.length), dg = new Float32Array(dim);
    f(new Float32Array(n * dim));
    op.rmsnormBackward(dx, dg, r, x, inv, g, n, dim);
    return { dx, dg };
  };
  check('rmsnorm dx', x, n * dim, f, (r) => back(r).dx);
  check('rmsnorm dg', g, n * dim, f, (r) => back(r).dg);
});

test('RoPE backward (inverse rotation) equals finite differences', () => {
  const cfg = configFromHF({ hidden_size: 16, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 8 });
  const T = 4, n = 8, stride = 20, heads = 2, hd = 8;
  const { cos, sin, half } = ropeAngles(cfg, 'short', 0, T);
  const x = randn(n * stride);
  const f = (y: Float32Array) => {
    y.set(x);
    op.rope(y, n, stride, 2, heads, hd, T, cos, sin, half, 1);
  };
  check('rope dx', x, n * stride, f, (r) => {
    const d = r.slice();
    op.rope(d, n, stride, 2, heads, hd, T, cos, sin, half, -1);
    return d;
  });
});

test('SwiGLU backward equals finite differences', () => {
  const n = 3, ff = 5;
  const gu = randn(n * 2 * ff, 2);
  check('swiglu', gu, n * ff, (y) => op.swiglu(y, gu, n, ff), (r) => {
    const d = new Float32Array(gu.length);
    op.swigluBackward(d, r, gu, n, ff);
    return d;
  });
});

test('causal GQA attention backward (dq, dk, dv) equals finite differences', () => {
  const s = { batch: 2, seqLen: 4, numHeads: 4, numKvHeads: 2, headDim: 3 };
  const stride = (s.numHeads + 2 * s.numKvHeads) * s.headDim;
  const N = s.batch * s.seqLen;
  const qkv = randn(N * stride);
  const probs = new Float32Array(s.batch * s.numHeads * s.seqLen * s.seqLen);
  const f = (y: Float32Array) => op.attention(y, probs, qkv, s);
  check('attention', qkv, N * s.numHeads * s.headDim, f, (r) => {
    f(new Float32Array(N * s.numHeads * s.headDim));
    const d = new Float32Array(qkv.length);
    op.attentionBackward(d, r, probs, qkv, new Float32Array(s.seqLen), s);
    return d;
  });
});

test('log-softmax (cross-entropy) and embedding backward equal finite differences', () => {
  const n = 4, V = 6;
  const logits = randn(n * V, 2);
  const targets = Int32Array.from([2, -1, 0, 5]);
  const f = (y: Float32Array) => {
    const lp = new Float64Array(n);
    op.logSoftmaxTargets(lp, logits.slice(), targets, V);
    for (let i = 0; i < n; i++) y[i] = lp[i];
  };
  check('log-softmax', logits, n, f, (r) => {
    const p = logits.slice();
    op.logSoftmaxTargets(new Float64Array(n), p, targets, V);
    op.logSoftmaxBackward(p, Float64Array.from(r), targets, V);
    return p;
  });
  const table = randn(5 * 3), ids = Int32Array.from([4, 1, 4]);
  check('embedding', table, 9, (y) => op.embed(y, table, ids, 3), (r) => {
    const d = new Float32Array(table.length);
    op.embedBackward(d, r, ids, 3);
    return d;
  });
});

test('whole-model gradient (every tensor of a GQA Phi-3) equals finite differences', () => {
  const config = configFromHF({
    hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    vocab_size: 40, max_position_embeddings: 64,
  });
  const params = new Phi3Params(config).initRandom(3, 0.3);
  const model = new TrainModel(params);
  const batch = { batch: 2, seqLen: 5, tokens: Int32Array.from([1, 5, 9, 3, 7, 2, 2, 8, 30, 39]), targets: Int32Array.from([5, 9, 3, 7, -1, 2, 8, 30, 39, 0]) };
  const loss = () => {
    const lp = model.forward(batch);
    let s = 0;
    for (let i = 0; i < lp.length; i++) s -= lp[i];
    return s;
  };
  loss();
  const grads = new Float32Array(params.count);
  const dlogp = new Float64Array(10).fill(-1);
  model.backward(dlogp, grads);
  for (const v of params.views) {
    let maxErr = 0, maxG = 0;
    for (let j = 0; j < 6; j++) {
      const i = v.offset + Math.floor(((j + 0.5) * v.size) / 6);
      const p0 = params.data[i];
      const h = 1e-2;
      params.data[i] = p0 + h;
      const lp = loss();
      params.data[i] = p0 - h;
      const lm = loss();
      params.data[i] = p0;
      maxErr = Math.max(maxErr, Math.abs((lp - lm) / (2 * h) - grads[i]));
      maxG = Math.max(maxG, Math.abs(grads[i]));
    }
    assert.ok(maxErr <= 5e-3 * Math.max(maxG, 1e-1), `${v.name}: max error ${maxErr}, max |g| ${maxG}`);
  }
});

test('training forward equals llama.cpp logits on the reference model tiny-4k', () => {
  const dir = join(REFERENCE, 'tiny-4k');
  const exp = readJson<{ runs: { main: { prompts: Array<{ ids: number[]; greedy: number[]; n_prompt: number }> } } }>(join(dir, 'expected.json'));
  const p = exp.runs.main.prompts[0];
  const ref = readNpyF32(join(dir, 'logits/main/p0.npy'));
  const config = configFromHF(readJson(join(dir, 'hf/config.json')));
  const params = new Phi3Params(config).loadGGUF(join(dir, 'model.gguf'));
  const ids = [...p.ids, ...p.greedy.slice(0, 7)];
  const T = ids.length;
  const logits = new Float32Array(T * config.vocabSize);
  new TrainModel(params).forward({ batch: 1, seqLen: T, tokens: Int32Array.from(ids), targets: new Int32Array(T).fill(-1) }, logits);
  const V = config.vocabSize;
  let maxDiff = 0;
  for (let s = 0; s < 8; s++) {
    const row = logits.subarray((p.n_prompt - 1 + s) * V, (p.n_prompt + s) * V);
    for (let i = 0; i < V; i++) maxDiff = Math.max(maxDiff, Math.abs(row[i] - ref.data[s * V + i]));
  }
  assert.ok(maxDiff < 2e-3, `max |logit − llama.cpp| = ${maxDiff}`);
});
