// GGUF reader/writer: the llama.cpp-written reference files (metadata and shapes from
// reference/README.md), a write → read round trip of every value type, and one test per hostile
// file: each must fail fast with a FormatError that names the file and the specific problem.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FormatError } from '../src/errors.js';
import {
  GGUFValueType as VT,
  ggufArray,
  isGGUF,
  readGGUF,
  readTensorData,
  writeGGUF,
  type GGUFMetaEntry,
} from '../src/formats/gguf.js';
import { GGMLType } from '../src/quant/types.js';
import { REFERENCE, tempDir } from './helpers.js';

const TINY = join(REFERENCE, 'tiny-4k/model.gguf');
const GQA = join(REFERENCE, 'tiny-gqa/model.gguf');
const TMP = tempDir('phi3-gguf-');

const LAYER_TENSORS = ['attn_norm', 'attn_qkv', 'attn_output', 'ffn_norm', 'ffn_up', 'ffn_down'];

function expectedNames(layers: number): string[] {
  const names = ['token_embd.weight'];
  for (let i = 0; i < layers; i++) names.push(...LAYER_TENSORS.map((t) => `blk.${i}.${t}.weight`));
  return [...names, 'output_norm.weight', 'output.weight'];
}

describe('reference GGUF files', () => {
  test('tiny-4k header: version, metadata, tensors', () => {
    const f = readGGUF(TINY);
    assert.equal(f.version, 3);
    assert.equal(f.alignment, 32);
    assert.equal(f.get('general.architecture'), 'phi3');
    assert.equal(f.get('general.name'), 'phi3 tiny-4k (random weights)');
    const expected: Record<string, number> = {
      'phi3.context_length': 4096, 'phi3.rope.scaling.original_context_length': 4096,
      'phi3.embedding_length': 64, 'phi3.feed_forward_length': 128, 'phi3.block_count': 2,
      'phi3.attention.head_count': 4, 'phi3.attention.head_count_kv': 4, 'phi3.rope.dimension_count': 16,
      'phi3.rope.freq_base': 10000, 'phi3.attention.sliding_window': 0, 'general.file_type': 0,
      'general.quantization_version': 2, 'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 32000,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(f.get(k), v, k);
    assert.ok(Math.abs((f.get('phi3.attention.layer_norm_rms_epsilon') as number) - 1e-5) < 1e-10);
    assert.equal(f.get('tokenizer.ggml.model'), 'llama');
    assert.equal(f.get('tokenizer.ggml.add_bos_token'), false);
    const tokens = f.metadata.get('tokenizer.ggml.tokens');
    assert.equal(tokens?.type, VT.ARRAY);
    assert.equal(tokens?.arrayType, VT.STRING);
    const list = tokens?.value as string[];
    assert.equal(list.length, 32064);
    assert.deepEqual([list[0], list[1], list[2], list[3], list[32010]], ['<unk>', '<s>', '</s>', '<0x00>', '<|user|>']);
    assert.equal(f.metadata.get('tokenizer.ggml.scores')?.arrayType, VT.FLOAT32);
    assert.deepEqual(f.tensors.map((t) => t.name), expectedNames(2));
    assert.ok(f.tensors.every((t) => t.type === GGMLType.F32));
    const byName = new Map(f.tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('token_embd.weight')?.dims, [64, 32064]);
    assert.deepEqual(byName.get('blk.1.attn_qkv.weight')?.dims, [64, 192]);
    assert.deepEqual(byName.get('blk.0.ffn_up.weight')?.dims, [64, 256]);
    assert.deepEqual(byName.get('blk.0.ffn_down.weight')?.dims, [128, 64]);
    for (const t of f.tensors) {
      assert.equal(t.nbytes, t.nElements * 4);
      assert.equal((t.offset - f.dataOffset) % 32, 0);
    }
    const last = f.tensors[f.tensors.length - 1];
    assert.equal(last.offset + last.nbytes, f.fileSize);
  });

  test('tiny-gqa header: GQA shapes', () => {
    const f = readGGUF(GQA);
    assert.equal(f.get('phi3.block_count'), 4);
    assert.equal(f.get('phi3.attention.head_count'), 8);
    assert.equal(f.get('phi3.attention.head_count_kv'), 2);
    assert.equal(f.get('phi3.feed_forward_length'), 192);
    assert.equal(f.get('phi3.rope.dimension_count'), 8);
    assert.deepEqual(f.tensors.map((t) => t.name), expectedNames(4));
    const byName = new Map(f.tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('blk.3.attn_qkv.weight')?.dims, [64, (8 + 2 * 2) * 8]);
    assert.deepEqual(byName.get('blk.3.ffn_up.weight')?.dims, [64, 384]);
    assert.deepEqual(byName.get('output.weight')?.dims, [64, 32064]);
  });

  test('readTensorData reads one tensor, into a caller buffer too', () => {
    const f = readGGUF(TINY);
    const norm = f.tensors.find((t) => t.name === 'output_norm.weight')!;
    const a = readTensorData(f, norm);
    assert.deepEqual(a, new Uint8Array(readFileSync(TINY).subarray(norm.offset, norm.offset + norm.nbytes)));
    const dst = new Uint8Array(norm.nbytes + 100);
    const b = readTensorData(f, norm, dst);
    assert.equal(b.buffer, dst.buffer);
    assert.deepEqual(b, a);
    // norms are 1 + N(0, 0.1): plausible values prove the offset is right
    const v = new Float32Array(a.buffer, a.byteOffset, 64);
    assert.ok(v.every((x) => x > 0.4 && x < 1.6));
  });

  test('isGGUF', () => {
    assert.equal(isGGUF(TINY), true);
    assert.equal(isGGUF(join(REFERENCE, 'tiny-4k/hf/model.safetensors')), false);
    assert.equal(isGGUF(join(TMP, 'does-not-exist')), false);
  });

  test('lazy: a 3 GB sparse file opens without reading its data', () => {
    const path = join(TMP, 'big.gguf');
    const dims = [1024, 786432]; // 3 GiB of F32
    writeFileSync(path, gguf({ tensors: [tinfo('big', dims, GGMLType.F32, 0)] }));
    const header = readFileSync(path).length;
    const total = 32 * Math.ceil(header / 32) + 1024 * 786432 * 4;
    truncateSync(path, total);
    const t0 = performance.now();
    const f = readGGUF(path);
    assert.ok(performance.now() - t0 < 500);
    assert.equal(f.tensors[0].nbytes, 3 * 2 ** 30);
    assert.equal(f.fileSize, total);
  });
});

describe('writeGGUF round trip', () => {
  const big = 2n ** 60n + 7n;
  const metadata: Array<[string, GGUFMetaEntry]> = [
    ['u8', { type: VT.UINT8, value: 255 }],
    ['i8', { type: VT.INT8, value: -128 }],
    ['u16', { type: VT.UINT16, value: 65535 }],
    ['i16', { type: VT.INT16, value: -32768 }],
    ['u32', { type: VT.UINT32, value: 4294967295 }],
    ['i32', { type: VT.INT32, value: -2147483648 }],
    ['f32', { type: VT.FLOAT32, value: 1.5 }],
    ['f64', { type: VT.FLOAT64, value: 0.1 }],
    ['bool', { type: VT.BOOL, value: true }],
    ['str', { type: VT.STRING, value: 'héllo ▁wörld 🙂' }],
    ['empty', { type: VT.STRING, value: '' }],
    ['u64.small', { type: VT.UINT64, value: 12345 }],
    ['u64.big', { type: VT.UINT64, value: big }],
    ['i64.neg', { type: VT.INT64, value: -big }],
    ['arr.str', { type: VT.ARRAY, arrayType: VT.STRING, value: ['a', '', 'ü'] }],
    ['arr.f32', { type: VT.ARRAY, arrayType: VT.FLOAT32, value: [0, -1000, 0.25] }],
    ['arr.empty', { type: VT.ARRAY, arrayType: VT.INT32, value: [] }],
    [
      'arr.nested',
      {
        type: VT.ARRAY,
        arrayType: VT.ARRAY,
        value: [ggufArray(VT.UINT16, [1, 2]), ggufArray(VT.ARRAY, [ggufArray(VT.BOOL, [true, false])])],
      },
    ],
  ];
  const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const q8 = Uint8Array.from({ length: 2 * 34 }, (_, i) => i);
  const tensors = [
    { name: 'a', type: GGMLType.F32, dims: [3, 2], data: f32 },
    { name: 'b', type: GGMLType.F16, dims: [3], data: new Uint8Array([1, 2, 3, 4, 5, 6]) },
    { name: 'q', type: GGMLType.Q8_0, dims: [32, 2], data: q8 },
  ];

  for (const version of [2, 3] as const) {
    test(`every value type and tensor survives (v${version}, alignment 64)`, () => {
      const path = join(TMP, `rt-v${version}.gguf`);
      writeGGUF(path, metadata, tensors, { version, alignment: 64 });
      const f = readGGUF(path);
      assert.equal(f.version, version);
      assert.equal(f.alignment, 64);
      assert.equal(f.dataOffset % 64, 0);
      for (const [k, e] of metadata) assert.deepEqual(f.metadata.get(k), e, k);
      assert.equal(typeof f.get('u64.big'), 'bigint');
      assert.equal(typeof f.get('u64.small'), 'number');
      for (const t of tensors) {
        const info = f.tensors.find((x) => x.name === t.name)!;
        assert.deepEqual([info.type, info.dims, info.offset % 64], [t.type, t.dims, 0]);
        assert.deepEqual(readTensorData(f, info), t.data);
      }
      // written again from what was read, the file is byte-identical
      const again = join(TMP, `rt-v${version}-again.gguf`);
      writeGGUF(again, [...f.metadata], f.tensors.map((t) => ({ ...t, data: readTensorData(f, t) })), { version });
      assert.deepEqual(readFileSync(again), readFileSync(path));
    });
  }

  test('the reference file rewritten is byte-identical', () => {
    const f = readGGUF(TINY);
    const path = join(TMP, 'tiny-copy.gguf');
    writeGGUF(path, [...f.metadata], f.tensors.map((t) => ({ ...t, data: readTensorData(f, t) })));
    assert.ok(readFileSync(path).equals(readFileSync(TINY)));
  });

  test('rejects values that do not fit their type, and wrong data sizes', () => {
    const path = join(TMP, 'bad-write.gguf');
    assert.throws(() => writeGGUF(path, [['x', { type: VT.UINT8, value: 300 }]], []), /"x": number 300 is not a valid UINT8/);
    assert.throws(() => writeGGUF(path, [['x', { type: VT.INT64, value: 2n ** 63n }]], []), FormatError);
    const t = { name: 't', type: GGMLType.F32, dims: [4], data: new Uint8Array(8) };
    assert.throws(() => writeGGUF(path, [], [t]), /tensor "t" has 8 bytes of data but its type and dims need 16/);
    assert.equal(isGGUF(path), false);
  });
});

// ---- hostile files, built byte by byte ----

const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);
const u64 = (v: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
const kv = (key: string, type: number, value: Buffer): Buffer => Buffer.concat([str(key), u32(type), value]);
function tinfo(name: string, dims: Array<number | bigint>, type: number, offset: number | bigint): Buffer {
  return Buffer.concat([str(name), u32(dims.length), ...dims.map(u64), u32(type), u64(offset)]);
}

/** A GGUF file: header, KVs, tensor infos, padding to 32, then `data`. Counts default to the lists. */
function gguf(o: {
  magic?: string; version?: number; kvs?: Buffer[]; tensors?: Buffer[];
  tensorCount?: bigint; kvCount?: bigint; data?: Buffer;
}): Buffer {
  const kvs = o.kvs ?? [];
  const tensors = o.tensors ?? [];
  const head = Buffer.concat([
    Buffer.from(o.magic ?? 'GGUF', 'latin1'), u32(o.version ?? 3),
    u64(o.tensorCount ?? BigInt(tensors.length)), u64(o.kvCount ?? BigInt(kvs.length)), ...kvs, ...tensors,
  ]);
  return Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32), o.data ?? Buffer.alloc(0)]);
}

let n = 0;
function file(bytes: Buffer, sparseSize?: number): string {
  const path = join(TMP, `hostile-${n++}.gguf`);
  writeFileSync(path, bytes);
  if (sparseSize) truncateSync(path, sparseSize);
  return path;
}

function rejects(path: string, problem: RegExp): void {
  const t0 = performance.now();
  const err = (() => {
    try {
      readGGUF(path);
    } catch (e) {
      return e;
    }
    assert.fail('readGGUF accepted a hostile file');
  })();
  assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
  assert.equal(err.file, path);
  assert.ok(err.message.startsWith(`${path}: `));
  assert.match(err.problem, problem);
  assert.ok(performance.now() - t0 < 1000, 'took too long');
}

const F32_4 = [tinfo('w', [4], GGMLType.F32, 0)];
const DATA16 = Buffer.alloc(16);

describe('hostile GGUF files', () => {
  const real = readFileSync(TINY);
  const ref = readGGUF(TINY);
  const cut = (at: number): string => file(real.subarray(0, at));

  test('truncated inside the fixed header', () => rejects(cut(10), /truncated.*shorter than the 24-byte GGUF header/));
  test('truncated inside the KV section (array count)', () => rejects(cut(5000), /tokenizer.ggml.tokens.*truncated/));
  test('truncated inside the KV section (array elements)', () => rejects(cut(400000), /metadata.*truncated/));
  test('truncated inside the tensor infos', () => rejects(cut(ref.dataOffset - 100), /truncated.*tensor/));
  test('truncated inside the data', () =>
    rejects(cut(ref.fileSize - 1), new RegExp(`tensor "output.weight" ends at byte ${ref.fileSize} but the file has only ${ref.fileSize - 1} bytes`)));
  test('truncated at the start of the data', () => rejects(cut(ref.dataOffset + 1000), /tensor "token_embd.weight" ends at byte/));
  test('empty file', () => rejects(file(Buffer.alloc(0)), /file is 0 bytes, shorter than the 24-byte GGUF header/));
  test('missing file', () => rejects(join(TMP, 'nope.gguf'), /cannot open file/));
  test('wrong magic', () => rejects(file(gguf({ magic: 'GGML' })), /expected magic "GGUF" but found bytes 47 47 4d 4c \("GGML"\)/));
  test('unknown version 99', () => rejects(file(gguf({ version: 99 })), /unsupported GGUF version 99/));
  test('version 1', () => rejects(file(gguf({ version: 1 })), /version 1 is not supported/));
  test('big-endian file', () => rejects(file(gguf({ version: 0x03000000 })), /big-endian/));
  test('absurd tensor count', () =>
    rejects(file(gguf({ tensorCount: 2n ** 60n })), /tensor count 1152921504606846976 is impossible/));
  test('absurd metadata count', () =>
    rejects(file(gguf({ kvCount: 2n ** 64n - 1n })), /metadata key\/value count 18446744073709551615 is impossible/));
  test('key string longer than the file', () =>
    rejects(file(gguf({ kvs: [Buffer.concat([u64(1000), Buffer.from('k')])], data: Buffer.alloc(40) })),
      /metadata key of 1000 bytes \(#0\) at byte 24 runs past the end of the file/));
  test('metadata string of absurd length (2^62)', () =>
    rejects(file(gguf({ kvs: [kv('s', VT.STRING, u64(2n ** 62n))], data: Buffer.alloc(64) })),
      /metadata string of 4611686018427387904 bytes \(value of metadata "s"\)/));
  test('metadata string over the 64 MiB cap (sparse file)', () =>
    rejects(file(gguf({ kvs: [kv('s', VT.STRING, u64(65 * 2 ** 20))] }), 70 * 2 ** 20),
      /metadata string of 68157440 bytes .* exceeds the 67108864-byte limit/));
  test('unknown metadata value type', () =>
    rejects(file(gguf({ kvs: [kv('x', 13, u32(0))], data: Buffer.alloc(32) })), /metadata "x" has unknown value type 13/));
  test('absurd array count', () =>
    rejects(file(gguf({ kvs: [kv('a', VT.ARRAY, Buffer.concat([u32(VT.UINT32), u64(2n ** 40n)]))] })),
      /array of 1099511627776 UINT32 elements .* needs at least 4398046511104 bytes/));
  test('array count over the element cap (sparse file)', () =>
    rejects(file(gguf({ kvs: [kv('a', VT.ARRAY, Buffer.concat([u32(VT.UINT8), u64(2n ** 25n)]))] }), 40 * 2 ** 20),
      /array of 33554432 elements exceeds the limit/));
  test('arrays nested too deep', () => {
    const nest = Buffer.concat(Array.from({ length: 20 }, () => Buffer.concat([u32(VT.ARRAY), u64(1)])));
    rejects(file(gguf({ kvs: [kv('a', VT.ARRAY, nest)], data: Buffer.alloc(64) })), /nested deeper than 8/);
  });
  test('duplicate metadata key', () =>
    rejects(file(gguf({ kvs: [kv('k', VT.UINT8, Buffer.from([1])), kv('k', VT.UINT8, Buffer.from([2]))] })),
      /duplicate metadata key "k"/));
  test('alignment not a power of two', () =>
    rejects(file(gguf({ kvs: [kv('general.alignment', VT.UINT32, u32(48))] })), /general.alignment 48 is not a power of two/));
  test('alignment 0', () =>
    rejects(file(gguf({ kvs: [kv('general.alignment', VT.UINT32, u32(0))] })), /general.alignment 0 is not a power of two/));
  test('unknown tensor type', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [4], 99, 0)], data: DATA16 })), /tensor "w" has unknown ggml type id 99/));
  test('tensor offset past the end of the file', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [4], GGMLType.F32, 1 << 20)], data: DATA16 })),
      /tensor "w" ends at byte \d+ but the file has only \d+ bytes/));
  test('tensor offset near 2^64', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [4], GGMLType.F32, 2n ** 64n - 32n)], data: DATA16 })), /tensor "w" ends at byte/));
  test('unaligned tensor offset', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [4], GGMLType.F32, 4)], data: Buffer.alloc(64) })),
      /tensor "w": data offset 4 is not a multiple of the alignment 32/));
  test('dims whose product overflows', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [2n ** 32n, 2n ** 32n], GGMLType.F32, 0)], data: DATA16 })),
      /tensor "w": dims \[4294967296, 4294967296\] hold 18446744073709551616 elements, which overflows/));
  test('byte size that overflows', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [2 ** 26, 2 ** 26], GGMLType.F32, 0)], data: DATA16 })), /overflows/));
  test('zero dimensions', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [], GGMLType.F32, 0)], data: DATA16 })), /tensor "w" has 0 dimensions/));
  test('five dimensions', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [1, 1, 1, 1, 1], GGMLType.F32, 0)], data: DATA16 })), /has 5 dimensions \(must be 1 to 4\)/));
  test('a zero dim', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [4, 0], GGMLType.F32, 0)], data: DATA16 })), /tensor "w": dimension 1 is 0/));
  test('row not a multiple of the block size', () =>
    rejects(file(gguf({ tensors: [tinfo('w', [31, 2], GGMLType.Q8_0, 0)], data: Buffer.alloc(128) })),
      /row length 31 is not a multiple of the Q8_0 block size 32/));
  test('duplicate tensor names', () =>
    rejects(file(gguf({ tensors: [...F32_4, tinfo('w', [4], GGMLType.F32, 32)], data: Buffer.alloc(64) })),
      /duplicate tensor name "w"/));
  test('tensor name longer than the file', () =>
    rejects(file(gguf({ tensors: [Buffer.concat([u64(2n ** 40n), Buffer.alloc(40)])] })), /tensor name of 1099511627776 bytes/));

  test('a file that shrinks after opening: readTensorData reports truncation', () => {
    const path = file(gguf({ tensors: F32_4, data: DATA16 }));
    const f = readGGUF(path);
    truncateSync(path, f.dataOffset + 8);
    assert.throws(() => readTensorData(f, f.tensors[0]), (e) => e instanceof FormatError && /truncated/.test(e.problem));
  });
});

describe('streaming writes', () => {
  test('lazy tensor data is produced one tensor at a time, in file order', () => {
    const dir = tempDir();
    const path = join(dir, 'lazy.gguf');
    const calls: string[] = [];
    const mk = (name: string, fill: number) => ({
      name,
      type: GGMLType.F32,
      dims: [4],
      data: () => {
        calls.push(name);
        return new Uint8Array(new Float32Array(4).fill(fill).buffer);
      },
    });
    writeGGUF(path, [], [mk('a', 1), mk('b', 2)]);
    assert.deepEqual(calls, ['a', 'b']);
    const f = readGGUF(path);
    assert.deepEqual(Array.from(new Float32Array(readTensorData(f, f.tensors[1]).buffer)), [2, 2, 2, 2]);
  });

  test('a failed write leaves no file behind, under the real name or a temporary one', () => {
    const dir = tempDir();
    const path = join(dir, 'bad.gguf');
    const bad = { name: 'x', type: GGMLType.F32, dims: [4], data: () => new Uint8Array(3) };
    assert.throws(() => writeGGUF(path, [], [bad]), /has 3 bytes of data but its type and dims need 16/);
    assert.deepEqual(readdirSync(dir), []);
  });
});
