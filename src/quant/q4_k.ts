// Q4_K: super-blocks of 256 weights in 144 bytes (4.5 bits per weight), ggml type 12.
// Layout (ggml-common.h `block_q4_K`): d fp16 [0:2], dmin fp16 [2:4], scales[12] [4:16] (eight 6-bit
// scales and eight 6-bit mins, see kquants.ts getScaleMinK4), qs[128] [16:144]. Eight sub-blocks of 32;
// qs byte 32c+l holds sub-block 2c (weight 64c+l) in its low nibble and sub-block 2c+1 (weight 64c+32+l)
// in its high nibble. weight = d·sc_s·q - dmin·m_s.
// quantize = ggml-quants.c `quantize_row_q4_K_ref` (no imatrix): make_qkx2_quants(nmax 15, rmin -1,
// rdelta 0.1, nstep 20) per sub-block, see kquants.ts quantizeScaleMinBlock.
import { checkFloats, checkQuantizeInput, checkSource, QK_K } from './common.js';
import { readFp16 } from './half.js';
import { getScaleMinK4, KBlockScratch, quantizeScaleMinBlock } from './kquants.js';

export const BLOCK_Q4_K = 144;

const sm = new Uint8Array(2);
const fr = Math.fround;

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q4_K dequantize', src, srcOffset, n, QK_K, BLOCK_Q4_K);
  checkFloats('Q4_K dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, y = dstOffset; b < n / QK_K; b++, o += BLOCK_Q4_K, y += QK_K) {
    const d = readFp16(src, o);
    const dmin = readFp16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      getScaleMinK4(2 * c, src, o + 4, sm);
      const d1 = fr(d * sm[0]);
      const m1 = fr(dmin * sm[1]);
      getScaleMinK4(2 * c + 1, src, o + 4, sm);
      const d2 = fr(d * sm[0]);
      const m2 = fr(dmin * sm[1]);
      const q = o + 16 + 32 * c;
      const yc = y + 64 * c;
      for (let l = 0; l < 32; l++) {
        // float32 d1·q is exact; the subtraction rounds once (unfused, as in ggml's portable build)
        dst[yc + l] = d1 * (src[q + l] & 0xf) - m1;
        dst[yc + 32 + l] = d2 * (src[q + l] >> 4) - m2;
      }
    }
  }
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q4_K quantize', src, n, QK_K);
  const out = new Uint8Array((n / QK_K) * BLOCK_Q4_K);
  const s = new KBlockScratch();
  for (let b = 0; b < n / QK_K; b++) {
    const o = b * BLOCK_Q4_K;
    quantizeScaleMinBlock(src, b * QK_K, 15, -1, 20, out, o, s);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) out[o + 16 + 32 * c + l] = s.L[64 * c + l] | (s.L[64 * c + 32 + l] << 4);
    }
  }
  return out;
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q4_K dot', src, srcOffset, n, QK_K, BLOCK_Q4_K);
  checkFloats('Q4_K dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset, xb = xOffset; b < n / QK_K; b++, o += BLOCK_Q4_K, xb += QK_K) {
    const d = readFp16(src, o);
    const dmin = readFp16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      // Σ (d·sc·q - dmin·m)·x = d·sc·Σq·x - dmin·m·Σx, per sub-block
      const q = o + 16 + 32 * c;
      const xc = xb + 64 * c;
      let qx1 = 0;
      let qx2 = 0;
      let x1 = 0;
      let x2 = 0;
      for (let l = 0; l < 32; l++) {
        const b0 = src[q + l];
        const xa = x[xc + l];
        const xz = x[xc + 32 + l];
        qx1 += (b0 & 0xf) * xa;
        qx2 += (b0 >> 4) * xz;
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
