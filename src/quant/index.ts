// The codec table: for each ggml tensor type this engine computes with, its block geometry, reference
// decoder, reference (ggml `quantize_row_<type>_ref`-identical) encoder and row·vector dot product.
// Every codec is plain TypeScript and the ground truth fast kernels are tested against.
//
// dotRow is the reference matmul inner loop: Σ dequant(w)_i · x_i over one quantized weight row, computed
// block by block without materializing the row. It accumulates in float64 (per-block partial sums
// factored by the block scales), so it equals Σ dequant(w)·x to ~1e-12 relative, more precise than
// ggml's own kernels (which quantize x to Q8 and accumulate in float32): compare against ggml with a
// tolerance, never bit for bit.
import { Phi3Error } from '../errors.js';
import * as float from './float.js';
import * as q4_0 from './q4_0.js';
import * as q4_k from './q4_k.js';
import * as q5_0 from './q5_0.js';
import * as q5_1 from './q5_1.js';
import * as q5_k from './q5_k.js';
import * as q6_k from './q6_k.js';
import * as q8_0 from './q8_0.js';
import { GGMLType, TYPE_INFO, typeName } from './types.js';

export type DequantizeFn = (src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number) => void;
export type QuantizeFn = (src: Float32Array, n: number) => Uint8Array;
export type DotFn = (src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number) => number;

export interface QuantCodec {
  readonly type: GGMLType;
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** Decodes `n` elements (a multiple of blockSize) starting at byte `srcOffset` into dst[dstOffset..]. */
  dequantize: DequantizeFn;
  /** Encodes the first `n` values of src (n a multiple of blockSize) exactly as ggml's reference quantizer. */
  quantize: QuantizeFn;
  /** Σ dequant(src)_i · x[xOffset + i] over `n` elements, float64 accumulation. */
  dot: DotFn;
}

function codec(type: GGMLType, dequantize: DequantizeFn, quantize: QuantizeFn, dot: DotFn): QuantCodec {
  const info = TYPE_INFO[type];
  return Object.freeze({ type, name: info.name, blockSize: info.blockSize, typeSize: info.typeSize, dequantize, quantize, dot });
}

const CODECS: ReadonlyMap<GGMLType, QuantCodec> = new Map([
  [GGMLType.F32, codec(GGMLType.F32, float.dequantizeF32, float.quantizeF32, float.dotF32)],
  [GGMLType.F16, codec(GGMLType.F16, float.dequantizeF16, float.quantizeF16, float.dotF16)],
  [GGMLType.BF16, codec(GGMLType.BF16, float.dequantizeBF16, float.quantizeBF16, float.dotBF16)],
  [GGMLType.Q4_0, codec(GGMLType.Q4_0, q4_0.dequantize, q4_0.quantize, q4_0.dot)],
  [GGMLType.Q8_0, codec(GGMLType.Q8_0, q8_0.dequantize, q8_0.quantize, q8_0.dot)],
  [GGMLType.Q5_0, codec(GGMLType.Q5_0, q5_0.dequantize, q5_0.quantize, q5_0.dot)],
  [GGMLType.Q5_1, codec(GGMLType.Q5_1, q5_1.dequantize, q5_1.quantize, q5_1.dot)],
  [GGMLType.Q4_K, codec(GGMLType.Q4_K, q4_k.dequantize, q4_k.quantize, q4_k.dot)],
  [GGMLType.Q5_K, codec(GGMLType.Q5_K, q5_k.dequantize, q5_k.quantize, q5_k.dot)],
  [GGMLType.Q6_K, codec(GGMLType.Q6_K, q6_k.dequantize, q6_k.quantize, q6_k.dot)],
]);

/** Whether getCodec(type) succeeds. */
export function hasCodec(type: number): boolean {
  return CODECS.has(type);
}

/** The codec of `type`; throws a Phi3Error naming the type when this engine cannot decode it. */
export function getCodec(type: GGMLType): QuantCodec {
  const c = CODECS.get(type);
  if (!c) throw new Phi3Error(`tensor type ${typeName(type)} (ggml type ${type}) is not supported`);
  return c;
}

/** Decodes `n` elements of `type` from src[srcOffset..] into dst[dstOffset..]. */
export function dequantizeRow(
  type: GGMLType,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  n: number,
): void {
  getCodec(type).dequantize(src, srcOffset, dst, dstOffset, n);
}

/** Encodes the first `n` values of src as `type`, byte-identical to ggml's reference quantizer. */
export function quantizeRow(type: GGMLType, src: Float32Array, n: number): Uint8Array {
  return getCodec(type).quantize(src, n);
}

/** Σ dequant(row)_i · x[xOffset + i] for the `n`-element row of `type` at src[srcOffset..]. */
export function dotRow(type: GGMLType, src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  return getCodec(type).dot(src, srcOffset, x, xOffset, n);
}

export { GGMLType } from './types.js';
export { bf16ToF32, f32ToBf16, f32ToFp16, fp16ToF32 } from './half.js';
