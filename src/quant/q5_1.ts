// Q5_1: blocks of 32 weights in 24 bytes (6 bits per weight), ggml type 7. llama.cpp uses it where a
// Q5_K tensor's rows are not a multiple of 256 (llama-quant.cpp tensor_type_fallback).
// Layout (ggml-common.h `block_q5_1`): d fp16 [0:2], m fp16 [2:4], qh u32 LE [4:8] (bit j = 5th bit of
// weight j), qs[16] [8:24] (byte j: weight j low nibble, weight j+16 high nibble); weight = q·d + m.
// quantize = ggml-quants.c `quantize_row_q5_1_ref`: min and max of the block, d = (max - min)/31,
// q = (uint8_t)((x - min)·(1/d) + 0.5) (truncation), d and m = min stored as fp16.
// Tested in test/quantize-mix.test.ts.
import { checkFloats, checkQuantizeInput, checkSource } from './common.js';
import { f32ToFp16, readFp16 } from './half.js';

export const QK5_1 = 32;
export const BLOCK_Q5_1 = 24;

const fr = Math.fround;

function qhOf(src: Uint8Array, o: number): number {
  return (src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24)) >>> 0;
}

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q5_1 dequantize', src, srcOffset, n, QK5_1, BLOCK_Q5_1);
  checkFloats('Q5_1 dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, y = dstOffset; b < n / QK5_1; b++, o += BLOCK_Q5_1, y += QK5_1) {
    const d = readFp16(src, o);
    const m = readFp16(src, o + 2);
    const qh = qhOf(src, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      // q·d is exact in float32; the addition rounds once (unfused, as in ggml's portable build)
      dst[y + j] = ((q & 0xf) | (((qh >>> j) << 4) & 0x10)) * d + m;
      dst[y + j + 16] = ((q >> 4) | ((qh >>> (j + 12)) & 0x10)) * d + m;
    }
  }
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q5_1 quantize', src, n, QK5_1);
  const out = new Uint8Array((n / QK5_1) * BLOCK_Q5_1);
  for (let b = 0; b < n / QK5_1; b++) {
    const x = b * QK5_1;
    const o = b * BLOCK_Q5_1;
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < QK5_1; j++) {
      const v = src[x + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / 31);
    const id = d ? fr(1 / d) : 0;
    const hd = f32ToFp16(d);
    const hm = f32ToFp16(min);
    out[o] = hd & 0xff;
    out[o + 1] = hd >> 8;
    out[o + 2] = hm & 0xff;
    out[o + 3] = hm >> 8;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.trunc(fr(fr(fr(src[x + j] - min) * id) + 0.5)) & 0xff;
      const q1 = Math.trunc(fr(fr(fr(src[x + j + 16] - min) * id) + 0.5)) & 0xff;
      out[o + 8 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    out[o + 4] = qh & 0xff;
    out[o + 5] = (qh >>> 8) & 0xff;
    out[o + 6] = (qh >>> 16) & 0xff;
    out[o + 7] = qh >>> 24;
  }
  return out;
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q5_1 dot', src, srcOffset, n, QK5_1, BLOCK_Q5_1);
  checkFloats('Q5_1 dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK5_1; b++, o += BLOCK_Q5_1, xi += QK5_1) {
    const qh = qhOf(src, o + 4);
    let qx = 0;
    let sx = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const xa = x[xi + j];
      const xb = x[xi + j + 16];
      qx += ((q & 0xf) | (((qh >>> j) << 4) & 0x10)) * xa + ((q >> 4) | ((qh >>> (j + 12)) & 0x10)) * xb;
      sx += xa + xb;
    }
    sum += readFp16(src, o) * qx + readFp16(src, o + 2) * sx;
  }
  return sum;
}
