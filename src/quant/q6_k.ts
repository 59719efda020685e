// Q6_K: super-blocks of 256 weights in 210 bytes (6.5625 bits per weight), ggml type 14.
// Layout (ggml-common.h `block_q6_K`): ql[128] [0:128], qh[64] [128:192], scales[16] int8 [192:208],
// d fp16 [208:210]. Sixteen sub-blocks of 16 with signed 8-bit scales. For half h (0..1, 128 weights)
// and l in 0..31, with ql' = ql + 64h, qh' = qh + 32h, weights 128h + l + 32k (k = 0..3) are
//   k=0: ql'[l] & 0xF,  bits 0-1 of qh'[l];   k=1: ql'[l+32] & 0xF, bits 2-3;
//   k=2: ql'[l] >> 4,   bits 4-5;             k=3: ql'[l+32] >> 4,  bits 6-7
// (4 low bits | 2 high bits << 4) = q in 0..63; weight = d·scales[16h + 2k + l/16]·(q - 32).
// quantize = ggml-quants.c `quantize_row_q6_K_ref` (no imatrix): make_qx_quants(16, 32, rmse_type 1)
// per sub-block; iscale = -128/max_scale (max_scale = the signed scale of largest magnitude); int8
// scales = min(127, nearest_int(iscale·scale)); d = fp16(1/iscale); then every value is re-quantized
// with the stored d·scale, clamped to [-32, 31] and offset by 32. A block whose largest |scale| is
// below 1e-15 is stored as all zero bytes.
import { checkFloats, checkQuantizeInput, checkSource, GROUP_MAX_EPS, nearestInt, QK_K } from './common.js';
import { f32ToFp16, fp16ToF32, readFp16 } from './half.js';
import { clamp, makeQxQuantsRmse1 } from './kquants.js';

export const BLOCK_Q6_K = 210;

const fr = Math.fround;

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q6_K dequantize', src, srcOffset, n, QK_K, BLOCK_Q6_K);
  checkFloats('Q6_K dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, yb = dstOffset; b < n / QK_K; b++, o += BLOCK_Q6_K, yb += QK_K) {
    const d = readFp16(src, o + 208);
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      const y = yb + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const hb = src[qh + l];
        const q1 = ((src[ql + l] & 0xf) | ((hb & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0xf) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        // (d·sc)·q in float32: d·sc is exact, the product with q can round (19 + 6 bits)
        dst[y + l] = fr(d * int8(src[sc + is])) * q1;
        dst[y + l + 32] = fr(d * int8(src[sc + is + 2])) * q2;
        dst[y + l + 64] = fr(d * int8(src[sc + is + 4])) * q3;
        dst[y + l + 96] = fr(d * int8(src[sc + is + 6])) * q4;
      }
    }
  }
}

function int8(b: number): number {
  return (b << 24) >> 24;
}

/** Scratch of one Q6_K block quantization. */
class Q6Scratch {
  readonly L = new Uint8Array(QK_K);
  readonly scales = new Float32Array(16);
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q6_K quantize', src, n, QK_K);
  const out = new Uint8Array((n / QK_K) * BLOCK_Q6_K);
  const s = new Q6Scratch();
  for (let b = 0; b < n / QK_K; b++) quantizeBlock(src, b * QK_K, out, b * BLOCK_Q6_K, s);
  return out;
}

function quantizeBlock(x: Float32Array, xOff: number, out: Uint8Array, o: number, s: Q6Scratch): void {
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const scale = makeQxQuantsRmse1(16, 32, x, xOff + 16 * ib, s.L, 16 * ib);
    s.scales[ib] = scale;
    if (Math.abs(scale) > maxAbsScale) {
      maxAbsScale = Math.abs(scale);
      maxScale = scale;
    }
  }
  if (maxAbsScale < GROUP_MAX_EPS) return; // the block stays all zero bytes (d = +0)
  const iscale = fr(-128 / maxScale);
  const dBits = f32ToFp16(fr(1 / iscale));
  out[o + 208] = dBits & 0xff;
  out[o + 209] = dBits >> 8;
  for (let ib = 0; ib < 16; ib++) {
    // C: int8_t = MIN(127, nearest_int(...)): the int is narrowed to int8 (wraps), as `& 0xff` stores it
    out[o + 192 + ib] = Math.min(127, nearestInt(fr(iscale * s.scales[ib]))) & 0xff;
  }
  const dAll = fp16ToF32(dBits);
  for (let j = 0; j < 16; j++) {
    const d = fr(dAll * int8(out[o + 192 + j]));
    if (!d) continue; // levels stay as make_qx_quants left them (ggml does the same)
    for (let ii = 0; ii < 16; ii++) {
      s.L[16 * j + ii] = clamp(nearestInt(fr(x[xOff + 16 * j + ii] / d)), -32, 31) + 32;
    }
  }
  packQ6(s.L, out, o);
}

function packQ6(L: Uint8Array, out: Uint8Array, o: number): void {
  for (let h = 0; h < 2; h++) {
    const j = 128 * h;
    const ql = o + 64 * h;
    const qh = o + 128 + 32 * h;
    for (let l = 0; l < 32; l++) {
      const a = L[j + l];
      const b = L[j + l + 32];
      const c = L[j + l + 64];
      const e = L[j + l + 96];
      out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
      out[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
      out[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q6_K dot', src, srcOffset, n, QK_K, BLOCK_Q6_K);
  checkFloats('Q6_K dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset, xb = xOffset; b < n / QK_K; b++, o += BLOCK_Q6_K, xb += QK_K) {
    const d = readFp16(src, o + 208);
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      const xh = xb + 128 * h;
      // sub-block sums: 16 values share a scale; index 2k + (l >> 4) as in the layout comment
      for (let half = 0; half < 2; half++) {
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let s4 = 0;
        for (let l = 16 * half; l < 16 * half + 16; l++) {
          const hb = src[qh + l];
          const lo = src[ql + l];
          const hi = src[ql + l + 32];
          s1 += (((lo & 0xf) | ((hb & 3) << 4)) - 32) * x[xh + l];
          s2 += (((hi & 0xf) | (((hb >> 2) & 3) << 4)) - 32) * x[xh + l + 32];
          s3 += (((lo >> 4) | (((hb >> 4) & 3) << 4)) - 32) * x[xh + l + 64];
          s4 += (((hi >> 4) | (((hb >> 6) & 3) << 4)) - 32) * x[xh + l + 96];
        }
        sum +=
          d *
          (int8(src[sc + half]) * s1 +
            int8(src[sc + half + 2]) * s2 +
            int8(src[sc + half + 4]) * s3 +
            int8(src[sc + half + 6]) * s4);
      }
    }
  }
  return sum;
}
