// Shared definitions of the WASM kernels: block layouts (ggml's, byte for byte), the int8 dot-product
// primitive (relaxed-SIMD `i32x4.relaxed_dot_i8x16_i7x16_add` or its SIMD128 equivalent, chosen at
// compile time by -DRELAXED), fp16 decoding and a libc-free expf. Included by every kernel file.
#pragma once
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))
#define QK 32
#define QKK 256

// Activations quantized to int8, 32 per block (for Q4_0 / Q8_0 weights), stored per token row as
// structure-of-arrays so kernels load 4 blocks' scales with one vector load: qs[nb][32], then d[nb],
// then ds[nb] = d · Σqs (which lets unsigned weight codes be used in the dot product and the zero point
// −8 of Q4_0 be subtracted once per block). 40 bytes per block, as Q8_ROW_BYTES in index.ts assumes.
#define Q8_QS(row, nb) ((const int8_t *)(row))
#define Q8_D(row, nb) ((const float *)((const uint8_t *)(row) + 32 * (nb)))
#define Q8_DS(row, nb) ((const float *)((const uint8_t *)(row) + 36 * (nb)))

// Activations quantized to int8, 256 per block (for K-quant weights), with the sums of each 16 values.
typedef struct {
  float d;
  int16_t bsums[QKK / 16];
  int8_t qs[QKK];
} bq8k;

// The weight-type codes are ggml's (src/quant/types.ts).
enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8, T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14, T_BF16 = 30 };

static inline float as_f32(uint32_t u) { union { uint32_t u; float f; } v = { u }; return v.f; }
static inline uint32_t as_u32(float f) { union { float f; uint32_t u; } v = { f }; return v.u; }
static inline uint16_t ld16(const uint8_t *p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2); // one 16-bit load (wasm is little-endian)
  return v;
}

// IEEE half → float, exactly. Normals: the exponent/mantissa shifted into place with the exponent bias
// added in integer arithmetic; subnormals (small block scales are common: half of a random Q5_K
// model's) as mantissa · 2^−24 through an integer → float conversion. Never a subnormal float on the
// way: x86 multiplies those through a microcode assist ~100× slower, which once made whole matmuls
// twice as slow. Infinities and NaNs are passed through explicitly.
static inline float fp16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t em = h & 0x7fff;
  if (em >= 0x7c00) return as_f32(sign | 0x7f800000 | ((em & 0x3ff) << 13));
  if (em < 0x400) return as_f32(sign | as_u32((float)em * 0x1p-24f));
  return as_f32(sign | ((em << 13) + 0x38000000));
}

// em = |half| bits (h & 0x7fff) of 4 finite halves → |float|, as fp16_to_f32 without branches.
static inline v128_t f16x4_abs_to_f32(v128_t em) {
  v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(em, 13), wasm_i32x4_splat(0x38000000));
  v128_t sub = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(em), wasm_f32x4_splat(0x1p-24f));
  return wasm_v128_bitselect(sub, normal, wasm_i32x4_lt(em, wasm_i32x4_splat(0x400)));
}

// Four halves → f32x4 without branches: exact for normals and subnormals; infinities and NaNs (never
// valid block scales) become large finite values.
static inline v128_t f16x4_to_f32(uint32_t h0, uint32_t h1, uint32_t h2, uint32_t h3) {
  v128_t h = wasm_i32x4_make(h0, h1, h2, h3);
  v128_t f = f16x4_abs_to_f32(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)));
  return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

// The same with fewer instructions, for Q4_0 / Q8_0 block scales (subnormal only for blocks whose
// largest weight is below ~5e-4, rare in real models): rescaling by 2^112 is exact for subnormals too,
// but those multiply at the slow x86 rate.
static inline v128_t f16x4_to_f32_fast(uint32_t h0, uint32_t h1, uint32_t h2, uint32_t h3) {
  v128_t h = wasm_i32x4_make(h0, h1, h2, h3);
  v128_t f = wasm_f32x4_mul(wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13), wasm_f32x4_splat(0x1p112f));
  return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

// [Σa, Σb, Σc, Σd]: the horizontal sums of four i32x4 in one vector.
static inline v128_t hsum4_i32(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
  v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

// acc + Σ4 u·s per i32 lane, u holding unsigned values < 128 and s signed bytes.
static inline v128_t dot_u7s8(v128_t acc, v128_t u, v128_t s) {
#ifdef RELAXED
  return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(s, u, acc);
#else
  v128_t lo = wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(u), wasm_i16x8_extend_low_i8x16(s));
  v128_t hi = wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(u), wasm_i16x8_extend_high_i8x16(s));
  return wasm_i32x4_add(acc, wasm_i32x4_add(lo, hi));
#endif
}

// Σ over 32 pairs of u·s in 4 i32 lanes (u0·s0 + u1·s1), u < 64. Relaxed: two i16 dots (pmaddubsw; pair
// sums ≤ 2·63·127, and the sum of the two ≤ 32004, so no i16 saturation) and one widening.
static inline v128_t dot2_u7s8(v128_t u0, v128_t s0, v128_t u1, v128_t s1) {
#ifdef RELAXED
  v128_t p = wasm_i16x8_add(wasm_i16x8_relaxed_dot_i8x16_i7x16(s0, u0), wasm_i16x8_relaxed_dot_i8x16_i7x16(s1, u1));
  return wasm_i32x4_extadd_pairwise_i16x8(p);
#else
  return dot_u7s8(dot_u7s8(wasm_i32x4_splat(0), u0, s0), u1, s1);
#endif
}

// Σ over 16 pairs of u·s in 4 i32 lanes, u < 128.
static inline v128_t dot1_u7s8(v128_t u, v128_t s) {
#ifdef RELAXED
  return wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_relaxed_dot_i8x16_i7x16(s, u));
#else
  return dot_u7s8(wasm_i32x4_splat(0), u, s);
#endif
}

// i16 lanes: u[2i]·s[2i] + u[2i+1]·s[2i+1] (pmaddubsw), u unsigned < 128, s signed; callers keep the
// pair sums (and any i16 sums of them) within i16. Relaxed: one instruction.
static inline v128_t pdot_u7s8(v128_t u, v128_t s) {
#ifdef RELAXED
  return wasm_i16x8_relaxed_dot_i8x16_i7x16(s, u);
#else
  v128_t ue = wasm_v128_and(u, wasm_i16x8_splat(0x00ff)), uo = wasm_u16x8_shr(u, 8);
  v128_t se = wasm_i16x8_shr(wasm_i16x8_shl(s, 8), 8), so = wasm_i16x8_shr(s, 8);
  return wasm_i16x8_add(wasm_i16x8_mul(ue, se), wasm_i16x8_mul(uo, so));
#endif
}

// The high nibbles of 16 bytes. V8 compiles i8x16.shr_u to a 16-bit shift plus a mask it rebuilds on
// every use; a 16-bit shift and a mask held in a register is cheaper.
static inline v128_t hi_nibbles(v128_t q, v128_t m4) { return wasm_v128_and(wasm_u16x8_shr(q, 4), m4); }

// acc + Σ4 a·b per i32 lane for two signed byte vectors.
static inline v128_t dot_s8s8(v128_t acc, v128_t a, v128_t b) {
  v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
  v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
  return wasm_i32x4_add(acc, wasm_i32x4_add(lo, hi));
}

static inline int32_t hsum_i32(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}
static inline float hsum_f32(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static inline v128_t fma_f32(v128_t acc, v128_t a, v128_t b) {
#ifdef RELAXED
  return wasm_f32x4_relaxed_madd(a, b, acc);
#else
  return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b));
#endif
}

// e^x to ~2 ulp: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n via the exponent bits.
static inline float expf_(float x) {
  if (x > 88.7f) return as_f32(0x7f800000);
  if (x < -103.0f) return 0.0f;
  float n = __builtin_roundevenf(x * 1.44269504088896341f);
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666666666f + r * (0.041666666666f + r * (0.0083333333333f + r * 0.00138888888888f)))));
  int ni = (int)n;
  // split the scale in two so that n down to −149 (subnormal results) stays representable
  int n1 = ni / 2, n2 = ni - n1;
  return p * as_f32((uint32_t)(n1 + 127) << 23) * as_f32((uint32_t)(n2 + 127) << 23);
}

// Kernels implemented in the other translation units, called by job.c.
void matmul_q(int type, const uint8_t *w, int row_bytes, int r0, int r1, int rows, int k, const uint8_t *xq, int x_stride, int ntok, float *y,
              int x4);
void matmul_f(int type, const uint8_t *w, int row_bytes, int r0, int r1, int rows, int k, const float *x, int ntok, float *y);
