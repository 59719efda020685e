// Shared pieces of the reference codecs: argument checks, ggml's `nearest_int`, float32 arithmetic.
//
// Bit-exactness with ggml's C reference quantizers (ggml/src/ggml-quants.c) needs float32 arithmetic:
// every product, sum and quotient that C computes in `float` is rounded with Math.fround here.
// Doing one float32 operation in float64 and then rounding to float32 gives the same result as the
// float32 operation itself for + - * / and sqrt (53 >= 2·24 + 2, the "innocuous double rounding"
// theorem), so `fround(a * b)` with float32 a, b is exactly C's `a * b`.
// We emulate C compiled without FMA contraction (as llama.cpp's portable libggml-base is); a build
// that fuses `a*b + c` into an FMA can round differently in rare near-tie cases.
import { Phi3Error } from '../errors.js';

export const QK_K = 256;

/** ggml's GROUP_MAX_EPS (1e-15f): a group whose largest |x| is below it quantizes to all zeros. */
export const GROUP_MAX_EPS = Math.fround(1e-15);

const scratchF32 = new Float32Array(1);
const scratchI32 = new Int32Array(scratchF32.buffer);

/**
 * ggml `nearest_int`: float32 add of 1.5·2^23, then the low mantissa bits. Round-half-to-even for
 * |f| < 2^22 (JS Math.round is half-up, not the same); outside that range it reproduces the same bits
 * the C trick gives in a release build (where its assert is compiled out).
 */
export function nearestInt(f: number): number {
  scratchF32[0] = f + 12582912; // f is a float32 value: this rounding is C's `fval + 12582912.f`
  return (scratchI32[0] & 0x007fffff) - 0x00400000;
}

/** Throws unless `n` is a non-negative multiple of `blockSize` (the row length every codec needs). */
export function checkCount(name: string, n: number, blockSize: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n % blockSize !== 0) {
    throw new Phi3Error(`${name}: element count ${n} is not a non-negative multiple of the block size ${blockSize}`);
  }
}

/** Checks a decode/dot request: `n` elements from `src[srcOffset]` must be inside the buffer. */
export function checkSource(
  name: string,
  src: Uint8Array,
  srcOffset: number,
  n: number,
  blockSize: number,
  typeSize: number,
): void {
  checkCount(name, n, blockSize);
  const bytes = (n / blockSize) * typeSize;
  if (!Number.isSafeInteger(srcOffset) || srcOffset < 0 || srcOffset + bytes > src.length) {
    throw new Phi3Error(
      `${name}: ${n} elements need ${bytes} bytes at offset ${srcOffset}, but the source holds ${src.length} bytes`,
    );
  }
}

/** Checks that `n` values fit in `arr` from `offset` (the f32 side of decode and dot). */
export function checkFloats(name: string, what: string, arr: Float32Array, offset: number, n: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > arr.length) {
    throw new Phi3Error(`${name}: ${what} needs ${n} values at offset ${offset}, but holds ${arr.length}`);
  }
}

/** Checks a quantize request: `n` values of `src`, `n` a multiple of the block size. */
export function checkQuantizeInput(name: string, src: Float32Array, n: number, blockSize: number): void {
  checkCount(name, n, blockSize);
  if (n > src.length) throw new Phi3Error(`${name}: asked to quantize ${n} values, but the source holds ${src.length}`);
}

/** Host byte order: typed-array views of file bytes are only valid on little-endian hosts. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
