// Reference codecs against independent truths: blocks packed by hand from the ggml layouts (expected
// values written as arithmetic on the layout, never computed by the code under test), known fp16/bf16
// bit patterns, quantizer error bounds, and dotRow against a plain dequantize-then-sum loop.
// Byte-for-byte agreement with ggml itself is in quant-ggml.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Phi3Error } from '../src/errors.js';
import { dequantizeRow, dotRow, getCodec, GGMLType, hasCodec, quantizeRow } from '../src/quant/index.js';
import { bf16ToF32, f32FromBits, f32ToBf16, f32ToFp16, fp16ToF32 } from '../src/quant/half.js';
import { nearestInt } from '../src/quant/common.js';
import { TYPE_INFO } from '../src/quant/types.js';
import { mulberry32 } from './helpers.js';

// ---------------------------------------------------------------------------------------------------------
// helpers


/** n samples of N(0, sigma²) (Box-Muller). */
function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = sigma * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  return x;
}

function decode(type: GGMLType, bytes: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  dequantizeRow(type, bytes, 0, y, 0, n);
  return y;
}

function roundTrip(type: GGMLType, x: Float32Array): Float32Array {
  return decode(type, quantizeRow(type, x, x.length), x.length);
}

function rmse(a: Float32Array, b: Float32Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  return Math.sqrt(e / a.length);
}

const le16 = (h: number) => [h & 0xff, h >> 8];

// ---------------------------------------------------------------------------------------------------------
// fp16 / bf16

test('fp16 encode: known bit patterns, round-to-nearest-even, subnormals, overflow, NaN', () => {
  assert.equal(f32ToFp16(1), 0x3c00);
  assert.equal(f32ToFp16(-2), 0xc000);
  assert.equal(f32ToFp16(0.5), 0x3800);
  assert.equal(f32ToFp16(65504), 0x7bff); // largest finite
  assert.equal(f32ToFp16(2 ** -14), 0x0400); // smallest normal
  assert.equal(f32ToFp16(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(f32ToFp16(1023 * 2 ** -24), 0x03ff); // largest subnormal
  assert.equal(f32ToFp16(0), 0x0000);
  assert.equal(f32ToFp16(-0), 0x8000);
  assert.equal(f32ToFp16(Infinity), 0x7c00);
  assert.equal(f32ToFp16(-Infinity), 0xfc00);
  assert.equal(f32ToFp16(NaN) & 0x7e00, 0x7e00); // a quiet NaN
  // ties go to the even mantissa: 1 + 2^-11 is halfway between 0x3C00 and 0x3C01
  assert.equal(f32ToFp16(1 + 2 ** -11), 0x3c00);
  assert.equal(f32ToFp16(1 + 3 * 2 ** -11), 0x3c02); // halfway between 0x3C01 and 0x3C02
  assert.equal(f32ToFp16(1 + 2 ** -11 + 2 ** -20), 0x3c01); // just above the tie
  assert.equal(f32ToFp16(2 ** -25), 0x0000); // half the smallest subnormal: tie to 0
  assert.equal(f32ToFp16(3 * 2 ** -25), 0x0002); // 1.5 subnormal ulps: tie to 2
  assert.equal(f32ToFp16(2 ** -26), 0x0000);
  assert.equal(f32ToFp16(65519), 0x7bff); // below the 65520 tie
  assert.equal(f32ToFp16(65520), 0x7c00); // the tie rounds to even = infinity
  assert.equal(f32ToFp16(1e6), 0x7c00);
  assert.equal(f32ToFp16(2047.5), 0x6800); // halfway between 2047 (0x67FF, odd mantissa) and 2048: to even
  assert.equal(f32ToFp16(0.1), 0x2e66); // 0.0999755859375
});

test('fp16 decode: known values, subnormals, signed zero, inf, NaN; every non-NaN half round-trips', () => {
  assert.equal(fp16ToF32(0x3c00), 1);
  assert.equal(fp16ToF32(0xc000), -2);
  assert.equal(fp16ToF32(0x7bff), 65504);
  assert.equal(fp16ToF32(0x0001), 2 ** -24);
  assert.equal(fp16ToF32(0x03ff), 1023 * 2 ** -24);
  assert.equal(fp16ToF32(0x0400), 2 ** -14);
  assert.equal(fp16ToF32(0x3555), 0.333251953125); // (1024 + 341) / 4096
  assert.ok(Object.is(fp16ToF32(0x8000), -0));
  assert.equal(fp16ToF32(0x7c00), Infinity);
  assert.equal(fp16ToF32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(fp16ToF32(0x7e00)));
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaN
    assert.equal(f32ToFp16(fp16ToF32(h)), h, `half 0x${h.toString(16)}`);
  }
});

test('bf16: known bit patterns, ggml rounding and NaN quieting', () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(-2), 0xc000);
  assert.equal(f32ToBf16(Infinity), 0x7f80);
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.equal(f32ToBf16(-0), 0x8000);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // tie, even mantissa stays
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // tie between 0x3F81 and 0x3F82: to even
  assert.equal(f32ToBf16(1 + 2 ** -8 + 2 ** -20), 0x3f81); // above the tie
  assert.equal(f32ToBf16(f32FromBits(0x7f7fffff)), 0x7f80); // FLT_MAX rounds up to infinity
  assert.equal(f32ToBf16(f32FromBits(0x00000001)), 0x0000); // smallest subnormal rounds to 0 (not flushed: rounded)
  assert.equal(f32ToBf16(f32FromBits(0x00018000)), 0x0002); // subnormal tie 0x0001|8000 -> even 0x0002
  // a signalling NaN keeps its top bits and gets the quiet bit (| 64): 0x7FA0 -> 0x7FE0
  assert.equal(f32ToBf16(f32FromBits(0x7fa00000)), 0x7fe0);
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc049), -3.140625); // -(1 + 0x49/128) · 2
  assert.equal(bf16ToF32(0x0001), 2 ** -133);
  assert.ok(Number.isNaN(bf16ToF32(0x7fc0)));
});

test('nearestInt rounds half to even like ggml nearest_int (not Math.round)', () => {
  const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, 0], [-1.5, -2], [-2.5, -2], [3.49, 3], [-0.2, 0], [7.5, 8], [4194303, 4194303], [-4194303, -4194303]];
  for (const [f, want] of cases) assert.equal(nearestInt(f) + 0, want, `nearestInt(${f})`);
});

// ---------------------------------------------------------------------------------------------------------
// hand-packed blocks: bytes from the layout, expected values from the format definition

test('Q4_0 hand block: d = 0.5, byte j = nibble j | nibble (j+16) << 4, value (q - 8)·d', () => {
  const qs = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4)); // weight j: q = j; weight j+16: q = 15-j
  const y = decode(GGMLType.Q4_0, new Uint8Array([0x00, 0x38, ...qs]), 32); // 0x3800 = fp16(0.5)
  assert.equal(y[0], -4); // (0 - 8)·0.5
  assert.equal(y[15], 3.5); // (15 - 8)·0.5
  assert.equal(y[16], 3.5); // q = 15
  assert.equal(y[31], -4); // q = 0
  for (let j = 0; j < 16; j++) {
    assert.equal(y[j], (j - 8) * 0.5);
    assert.equal(y[j + 16], (15 - j - 8) * 0.5);
  }
});

test('Q8_0 hand block: d = 0.25, int8 quants', () => {
  const v = Array.from({ length: 32 }, (_, j) => 8 * j - 128); // -128, -120, ..., 120
  const y = decode(GGMLType.Q8_0, new Uint8Array([0x00, 0x34, ...v.map((q) => q & 0xff)]), 32); // 0x3400 = 0.25
  assert.equal(y[0], -32); // -128 · 0.25
  assert.equal(y[16], 0);
  assert.equal(y[31], 30); // 120 · 0.25
  for (let j = 0; j < 32; j++) assert.equal(y[j], v[j] * 0.25);
});

// Q4_K / Q5_K 6-bit scales and mins, packed by hand (ggml get_scale_min_k4):
//   j < 4:  scale = byte[j] & 63, min = byte[j+4] & 63
//   j >= 4: scale = (byte[j+4] & 0xF) | (byte[j-4] >> 6) << 4, min = (byte[j+4] >> 4) | (byte[j] >> 6) << 4
const SC = [1, 2, 63, 10, 17, 33, 48, 63];
const MN = [0, 5, 63, 7, 16, 1, 35, 62];
const KSCALES = [
  0x41, // sc0 = 1  | (sc4 = 17 = 0b01_0001) >> 4 = 1 -> << 6
  0x82, // sc1 = 2  | (sc5 = 33 = 0b10_0001) >> 4 = 2 -> << 6
  0xff, // sc2 = 63 | (sc6 = 48 = 0b11_0000) >> 4 = 3 -> << 6
  0xca, // sc3 = 10 | (sc7 = 63 = 0b11_1111) >> 4 = 3 -> << 6
  0x40, // m0 = 0   | (m4 = 16 = 0b01_0000) >> 4 = 1 -> << 6
  0x05, // m1 = 5   | (m5 = 1) >> 4 = 0
  0xbf, // m2 = 63  | (m6 = 35 = 0b10_0011) >> 4 = 2 -> << 6
  0xc7, // m3 = 7   | (m7 = 62 = 0b11_1110) >> 4 = 3 -> << 6
  0x01, // sc4 & 0xF = 1 | (m4 & 0xF = 0) << 4
  0x11, // sc5 & 0xF = 1 | (m5 & 0xF = 1) << 4
  0x30, // sc6 & 0xF = 0 | (m6 & 0xF = 3) << 4
  0xef, // sc7 & 0xF = 15 | (m7 & 0xF = 14) << 4
];
const lo4 = (c: number, l: number) => (l + c) & 15; // the quant chosen for sub-block 2c, element l
const hi4 = (c: number, l: number) => (3 * l + c) & 15; // ... and for sub-block 2c+1

test('Q4_K hand block: d = 2, dmin = 0.5, scales/mins in both packing positions', () => {
  const qs = new Uint8Array(128);
  for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) qs[32 * c + l] = lo4(c, l) | (hi4(c, l) << 4);
  const block = new Uint8Array([0x00, 0x40, 0x00, 0x38, ...KSCALES, ...qs]); // d = fp16(2), dmin = fp16(0.5)
  assert.equal(block.length, 144);
  const y = decode(GGMLType.Q4_K, block, 256);
  assert.equal(y[0], 0); // sub-block 0: 2·1·0 - 0.5·0
  assert.equal(y[100], 256.5); // chunk 1, high nibble of qs[36] = (12+1)&15 = 13, sub-block 3: 2·10·13 - 0.5·7
  assert.equal(y[200], 1038.5); // chunk 3, low nibble of qs[104] = (8+3)&15 = 11, sub-block 6: 2·48·11 - 0.5·35
  assert.equal(y[255], -31); // chunk 3, high nibble of qs[127] = 96&15 = 0, sub-block 7: 0 - 0.5·62
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l++) {
      assert.equal(y[64 * c + l], 2 * SC[2 * c] * lo4(c, l) - 0.5 * MN[2 * c]);
      assert.equal(y[64 * c + 32 + l], 2 * SC[2 * c + 1] * hi4(c, l) - 0.5 * MN[2 * c + 1]);
    }
  }
});

test('Q5_K hand block: d = 1, dmin = 0.25, fifth bits from qh', () => {
  const qh = Array.from({ length: 32 }, (_, l) => (37 * l + 11) & 0xff);
  const qs = new Uint8Array(128);
  for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) qs[32 * c + l] = lo4(c, l) | (hi4(c, l) << 4);
  const block = new Uint8Array([0x00, 0x3c, 0x00, 0x34, ...KSCALES, ...qh, ...qs]); // d = 1, dmin = 0.25
  assert.equal(block.length, 176);
  const y = decode(GGMLType.Q5_K, block, 256);
  // weight 136: chunk 2, l = 8: low nibble (8+2)&15 = 10, qh[8] = 307 & 255 = 0b0011_0011, bit 4 set -> q = 26;
  // sub-block 4: scale 17, min 16 -> 17·26 - 0.25·16
  assert.equal(y[136], 438);
  // weight 200: chunk 3, l = 8: low nibble 11, bit 6 of qh[8] clear -> q = 11; sub-block 6: 48·11 - 0.25·35
  assert.equal(y[200], 519.25);
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l++) {
      const q1 = lo4(c, l) + 16 * ((qh[l] >> (2 * c)) & 1);
      const q2 = hi4(c, l) + 16 * ((qh[l] >> (2 * c + 1)) & 1);
      assert.equal(y[64 * c + l], SC[2 * c] * q1 - 0.25 * MN[2 * c]);
      assert.equal(y[64 * c + 32 + l], SC[2 * c + 1] * q2 - 0.25 * MN[2 * c + 1]);
    }
  }
});

const Q6_SCALES = [-128, -1, 1, 127, -37, 5, 0, 64, 3, -3, 100, -100, -37, 2, -64, 9];

test('Q6_K hand block: one weight set by hand, signed int8 scales', () => {
  const block = new Uint8Array(210);
  block.set(Q6_SCALES.map((s) => s & 0xff), 192);
  block[208] = 0x00;
  block[209] = 0x30; // d = fp16(0.125)
  // weight 200 = half 1, offset 72 = 32·2 + 8: k = 2 -> high nibble of ql[64 + 8], bits 4-5 of qh[32 + 8]
  block[72] = 0xa0; // high nibble 10
  block[128 + 40] = 0x20; // bits 4-5 = 2
  const y = decode(GGMLType.Q6_K, block, 256);
  assert.equal(y[200], 0.125 * -37 * (10 + 2 * 16 - 32)); // scale 12 = 200 >> 4 -> -37; q = 42 -> +10: -46.25
  for (let i = 0; i < 256; i++) if (i !== 200) assert.equal(y[i], 0.125 * Q6_SCALES[i >> 4] * -32, `weight ${i}`);
});

test('Q6_K hand block: every weight from the ql/qh/scales layout', () => {
  const ql = Array.from({ length: 128 }, (_, i) => (29 * i + 7) & 0xff);
  const qh = Array.from({ length: 64 }, (_, i) => (53 * i + 3) & 0xff);
  const block = new Uint8Array([...ql, ...qh, ...Q6_SCALES.map((s) => s & 0xff), 0x00, 0x30]);
  const y = decode(GGMLType.Q6_K, block, 256);
  for (let i = 0; i < 256; i++) {
    const h = i >> 7; // 128-weight half
    const k = (i & 127) >> 5; // which 32-run within the half
    const l = i & 31;
    const byte = ql[64 * h + l + 32 * (k & 1)];
    const low4 = k < 2 ? byte & 0xf : byte >> 4;
    const high2 = (qh[32 * h + l] >> (2 * k)) & 3;
    assert.equal(y[i], 0.125 * Q6_SCALES[i >> 4] * ((low4 | (high2 << 4)) - 32), `weight ${i}`);
  }
});

test('F32 / F16 / BF16 decode little-endian bytes', () => {
  assert.deepEqual([...decode(GGMLType.F32, new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]), 2)], [1, -2]);
  assert.deepEqual([...decode(GGMLType.F16, new Uint8Array([0x00, 0x3c, 0xff, 0x7b, 0x01, 0x00]), 3)], [1, 65504, 2 ** -24]);
  assert.deepEqual([...decode(GGMLType.BF16, new Uint8Array([0x80, 0x3f, 0x00, 0xc0]), 2)], [1, -2]);
  // an F32 row at an odd byte offset (not 4-aligned) decodes the same
  const odd = new Uint8Array([0xaa, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  const y = new Float32Array(2);
  dequantizeRow(GGMLType.F32, odd, 1, y, 0, 2);
  assert.deepEqual([...y], [1, -2]);
});

// ---------------------------------------------------------------------------------------------------------
// quantizer behaviour

test('Q4_0 quantizer: signed max sets d = max / -8 (FACTS §6)', () => {
  const x = new Float32Array(32);
  x[0] = -4;
  x[1] = 3;
  x[2] = 1;
  x[16] = 2;
  // max = -4 -> d = 0.5 (fp16 0x3800), id = 2; q = trunc(x·2 + 8.5): -4 -> 0, 3 -> 14, 1 -> 10, 2 -> 12, 0 -> 8
  const want = [0x00, 0x38, 0x00 | (12 << 4), 14 | (8 << 4), 10 | (8 << 4), ...Array(13).fill(0x88)];
  assert.deepEqual([...quantizeRow(GGMLType.Q4_0, x, 32)], want);
  // a positive max gives a negative d: x = 4 -> d = -0.5 (0xB800), and 4 maps to nibble 0
  const p = new Float32Array(32);
  p[5] = 4;
  const qp = quantizeRow(GGMLType.Q4_0, p, 32);
  assert.deepEqual([qp[0], qp[1], qp[2 + 5] & 0xf], [0x00, 0xb8, 0]);
  // equal magnitudes: the first wins; the opposite extreme -4 lands on +8, clamped to nibble 15 = -3.5
  const t = new Float32Array(32);
  t[0] = 4;
  t[1] = -4;
  const yt = roundTrip(GGMLType.Q4_0, t);
  assert.equal(yt[0], 4);
  assert.equal(yt[1], -3.5);
});

test('Q8_0 quantizer: d = amax/127, C roundf (half away from zero)', () => {
  const x = new Float32Array(32);
  x[0] = 127; // d = 1, id = 1
  x[1] = -63.5; // -> -64 (half away from zero; half-even would give -64 too)
  x[2] = 2.5; // -> 3 (half-even would give 2)
  x[3] = 0.5; // -> 1
  x[4] = -0.49; // -> 0
  const q = quantizeRow(GGMLType.Q8_0, x, 32);
  assert.deepEqual([...q.subarray(0, 7)], [0x00, 0x3c, 127, -64 & 0xff, 3, 1, 0]);
});

test('values already on the grid round-trip exactly (Q8_0, Q4_0)', () => {
  const r = mulberry32(3);
  const x8 = new Float32Array(64);
  for (let i = 0; i < 64; i++) x8[i] = 0.5 * (Math.floor(r() * 255) - 127);
  x8[7] = 63.5; // 127·0.5 in each block, so d = 0.5 exactly
  x8[40] = -63.5;
  assert.deepEqual(roundTrip(GGMLType.Q8_0, x8), x8);
  const x4 = new Float32Array(64);
  for (let i = 0; i < 64; i++) x4[i] = 0.25 * (Math.floor(r() * 15) - 7); // -7..7 steps of d = 0.25
  x4[3] = -2; // -8·0.25: the extreme sets d = -2 / -8 = 0.25
  x4[35] = -2;
  assert.deepEqual(roundTrip(GGMLType.Q4_0, x4), x4);
});

test('all-zero blocks', () => {
  const z = new Float32Array(512);
  // Q4_0: max = 0 -> d = 0 / -8 = -0 (fp16 0x8000); id = 0 -> every nibble trunc(0 + 8.5) = 8
  assert.deepEqual([...quantizeRow(GGMLType.Q4_0, z, 32)], [0x00, 0x80, ...Array(16).fill(0x88)]);
  for (const t of [GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    assert.ok(quantizeRow(t, z, 512).every((b) => b === 0), `${getCodec(t).name} zero block is all zero bytes`);
  }
  for (const t of [GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    assert.ok(roundTrip(t, z).every((v) => v === 0), getCodec(t).name);
  }
});

test('a block with one huge value: the outlier survives, the rest stays small', () => {
  const x = gaussian(256, 11, 0.01);
  x[100] = 1000;
  // Q4_0: 1000 is the max -> d = -125 exactly in fp16, nibble 0 -> exactly 1000 back
  assert.equal(roundTrip(GGMLType.Q4_0, x)[100], 1000);
  for (const t of [GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    const y = roundTrip(t, x);
    assert.ok(Math.abs(y[100] - 1000) < 1, `${getCodec(t).name} outlier ${y[100]}`); // < 0.1 %
    for (let i = 0; i < 256; i++) if (i !== 100) assert.ok(Math.abs(y[i] - x[i]) < 0.1, `${getCodec(t).name} [${i}]`);
  }
});

test('Q8_0 and Q4_0 error bounds per block on random data', () => {
  const x = gaussian(32 * 200, 5, 3);
  const y8 = roundTrip(GGMLType.Q8_0, x);
  const y4 = roundTrip(GGMLType.Q4_0, x);
  for (let b = 0; b < 200; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      if (Math.abs(x[32 * b + j]) > amax) {
        amax = Math.abs(x[32 * b + j]);
        max = x[32 * b + j];
      }
    }
    // Q8_0: rounding error d/2 = amax/254, plus d itself is stored as fp16 (relative error <= 2^-11,
    // times |q| <= 127): |err| <= amax/254 + amax·2^-11
    const bound8 = amax / 254 + amax * 2 ** -11;
    // Q4_0: d = max/-8; error <= |d|/2 where x/d <= 7.5, and <= |d| where the opposite extreme is clamped
    // to nibble 15; plus |q| <= 8 times the fp16 error of d
    const d = Math.abs(max) / 8;
    for (let j = 0; j < 32; j++) {
      const i = 32 * b + j;
      assert.ok(Math.abs(y8[i] - x[i]) <= bound8, `Q8_0 block ${b}`);
      const clamped = x[i] / (max / -8) > 7.5;
      assert.ok(Math.abs(y4[i] - x[i]) <= (clamped ? d : d / 2) + 8 * d * 2 ** -11, `Q4_0 block ${b} [${j}]`);
    }
  }
});

test('RMSE on N(0,1) data is in the range expected for each type', () => {
  // Bounds: a uniform quantizer of step s has rmse ≈ s/√12. Q4_K: 16 levels over a 32-sample range of
  // ≈ 4.3σ -> ≈ 0.08σ before the least-squares fit (measured 0.072); Q5_K half that (measured 0.037);
  // Q6_K: step = max of 16 samples (≈ 1.8σ) / 32 -> ≈ 0.016σ (measured 0.018); Q8_0: amax/127 ≈ 0.017σ
  // -> 0.005σ (measured 0.0054); Q4_0: amax/8 -> ≈ 0.08σ (measured 0.087). Ceilings leave ~15-25 % margin.
  const x = gaussian(256 * 64, 21);
  const limits: [GGMLType, number][] = [
    [GGMLType.Q4_0, 0.1],
    [GGMLType.Q4_K, 0.085],
    [GGMLType.Q5_K, 0.045],
    [GGMLType.Q6_K, 0.022],
    [GGMLType.Q8_0, 0.0065],
  ];
  const got: number[] = [];
  for (const [t, limit] of limits) {
    const e = rmse(roundTrip(t, x), x);
    got.push(e);
    assert.ok(e > 0 && e < limit, `${getCodec(t).name} rmse ${e} (limit ${limit})`);
  }
  // and more bits is never worse: Q4_K > Q5_K > Q6_K > Q8_0
  assert.ok(got[1] > got[2] && got[2] > got[3] && got[3] > got[4]);
});

test('F16 / BF16 / F32 quantize = element-wise conversion', () => {
  const x = new Float32Array([1, -2, 65504, 1 + 2 ** -11, 0.1]);
  assert.deepEqual([...quantizeRow(GGMLType.F16, x, 5)], [...x].flatMap((v) => le16(f32ToFp16(v))));
  assert.deepEqual([...quantizeRow(GGMLType.BF16, x, 5)], [...x].flatMap((v) => le16(f32ToBf16(v))));
  assert.deepEqual(decode(GGMLType.F32, quantizeRow(GGMLType.F32, x, 5), 5), x);
});

// ---------------------------------------------------------------------------------------------------------
// dotRow

function plainDot(type: GGMLType, src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number) {
  const w = new Float32Array(n);
  dequantizeRow(type, src, srcOffset, w, 0, n);
  let sum = 0;
  let mag = 0;
  for (let i = 0; i < n; i++) {
    sum += w[i] * x[xOffset + i];
    mag += Math.abs(w[i] * x[xOffset + i]);
  }
  return { sum, mag };
}

const DOT_CASES: [GGMLType, number[]][] = [
  [GGMLType.F32, [1, 7, 96, 256]],
  [GGMLType.F16, [1, 7, 96, 256]],
  [GGMLType.BF16, [1, 7, 96, 256]],
  [GGMLType.Q4_0, [32, 96, 224, 256, 512]],
  [GGMLType.Q8_0, [32, 96, 224, 256, 512]],
  [GGMLType.Q4_K, [256, 512, 768]],
  [GGMLType.Q5_K, [256, 512, 768]],
  [GGMLType.Q6_K, [256, 512, 768]],
];

for (const [type, sizes] of DOT_CASES) {
  const codec = getCodec(type);
  test(`dotRow ${codec.name} equals Σ dequantize·x (rows at offsets, n = ${sizes.join(', ')})`, () => {
    for (const n of sizes) {
      // three rows in one buffer, behind a 2-byte header (so F32 rows are not 4-aligned)
      const rows = gaussian(3 * n, n + type, 0.05);
      const packed = codec.quantize(rows, 3 * n);
      const buf = new Uint8Array(2 + packed.length);
      buf.set(packed, 2);
      const x = gaussian(n + 5, 7 * n);
      const rowBytes = (n / codec.blockSize) * codec.typeSize;
      for (let r = 0; r < 3; r++) {
        const got = dotRow(type, buf, 2 + r * rowBytes, x, 5, n);
        const want = plainDot(type, buf, 2 + r * rowBytes, x, 5, n);
        assert.ok(Math.abs(got - want.sum) <= 1e-5 * want.mag, `${codec.name} n=${n} row ${r}: ${got} vs ${want.sum}`);
      }
      // and on an aligned copy (the F32 fast path)
      const aligned = codec.quantize(rows, n);
      const want = plainDot(type, aligned, 0, x, 0, n);
      assert.ok(Math.abs(dotRow(type, aligned, 0, x, 0, n) - want.sum) <= 1e-5 * want.mag);
    }
  });
}

test('dotRow on a hand block: Q4_K against the hand-derived weights', () => {
  const qs = new Uint8Array(128);
  for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) qs[32 * c + l] = lo4(c, l) | (hi4(c, l) << 4);
  const block = new Uint8Array([0x00, 0x40, 0x00, 0x38, ...KSCALES, ...qs]);
  const x = new Float32Array(256).fill(1);
  let want = 0;
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l++) want += 2 * SC[2 * c] * lo4(c, l) - 0.5 * MN[2 * c] + 2 * SC[2 * c + 1] * hi4(c, l) - 0.5 * MN[2 * c + 1];
  }
  assert.equal(dotRow(GGMLType.Q4_K, block, 0, x, 0, 256), want);
});

// ---------------------------------------------------------------------------------------------------------
// the codec table and bad requests

test('codec table: geometry from TYPE_INFO; unsupported types throw a Phi3Error naming the type', () => {
  for (const t of [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q4_0, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    const c = getCodec(t);
    assert.equal(c.type, t);
    assert.equal(c.name, TYPE_INFO[t].name);
    assert.equal(c.blockSize, TYPE_INFO[t].blockSize);
    assert.equal(c.typeSize, TYPE_INFO[t].typeSize);
    assert.ok(hasCodec(t));
  }
  for (const t of [GGMLType.Q4_1, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q8_K, GGMLType.I32]) {
    assert.ok(!hasCodec(t));
    assert.throws(() => getCodec(t), (e: unknown) => e instanceof Phi3Error && e.message.includes(TYPE_INFO[t].name));
  }
  assert.throws(() => getCodec(99 as GGMLType), (e: unknown) => e instanceof Phi3Error && /99/.test(e.message));
  assert.throws(() => dotRow(GGMLType.Q2_K, new Uint8Array(84), 0, new Float32Array(256), 0, 256), /Q2_K/);
});

test('bad lengths and offsets are Phi3Errors, never silent NaN or RangeError', () => {
  const isPhi3 = (e: unknown) => e instanceof Phi3Error;
  assert.throws(() => quantizeRow(GGMLType.Q4_K, new Float32Array(300), 300), isPhi3); // not a multiple of 256
  assert.throws(() => quantizeRow(GGMLType.Q8_0, new Float32Array(32), 64), isPhi3); // more than the source
  assert.throws(() => dequantizeRow(GGMLType.Q4_0, new Uint8Array(18), 0, new Float32Array(64), 0, 64), isPhi3); // short source
  assert.throws(() => dequantizeRow(GGMLType.Q4_0, new Uint8Array(36), 0, new Float32Array(32), 0, 64), isPhi3); // short dst
  assert.throws(() => dequantizeRow(GGMLType.Q6_K, new Uint8Array(210), 1, new Float32Array(256), 0, 256), isPhi3); // offset past end
  assert.throws(() => dotRow(GGMLType.F16, new Uint8Array(8), 0, new Float32Array(3), 0, 4), isPhi3); // short activation
  assert.throws(() => dotRow(GGMLType.Q8_0, new Uint8Array(34), -1, new Float32Array(32), 0, 32), isPhi3);
  assert.throws(() => dequantizeRow(GGMLType.F32, new Uint8Array(8), 0, new Float32Array(2), 0, 1.5), isPhi3);
});
