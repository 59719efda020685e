// Quantized weights × int8-quantized activations: Q4_0 and Q8_0 (with 32-value int8 activation
// blocks), Q4_K, Q5_K and Q6_K (with bq8k). Each kernel decodes a weight row's blocks once and dots them with up to 4 tokens
// (NT is a compile-time constant so the token loop unrolls), which is what makes prefill cheaper per
// token than decode. Weights are kept in unsigned form (codes 0..63) so the relaxed-SIMD u7·s8 dot
// applies; the zero points are subtracted from the integer sums via the activation block sums.
// Tested against the float64 reference (src/quant dotRow) in test/wasm-parity.test.ts.
#include "common.h"

#define INLINE static inline __attribute__((always_inline))
#define LD(p) wasm_v128_load(p)

// Q4_0 (18-byte blocks: f16 d, 16 bytes of nibbles: low = elements 0..15, high = 16..31), 4 blocks per
// step: the 4 blocks' integer dot products are summed horizontally into one vector and scaled by a
// vector of 4 weight·activation scales, so the float work is per 4 blocks, not per block.
INLINE void q4_0_row(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, const int NT) {
  v128_t acc[4], corr[4];
  for (int t = 0; t < NT; t++) acc[t] = corr[t] = wasm_f32x4_splat(0);
  const v128_t m4 = wasm_i8x16_splat(0x0f);
  int b = 0;
  for (; b + 4 <= nb; b += 4, w += 72) {
    v128_t dw = f16x4_to_f32(ld16(w), ld16(w + 18), ld16(w + 36), ld16(w + 54));
    v128_t q0 = LD(w + 2), q1 = LD(w + 20), q2 = LD(w + 38), q3 = LD(w + 56);
    v128_t l0 = wasm_v128_and(q0, m4), h0 = wasm_u8x16_shr(q0, 4), l1 = wasm_v128_and(q1, m4), h1 = wasm_u8x16_shr(q1, 4);
    v128_t l2 = wasm_v128_and(q2, m4), h2 = wasm_u8x16_shr(q2, 4), l3 = wasm_v128_and(q3, m4), h3 = wasm_u8x16_shr(q3, 4);
    for (int t = 0; t < NT; t++) {
      const uint8_t *row = xq + t * xs;
      const int8_t *x = Q8_QS(row, nb) + 32 * b;
      v128_t s0 = dot2_u7s8(l0, LD(x), h0, LD(x + 16));
      v128_t s1 = dot2_u7s8(l1, LD(x + 32), h1, LD(x + 48));
      v128_t s2 = dot2_u7s8(l2, LD(x + 64), h2, LD(x + 80));
      v128_t s3 = dot2_u7s8(l3, LD(x + 96), h3, LD(x + 112));
      v128_t d = wasm_f32x4_mul(dw, LD(Q8_D(row, nb) + b));
      acc[t] = fma_f32(acc[t], wasm_f32x4_convert_i32x4(hsum4_i32(s0, s1, s2, s3)), d);
      corr[t] = fma_f32(corr[t], dw, LD(Q8_DS(row, nb) + b));
    }
  }
  float tail[4] = { 0, 0, 0, 0 };
  for (; b < nb; b++, w += 18) {
    float dw = fp16_to_f32(ld16(w));
    v128_t q = LD(w + 2);
    v128_t lo = wasm_v128_and(q, m4), hi = wasm_u8x16_shr(q, 4);
    for (int t = 0; t < NT; t++) {
      const uint8_t *row = xq + t * xs;
      const int8_t *x = Q8_QS(row, nb) + 32 * b;
      int s = hsum_i32(dot2_u7s8(lo, LD(x), hi, LD(x + 16)));
      tail[t] += dw * (Q8_D(row, nb)[b] * (float)s - 8.0f * Q8_DS(row, nb)[b]);
    }
  }
  for (int t = 0; t < NT; t++) out[t] = hsum_f32(acc[t]) - 8.0f * hsum_f32(corr[t]) + tail[t];
}

// Q8_0 (34-byte blocks: f16 d, 32 int8), 4 blocks per step as Q4_0.
INLINE void q8_0_row(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, const int NT) {
  v128_t acc[4];
  for (int t = 0; t < NT; t++) acc[t] = wasm_f32x4_splat(0);
  const v128_t z = wasm_i32x4_splat(0);
  int b = 0;
  for (; b + 4 <= nb; b += 4, w += 136) {
    v128_t dw = f16x4_to_f32(ld16(w), ld16(w + 34), ld16(w + 68), ld16(w + 102));
    v128_t a0 = LD(w + 2), b0 = LD(w + 18), a1 = LD(w + 36), b1 = LD(w + 52);
    v128_t a2 = LD(w + 70), b2 = LD(w + 86), a3 = LD(w + 104), b3 = LD(w + 120);
    for (int t = 0; t < NT; t++) {
      const uint8_t *row = xq + t * xs;
      const int8_t *x = Q8_QS(row, nb) + 32 * b;
      v128_t s0 = dot_s8s8(dot_s8s8(z, a0, LD(x)), b0, LD(x + 16));
      v128_t s1 = dot_s8s8(dot_s8s8(z, a1, LD(x + 32)), b1, LD(x + 48));
      v128_t s2 = dot_s8s8(dot_s8s8(z, a2, LD(x + 64)), b2, LD(x + 80));
      v128_t s3 = dot_s8s8(dot_s8s8(z, a3, LD(x + 96)), b3, LD(x + 112));
      acc[t] = fma_f32(acc[t], wasm_f32x4_convert_i32x4(hsum4_i32(s0, s1, s2, s3)), wasm_f32x4_mul(dw, LD(Q8_D(row, nb) + b)));
    }
  }
  float tail[4] = { 0, 0, 0, 0 };
  for (; b < nb; b++, w += 34) {
    float dw = fp16_to_f32(ld16(w));
    v128_t q0 = LD(w + 2), q1 = LD(w + 18);
    for (int t = 0; t < NT; t++) {
      const uint8_t *row = xq + t * xs;
      const int8_t *x = Q8_QS(row, nb) + 32 * b;
      tail[t] += dw * Q8_D(row, nb)[b] * (float)hsum_i32(dot_s8s8(dot_s8s8(z, q0, LD(x)), q1, LD(x + 16)));
    }
  }
  for (int t = 0; t < NT; t++) out[t] = hsum_f32(acc[t]) + tail[t];
}

// The 6-bit scales and mins of Q4_K / Q5_K's 8 sub-blocks (ggml get_scale_min_k4), unpacked with
// 32-bit word operations (as llama.cpp's kernels do): bytes 0..7 of the result are the scales, 8..15
// the mins.
INLINE v128_t scales_mins_k4(const uint8_t *q) {
  uint32_t u0 = q[0] | q[1] << 8 | q[2] << 16 | (uint32_t)q[3] << 24;
  uint32_t u1 = q[4] | q[5] << 8 | q[6] << 16 | (uint32_t)q[7] << 24;
  uint32_t u2 = q[8] | q[9] << 8 | q[10] << 16 | (uint32_t)q[11] << 24;
  const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
  uint32_t m_hi = ((u2 >> 4) & k2) | (((u1 >> 6) & k3) << 4);
  uint32_t m_lo = u1 & k1;
  uint32_t s_hi = (u2 & k2) | (((u0 >> 6) & k3) << 4);
  uint32_t s_lo = u0 & k1;
  return wasm_u32x4_make(s_lo, s_hi, m_lo, m_hi);
}

// Q4_K (HAS_H = 0: 144-byte blocks, qs at +16) and Q5_K (HAS_H = 1: 176-byte blocks, qh at +16, qs at +48).
// The 8 sub-block dot products are summed horizontally into two vectors and scaled by the 8 scales as
// vectors; the mins meet the activation sums (bsums, pairwise) in one i16 dot product.
INLINE void qk45_row(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, const int NT, const int HAS_H) {
  v128_t accf[4];
  for (int t = 0; t < NT; t++) accf[t] = wasm_f32x4_splat(0);
  const v128_t m4 = wasm_i8x16_splat(0x0f), b4 = wasm_i8x16_splat(0x10);
  const int bsz = HAS_H ? 176 : 144;
  for (int b = 0; b < nb; b++, w += bsz) {
    float d = fp16_to_f32(ld16(w)), dmin = fp16_to_f32(ld16(w + 2));
    v128_t sm = scales_mins_k4(w + 4);
    v128_t sc16 = wasm_u16x8_extend_low_u8x16(sm), mn16 = wasm_u16x8_extend_high_u8x16(sm);
    v128_t sc_lo = wasm_u32x4_extend_low_u16x8(sc16), sc_hi = wasm_u32x4_extend_high_u16x8(sc16);
    // each min applies to two 16-value bsums: [m0 m0 m1 m1 m2 m2 m3 m3], [m4 m4 ... m7 m7]
    v128_t mn_a = wasm_i16x8_shuffle(mn16, mn16, 0, 0, 1, 1, 2, 2, 3, 3), mn_b = wasm_i16x8_shuffle(mn16, mn16, 4, 4, 5, 5, 6, 6, 7, 7);
    const uint8_t *qs = w + (HAS_H ? 48 : 16);
    v128_t qh0 = wasm_i32x4_splat(0), qh1 = qh0;
    if (HAS_H) qh0 = LD(w + 16), qh1 = LD(w + 32);
    v128_t sub[4][8];
    for (int c = 0; c < 4; c++) {
      v128_t q0 = LD(qs + 32 * c), q1 = LD(qs + 32 * c + 16);
      v128_t l0 = wasm_v128_and(q0, m4), l1 = wasm_v128_and(q1, m4);
      v128_t h0 = wasm_u8x16_shr(q0, 4), h1 = wasm_u8x16_shr(q1, 4);
      if (HAS_H) {
        l0 = wasm_v128_or(l0, wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(qh0, 2 * c), 4), b4));
        l1 = wasm_v128_or(l1, wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(qh1, 2 * c), 4), b4));
        h0 = wasm_v128_or(h0, wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(qh0, 2 * c + 1), 4), b4));
        h1 = wasm_v128_or(h1, wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(qh1, 2 * c + 1), 4), b4));
      }
      for (int t = 0; t < NT; t++) {
        const int8_t *x = ((const bq8k *)(xq + t * xs) + b)->qs + 64 * c;
        sub[t][2 * c] = dot2_u7s8(l0, LD(x), l1, LD(x + 16));
        sub[t][2 * c + 1] = dot2_u7s8(h0, LD(x + 32), h1, LD(x + 48));
      }
    }
    for (int t = 0; t < NT; t++) {
      const bq8k *x = (const bq8k *)(xq + t * xs) + b;
      v128_t s03 = hsum4_i32(sub[t][0], sub[t][1], sub[t][2], sub[t][3]);
      v128_t s47 = hsum4_i32(sub[t][4], sub[t][5], sub[t][6], sub[t][7]);
      v128_t isum = wasm_i32x4_add(wasm_i32x4_mul(s03, sc_lo), wasm_i32x4_mul(s47, sc_hi));
      v128_t msum = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(x->bsums), mn_a), wasm_i32x4_dot_i16x8(LD(x->bsums + 8), mn_b));
      v128_t v = wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(d)),
                                wasm_f32x4_mul(wasm_f32x4_convert_i32x4(msum), wasm_f32x4_splat(dmin)));
      accf[t] = fma_f32(accf[t], v, wasm_f32x4_splat(x->d));
    }
  }
  for (int t = 0; t < NT; t++) out[t] = hsum_f32(accf[t]);
}

// Q6_K: 210-byte blocks, ql[128] qh[64] scales[16] (int8) d; codes 0..63 with zero point 32.
INLINE void q6_k_row(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, const int NT) {
  float accf[4];
  for (int t = 0; t < NT; t++) accf[t] = 0;
  const v128_t m4 = wasm_i8x16_splat(0x0f), m30 = wasm_i8x16_splat(0x30);
  for (int b = 0; b < nb; b++, w += 210) {
    float d = fp16_to_f32(ld16(w + 208));
    const int8_t *sc = (const int8_t *)(w + 192);
    v128_t isum[4];
    for (int t = 0; t < NT; t++) isum[t] = wasm_i32x4_splat(0);
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
      for (int v = 0; v < 2; v++) {
        v128_t la = LD(ql + 16 * v), lb = LD(ql + 32 + 16 * v), hb = LD(qh + 16 * v);
        v128_t q[4];
        q[0] = wasm_v128_or(wasm_v128_and(la, m4), wasm_v128_and(wasm_i8x16_shl(hb, 4), m30));
        q[1] = wasm_v128_or(wasm_v128_and(lb, m4), wasm_v128_and(wasm_i8x16_shl(hb, 2), m30));
        q[2] = wasm_v128_or(wasm_u8x16_shr(la, 4), wasm_v128_and(hb, m30));
        q[3] = wasm_v128_or(wasm_u8x16_shr(lb, 4), wasm_v128_and(wasm_u8x16_shr(hb, 2), m30));
        for (int k = 0; k < 4; k++) {
          int i = 8 * h + 2 * k + v; // sub-block of 16: elements 16·i.., scale sc[i]
          v128_t s = wasm_i32x4_splat(sc[i]);
          for (int t = 0; t < NT; t++) {
            const int8_t *x = ((const bq8k *)(xq + t * xs) + b)->qs + 16 * i;
            isum[t] = wasm_i32x4_add(isum[t], wasm_i32x4_mul(dot1_u7s8(q[k], LD(x)), s));
          }
        }
      }
    }
    for (int t = 0; t < NT; t++) {
      const bq8k *x = (const bq8k *)(xq + t * xs) + b;
      int32_t corr = 0;
      for (int i = 0; i < 16; i++) corr += sc[i] * x->bsums[i];
      accf[t] += d * x->d * (float)(hsum_i32(isum[t]) - 32 * corr);
    }
  }
  for (int t = 0; t < NT; t++) out[t] = accf[t];
}

#define ROW_KERNEL(NAME, CALL)                                                                     \
  static void NAME(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, int nt) {      \
    if (nt == 4) CALL(w, xq, xs, nb, out, 4);                                                      \
    else for (int t = 0; t < nt; t++) CALL(w, xq + t * xs, xs, nb, out + t, 1);                    \
  }
#define Q4K(w, x, s, n, o, NT) qk45_row(w, x, s, n, o, NT, 0)
#define Q5K(w, x, s, n, o, NT) qk45_row(w, x, s, n, o, NT, 1)
ROW_KERNEL(row_q4_0, q4_0_row)
ROW_KERNEL(row_q8_0, q8_0_row)
ROW_KERNEL(row_q4_k, Q4K)
ROW_KERNEL(row_q5_k, Q5K)
ROW_KERNEL(row_q6_k, q6_k_row)

// y[t·rows + r] for rows r0..r1−1 and all ntok tokens; xq holds ntok activation rows of x_stride bytes.
void matmul_q(int type, const uint8_t *w, int row_bytes, int r0, int r1, int rows, int k, const uint8_t *xq, int x_stride, int ntok, float *y) {
  void (*row)(const uint8_t *, const uint8_t *, int, int, float *, int);
  int nb;
  switch (type) {
    case T_Q4_0: row = row_q4_0, nb = k / QK; break;
    case T_Q8_0: row = row_q8_0, nb = k / QK; break;
    case T_Q4_K: row = row_q4_k, nb = k / QKK; break;
    case T_Q5_K: row = row_q5_k, nb = k / QKK; break;
    case T_Q6_K: row = row_q6_k, nb = k / QKK; break;
    default: return;
  }
  float out[4];
  for (int t0 = 0; t0 < ntok; t0 += 4) {
    int nt = ntok - t0 < 4 ? ntok - t0 : 4;
    const uint8_t *xt = xq + t0 * x_stride;
    for (int r = r0; r < r1; r++) {
      row(w + (uint32_t)r * row_bytes, xt, x_stride, nb, out, nt);
      for (int t = 0; t < nt; t++) y[(t0 + t) * rows + r] = out[t];
    }
  }
}
