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

// The same activations for prefill, interleaved by groups of 4 tokens so that matmul kernels hold the
// 4 tokens in the 4 lanes of a vector (no horizontal sums) and broadcast 4 weight codes at a time.
// Tokens past ntok in the last group are zero (scale 0). One group of 4 tokens, per 32-value block:
// qs[8][4 tokens][4] (values 4j..4j+3 of each token), then d[nb][4] (f32), then s8[nb][4] (i32 8·Σq: Q4_0's
// zero point times the block sum, subtracted from the integer dot products); 160·nb bytes.
EXPORT void quantize_q8x4(const float *x, uint8_t *y, int k, int ntok) {
  int nb = k / QK;
  int8_t tmp[QK];
  for (int t0 = 0; t0 < ntok; t0 += 4, y += 160 * nb) {
    float *d = (float *)(y + 128 * nb);
    int32_t *s8 = (int32_t *)(d + 4 * nb);
    for (int t = 0; t < 4; t++) {
      const float *xt = x + (t0 + t) * k;
      for (int b = 0; b < nb; b++, xt += QK) {
        int8_t *qs = (int8_t *)y + 128 * b + 4 * t;
        if (t0 + t >= ntok) {
          for (int j = 0; j < 8; j++) __builtin_memset(qs + 16 * j, 0, 4);
          d[4 * b + t] = 0;
          s8[4 * b + t] = 0;
          continue;
        }
        float amax = absmax(xt, QK);
        v128_t id = wasm_f32x4_splat(amax > 0 ? 127.0f / amax : 0.0f);
        d[4 * b + t] = amax / 127.0f;
        s8[4 * b + t] = 8 * hsum_i32(wasm_i32x4_add(round16(xt, id, tmp), round16(xt + 16, id, tmp + 16)));
        for (int j = 0; j < 8; j++) __builtin_memcpy(qs + 16 * j, tmp + 4 * j, 4);
      }
    }
  }
}

// The K-quant activations (bq8k) interleaved by groups of 4 tokens, per 256-value block (1168 bytes,
// as 4 bq8k): d[4 tokens], then the sums of each 16 values as bsums[8 pairs][4 tokens][2] (i16; a pair
// of sums per token in one i32 lane), then qs[64][4 tokens][4]. Tokens past ntok are zero.
EXPORT void quantize_q8kx4(const float *x, uint8_t *y, int k, int ntok) {
  int nb = k / QKK;
  int8_t tmp[QKK];
  for (int t0 = 0; t0 < ntok; t0 += 4) {
    for (int b = 0; b < nb; b++, y += 1168) {
      float *d = (float *)y;
      int16_t *bs = (int16_t *)(y + 16);
      int8_t *qs = (int8_t *)(y + 144);
      for (int t = 0; t < 4; t++) {
        if (t0 + t >= ntok) {
          d[t] = 0;
          for (int j = 0; j < 16; j++) bs[8 * (j / 2) + 2 * t + (j & 1)] = 0;
          for (int j = 0; j < 64; j++) __builtin_memset(qs + 16 * j + 4 * t, 0, 4);
          continue;
        }
        const float *xt = x + (t0 + t) * k + b * QKK;
        float amax = absmax(xt, QKK);
        v128_t id = wasm_f32x4_splat(amax > 0 ? 127.0f / amax : 0.0f);
        d[t] = amax / 127.0f;
        for (int j = 0; j < 16; j++) bs[8 * (j / 2) + 2 * t + (j & 1)] = (int16_t)hsum_i32(round16(xt + 16 * j, id, tmp + 16 * j));
        for (int j = 0; j < 64; j++) __builtin_memcpy(qs + 16 * j + 4 * t, tmp + 4 * j, 4);
      }
    }
  }
}
