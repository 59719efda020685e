// Q4_0: blocks of 32 weights in 18 bytes (4.5 bits per weight), ggml type 2.
// Layout (ggml-common.h `block_q4_0`): d fp16 [0:2], qs[16] [2:18]. Byte j holds weight j in its low
// nibble and weight j+16 in its high nibble; weight = (nibble - 8)·d.
// quantize = ggml-quants.c `quantize_row_q4_0_ref`: the signed value of largest magnitude (first one on
// ties) sets d = max / -8, so it maps to nibble 0 (= -8) exactly; q = min(15, trunc(x/d + 8.5)).
import { checkFloats, checkQuantizeInput, checkSource } from './common.js';
import { f32ToFp16, readFp16 } from './half.js';

export const QK4_0 = 32;
export const BLOCK_Q4_0 = 18;

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q4_0 dequantize', src, srcOffset, n, QK4_0, BLOCK_Q4_0);
  checkFloats('Q4_0 dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, y = dstOffset; b < n / QK4_0; b++, o += BLOCK_Q4_0, y += QK4_0) {
    const d = readFp16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      // (nibble - 8)·d is exact in float32 (4-bit × 11-bit significands), as in ggml
      dst[y + j] = ((q & 0xf) - 8) * d;
      dst[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q4_0 quantize', src, n, QK4_0);
  const fr = Math.fround;
  const out = new Uint8Array((n / QK4_0) * BLOCK_Q4_0);
  for (let b = 0; b < n / QK4_0; b++) {
    const x = b * QK4_0;
    const o = b * BLOCK_Q4_0;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0; // from the float32 d, not the fp16-rounded one
    const h = f32ToFp16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >> 8;
    for (let j = 0; j < 16; j++) {
      out[o + 2 + j] = nibble(fr(src[x + j] * id)) | (nibble(fr(src[x + j + 16] * id)) << 4);
    }
  }
  return out;
}

/** `MIN(15, (int8_t)(v + 8.5f))`: v + 8.5 >= 0 here, so the C conversion truncates toward zero. */
function nibble(v: number): number {
  return Math.min(15, Math.trunc(Math.fround(v + 8.5)));
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q4_0 dot', src, srcOffset, n, QK4_0, BLOCK_Q4_0);
  checkFloats('Q4_0 dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK4_0; b++, o += BLOCK_Q4_0, xi += QK4_0) {
    // Σ (q-8)·d·x = d · Σ (q-8)·x: one multiply by d per block
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      s += ((q & 0xf) - 8) * x[xi + j] + ((q >> 4) - 8) * x[xi + j + 16];
    }
    sum += readFp16(src, o) * s;
  }
  return sum;
}
