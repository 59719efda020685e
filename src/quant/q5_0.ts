// Q5_0: blocks of 32 weights in 22 bytes (5.5 bits per weight), ggml type 6. llama.cpp uses it where a
// Q4_K tensor's rows are not a multiple of 256 (llama-quant.cpp tensor_type_fallback), so small models
// quantized "Q4_K_M" hold mostly Q5_0.
// Layout (ggml-common.h `block_q5_0`): d fp16 [0:2], qh u32 LE [2:6] (bit j = 5th bit of weight j),
// qs[16] [6:22] (byte j: weight j low nibble, weight j+16 high nibble); weight = (q - 16)·d.
// quantize = ggml-quants.c `quantize_row_q5_0_ref`: the signed value of largest magnitude (first on ties)
// sets d = max / -16; q = min(31, trunc(x·(1/d) + 16.5)). Tested in test/quantize-mix.test.ts against
// hand-derived blocks and a round trip.
import { checkFloats, checkQuantizeInput, checkSource } from './common.js';
import { f32ToFp16, readFp16 } from './half.js';

export const QK5_0 = 32;
export const BLOCK_Q5_0 = 22;

const fr = Math.fround;

function qhOf(src: Uint8Array, o: number): number {
  return (src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24)) >>> 0;
}

export function dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('Q5_0 dequantize', src, srcOffset, n, QK5_0, BLOCK_Q5_0);
  checkFloats('Q5_0 dequantize', 'destination', dst, dstOffset, n);
  for (let b = 0, o = srcOffset, y = dstOffset; b < n / QK5_0; b++, o += BLOCK_Q5_0, y += QK5_0) {
    const d = readFp16(src, o);
    const qh = qhOf(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      dst[y + j] = (((q & 0xf) | (((qh >>> j) << 4) & 0x10)) - 16) * d; // exact in float32
      dst[y + j + 16] = (((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * d;
    }
  }
}

export function quantize(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('Q5_0 quantize', src, n, QK5_0);
  const out = new Uint8Array((n / QK5_0) * BLOCK_Q5_0);
  for (let b = 0; b < n / QK5_0; b++) {
    const x = b * QK5_0;
    const o = b * BLOCK_Q5_0;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK5_0; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -16);
    const id = d ? fr(1 / d) : 0;
    const h = f32ToFp16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >> 8;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = level(fr(src[x + j] * id));
      const q1 = level(fr(src[x + j + 16] * id));
      out[o + 6 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    out[o + 2] = qh & 0xff;
    out[o + 3] = (qh >>> 8) & 0xff;
    out[o + 4] = (qh >>> 16) & 0xff;
    out[o + 5] = qh >>> 24;
  }
  return out;
}

/** `MIN(31, (int8_t)(v + 16.5f))`: v + 16.5 >= 0 here, so the C conversion truncates toward zero. */
function level(v: number): number {
  return Math.min(31, Math.trunc(fr(v + 16.5)));
}

export function dot(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('Q5_0 dot', src, srcOffset, n, QK5_0, BLOCK_Q5_0);
  checkFloats('Q5_0 dot', 'activation', x, xOffset, n);
  let sum = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK5_0; b++, o += BLOCK_Q5_0, xi += QK5_0) {
    const qh = qhOf(src, o + 2);
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      s += (((q & 0xf) | (((qh >>> j) << 4) & 0x10)) - 16) * x[xi + j];
      s += (((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * x[xi + j + 16];
    }
    sum += readFp16(src, o) * s;
  }
  return sum;
}
