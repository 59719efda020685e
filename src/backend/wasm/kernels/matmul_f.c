// Float weights (F32, F16, BF16) × f32 activations, each weight row converted 8 values at a time and
// dotted with up to 4 tokens. F16 is decoded with integer SIMD (no f16 instructions in SIMD128), exactly
// and without subnormal floats on the way (f16x4_abs_to_f32 in common.h); infinities/NaNs are patched by
// a select. Any K (tails handled in scalar code).
// Tested against the float64 reference in test/wasm-parity.test.ts.
#include "common.h"

#define INLINE static inline __attribute__((always_inline))

// 8 weights starting at element i of a row, as two f32x4.
INLINE void load8(int type, const uint8_t *w, int i, v128_t *a, v128_t *b) {
  if (type == T_F32) {
    *a = wasm_v128_load(w + 4 * i);
    *b = wasm_v128_load(w + 4 * i + 16);
    return;
  }
  v128_t h = wasm_v128_load(w + 2 * i);
  v128_t lo = wasm_u32x4_extend_low_u16x8(h), hi = wasm_u32x4_extend_high_u16x8(h);
  if (type == T_BF16) {
    *a = wasm_i32x4_shl(lo, 16);
    *b = wasm_i32x4_shl(hi, 16);
    return;
  }
  const v128_t m = wasm_i32x4_splat(0x7fff), infexp = wasm_i32x4_splat(0x7c00);
  const v128_t fexp = wasm_i32x4_splat(0x7f800000);
  v128_t ems[2] = { wasm_v128_and(lo, m), wasm_v128_and(hi, m) };
  v128_t src[2] = { lo, hi }, out[2];
  for (int j = 0; j < 2; j++) {
    v128_t em = ems[j];
    v128_t f = f16x4_abs_to_f32(em); // no subnormal floats on the way (common.h)
    v128_t special = wasm_i32x4_ge(em, infexp);
    f = wasm_v128_bitselect(wasm_v128_or(fexp, wasm_i32x4_shl(em, 13)), f, special);
    out[j] = wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(src[j], wasm_i32x4_splat(0x8000)), 16));
  }
  *a = out[0];
  *b = out[1];
}

static inline float load1(int type, const uint8_t *w, int i) {
  if (type == T_F32) return ((const float *)w)[i];
  uint16_t h = ld16(w + 2 * i);
  return type == T_BF16 ? as_f32((uint32_t)h << 16) : fp16_to_f32(h);
}

INLINE void frow(int type, const uint8_t *w, const float *x, int k, float *out, const int NT) {
  v128_t acc[4];
  for (int t = 0; t < NT; t++) acc[t] = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 8 <= k; i += 8) {
    v128_t a, b;
    load8(type, w, i, &a, &b);
    for (int t = 0; t < NT; t++) {
      const float *xt = x + t * k + i;
      acc[t] = fma_f32(acc[t], a, wasm_v128_load(xt));
      acc[t] = fma_f32(acc[t], b, wasm_v128_load(xt + 4));
    }
  }
  for (int t = 0; t < NT; t++) {
    float s = hsum_f32(acc[t]);
    for (int j = i; j < k; j++) s += load1(type, w, j) * x[t * k + j];
    out[t] = s;
  }
}

void matmul_f(int type, const uint8_t *w, int row_bytes, int r0, int r1, int rows, int k, const float *x, int ntok, float *y) {
  float out[4];
  for (int t0 = 0; t0 < ntok; t0 += 4) {
    int nt = ntok - t0 < 4 ? ntok - t0 : 4;
    const float *xt = x + t0 * k;
    for (int r = r0; r < r1; r++) {
      const uint8_t *wr = w + (uint32_t)r * row_bytes;
      if (nt == 4) {
        if (type == T_F32) frow(T_F32, wr, xt, k, out, 4);
        else if (type == T_F16) frow(T_F16, wr, xt, k, out, 4);
        else frow(T_BF16, wr, xt, k, out, 4);
      } else {
        for (int t = 0; t < nt; t++) {
          if (type == T_F32) frow(T_F32, wr, xt + t * k, k, out + t, 1);
          else if (type == T_F16) frow(T_F16, wr, xt + t * k, k, out + t, 1);
          else frow(T_BF16, wr, xt + t * k, k, out + t, 1);
        }
      }
      for (int t = 0; t < nt; t++) y[(t0 + t) * rows + r] = out[t];
    }
  }
}
