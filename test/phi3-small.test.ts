// Phi-3-small end to end (src/model/phi3-small.ts and everything it loads through) against what
// Microsoft's original modeling code computed for the tiny-small reference model
// (../shared/reference/tiny-small: expected.json, logits/*.npy; see its README): last-position logits,
// the top-5 at every prompt position, all 24 greedy tokens of every prompt (batched prefill + KV-cache
// decode, token-by-token prefill, chunked prefill across block boundaries), the HF folder and our
// phi3small GGUF form, a backend lacking the optional Phi-3-small ops, `phi3 init` for the preset, and
// bad input. FACTS.md §4 statements each test pins are named in the test titles.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refBackend } from '../src/backend/ref/index.js';
import { FormatError, RequestError } from '../src/errors.js';
import { readGGUF } from '../src/formats/gguf.js';
import { openSafetensorsDir, readSafetensorsData, writeSafetensors } from '../src/formats/safetensors.js';
import { writeSmallGGUF } from '../src/formats/phi3small-write.js';
import { initSmallModel } from '../src/cli/init-small.js';
import { convertSmallModel, isPhi3SmallInput } from '../src/convert/small.js';
import { openModelFiles } from '../src/load.js';
import { configFromHFSmall, smallParameterCount, type Phi3SmallConfig } from '../src/model/config-small.js';
import { smallPresetConfig } from '../src/model/random-small.js';
import { Phi3SmallModel, smallRopeAngles } from '../src/model/phi3-small.js';
import { loadSmallWeights } from '../src/model/weights-small.js';
import { loadModel, type Phi3 } from '../src/phi3.js';
import { FILE_TYPES } from '../src/quant/mix.js';
import { TiktokenTokenizer } from '../src/tokenizer/tiktoken.js';
import { REFERENCE, SHARED, TOKENIZER_DIR, readJson, readNpyF32, tempDir } from './helpers.js';

const DIR = join(REFERENCE, 'tiny-small');
const HF = join(DIR, 'hf');
const TIK = join(TOKENIZER_DIR, 'phi-3-small');
const TOL = 1e-4;

interface Step { top5_ids: number[]; top5_logits: number[] }
interface Prompt { name: string; ids: number[]; greedy: number[]; steps: Step[]; prompt_positions_top5: { ids: number[]; logits: number[] }[] }
const EXP = readJson<{ prompts: Prompt[]; dummy_token_ids: number[] }>(join(DIR, 'expected.json'));
const DUMMY = new Set(EXP.dummy_token_ids);
const byName = (n: string) => EXP.prompts.find((p) => p.name === n)!;

const model = await loadModel(HF, { tokenizer: TIK });
const V = 100352;

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Our logits at the reference top-5 ids are within TOL, and our top-1 is the reference's top-1. */
function checkTop5(row: Float32Array, ids: number[], logits: number[], what: string): void {
  ids.forEach((id, j) => assert.ok(Math.abs(row[id] - logits[j]) < TOL, `${what}: logit of ${id} is ${row[id]}, reference ${logits[j]}`));
  if (logits[0] - logits[1] > 2 * TOL) assert.equal(argmax(row), ids[0], `${what}: argmax`);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!DUMMY.has(i)) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Greedy decode with the KV cache: batched prefill, then one token at a time; checks every step. */
function checkGreedy(m: Phi3, p: Prompt, prefill: (cache: ReturnType<Phi3['model']['newCache']>) => Float32Array): void {
  const cache = m.model.newCache();
  let row = prefill(cache);
  for (let s = 0; s < p.greedy.length; s++) {
    checkTop5(row, p.steps[s].top5_ids, p.steps[s].top5_logits, `${p.name} step ${s}`);
    assert.equal(argmax(row), p.greedy[s], `${p.name} greedy step ${s}`);
    if (s + 1 < p.greedy.length) row = m.model.forward([p.greedy[s]], cache);
  }
}

describe('Phi-3-small config (FACTS §4)', () => {
  it('reads tiny-small and the real 8k config', () => {
    const t = model.config as Phi3SmallConfig;
    assert.equal(t.architecture, 'phi3small');
    assert.deepEqual([t.hiddenSize, t.numLayers, t.numHeads, t.numKvHeads, t.headDim, t.intermediateSize], [96, 4, 8, 2, 12, 192]);
    const c = configFromHFSmall(readJson(join(SHARED, 'phi3/configs/phi-3-small-8k-instruct.json')));
    assert.deepEqual([c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.vocabSize], [4096, 32, 32, 8, 128, 14336, 100352]);
    assert.deepEqual([c.blockSize, c.localBlocks, c.vertStride, c.homoHeadPattern, c.denseEveryN], [64, 16, 8, false, 2]);
    assert.deepEqual([c.ropeTheta, c.ropePositionScale, c.gegeluLimit, c.mupEmbeddingMultiplier, c.mupWidthMultiplier, c.mupAttnMultiplier], [1e6, 1, 20, 10, 8, 1]);
    assert.equal(c.tieWordEmbeddings, true); // no key in the real config: HF's default applies
    assert.deepEqual(smallPresetConfig('phi-3-small-8k'), c);
  });

  it('counts 7.392 B parameters for the 8k model (FACTS §1: tied, with biases)', () => {
    assert.equal((smallParameterCount(smallPresetConfig('phi-3-small-8k')) / 1e9).toFixed(3), '7.392');
  });

  it('RoPE: θ = p · position_scale · 1e6^(−2i/d) (scale multiplies positions); LongRoPE mscale rules', () => {
    const base = readJson<Record<string, unknown>>(join(HF, 'config.json'));
    const c = configFromHFSmall(base);
    const a = smallRopeAngles(c, 'short', 5, 1);
    // head dim 12: i = 1 → 1e6^(−2/12) = 0.1; position 5 → θ = 0.5.
    assert.ok(Math.abs(a.cos[1] - Math.cos(0.5)) < 1e-7 && Math.abs(a.sin[1] - Math.sin(0.5)) < 1e-7);
    const scaled = smallRopeAngles(configFromHFSmall({ ...base, rope_position_scale: 2 }), 'short', 5, 1);
    assert.ok(Math.abs(scaled.cos[1] - Math.cos(1.0)) < 1e-7);
    const lr = (extra: Record<string, unknown>) =>
      configFromHFSmall({ ...base, original_max_position_embeddings: 128, rope_scaling: { type: 'longrope', short_factor: Array(6).fill(2), long_factor: Array(6).fill(4), ...extra } });
    // short: factor 2 divides θ, mscale 1 (no sqrt factor in Phi-3-small's short mode)
    assert.ok(Math.abs(smallRopeAngles(lr({}), 'short', 5, 1).cos[1] - Math.cos(0.25)) < 1e-7);
    // long: factor 4, mscale sqrt(1 + ln(512/128)/ln(128)) unless long_mscale is given
    const m = Math.sqrt(1 + Math.log(4) / Math.log(128));
    assert.ok(Math.abs(smallRopeAngles(lr({}), 'long', 5, 1).cos[1] - m * Math.cos(0.125)) < 1e-6);
    assert.ok(Math.abs(smallRopeAngles(lr({ long_mscale: 1.5, short_mscale: 1.25 }), 'long', 5, 1).cos[1] - 1.5 * Math.cos(0.125)) < 1e-6);
    assert.ok(Math.abs(smallRopeAngles(lr({ long_mscale: 1.5, short_mscale: 1.25 }), 'short', 5, 1).cos[1] - 1.25 * Math.cos(0.25)) < 1e-6);
  });

  it('rejects malformed configs with the key named', () => {
    const base = readJson<Record<string, unknown>>(join(HF, 'config.json'));
    assert.throws(() => configFromHFSmall({ ...base, ff_intermediate_size: null }), /ff_intermediate_size/);
    assert.throws(() => configFromHFSmall({ ...base, num_key_value_heads: 3 }), /multiple of num_key_value_heads/);
    assert.throws(() => configFromHFSmall({ ...base, blocksparse_block_size: 24 }), /multiple of the kernel block/);
    assert.throws(() => configFromHFSmall({ ...base, hidden_size: 'x' }), FormatError);
  });
});

describe('tiny-small forward pass vs Microsoft\'s code', () => {
  for (const name of ['p33', 'p300'])
    it(`${name}: every non-dummy logit of the last position within 1e-4, dummy ids −inf (§4.1 head, ÷8, mask)`, () => {
      const row = model.forward(byName(name).ids);
      const ref = readNpyF32(join(DIR, `logits/${name}_last.npy`)).data;
      assert.equal(row.length, V);
      assert.ok(maxDiff(row, ref) < TOL, `max diff ${maxDiff(row, ref)}`);
      for (const id of DUMMY) assert.equal(row[id], -Infinity);
    });

  it('top-5 at every prompt position of every prompt (batched prefill, all logits)', () => {
    for (const p of EXP.prompts) {
      const all = model.forward(p.ids, { allLogits: true });
      p.prompt_positions_top5.forEach((t, i) => checkTop5(all.subarray(i * V, (i + 1) * V), t.ids, t.logits, `${p.name} position ${i}`));
    }
  });

  it('all 24 greedy tokens of every prompt: batched prefill, then KV-cache decode', () => {
    for (const p of EXP.prompts) checkGreedy(model, p, (cache) => model.model.forward(p.ids, cache));
  });

  it('token-by-token prefill, and chunks that cross block boundaries, give the same logits and tokens', () => {
    const p = byName('p100');
    checkGreedy(model, p, (cache) => {
      let row: Float32Array = new Float32Array(0);
      for (const id of p.ids) row = model.model.forward([id], cache);
      return row;
    });
    const q = byName('p300');
    const whole = model.forward(q.ids);
    const cache = model.model.newCache();
    let row: Float32Array = new Float32Array(0);
    for (let i = 0; i < q.ids.length; i += 37) row = model.model.forward(q.ids.slice(i, i + 37), cache);
    assert.ok(maxDiff(row, whole) < 1e-5);
  });

  it('LongRoPE: crossing original_max_position_embeddings recomputes the cache with the long factors', () => {
    const files = openModelFiles(HF, { tokenizer: TIK });
    const base = files.config as Phi3SmallConfig;
    const cfg: Phi3SmallConfig = { ...base, originalContextLength: 40, ropeScaling: { type: 'longrope', shortFactor: Array(6).fill(1), longFactor: [1, 2, 3, 4, 5, 6], shortMscale: 0, longMscale: 0 } };
    const m = new Phi3SmallModel(cfg, loadSmallWeights(files.tensors, cfg), refBackend);
    const ids = byName('p100').ids.slice(0, 45);
    const whole = m.forward(ids, m.newCache());
    const cache = m.newCache();
    m.forward(ids.slice(0, 38), cache);
    assert.equal(cache.factorSet, 'short');
    const crossed = m.forward(ids.slice(38), cache);
    assert.equal(cache.factorSet, 'long');
    assert.ok(maxDiff(crossed, whole) < 1e-5);
    // Short factors of 1 and no mscale are plain RoPE: before the switch it is the reference model.
    assert.ok(maxDiff(m.forward(ids.slice(0, 33), m.newCache()), model.forward(ids.slice(0, 33))) < 1e-6);
  });

  it('gives the same logits on a backend without the optional Phi-3-small ops (fallback to ref)', async () => {
    const { name, matmul, embed, rmsnorm, rope, attention, swiglu, add, storeKV } = refBackend;
    const bare = await loadModel(HF, { tokenizer: TIK, backend: { name, matmul, embed, rmsnorm, rope, attention, swiglu, add, storeKV } });
    const ids = byName('p33').ids;
    assert.deepEqual(bare.forward(ids), model.forward(ids));
  });

  it('generates the greedy tokens through the library API and stops on <|end|> / <|endoftext|>', async () => {
    const p = byName('p7');
    const gen = model.generate(p.ids, { maxTokens: 24, temperature: 0, noStop: true });
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    assert.deepEqual(r.value.tokens, p.greedy);
    assert.deepEqual([...model.stopTokens].sort(), [100257, 100266]);
    // The built-in Phi-3-small chat template (FACTS §2/§4.6): <|endoftext|><|user|>\n…<|end|>\n<|assistant|>\n
    const chat = model.chatPromptIds([{ role: 'user', content: 'Hi' }]);
    assert.deepEqual([chat.slice(0, 2), chat.slice(-4)], [[100257, 100262], [100266, 198, 100263, 198]]);
    assert.equal(model.info().architecture, 'phi3small');
  });
});

describe('phi3small GGUF', () => {
  const tokenizer = TiktokenTokenizer.fromTiktokenFile(join(TIK, 'cl100k_base.tiktoken'));
  const files = openModelFiles(HF, { tokenizer: TIK });
  const cfg = files.config as Phi3SmallConfig;

  it('BF16: written from the HF folder, loads to the same logits and metadata', async () => {
    const out = join(tempDir(), 'tiny-small-bf16.gguf');
    writeSmallGGUF(out, { config: cfg, tokenizer, tensors: files.tensors, fileType: FILE_TYPES.bf16, name: 'tiny-small' });
    const g = readGGUF(out);
    assert.equal(g.get('general.architecture'), 'phi3small');
    assert.equal(g.tensors.length, 1 + 4 * 12 + 2);
    const m = await loadModel(out);
    // GGUF stores the LayerNorm epsilon as f32, as llama.cpp does; everything else round-trips exactly.
    assert.deepEqual({ ...m.config, layerNormEps: 0 }, { ...cfg, layerNormEps: 0 });
    assert.equal(m.config.architecture === 'phi3small' && m.config.layerNormEps, Math.fround(1e-5));
    const ids = byName('p33').ids;
    assert.ok(maxDiff(m.forward(ids), model.forward(ids)) < 1e-6);
    assert.deepEqual(m.tokenizer.encode('hello <|end|>'), [15339, 220, 100266]);
  });

  it('phi3 convert/quantize path: HF → Q8_0 loads near the reference; re-quantizing needs --allow-requantize', async () => {
    const dir = tempDir();
    const out = join(dir, 'tiny-small-q8.gguf');
    assert.ok(isPhi3SmallInput(HF));
    const summary = convertSmallModel({ input: HF, out, type: 'q8_0', tokenizer: TIK });
    assert.equal(summary.tensors, 51);
    assert.ok(isPhi3SmallInput(out));
    assert.throws(() => convertSmallModel({ input: out, out: join(dir, 'q4.gguf'), type: 'q4_0' }), /already Q8_0.*allow-requantize/);
    assert.equal(convertSmallModel({ input: out, out: join(dir, 'q4.gguf'), type: 'q4_0', allowRequantize: true }).types.Q4_0, 16);
    const m = await loadModel(out);
    const p = byName('p7');
    const row = m.forward(p.ids);
    const ref = model.forward(p.ids);
    // The tied 100352-row head is Q8_0 too; logits have a standard deviation of about 3.
    assert.ok(maxDiff(row, ref) < 0.5, `Q8_0 max diff ${maxDiff(row, ref)}`);
    assert.equal(argmax(row), p.greedy[0]);
  });

  it('phi3 init: a random model of a phi-3-small shape at Q4_0 loads and generates', async () => {
    const out = join(tempDir(), 'random-small.gguf');
    const shape = configFromHFSmall({ ...readJson<Record<string, unknown>>(join(HF, 'config.json')), hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, ff_intermediate_size: 128, num_hidden_layers: 2 });
    initSmallModel(out, { seed: 3, type: 'q4_0', tokenizer: TIK, config: shape });
    const m = await loadModel(out);
    assert.equal(m.info().parameters, smallParameterCount(shape));
    const gen = m.generate('<|endoftext|><|user|>\nHi<|end|>\n<|assistant|>\n', { maxTokens: 5, temperature: 0, noStop: true });
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    assert.equal(r.value.tokens.length, 5);
    assert.ok(r.value.tokens.every((t) => !DUMMY.has(t)));
  });

  it('loads a sharded BF16 checkpoint (model.safetensors.index.json) with a tokenizer beside it', async () => {
    const dir = join(tempDir(), 'sharded');
    mkdirSync(dir);
    copyFileSync(join(HF, 'config.json'), join(dir, 'config.json'));
    copyFileSync(join(TIK, 'cl100k_base.tiktoken'), join(dir, 'cl100k_base.tiktoken'));
    const all = [...openSafetensorsDir(HF).tensors];
    const shards = [all.filter(([n]) => !n.includes('layers.3')), all.filter(([n]) => n.includes('layers.3'))];
    const weightMap: Record<string, string> = {};
    shards.forEach((list, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), list.map(([name, t]) => ({ name, dtype: 'BF16', shape: t.shape, data: readSafetensorsData(t) })));
      for (const [name] of list) weightMap[name] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const m = await loadModel(dir);
    const ids = byName('p33').ids;
    assert.deepEqual(m.forward(ids), model.forward(ids));
  });

  it('names a missing tensor, a missing tokenizer, a bad token id and an over-long prompt', async () => {
    const dir = join(tempDir(), 'hf');
    mkdirSync(dir);
    copyFileSync(join(HF, 'config.json'), join(dir, 'config.json'));
    copyFileSync(join(HF, 'model.safetensors'), join(dir, 'model.safetensors'));
    await assert.rejects(loadModel(dir), (e: unknown) => e instanceof FormatError && /cl100k_base\.tiktoken/.test(e.message));
    const noTensor = { ...files.tensors, path: 'x', has: (n: string) => n !== 'blk.2.ffn_up.bias' && files.tensors.has(n), get: (n: string) => { if (n === 'blk.2.ffn_up.bias') throw new FormatError('x', `missing tensor ${n}`); return files.tensors.get(n); } };
    assert.throws(() => writeSmallGGUF(join(tempDir(), 'x.gguf'), { config: cfg, tokenizer, tensors: noTensor, fileType: FILE_TYPES.f32, name: 'x' }), /blk\.2\.ffn_up\.bias/);
    assert.throws(() => model.forward([100352]), RequestError);
    assert.throws(() => model.forward([1.5]), RequestError);
    assert.throws(() => model.forward(new Array(513).fill(1)), (e: unknown) => e instanceof RequestError && /context size of 512/.test(e.message));
  });
});
