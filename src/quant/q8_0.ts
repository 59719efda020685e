// Q8_0: blocks of 32 weights in 34 bytes (8.5 bits per weight), ggml type 8.
// Layout (ggml-common.h `block_q8_0`): d fp16 [0:2], qs[32] int8 [2:34]; weight = qs[j]·d.
// quantize = ggml-quants.c `quantize_row_q8_0_ref`: d = max|x| / 127, qs = roundf(x / d) with C roundf
// (half away from zero, not JS Math.round), d stored as fp16 (the rounding uses the float32 1/d).
import { checkFloats, checkQuantizeInput, checkSource } from './common.js';
import { f32ToFp16, readFp16 } from './half.js';

export const QK8_0 = 32;
export const BLOCK_Q8_0 = 34;

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q8_0 dequantize', src, srcOffset, n, QK8_0, BLOCK_Q8_0);
  checkFloats('Q8_0 dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, y = dstOffset; b < n / QK8_0; b++, o += BLOCK_Q8_0, y += QK8_0) {
    const d = readFp16(src, o);
    for (let j = 0; j < QK8_0; j++) dst[y + j] = ((src[o + 2 + j] << 24) >> 24) * d; // exact in float32
  }
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q8_0 quantize', src, n, QK8_0);
  const fr = Math.fround;
  const out = new Uint8Array((n / QK8_0) * BLOCK_Q8_0);
  for (let b = 0; b < n / QK8_0; b++) {
    const x = b * QK8_0;
    const o = b * BLOCK_Q8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) {
      const a = Math.abs(src[x + j]);
      if (a > amax) amax = a; // ggml MAX(amax, a)
    }
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    const h = f32ToFp16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >> 8;
    for (let j = 0; j < QK8_0; j++) out[o + 2 + j] = roundHalfAway(fr(src[x + j] * id)) & 0xff;
  }
  return out;
}

/** C `roundf`: round half away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q8_0 dot', src, srcOffset, n, QK8_0, BLOCK_Q8_0);
  checkFloats('Q8_0 dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset + 2, xi = xOffset; b < n / QK8_0; b++, o += BLOCK_Q8_0, xi += QK8_0) {
    let s = 0;
    for (let j = 0; j < QK8_0; j++) s += ((src[o + j] << 24) >> 24) * x[xi + j];
    sum += readFp16(src, o - 2) * s;
  }
  return sum;
}
