// IEEE binary16 (fp16, `ggml_half`) and bfloat16 (`ggml_bf16_t`) <-> float32, bit-compatible with ggml.
//
// fp16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Encoding is round-to-nearest-even with gradual
// underflow, overflow to ±inf (65520 and up, the tie above 65504, rounds to inf), NaN -> sign|0x7E00
// (what ggml's portable `ggml_compute_fp32_to_fp16`, after Maratyszcza/FP16, produces; F16C hardware
// would keep the NaN payload instead - NaN weights never occur in practice).
// bf16: the top 16 bits of a float32. Encoding is ggml's `ggml_compute_fp32_to_bf16` (ggml/src/ggml-impl.h):
// NaN -> (bits >> 16) | 64 (forced quiet), otherwise (bits + 0x7FFF + lsb) >> 16, i.e. round-to-nearest-even;
// subnormals are kept (older ggml flushed them to zero; current ggml does not).
// Inputs are JS numbers; they are first rounded to float32, as ggml only ever sees floats.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The float32 bit pattern of `x` (after rounding x to float32). */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** The float32 whose bit pattern is `bits`. */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0];
}

function decodeFp16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal: mant·2^-24, exact
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** All 65536 fp16 values as float32: decoding is one table read (ggml keeps the same table). */
export const FP16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = decodeFp16Bits(h);
  // keep NaN payloads as the hardware conversion would: sign, all-ones exponent, mantissa << 13, quiet bit set
  const u = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) u[h] = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13) | 0x400000) >>> 0;
  }
  return t;
})();

export function fp16ToF32(h: number): number {
  return FP16_TABLE[h & 0xffff];
}

/** Reads the little-endian fp16 at `src[off]` as a float32 value. */
export function readFp16(src: Uint8Array, off: number): number {
  return FP16_TABLE[src[off] | (src[off + 1] << 8)];
}

/** float32 -> fp16 bits, round-to-nearest-even (ggml `GGML_FP32_TO_FP16`). */
export function f32ToFp16(x: number): number {
  const u = f32Bits(x);
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00; // NaN
  if (a >= 0x477ff000) return sign | 0x7c00; // >= 65520: rounds (or is) to infinity
  if (a < 0x38800000) {
    // below 2^-14: fp16 subnormal (or zero); the value times 2^24 is the mantissa, rounded half-even.
    // |x|·2^24 < 1024 is exact in a double, so the rounding below is the only rounding.
    const v = f32FromBits(a) * 2 ** 24;
    let q = Math.floor(v);
    const r = v - q;
    if (r > 0.5 || (r === 0.5 && (q & 1) === 1)) q++;
    return sign | q; // q === 1024 is the smallest normal, correctly encoded
  }
  // normal: rebias the exponent, keep 10 mantissa bits, round on the 13 dropped bits (a carry into the
  // exponent is the correct result, up to 0x7BFF -> inf which the 65520 test above already handled)
  let h = (((a >>> 23) - 112) << 10) | ((a >>> 13) & 0x3ff);
  const rem = a & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

export function bf16ToF32(b: number): number {
  return f32FromBits((b & 0xffff) << 16);
}

/** float32 -> bf16 bits exactly as ggml's `ggml_compute_fp32_to_bf16`. */
export function f32ToBf16(x: number): number {
  const u = f32Bits(x);
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff; // NaN, forced quiet
  // u + 0x7FFF + lsb stays below 2^32 for every non-NaN u, so no wrap-around to emulate
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}
