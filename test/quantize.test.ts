// `phi3 quantize`: blocks hand-derived from ggml's published reference algorithms (FACTS.md §6 and
// ggml-quants.c quantize_row_q5_0/q5_1_ref), llama.cpp's per-tensor type mixes worked out by hand from
// llama-quant.cpp for phi-3-mini and the tiny shapes, and the files themselves loaded by llama.cpp
// (node-llama-cpp 3.21.1): its greedy tokens agree with ours on the same converted / quantized file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { convertModel, planTensors, fileTypeInfo } from '../src/convert/convert.js';
import { openConvertInput } from '../src/convert/source.js';
import { presetConfig } from '../src/model/config.js';
import { phi3TensorSpecs } from '../src/model/random.js';
import { loadModel } from '../src/phi3.js';
import { hasFastKQuants, quantizeFast } from '../src/quant/fast.js';
import { dequantizeRow, quantizeRow } from '../src/quant/index.js';
import { FILE_TYPES, tensorTypeFor, useMoreBits } from '../src/quant/mix.js';
import { GGMLType, tensorByteSize, typeName } from '../src/quant/types.js';
import { REFERENCE, TOKENIZER_DIR, mulberry32, tempDir, readJson } from './helpers.js';
import { llamaGreedy } from './llama.js';

const TMP = tempDir('phi3-quantize-');
after(() => rmSync(TMP, { recursive: true, force: true }));
const TOK = join(TOKENIZER_DIR, 'phi-3-mini');

describe('blocks by hand from the published algorithms', () => {
  // x_j = (j - 10) / 4 for j < 32: max |x| = 5.25 at j = 31 (positive), first-wins rule irrelevant
  const x = Float32Array.from({ length: 32 }, (_, j) => (j - 10) / 4);

  test('Q8_0: d = 5.25/127 as fp16, q = roundf(x·127/5.25) half away from zero', () => {
    const b = quantizeRow(GGMLType.Q8_0, x, 32);
    assert.equal(b.length, 34);
    const d = 5.25 / 127; // fp16 of 0.041338… = 2^-5·(1 + 331/1024) = 0x294b
    assert.equal(b[0] | (b[1] << 8), 0x294b);
    const id = Math.fround(1 / Math.fround(d));
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(x[j] * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
      assert.equal((b[2 + j] << 24) >> 24, q, `q[${j}]`);
    }
    assert.equal((b[2 + 31] << 24) >> 24, 127);
    assert.equal((b[2 + 0] << 24) >> 24, -60); // -2.5·127/5.25 = -60.476 → -60
  });

  test('Q4_0: d = max/-8 = -0.65625 (exact in fp16), q = min(15, trunc(x/d + 8.5))', () => {
    const b = quantizeRow(GGMLType.Q4_0, x, 32);
    assert.equal(b[0] | (b[1] << 8), 0xb940); // -0.65625 = -(1 + 5/16)·2^-1
    const q = (j: number) => (j < 16 ? b[2 + j] & 0xf : b[2 + j - 16] >> 4);
    // x = 5.25 → 5.25/-0.65625 + 8.5 = 0.5 → 0; x = -2.5 → 3.8095+8.5 = 12.31 → 12; x = 0 → 8
    assert.equal(q(31), 0);
    assert.equal(q(0), 12);
    assert.equal(q(10), 8);
    const y = new Float32Array(32);
    dequantizeRow(GGMLType.Q4_0, b, 0, y, 0, 32);
    assert.equal(y[31], 5.25);
    assert.ok(y[10] === 0); // (8 - 8)·d: a zero (negative zero, as in C)
  });

  test('Q5_0: d = max/-16, 5th bits in qh; x = -2.5 → trunc(7.619 + 16.5) = 24', () => {
    const b = quantizeRow(GGMLType.Q5_0, x, 32);
    assert.equal(b.length, 22);
    assert.equal(b[0] | (b[1] << 8), 0xb540); // -0.328125
    const qh = b[2] | (b[3] << 8) | (b[4] << 16) | (b[5] << 24);
    const q = (j: number) => (j < 16 ? b[6 + j] & 0xf : b[6 + j - 16] >> 4) | (((qh >>> j) & 1) << 4);
    assert.equal(q(0), 24);
    assert.equal(q(31), 0); // 5.25/-0.328125 + 16.5 = 0.5
    assert.equal(q(10), 16);
    const y = new Float32Array(32);
    dequantizeRow(GGMLType.Q5_0, b, 0, y, 0, 32);
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(y[j] - x[j]) <= 0.328125 / 2 + 1e-6, `j=${j}`);
  });

  test('Q5_1: d = (max-min)/31, m = min, q = trunc((x - min)/d + 0.5)', () => {
    const b = quantizeRow(GGMLType.Q5_1, x, 32);
    assert.equal(b.length, 24);
    assert.equal(b[2] | (b[3] << 8), 0xc100); // m = -2.5
    const qh = b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24);
    const q = (j: number) => (j < 16 ? b[8 + j] & 0xf : b[8 + j - 16] >> 4) | (((qh >>> j) & 1) << 4);
    assert.equal(q(0), 0);
    assert.equal(q(31), 31);
    // (x - min)/d = (j/4)·31/7.75 = j exactly: every level is its index
    for (let j = 0; j < 32; j++) assert.equal(q(j), j);
  });
});

// Golden hashes from the real ggml: libggml-base.so of @node-llama-cpp/linux-x64 (the binary
// node-llama-cpp 3.21.1 installs), called from a throwaway C harness (dlopen + quantize_row_q5_0_ref /
// quantize_row_q5_1_ref / dequantize_row_q5_0 / dequantize_row_q5_1) on q5Inputs(96), outputs hashed.
/** 32-value blocks cycling through 12 kinds of data that reach every branch of the Q5 quantizers. */
function q5Inputs(nBlocks: number): Float32Array {
  const r = mulberry32(4242);
  const g = () => (r() + r() + r() + r() - 2) * 1.7320508075688772;
  const x = new Float32Array(nBlocks * 32);
  for (let b = 0; b < nBlocks; b++) {
    for (let i = 0; i < 32; i++) {
      const k = b % 12;
      x[b * 32 + i] =
        k === 0 ? g() : k === 1 ? 0.02 * g() : k === 2 ? 0.5 + r() : k === 3 ? -(0.1 + r()) : k === 4 ? 0.37 : k === 5 ? 0
        : k === 6 ? 1e-20 * g() : k === 7 ? (i === 7 ? -1000 : g()) : k === 8 ? 0.5 * (Math.floor(r() * 33) - 16)
        : k === 9 ? g() * 2 ** (Math.floor(r() * 24) - 12) : k === 10 ? 1e-6 * g() : Math.floor(r() * 16) / 8 - 1;
    }
  }
  return x;
}

test('Q5_0 / Q5_1 (the K-quant fallbacks) byte-identical to ggml: quantize and dequantize', () => {
  const x = q5Inputs(96);
  const golden: Array<[GGMLType, string, string]> = [
    [GGMLType.Q5_0, '176cfd52593db27e938bec10b88593bbd5a60bbc524a55dcefa1b78cfa2132e8', '41d3e241f5cccb09df50275e840c87860f404be0962796c2a600e747bf4fd552'],
    [GGMLType.Q5_1, '421a19884f245d055f05095221660cb39c7d42e57d46cc77df103ce10d535bb0', 'c56f791326bf1abaace67cff8269bb5c43d90462961291ecb395b9c7ec1ca8c2'],
  ];
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  for (const [type, q, deq] of golden) {
    const bytes = quantizeRow(type, x, x.length);
    const y = new Float32Array(x.length);
    dequantizeRow(type, bytes, 0, y, 0, x.length);
    assert.equal(sha(bytes), q, `${typeName(type)} quantize`);
    assert.equal(sha(new Uint8Array(y.buffer)), deq, `${typeName(type)} dequantize`);
  }
});

test('WASM K-quants (quant/fast.ts) byte-identical to the TypeScript reference on every kind of block', () => {
  assert.ok(hasFastKQuants(), 'the committed kquants.wasm loads');
  // 16 kinds of 256-value blocks: normal, tiny, all-positive, all-negative, constant, zero, below 1e-15,
  // outliers, sparse, half-integer ties, wide range, zero sub-blocks, fp16-subnormal scales, coarse grid,
  // one loud sub-block, uniform
  const r = mulberry32(99);
  const g = () => (r() + r() + r() + r() - 2) * 1.7320508075688772;
  const x = new Float32Array(16 * 256 * 3);
  for (let i = 0; i < x.length; i++) {
    const k = (i >> 8) % 16;
    const j = i & 255;
    x[i] = [g(), 0.02 * g(), 0.5 + r(), -(0.1 + r()), 0.37, 0, 1e-20 * g(), j === 77 ? 1000 : g(), r() < 0.1 ? g() : 0,
      0.5 * (Math.floor(r() * 33) - 16), g() * 2 ** (Math.floor(r() * 24) - 12), (j >> 4) % 3 === 0 ? 0 : g(), 1e-6 * g(),
      Math.floor(r() * 16) / 8 - 1, j >> 5 === 3 ? 50 * g() : 1e-3 * g(), r() - 0.5][k];
  }
  for (const type of [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    assert.ok(Buffer.from(quantizeFast(type, x, x.length)).equals(Buffer.from(quantizeRow(type, x, x.length))), typeName(type));
  }
  assert.ok(Buffer.from(quantizeFast(GGMLType.Q8_0, x, 64)).equals(Buffer.from(quantizeRow(GGMLType.Q8_0, x, 64)))); // others: the reference
});

describe("llama.cpp's type mixes (llama-quant.cpp, worked out by hand)", () => {
  const mini = presetConfig('phi-3-mini-4k');
  const types = (ft: string) => {
    const m = new Map<string, GGMLType>();
    for (const s of phi3TensorSpecs(mini)) m.set(s.name, tensorTypeFor(FILE_TYPES[ft], s.name, s.dims, mini.numLayers));
    return m;
  };

  test('use_more_bits on 32 layers: 0-3, 28-31 and every third from 6: 16 layers', () => {
    const more = Array.from({ length: 32 }, (_, i) => i).filter((i) => useMoreBits(i, 32));
    assert.deepEqual(more, [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
    assert.deepEqual([0, 1].filter((i) => useMoreBits(i, 2)), [1]); // C integer division: 2/8 = 0, 14/8 = 1
  });

  test('phi-3-mini Q4_K_M: qkv and ffn_down Q6_K on those layers, output Q6_K, the rest Q4_K', () => {
    const t = types('q4_k_m');
    assert.equal(t.get('token_embd.weight'), GGMLType.Q4_K);
    assert.equal(t.get('output.weight'), GGMLType.Q6_K);
    assert.equal(t.get('blk.0.attn_qkv.weight'), GGMLType.Q6_K);
    assert.equal(t.get('blk.4.attn_qkv.weight'), GGMLType.Q4_K);
    assert.equal(t.get('blk.6.ffn_down.weight'), GGMLType.Q6_K);
    assert.equal(t.get('blk.7.ffn_down.weight'), GGMLType.Q4_K);
    assert.equal(t.get('blk.7.ffn_up.weight'), GGMLType.Q4_K);
    assert.equal(t.get('blk.7.attn_output.weight'), GGMLType.Q4_K);
    assert.equal(t.get('blk.7.attn_norm.weight'), GGMLType.F32);
    const count = (ty: GGMLType) => [...t.values()].filter((x) => x === ty).length;
    assert.equal(count(GGMLType.Q6_K), 16 + 16 + 1);
    assert.equal(count(GGMLType.F32), 65);
  });

  test('phi-3-mini Q4_K_S: first 4 qkv and first 4 ffn_down Q5_K; Q4_0: output Q6_K, rest Q4_0; Q8_0: all Q8_0', () => {
    const s = types('q4_k_s');
    assert.equal(s.get('blk.3.attn_qkv.weight'), GGMLType.Q5_K);
    assert.equal(s.get('blk.4.attn_qkv.weight'), GGMLType.Q4_K);
    assert.equal(s.get('blk.3.ffn_down.weight'), GGMLType.Q5_K);
    assert.equal(s.get('blk.4.ffn_down.weight'), GGMLType.Q4_K);
    const q40 = types('q4_0');
    assert.equal(q40.get('output.weight'), GGMLType.Q6_K);
    assert.equal(q40.get('blk.0.ffn_down.weight'), GGMLType.Q4_0);
    assert.ok([...types('q8_0').entries()].every(([n, ty]) => ty === (n.includes('norm') ? GGMLType.F32 : GGMLType.Q8_0)));
  });

  test('tiny shapes (rows of 64 / 128): K-quants fall back to Q5_0 / Q5_1 / Q8_0 as llama.cpp does', () => {
    const input = openConvertInput(join(REFERENCE, 'tiny-4k/model.gguf'));
    const plan = (ft: string) => Object.fromEntries(planTensors(input, fileTypeInfo(ft)).map((p) => [p.name, typeName(p.to)]));
    const km = plan('q4_k_m');
    assert.equal(km['token_embd.weight'], 'Q5_0');
    assert.equal(km['blk.0.attn_qkv.weight'], 'Q5_0');
    assert.equal(km['blk.1.attn_qkv.weight'], 'Q8_0'); // Q6_K (use_more_bits) → Q8_0
    assert.equal(km['output.weight'], 'Q8_0'); // 64 % 256 ≠ 0 → Q8_0
    assert.equal(plan('q5_k_m')['blk.0.ffn_up.weight'], 'Q5_1');
    assert.equal(plan('q6_k')['blk.0.ffn_up.weight'], 'Q8_0');
  });

  test('phi-3-mini Q4_K_M weighs ≈ 2.2 GiB, Q4_0 ≈ 2.0 GiB (the sizes llama.cpp users know)', () => {
    const size = (ft: string) =>
      phi3TensorSpecs(mini).reduce((n, s) => n + (tensorByteSize(tensorTypeFor(FILE_TYPES[ft], s.name, s.dims, 32), s.dims.reduce((a, b) => a * b, 1)) as number), 0) / 2 ** 30;
    assert.ok(Math.abs(size('q4_k_m') - 2.2) < 0.1, `q4_k_m ${size('q4_k_m')}`);
    assert.ok(Math.abs(size('q4_0') - 2.0) < 0.1, `q4_0 ${size('q4_0')}`);
  });

  test('the helper-thread pool writes the same bytes as the single-threaded path', () => {
    const src = join(REFERENCE, 'tiny-gqa/model.gguf');
    const a = join(TMP, 'pool-1.gguf');
    const b = join(TMP, 'pool-2.gguf');
    convertModel(openConvertInput(src), a, { type: 'q4_k_m', threads: 1 });
    convertModel(openConvertInput(src), b, { type: 'q4_k_m', threads: 2 });
    assert.ok(readFileSync(a).equals(readFileSync(b)));
  });

  test('already-quantized input is refused unless --allow-requantize', () => {
    const q = join(TMP, 'q8.gguf');
    convertModel(openConvertInput(join(REFERENCE, 'tiny-4k/model.gguf')), q, { type: 'q8_0' });
    assert.throws(() => planTensors(openConvertInput(q), fileTypeInfo('q4_0')), /already Q8_0.*--allow-requantize/);
    assert.equal(planTensors(openConvertInput(q), fileTypeInfo('q4_0'), true)[0].to, GGMLType.Q4_0);
  });
});

interface RefPrompt {
  ids: number[];
  greedy: number[];
}

describe('files we write load in llama.cpp, and its greedy tokens agree with ours', async () => {
  const expected = readJson<{ runs: { main: { prompts: RefPrompt[] } } }>(join(REFERENCE, 'tiny-4k/expected.json'));
  const prompts = expected.runs.main.prompts.filter((_, k) => k !== 2).map((p) => p.ids); // 2 holds mid-prompt BOS
  const files: Array<[string, number]> = [['f32', 0], ['q8_0', 0.05], ['q4_k_m', 0.15], ['q4_0', 0.15]];
  const paths: Record<string, string> = {};
  for (const [type] of files) {
    paths[type] = join(TMP, `tiny-${type}.gguf`);
    convertModel(openConvertInput(join(REFERENCE, 'tiny-4k/hf'), { tokenizer: TOK }), paths[type], { type });
  }
  const N = 12;
  const probe = await llamaGreedy(paths.f32, [prompts[0]], 1);
  for (const [type, tol] of files) {
    test(`${type}: llama.cpp's greedy tokens are ours (teacher-forced; a differing pick must be a near-tie of ours, ≤ ${tol})`, { skip: typeof probe === 'string' ? probe : false }, async () => {
      const theirs = (await llamaGreedy(paths[type], prompts, N)) as number[][];
      const ours = await loadModel(paths[type], { ropeFactors: 'context' });
      let exact = 0;
      prompts.forEach((ids, k) => {
        const seq = [...ids];
        for (const t of theirs[k]) {
          const logits = ours.forward(seq);
          let best = 0;
          for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
          if (best === t) exact++;
          else assert.ok(logits[best] - logits[t] <= tol, `${type} prompt ${k} step ${seq.length - ids.length}: llama.cpp picked ${t}, ours ${best} by ${logits[best] - logits[t]}`);
          seq.push(t);
        }
      });
      const total = prompts.length * N;
      if (type === 'f32') assert.equal(exact, total); // and the same tokens as the reference run:
      if (type === 'f32') prompts.forEach((_, k) => assert.deepEqual(theirs[k].slice(0, 4), expected.runs.main.prompts[k === 2 ? 3 : k].greedy.slice(0, 4)));
      assert.ok(exact >= total * 0.9, `${exact}/${total} exact`);
    });
  }
});
