// Q5_K: super-blocks of 256 weights in 176 bytes (5.5 bits per weight), ggml type 13.
// Layout (ggml-common.h `block_q5_K`): d fp16 [0:2], dmin fp16 [2:4], scales[12] [4:16] (6-bit scales and
// mins packed as in Q4_K), qh[32] [16:48], qs[128] [48:176]. Eight sub-blocks of 32. For chunk c (0..3):
// qs byte 32c+l has the low 4 bits of weight 64c+l (low nibble) and 64c+32+l (high nibble); their 5th
// bits are bit 2c and bit 2c+1 of qh[l]. weight = d·sc_s·q - dmin·m_s, q in 0..31.
// quantize = ggml-quants.c `quantize_row_q5_K_ref` (no imatrix): as Q4_K but make_qkx2_quants with
// nmax 31, rmin -0.5, rdelta 0.1, nstep 15.
import { checkFloats, checkQuantizeInput, checkSource, QK_K } from './common.js';
import { readFp16 } from './half.js';
import { getScaleMinK4, KBlockScratch, quantizeScaleMinBlock } from './kquants.js';

export const BLOCK_Q5_K = 176;

const sm = new Uint8Array(2);
const fr = Math.fround;

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q5_K dequantize', src, srcOffset, n, QK_K, BLOCK_Q5_K);
  checkFloats('Q5_K dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, y = dstOffset; b < n / QK_K; b++, o += BLOCK_Q5_K, y += QK_K) {
    const d = readFp16(src, o);
    const dmin = readFp16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      getScaleMinK4(2 * c, src, o + 4, sm);
      const d1 = fr(d * sm[0]);
      const m1 = fr(dmin * sm[1]);
      getScaleMinK4(2 * c + 1, src, o + 4, sm);
      const d2 = fr(d * sm[0]);
      const m2 = fr(dmin * sm[1]);
      const u1 = 1 << (2 * c);
      const u2 = 2 << (2 * c);
      const ql = o + 48 + 32 * c;
      const yc = y + 64 * c;
      for (let l = 0; l < 32; l++) {
        const h = src[o + 16 + l];
        dst[yc + l] = d1 * ((src[ql + l] & 0xf) + (h & u1 ? 16 : 0)) - m1;
        dst[yc + 32 + l] = d2 * ((src[ql + l] >> 4) + (h & u2 ? 16 : 0)) - m2;
      }
    }
  }
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q5_K quantize', src, n, QK_K);
  const out = new Uint8Array((n / QK_K) * BLOCK_Q5_K);
  const s = new KBlockScratch();
  for (let b = 0; b < n / QK_K; b++) {
    const o = b * BLOCK_Q5_K;
    quantizeScaleMinBlock(src, b * QK_K, 31, -0.5, 15, out, o, s);
    packQ5(s.L, out, o);
  }
  return out;
}

/** Splits the 5-bit levels L[0..256) into qs nibbles and qh bits (qh is zero from the fresh buffer). */
function packQ5(L: Uint8Array, out: Uint8Array, o: number): void {
  for (let c = 0; c < 4; c++) {
    const m1 = 1 << (2 * c);
    const m2 = 2 << (2 * c);
    for (let j = 0; j < 32; j++) {
      let l1 = L[64 * c + j];
      let l2 = L[64 * c + 32 + j];
      if (l1 > 15) {
        l1 -= 16;
        out[o + 16 + j] |= m1;
      }
      if (l2 > 15) {
        l2 -= 16;
        out[o + 16 + j] |= m2;
      }
      out[o + 48 + 32 * c + j] = l1 | (l2 << 4);
    }
  }
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q5_K dot', src, srcOffset, n, QK_K, BLOCK_Q5_K);
  checkFloats('Q5_K dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset, xb = xOffset; b < n / QK_K; b++, o += BLOCK_Q5_K, xb += QK_K) {
    const d = readFp16(src, o);
    const dmin = readFp16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      const u1 = 1 << (2 * c);
      const u2 = 2 << (2 * c);
      const ql = o + 48 + 32 * c;
      const xc = xb + 64 * c;
      let qx1 = 0;
      let qx2 = 0;
      let x1 = 0;
      let x2 = 0;
      for (let l = 0; l < 32; l++) {
        const h = src[o + 16 + l];
        const xa = x[xc + l];
        const xz = x[xc + 32 + l];
        qx1 += ((src[ql + l] & 0xf) + (h & u1 ? 16 : 0)) * xa;
        qx2 += ((src[ql + l] >> 4) + (h & u2 ? 16 : 0)) * xz;
        x1 += xa;
        x2 += xz;
      }
      getScaleMinK4(2 * c, src, o + 4, sm);
      sum += d * sm[0] * qx1 - dmin * sm[1] * x1;
      getScaleMinK4(2 * c + 1, src, o + 4, sm);
      sum += d * sm[0] * qx2 - dmin * sm[1] * x2;
    }
  }
  return sum;
}
