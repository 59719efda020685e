// Export round trips: a checkpoint written as GGUF (f32, q8_0) and as a Hugging Face folder loads in
// this engine with the training forward's logits; llama.cpp (node-llama-cpp's prebuilt binary) loads the
// GGUF and decodes the same greedy tokens as this engine. tokenizer.json files written from the Phi-3
// vocabulary tokenize as llama.cpp does (../shared/reference/tokenizer_cases.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/phi3.js';
import { configFromHF } from '../src/model/config.js';
import { readSafetensorsHeader } from '../src/formats/safetensors.js';
import { SpmTokenizer } from '../src/tokenizer/spm-tokenizer.js';
import { openTokenizer } from '../src/train/data.js';
import { exportGGUF, exportHF } from '../src/train/export.js';
import { loadStart } from '../src/train/init.js';
import { TrainModel } from '../src/train/model.js';
import { Phi3Params } from '../src/train/params.js';
import { tokenizerConfigJson, tokenizerJson } from '../src/train/tokenizer-json.js';
import { writeCheckpoint } from '../src/train/checkpoint.js';
import { REFERENCE, REPO, readJson, tempDir } from './helpers.js';
import { llamaGreedy } from './llama.js';

const TOKENIZER = join(REPO, 'runs/phi3-chat/tokenizer');
const tok = openTokenizer(TOKENIZER);
const config = configFromHF({
  hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: tok.vocab.pieces.length, max_position_embeddings: 256, bos_token_id: 1, eos_token_id: tok.eos, pad_token_id: tok.eos,
});
// large weights: clear logit margins, so greedy decoding has no near-ties between engines
const params = new Phi3Params(config).initRandom(11, 0.35);
const dir = tempDir();
const ckpt = join(dir, 'm.ckpt');
writeCheckpoint(ckpt, config, 1, { phase: 'x', tokenizer: TOKENIZER }, { params: params.data });
const prompt = tok.tokenizer.encode('<|user|>\nAva has 3 pens and gets 4 more.<|end|>\n<|assistant|>\n');

function trainLogits(): Float32Array {
  const T = prompt.length;
  const out = new Float32Array(T * config.vocabSize);
  new TrainModel(params).forward({ batch: 1, seqLen: T, tokens: Int32Array.from(prompt), targets: new Int32Array(T).fill(-1) }, out);
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('GGUF f32 export: the engine reproduces the training logits; the checkpoint loads back', async () => {
  const start = loadStart(ckpt);
  assert.equal(start.tokenizer, TOKENIZER);
  const path = join(dir, 'f32.gguf');
  exportGGUF(start.params, start.tokenizer, path, { type: 'f32' });
  const m = await loadModel(path);
  assert.equal(m.config.vocabSize, config.vocabSize);
  assert.equal(m.tokenizer.tokenId('<|end|>'), tok.endTurn);
  assert.ok(maxDiff(m.forward(prompt, { allLogits: true }), trainLogits()) < 1e-3);
  // and a GGUF is itself a valid starting point for training
  const again = loadStart(path);
  assert.deepEqual(Array.from(again.params.data.subarray(0, 50)), Array.from(params.data.subarray(0, 50)));
});

test('Hugging Face export: config.json, safetensors names and shapes, tokenizer files; loads with the same logits', async () => {
  const out = join(dir, 'hf');
  exportHF(params, TOKENIZER, out);
  const cfg = readJson<Record<string, unknown>>(join(out, 'config.json'));
  assert.deepEqual(cfg.architectures, ['Phi3ForCausalLM']);
  assert.equal(cfg.num_key_value_heads, 2);
  assert.equal(cfg.vocab_size, config.vocabSize);
  const st = readSafetensorsHeader(join(out, 'model.safetensors'));
  assert.deepEqual(st.tensors.get('model.layers.1.self_attn.qkv_proj.weight')!.shape, [64 + 2 * 2 * 16, 64]);
  assert.deepEqual(st.tensors.get('model.layers.0.mlp.gate_up_proj.weight')!.shape, [192, 64]);
  assert.deepEqual(st.tensors.get('lm_head.weight')!.shape, [config.vocabSize, 64]);
  assert.equal(st.tensors.size, 3 + 6 * 2);
  const m = await loadModel(out);
  assert.ok(maxDiff(m.forward(prompt, { allLogits: true }), trainLogits()) < 1e-3);
  const text = 'Maya has 12 books and gives away 5. How many are left? 😀 ü';
  assert.deepEqual(m.tokenizer.encode(text), tok.tokenizer.encode(text));
});

test('tokenizer.json written from the Phi-3 vocabulary tokenizes every reference case as llama.cpp does', () => {
  const phi3 = openTokenizer(join(REPO, 'models/phi3-tiny.gguf'));
  const json = JSON.parse(JSON.stringify(tokenizerJson(phi3.vocab)));
  const t = SpmTokenizer.fromTokenizerJson(json, tokenizerConfigJson(phi3.vocab, undefined, 4096), 'written', phi3.vocab.pieces.length);
  const cases = JSON.parse(readFileSync(join(REFERENCE, 'tokenizer_cases.json'), 'utf8')) as { cases: Array<{ text: string; ids: number[]; ids_no_parse_special: number[] }> };
  for (const c of cases.cases) {
    assert.deepEqual(t.encode(c.text), c.ids, JSON.stringify(c.text));
    assert.deepEqual(t.encode(c.text, { parseSpecial: false }), c.ids_no_parse_special, JSON.stringify(c.text));
  }
});

test('GGUF q8_0 export: llama.cpp loads it and decodes the same greedy tokens as this engine', async (t) => {
  const path = join(dir, 'q8.gguf');
  exportGGUF(params, TOKENIZER, path, { type: 'q8_0' });
  const got = await llamaGreedy(path, [prompt], 16);
  if (typeof got === 'string') return t.skip(got);
  const theirs = got[0];
  const m = await loadModel(path);
  const gen = m.generate(prompt, { maxTokens: 16, temperature: 0, noStop: true });
  let s = await gen.next();
  while (!s.done) s = await gen.next();
  assert.ok(new Set(theirs).size > 3, `a varied continuation: ${theirs}`);
  assert.deepEqual(s.value.tokens, theirs);
});
