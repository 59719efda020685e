// Plain float tensor types: F32 (4 bytes, IEEE float32), F16 (2 bytes, IEEE binary16), BF16 (2 bytes,
// bfloat16), all little-endian, one element per "block" (ggml type ids 0, 1 and 30).
// Conversions are ggml's (see half.ts): F16 round-to-nearest-even, BF16 `ggml_compute_fp32_to_bf16`.
// The dot products accumulate in float64 (more precise than ggml's float32/fp16 SIMD accumulators).
import { checkFloats, checkQuantizeInput, checkSource, LITTLE_ENDIAN } from './common.js';
import { bf16ToF32, f32Bits, f32FromBits, f32ToBf16, f32ToFp16, FP16_TABLE } from './half.js';

// Whole-buffer float32 views, one per buffer, so the hot dot loop allocates nothing per call.
const f32Views = new WeakMap<ArrayBufferLike, Float32Array>();

/**
 * A float32 view of all of `src`'s buffer when `src[byteOff]` is 4-byte aligned on a little-endian host
 * (element index: (src.byteOffset + byteOff) / 4), else null (then bytes are assembled one by one).
 */
function alignedF32(src: Uint8Array, byteOff: number): Float32Array | null {
  if (!LITTLE_ENDIAN || (src.byteOffset + byteOff) % 4 !== 0) return null;
  const len = Math.floor(src.buffer.byteLength / 4);
  let view = f32Views.get(src.buffer);
  if (!view || view.length !== len) {
    view = new Float32Array(src.buffer, 0, len);
    f32Views.set(src.buffer, view);
  }
  return view;
}

function readF32(src: Uint8Array, o: number): number {
  return f32FromBits(src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24));
}

export function dequantizeF32(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('F32 dequantize', src, srcOffset, n, 1, 4);
  checkFloats('F32 dequantize', 'destination', dst, dstOffset, n);
  const view = alignedF32(src, srcOffset);
  if (view) {
    const base = (src.byteOffset + srcOffset) / 4;
    dst.set(view.subarray(base, base + n), dstOffset);
    return;
  }
  for (let i = 0; i < n; i++) dst[dstOffset + i] = readF32(src, srcOffset + 4 * i);
}

export function quantizeF32(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('F32 quantize', src, n, 1);
  const out = new Uint8Array(4 * n);
  if (LITTLE_ENDIAN) {
    new Float32Array(out.buffer).set(src.subarray(0, n));
    return out;
  }
  for (let i = 0; i < n; i++) {
    const b = f32Bits(src[i]);
    out[4 * i] = b & 0xff;
    out[4 * i + 1] = (b >>> 8) & 0xff;
    out[4 * i + 2] = (b >>> 16) & 0xff;
    out[4 * i + 3] = b >>> 24;
  }
  return out;
}

export function dotF32(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('F32 dot', src, srcOffset, n, 1, 4);
  checkFloats('F32 dot', 'activation', x, xOffset, n);
  let sum = 0;
  const w = alignedF32(src, srcOffset);
  if (w) {
    const base = (src.byteOffset + srcOffset) / 4;
    for (let i = 0; i < n; i++) sum += w[base + i] * x[xOffset + i];
    return sum;
  }
  for (let i = 0; i < n; i++) sum += readF32(src, srcOffset + 4 * i) * x[xOffset + i];
  return sum;
}

export function dequantizeF16(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('F16 dequantize', src, srcOffset, n, 1, 2);
  checkFloats('F16 dequantize', 'destination', dst, dstOffset, n);
  const table = FP16_TABLE;
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) dst[dstOffset + i] = table[src[o] | (src[o + 1] << 8)];
}

export function quantizeF16(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('F16 quantize', src, n, 1);
  const out = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const h = f32ToFp16(src[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return out;
}

export function dotF16(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('F16 dot', src, srcOffset, n, 1, 2);
  checkFloats('F16 dot', 'activation', x, xOffset, n);
  const table = FP16_TABLE; // a local alias: V8 runs this loop ~10x slower reading the imported binding
  let sum = 0;
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) sum += table[src[o] | (src[o + 1] << 8)] * x[xOffset + i];
  return sum;
}

const bf16Val = new Float32Array(1);
const bf16Bits = new Int32Array(bf16Val.buffer);

export function dequantizeBF16(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  checkSource('BF16 dequantize', src, srcOffset, n, 1, 2);
  checkFloats('BF16 dequantize', 'destination', dst, dstOffset, n);
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) dst[dstOffset + i] = bf16ToF32(src[o] | (src[o + 1] << 8));
}

export function quantizeBF16(src: Float32Array, n: number): Uint8Array {
  checkQuantizeInput('BF16 quantize', src, n, 1);
  const out = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const h = f32ToBf16(src[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return out;
}

export function dotBF16(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  checkSource('BF16 dot', src, srcOffset, n, 1, 2);
  checkFloats('BF16 dot', 'activation', x, xOffset, n);
  // bf16 -> f32 is a 16-bit shift: go through a local scratch word (bit cast) instead of a call per element
  const bits = bf16Bits;
  const val = bf16Val;
  let sum = 0;
  for (let i = 0, o = srcOffset; i < n; i++, o += 2) {
    bits[0] = (src[o] << 16) | (src[o + 1] << 24);
    sum += val[0] * x[xOffset + i];
  }
  return sum;
}
