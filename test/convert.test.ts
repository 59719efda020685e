// `phi3 convert`: the reference HF folder converted with --type f32 must give llama.cpp's reference GGUF
// tensor for tensor, byte for byte, with the same metadata (the reference was written by llama.cpp's
// gguf-py with its Phi-3 converter's keys); f16/bf16 follow ggml's conversions; split projections and
// sharded folders give the same file; LongRoPE configs get their factor tensors; every bad input is a
// clear error that leaves no file; Ctrl-C during a conversion leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { convertModel } from '../src/convert/convert.js';
import { openConvertInput } from '../src/convert/source.js';
import { FormatError } from '../src/errors.js';
import { readGGUF, readTensorData, type GGUFFile } from '../src/formats/gguf.js';
import { readSafetensorsHeader, writeSafetensors, type SafetensorsWriteTensor } from '../src/formats/safetensors.js';
import { openGGUF } from '../src/load.js';
import { f32ToBf16, f32ToFp16 } from '../src/quant/half.js';
import { GGMLType } from '../src/quant/types.js';
import { readSentencePieceModel } from '../src/tokenizer/spm-model.js';
import { REFERENCE, REPO, TOKENIZER_DIR, tempDir } from './helpers.js';

const HF = join(REFERENCE, 'tiny-4k/hf');
const REF_GGUF = join(REFERENCE, 'tiny-4k/model.gguf');
const TOK = join(TOKENIZER_DIR, 'phi-3-mini');
const TMP = tempDir('phi3-convert-');
after(() => rmSync(TMP, { recursive: true, force: true }));

function f32(file: GGUFFile, name: string): Float32Array {
  const t = file.tensors.find((x) => x.name === name)!;
  const b = readTensorData(file, t);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

describe('convert the reference HF folder', () => {
  const out = join(TMP, 'tiny-f32.gguf');
  convertModel(openConvertInput(HF, { tokenizer: TOK }), out, { type: 'f32' });
  const got = readGGUF(out);
  const ref = readGGUF(REF_GGUF);

  test('--type f32: every tensor byte-identical to llama.cpp\'s reference GGUF, same names and order', () => {
    assert.deepEqual(got.tensors.map((t) => [t.name, t.type, t.dims]), ref.tensors.map((t) => [t.name, t.type, t.dims]));
    for (const t of ref.tensors) {
      const mine = got.tensors.find((x) => x.name === t.name)!;
      assert.ok(Buffer.from(readTensorData(got, mine)).equals(Buffer.from(readTensorData(ref, t))), t.name);
    }
  });

  test('same metadata keys, types and values (general.name aside), incl. tokenizer.model scores', () => {
    assert.deepEqual([...got.metadata.keys()], [...ref.metadata.keys()]);
    for (const [k, e] of ref.metadata) {
      if (k === 'general.name') continue;
      const m = got.metadata.get(k)!;
      assert.equal(m.type, e.type, k);
      assert.deepEqual(m.value, e.value, k);
    }
    assert.match(got.get('general.name') as string, /phi3/); // llama.cpp applies Phi-3's RSTRIP rule only then
  });

  test('--type f16 / bf16: 2-D weights converted as ggml does, norms stay F32', () => {
    for (const [type, ggml, enc] of [['f16', GGMLType.F16, f32ToFp16], ['bf16', GGMLType.BF16, f32ToBf16]] as const) {
      const path = join(TMP, `tiny-${type}.gguf`);
      convertModel(openConvertInput(HF, { tokenizer: TOK }), path, { type });
      const f = readGGUF(path);
      assert.equal(f.get('general.file_type'), type === 'f16' ? 1 : 32);
      for (const t of f.tensors) assert.equal(t.type, t.dims.length === 1 ? GGMLType.F32 : ggml, t.name);
      const w = f32(ref, 'blk.0.attn_qkv.weight');
      const b = readTensorData(f, f.tensors.find((t) => t.name === 'blk.0.attn_qkv.weight')!);
      for (let i = 0; i < w.length; i += 97) assert.equal(b[2 * i] | (b[2 * i + 1] << 8), enc(w[i]), `${type} element ${i}`);
    }
  });
});

/** Writes an HF folder: the reference config (optionally edited) and the given tensors. */
function hfFolder(name: string, tensors: SafetensorsWriteTensor[], edit: (c: Record<string, unknown>) => void = () => {}): string {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(HF, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  if (tensors.length) writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

/** The reference checkpoint's tensors, as written by writeSafetensors. */
function referenceTensors(): SafetensorsWriteTensor[] {
  const file = readSafetensorsHeader(join(HF, 'model.safetensors'));
  const raw = readFileSync(join(HF, 'model.safetensors'));
  return [...file.tensors.values()].map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, data: raw.subarray(t.offset, t.offset + t.nbytes) }));
}

describe('other input layouts', () => {
  const ref = readGGUF(join(TMP, 'tiny-f32.gguf'));

  test('split q/k/v and gate/up projections, sharded with an index: the same tensors', () => {
    const split: SafetensorsWriteTensor[] = [];
    for (const t of referenceTensors()) {
      const rows = (a: number, b: number) => ({ shape: [b - a, t.shape[1]], data: t.data.subarray(a * t.shape[1] * 4, b * t.shape[1] * 4) });
      if (t.name.endsWith('qkv_proj.weight')) {
        const p = t.name.replace('qkv_proj.weight', '');
        split.push({ name: p + 'q_proj.weight', dtype: 'F32', ...rows(0, 64) }, { name: p + 'k_proj.weight', dtype: 'F32', ...rows(64, 128) }, { name: p + 'v_proj.weight', dtype: 'F32', ...rows(128, 192) });
      } else if (t.name.endsWith('gate_up_proj.weight')) {
        const p = t.name.replace('gate_up_proj.weight', '');
        split.push({ name: p + 'gate_proj.weight', dtype: 'F32', ...rows(0, 128) }, { name: p + 'up_proj.weight', dtype: 'F32', ...rows(128, 256) });
      } else split.push(t);
    }
    const dir = hfFolder('split', []);
    const half = Math.ceil(split.length / 2);
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), split.slice(0, half));
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), split.slice(half));
    const map: Record<string, string> = {};
    split.forEach((t, i) => (map[t.name] = i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors'));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    const out = join(TMP, 'split.gguf');
    convertModel(openConvertInput(dir, { tokenizer: TOK }), out, { type: 'f32' });
    const got = readGGUF(out);
    for (const t of ref.tensors) {
      const mine = got.tensors.find((x) => x.name === t.name)!;
      assert.ok(Buffer.from(readTensorData(got, mine)).equals(Buffer.from(readTensorData(ref, t))), t.name);
    }
  });

  test('LongRoPE config: factor tensors and attn_factor written as llama.cpp does, and read back', () => {
    const long = Array.from({ length: 8 }, (_, i) => 1 + i * 0.5);
    const short = Array.from({ length: 8 }, (_, i) => 1 + i * 0.01);
    const dir = hfFolder('longrope', referenceTensors(), (c) => {
      c.max_position_embeddings = 131072;
      c.rope_scaling = { type: 'longrope', long_factor: long, short_factor: short };
    });
    const out = join(TMP, 'longrope.gguf');
    convertModel(openConvertInput(dir, { tokenizer: TOK }), out, { type: 'f16' });
    const f = readGGUF(out);
    assert.deepEqual(f.tensors.slice(0, 2).map((t) => [t.name, t.type, t.dims]), [
      ['rope_factors_long.weight', GGMLType.F32, [8]],
      ['rope_factors_short.weight', GGMLType.F32, [8]],
    ]);
    assert.deepEqual(Array.from(f32(f, 'rope_factors_long.weight')), long.map(Math.fround));
    assert.equal(f.get('phi3.rope.scaling.attn_factor'), Math.fround(Math.sqrt(1 + Math.log(32) / Math.log(4096))));
    const m = openGGUF(out);
    assert.deepEqual(m.config.ropeScaling?.shortFactor, short.map(Math.fround));
    assert.equal(m.config.contextLength, 131072);
  });

  test('tokenizer.model reader: pieces and scores of the Phi-3 SentencePiece model', () => {
    const sp = readSentencePieceModel(join(TOK, 'tokenizer.model'));
    assert.equal(sp.pieces.length, 32000);
    assert.deepEqual(sp.pieces.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
    assert.deepEqual(sp.types.slice(0, 4), [2, 3, 3, 6]);
    const refScores = ref.get('tokenizer.ggml.scores') as number[];
    assert.equal(sp.scores[260], refScores[260]); // "▁t", from llama.cpp's own conversion
    const bad = join(TMP, 'bad.model');
    writeFileSync(bad, readFileSync(join(TOK, 'tokenizer.model')).subarray(0, 1001));
    assert.throws(() => readSentencePieceModel(bad), (e: unknown) => e instanceof FormatError && /past the end|truncated/.test(e.message));
  });
});

describe('bad input: a clear error and no output file', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['folder without config.json', () => {
      const d = join(TMP, 'noconfig');
      mkdirSync(d, { recursive: true });
      copyFileSync(join(HF, 'model.safetensors'), join(d, 'model.safetensors'));
      return d;
    }, /config\.json is missing/],
    ['folder without weights', () => hfFolder('noweights', []), /no model\.safetensors.*safetensors/],
    ['a tensor missing', () => hfFolder('missing', referenceTensors().filter((t) => t.name !== 'model.layers.1.mlp.down_proj.weight')), /model\.layers\.1\.mlp\.down_proj\.weight is missing/],
    ['shape disagrees with the config', () => hfFolder('shape', referenceTensors(), (c) => (c.intermediate_size = 96)), /gate_up_proj\.weight \[256, 64\] does not match the config.*\[192, 64\]/],
    ['unsupported architecture', () => hfFolder('arch', referenceTensors(), (c) => (c.architectures = ['LlamaForCausalLM'])), /LlamaForCausalLM.*not supported/],
    ['an unexpected tensor', () => hfFolder('extra', [...referenceTensors(), { name: 'model.layers.0.mlp.bias', dtype: 'F32', shape: [4], data: new Uint8Array(16) }]), /"model\.layers\.0\.mlp\.bias" has no place/],
    ['no tokenizer', () => hfFolder('notok', referenceTensors()), /no tokenizer\.json; pass --tokenizer/],
  ];
  for (const [what, make, msg] of cases) {
    test(what, () => {
      const dir = make();
      const out = join(TMP, `${what.replace(/\W+/g, '-')}.gguf`);
      assert.throws(
        () => convertModel(openConvertInput(dir, what === 'no tokenizer' ? {} : { tokenizer: TOK }), out, { type: 'f16' }),
        (e: unknown) => e instanceof FormatError && msg.test(e.message),
      );
      assert.ok(!existsSync(out));
      assert.deepEqual(readdirSync(TMP).filter((f) => f.includes('.partial-')), []);
    });
  }
});

test('CLI: Ctrl-C in the middle of a quantization leaves neither the output nor a temporary file', async () => {
  // ~8M Q4_K weights take several seconds: long enough to interrupt
  const big = referenceTensors().map((t) => t);
  const dir = hfFolder('big', [], (c) => {
    c.hidden_size = 256;
    c.intermediate_size = 2048;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 4;
    c.num_hidden_layers = 2;
  });
  const rnd = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.05;
    return new Uint8Array(a.buffer);
  };
  const t: SafetensorsWriteTensor[] = [
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [32064, 256], data: rnd(32064 * 256) },
    { name: 'model.norm.weight', dtype: 'F32', shape: [256], data: rnd(256) },
    { name: 'lm_head.weight', dtype: 'F32', shape: [32064, 256], data: rnd(32064 * 256) },
  ];
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.`;
    t.push(
      { name: p + 'input_layernorm.weight', dtype: 'F32', shape: [256], data: rnd(256) },
      { name: p + 'self_attn.qkv_proj.weight', dtype: 'F32', shape: [768, 256], data: rnd(768 * 256) },
      { name: p + 'self_attn.o_proj.weight', dtype: 'F32', shape: [256, 256], data: rnd(256 * 256) },
      { name: p + 'post_attention_layernorm.weight', dtype: 'F32', shape: [256], data: rnd(256) },
      { name: p + 'mlp.gate_up_proj.weight', dtype: 'F32', shape: [4096, 256], data: rnd(4096 * 256) },
      { name: p + 'mlp.down_proj.weight', dtype: 'F32', shape: [256, 2048], data: rnd(256 * 2048) },
    );
  }
  assert.ok(big.length > 0);
  writeSafetensors(join(dir, 'model.safetensors'), t);
  const outDir = join(TMP, 'sigint');
  mkdirSync(outDir);
  const out = join(outDir, 'big-q4km.gguf');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'quantize', dir, out, '--type', 'q4_k_m', '--tokenizer', TOK], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // wait until the temporary file exists (the worker is writing), then interrupt
  for (let i = 0; i < 200 && !readdirSync(outDir).some((f) => f.includes('.partial-')); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(readdirSync(outDir).some((f) => f.includes('.partial-')), 'the conversion started writing');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.notEqual(code, 0, stderr); // 130 from run.ts, then main.ts reports the error with status 1
  assert.match(stderr, /interrupted \(SIGINT\): nothing was written/);
  assert.deepEqual(readdirSync(outDir), []);
});
