// Activation quantization: f32 rows → int8 blocks with one f32 scale (d = max|x| / 127, round to
// nearest), as the matmul kernels consume them. 32-value blocks (with d·Σq) pair with Q4_0/Q8_0
// weights, bq8k (256 values, sums of each 16) with the K-quants. Tested through the matmul parity suite.
#include "common.h"

static inline float absmax(const float *x, int n) {
  v128_t m = wasm_f32x4_splat(0);
  for (int i = 0; i < n; i += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
  float a = wasm_f32x4_extract_lane(m, 0), b = wasm_f32x4_extract_lane(m, 1);
  float c = wasm_f32x4_extract_lane(m, 2), e = wasm_f32x4_extract_lane(m, 3);
  a = a > b ? a : b;
  c = c > e ? c : e;
  return a > c ? a : c;
}

// Rounds 16 floats ·id to int8 (|values| ≤ 127 by construction) and stores them; returns their i32 sums.
static inline v128_t round16(const float *x, v128_t id, int8_t *q) {
  v128_t a = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x), id)));
  v128_t b = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + 4), id)));
  v128_t c = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + 8), id)));
  v128_t e = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + 12), id)));
  v128_t ab = wasm_i16x8_narrow_i32x4(a, b), ce = wasm_i16x8_narrow_i32x4(c, e);
  wasm_v128_store(q, wasm_i8x16_narrow_i16x8(ab, ce));
  return wasm_i32x4_add(wasm_i32x4_add(a, b), wasm_i32x4_add(c, e));
}

// k a multiple of 32; rows of k floats at x (stride k) → ntok rows of k/32 blocks (40·k/32 bytes each,
// layout in common.h).
EXPORT void quantize_q8(const float *x, uint8_t *y, int k, int ntok) {
  int nb = k / QK;
  for (int t = 0; t < ntok; t++, y += 40 * nb) {
    int8_t *qs = (int8_t *)y;
    float *d = (float *)(y + 32 * nb), *ds = (float *)(y + 36 * nb);
    for (int b = 0; b < nb; b++, x += QK) {
      float amax = absmax(x, QK);
      v128_t id = wasm_f32x4_splat(amax > 0 ? 127.0f / amax : 0.0f);
      d[b] = amax / 127.0f;
      ds[b] = d[b] * (float)hsum_i32(wasm_i32x4_add(round16(x, id, qs + 32 * b), round16(x + 16, id, qs + 32 * b + 16)));
    }
  }
}

// k a multiple of 256.
EXPORT void quantize_q8k(const float *x, bq8k *y, int k, int ntok) {
  for (int t = 0; t < ntok; t++) {
    for (int b = 0; b < k / QKK; b++, x += QKK, y++) {
      float amax = absmax(x, QKK);
      v128_t id = wasm_f32x4_splat(amax > 0 ? 127.0f / amax : 0.0f);
      y->d = amax / 127.0f;
      for (int j = 0; j < QKK / 16; j++) y->bsums[j] = (int16_t)hsum_i32(round16(x + 16 * j, id, y->qs + 16 * j));
    }
  }
}
