// safetensors reader/writer: the reference HF checkpoint (whose embedding must equal the GGUF's,
// byte for byte: the two files were written independently from the same weights), write → read
// round trips including a sharded directory, and one test per hostile file.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FormatError } from '../src/errors.js';
import { readGGUF, readTensorData } from '../src/formats/gguf.js';
import {
  openSafetensorsDir,
  readSafetensorsData,
  readSafetensorsHeader,
  toTensor,
  writeSafetensors,
} from '../src/formats/safetensors.js';
import { GGMLType } from '../src/quant/types.js';
import { REFERENCE, tempDir } from './helpers.js';

const HF = join(REFERENCE, 'tiny-4k/hf');
const HF_FILE = join(HF, 'model.safetensors');
const TMP = tempDir('phi3-st-');

const LAYER: Array<[string, number[]]> = [
  ['input_layernorm.weight', [64]],
  ['self_attn.qkv_proj.weight', [192, 64]],
  ['self_attn.o_proj.weight', [64, 64]],
  ['post_attention_layernorm.weight', [64]],
  ['mlp.gate_up_proj.weight', [256, 64]],
  ['mlp.down_proj.weight', [64, 128]],
];

describe('reference safetensors', () => {
  test('tiny-4k: names, shapes, dtypes', () => {
    const f = readSafetensorsHeader(HF_FILE);
    assert.deepEqual(f.metadata, { format: 'pt' });
    const expected = new Map<string, number[]>([
      ['model.embed_tokens.weight', [32064, 64]],
      ...[0, 1].flatMap((i) => LAYER.map(([n, s]): [string, number[]] => [`model.layers.${i}.${n}`, s])),
      ['model.norm.weight', [64]],
      ['lm_head.weight', [32064, 64]],
    ]);
    assert.deepEqual(new Set(f.tensors.keys()), new Set(expected.keys()));
    for (const [name, t] of f.tensors) {
      assert.deepEqual(t.shape, expected.get(name), name);
      assert.equal(t.dtype, 'F32');
      assert.equal(t.type, GGMLType.F32);
      assert.equal(t.nbytes, t.shape.reduce((a, b) => a * b, 4));
    }
  });

  test('the embedding and lm_head equal the GGUF tensors byte for byte', () => {
    const { tensors } = openSafetensorsDir(HF);
    const g = readGGUF(join(REFERENCE, 'tiny-4k/model.gguf'));
    const pairs: Array<[string, string]> = [
      ['model.embed_tokens.weight', 'token_embd.weight'],
      ['lm_head.weight', 'output.weight'],
      ['model.layers.1.mlp.down_proj.weight', 'blk.1.ffn_down.weight'],
    ];
    for (const [hf, gg] of pairs) {
      const info = tensors.get(hf)!;
      const gt = g.tensors.find((t) => t.name === gg)!;
      const tensor = toTensor(info, readSafetensorsData(info));
      assert.deepEqual(tensor.dims, gt.dims, hf);
      assert.equal(tensor.type, gt.type);
      assert.ok(Buffer.from(tensor.data).equals(Buffer.from(readTensorData(g, gt))), `${hf} ≠ ${gg}`);
    }
  });

  test('tiny-small: BF16 tensors, no lm_head', () => {
    const { tensors } = openSafetensorsDir(join(REFERENCE, 'tiny-small/hf'));
    const emb = tensors.get('model.embed_tokens.weight')!;
    assert.deepEqual([emb.dtype, emb.type, emb.shape], ['BF16', GGMLType.BF16, [100352, 96]]);
    assert.equal(tensors.has('lm_head.weight'), false);
  });
});

const f32 = (...v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);

describe('writeSafetensors round trip', () => {
  const tensors = [
    { name: 'a', dtype: 'F32' as const, shape: [2, 3], data: f32(1, 2, 3, 4, 5, 6) },
    { name: 'h', dtype: 'F16' as const, shape: [3], data: new Uint8Array([0, 60, 0, 64, 0, 66]) },
    { name: 'b', dtype: 'BF16' as const, shape: [1, 2], data: new Uint8Array([128, 63, 0, 64]) },
    { name: 's', dtype: 'F32' as const, shape: [], data: f32(7) },
  ];

  test('single file with metadata', () => {
    const path = join(TMP, 'rt.safetensors');
    writeSafetensors(path, tensors, { format: 'pt', note: 'ü' });
    assert.equal(Number(readFileSync(path).readBigUInt64LE(0)) % 8, 0);
    const f = readSafetensorsHeader(path);
    assert.deepEqual(f.metadata, { format: 'pt', note: 'ü' });
    for (const t of tensors) {
      const info = f.tensors.get(t.name)!;
      assert.deepEqual([info.dtype, info.shape], [t.dtype, t.shape]);
      assert.deepEqual(readSafetensorsData(info), t.data);
    }
    const a = toTensor(f.tensors.get('a')!, readSafetensorsData(f.tensors.get('a')!));
    assert.deepEqual([a.dims, a.type], [[3, 2], GGMLType.F32]);
    assert.deepEqual(toTensor(f.tensors.get('s')!, f32(7)).dims, [1]);
    const dst = new Uint8Array(100);
    assert.equal(readSafetensorsData(f.tensors.get('a')!, dst).buffer, dst.buffer);
  });

  test('sharded directory with model.safetensors.index.json', () => {
    const dir = join(TMP, 'sharded');
    mkdirSync(dir);
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), tensors.slice(0, 2));
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), tensors.slice(2));
    const weight_map = Object.fromEntries(tensors.map((t, i) => [t.name, `model-0000${i < 2 ? 1 : 2}-of-00002.safetensors`]));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));
    const opened = openSafetensorsDir(dir);
    assert.equal(opened.files.length, 2);
    assert.deepEqual([...opened.tensors.keys()].sort(), ['a', 'b', 'h', 's']);
    for (const t of tensors) assert.deepEqual(readSafetensorsData(opened.tensors.get(t.name)!), t.data);
    assert.match(opened.tensors.get('b')!.file, /00002-of-00002/);
  });

  test('directory of shards without an index', () => {
    const dir = join(TMP, 'loose');
    mkdirSync(dir);
    writeSafetensors(join(dir, 'x-1.safetensors'), tensors.slice(0, 1));
    writeSafetensors(join(dir, 'x-2.safetensors'), tensors.slice(1));
    assert.equal(openSafetensorsDir(dir).tensors.size, 4);
  });

  test('writer rejects a data size that does not match shape × dtype', () => {
    assert.throws(
      () => writeSafetensors(join(TMP, 'bad.safetensors'), [{ name: 'x', dtype: 'F32', shape: [3], data: f32(1) }]),
      /tensor "x" has 4 bytes but F32 \[3\] needs 12/,
    );
  });
});

// ---- hostile files ----

let n = 0;
function stFile(header: unknown, data = Buffer.alloc(0), claimed?: bigint): string {
  const json = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(claimed ?? BigInt(json.length));
  const path = join(TMP, `hostile-${n++}.safetensors`);
  writeFileSync(path, Buffer.concat([len, json, data]));
  return path;
}

function rejects(path: string, problem: RegExp, open: (p: string) => unknown = readSafetensorsHeader): void {
  const t0 = performance.now();
  const err = (() => {
    try {
      open(path);
    } catch (e) {
      return e;
    }
    assert.fail('accepted a hostile file');
  })();
  assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
  assert.ok(err.message.startsWith(`${err.file}: `));
  assert.match(err.problem, problem);
  assert.ok(performance.now() - t0 < 1000, 'took too long');
}

const entry = (dtype: string, shape: unknown, data_offsets: unknown): unknown => ({ dtype, shape, data_offsets });

describe('hostile safetensors files', () => {
  test('file shorter than 8 bytes', () => {
    const path = join(TMP, 'short.safetensors');
    writeFileSync(path, Buffer.from([1, 2, 3]));
    rejects(path, /truncated: 3 bytes/);
  });
  test('truncated reference file (cut inside the header)', () => {
    const path = join(TMP, 'cut.safetensors');
    writeFileSync(path, readFileSync(HF_FILE).subarray(0, 500));
    rejects(path, /header of 1568 bytes but file has 500 bytes/);
  });
  test('truncated reference file (cut inside the data)', () => {
    const path = join(TMP, 'cut2.safetensors');
    writeFileSync(path, readFileSync(HF_FILE).subarray(0, 10_000_000));
    rejects(path, /tensor ".*": data ends at byte \d+ but the file has only 10000000 bytes/);
  });
  test('header length larger than the file', () => rejects(stFile({}, Buffer.alloc(0), 2n ** 63n), /header of 9223372036854775808 bytes but file has 10 bytes/));
  test('absurd header length (sparse file)', () => {
    const path = stFile({}, Buffer.alloc(0), 200_000_000n);
    truncateSync(path, 300_000_000);
    rejects(path, /header length 200000000 is absurd/);
  });
  test('header not JSON', () => rejects(stFile('{"a": [1, 2'), /header is not valid JSON/));
  test('header not UTF-8', () => rejects(stFile(Buffer.from([0x7b, 0xff, 0x7d])), /header is not valid UTF-8/));
  test('header a JSON array', () => rejects(stFile([1, 2]), /header is not a JSON object \(found \[1,2\]\)/));
  test('entry not an object', () => rejects(stFile({ w: 5 }), /tensor "w": entry must be an object/));
  test('dtype missing', () => rejects(stFile({ w: { shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /tensor "w": dtype must be a string/));
  test('negative dim in shape', () => rejects(stFile({ w: entry('F32', [-1], [0, 4]) }, Buffer.alloc(4)), /tensor "w": shape must be an array of non-negative integers/));
  test('reversed data_offsets', () => rejects(stFile({ w: entry('F32', [1], [4, 0]) }, Buffer.alloc(4)), /data_offsets must be \[begin, end\]/));
  test('data_offsets past the end of the file', () =>
    rejects(stFile({ w: entry('F32', [256], [0, 1024]) }, Buffer.alloc(16)), /tensor "w": data ends at byte \d+ but the file has only \d+ bytes/));
  test('dtype / size mismatch', () =>
    rejects(stFile({ w: entry('F32', [3], [0, 8]) }, Buffer.alloc(8)), /tensor "w": data_offsets span 8 bytes but F32 \[3\] needs 12 bytes/));
  test('shape product overflow', () =>
    rejects(stFile({ w: entry('F32', [2 ** 31, 2 ** 31, 2 ** 31], [0, 4]) }, Buffer.alloc(4)), /shape \[2147483648, 2147483648, 2147483648\] holds \d+ elements, which overflows/));
  test('__metadata__ with a non-string value', () => rejects(stFile({ __metadata__: { a: 1 } }), /__metadata__\["a"\] must be a string/));
  test('unsupported dtype is listed, rejected when read', () => {
    const path = stFile({ ids: entry('I64', [2], [0, 16]) }, Buffer.alloc(16));
    const info = readSafetensorsHeader(path).tensors.get('ids')!;
    assert.equal(info.type, undefined);
    rejects(path, /tensor "ids" has dtype I64, which this engine cannot load/, () => readSafetensorsData(info));
    rejects(path, /dtype I64/, () => toTensor(info, new Uint8Array(16)));
  });

  const shardDir = (name: string, weightMap: unknown, shards: Record<string, unknown> = {}): string => {
    const dir = join(TMP, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors.index.json'), typeof weightMap === 'string' ? weightMap : JSON.stringify({ weight_map: weightMap }));
    for (const [file, header] of Object.entries(shards)) writeFileSync(join(dir, file), readFileSync(stFile(header, Buffer.alloc(4))));
    return dir;
  };
  test('index names a missing shard', () =>
    rejects(shardDir('missing', { w: 'model-00002-of-00002.safetensors' }), /weight_map names shard "model-00002-of-00002.safetensors" \(for tensor "w"\), but .* does not exist/, openSafetensorsDir));
  test('index lists a tensor missing from its shard', () =>
    rejects(shardDir('absent', { w: 's1.safetensors', v: 's1.safetensors' }, { 's1.safetensors': { w: entry('F32', [1], [0, 4]) } }),
      /tensor "v" is listed in model.safetensors.index.json for this shard but is missing from it/, openSafetensorsDir));
  test('index not JSON', () => rejects(shardDir('badjson', '{weight_map'), /not valid JSON/, openSafetensorsDir));
  test('index shard path escaping the directory', () =>
    rejects(shardDir('escape', { w: '../x.safetensors' }), /must be a plain shard file name/, openSafetensorsDir));
  test('empty directory', () => {
    const dir = join(TMP, 'empty');
    mkdirSync(dir);
    rejects(dir, /no model.safetensors.index.json, model.safetensors or \*.safetensors file/, openSafetensorsDir);
  });
});
