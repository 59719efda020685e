// Quantized weights × int8-quantized activations: Q4_0 and Q8_0 (with 32-value int8 activation
// blocks), Q4_K, Q5_K and Q6_K (with bq8k). Weights are kept in unsigned form (codes 0..63) so the
// relaxed-SIMD u7·s8 dot (pmaddubsw) applies; zero points and mins are subtracted from the integer sums
// via the activation block sums. Two kinds of kernels:
// - decode (fewer than 4 tokens): one weight row · one token's activations at a time (*_row, *_tok);
// - prefill (4 tokens or more, Q4_0 and the K-quants): activations interleaved by groups of 4 tokens
//   (quantize.c), so that one vector holds 4 tokens' sums and each weight row — unpacked once, for the
//   K-quants — is reused by every token group while it sits in L1 (*_x4; Q4_0 takes two groups at a time).
// Code shape is dictated by V8, which issues all loads of a basic block first: loops whose iteration
// holds more than ~12 vector loads spill, so hot loops are kept short (NOUNROLL).
// Tested against the float64 reference (src/quant dotRow) and batch against one-token calls in
// test/wasm-parity.test.ts; timed by bench/kernels.ts.
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
    v128_t dw = f16x4_to_f32_fast(ld16(w), ld16(w + 18), ld16(w + 36), ld16(w + 54));
    v128_t q0 = LD(w + 2), q1 = LD(w + 20), q2 = LD(w + 38), q3 = LD(w + 56);
    v128_t l0 = wasm_v128_and(q0, m4), h0 = hi_nibbles(q0, m4), l1 = wasm_v128_and(q1, m4), h1 = hi_nibbles(q1, m4);
    v128_t l2 = wasm_v128_and(q2, m4), h2 = hi_nibbles(q2, m4), l3 = wasm_v128_and(q3, m4), h3 = hi_nibbles(q3, m4);
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
    v128_t lo = wasm_v128_and(q, m4), hi = hi_nibbles(q, m4);
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
    v128_t dw = f16x4_to_f32_fast(ld16(w), ld16(w + 34), ld16(w + 68), ld16(w + 102));
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

#define BCAST32(v, j) wasm_i32x4_shuffle(v, v, j, j, j, j)
#define NOUNROLL _Pragma("clang loop unroll(disable)")

// s[j] = lane j of the i16x8 v in every lane.
#define SPLAT16(v, j) wasm_i16x8_shuffle(v, v, j, j, j, j, j, j, j, j)
#define SPLAT16x8(s, v) \
  (s)[0] = SPLAT16(v, 0), (s)[1] = SPLAT16(v, 1), (s)[2] = SPLAT16(v, 2), (s)[3] = SPLAT16(v, 3), \
  (s)[4] = SPLAT16(v, 4), (s)[5] = SPLAT16(v, 5), (s)[6] = SPLAT16(v, 6), (s)[7] = SPLAT16(v, 7)

// Q4_K (144-byte blocks: d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles). Each
// 32-value sub-block's byte products are summed in i16 lanes (pmaddubsw) and widened by an i16 dot
// product with the sub-block's scale, so scaling costs nothing extra and all 8 sub-blocks accumulate in
// one i32x4 (|Σ| ≤ 8·32·15·127·63 < 2^31); the mins meet the activation sums (bsums, pairwise) in one
// i16 dot product. Horizontal sums happen once per row.
INLINE void q4_k_row(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, const int NT) {
  v128_t accf[4];
  for (int t = 0; t < NT; t++) accf[t] = wasm_f32x4_splat(0);
  const v128_t m4 = wasm_i8x16_splat(0x0f);
  for (int b = 0; b < nb; b++, w += 144) {
    v128_t dd = f16x4_to_f32(ld16(w), ld16(w + 2), 0, 0);
    v128_t sm = scales_mins_k4(w + 4);
    v128_t sc16 = wasm_u16x8_extend_low_u8x16(sm), mn16 = wasm_u16x8_extend_high_u8x16(sm);
    // each min applies to two 16-value bsums: [m0 m0 m1 m1 m2 m2 m3 m3], [m4 m4 ... m7 m7]
    v128_t mn_a = wasm_i16x8_shuffle(mn16, mn16, 0, 0, 1, 1, 2, 2, 3, 3), mn_b = wasm_i16x8_shuffle(mn16, mn16, 4, 4, 5, 5, 6, 6, 7, 7);
    const uint8_t *qs = w + 16;
    v128_t isum[4];
    for (int t = 0; t < NT; t++) isum[t] = wasm_i32x4_splat(0);
    v128_t scs[8];
    SPLAT16x8(scs, sc16);
    for (int c = 0; c < 4; c++) {
      v128_t q0 = LD(qs + 32 * c), q1 = LD(qs + 32 * c + 16);
      v128_t l0 = wasm_v128_and(q0, m4), l1 = wasm_v128_and(q1, m4);
      v128_t h0 = hi_nibbles(q0, m4), h1 = hi_nibbles(q1, m4);
      v128_t sl = scs[2 * c], sh = scs[2 * c + 1];
      for (int t = 0; t < NT; t++) {
        const int8_t *x = ((const bq8k *)(xq + t * xs) + b)->qs + 64 * c;
        // i16 pair sums ≤ 2·15·127 each, two of them ≤ 7620
        v128_t pl = wasm_i16x8_add(pdot_u7s8(l0, LD(x)), pdot_u7s8(l1, LD(x + 16)));
        v128_t ph = wasm_i16x8_add(pdot_u7s8(h0, LD(x + 32)), pdot_u7s8(h1, LD(x + 48)));
        isum[t] = wasm_i32x4_add(isum[t], wasm_i32x4_add(wasm_i32x4_dot_i16x8(pl, sl), wasm_i32x4_dot_i16x8(ph, sh)));
      }
    }
    for (int t = 0; t < NT; t++) {
      const bq8k *x = (const bq8k *)(xq + t * xs) + b;
      v128_t msum = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(x->bsums), mn_a), wasm_i32x4_dot_i16x8(LD(x->bsums + 8), mn_b));
      v128_t v = wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum[t]), BCAST32(dd, 0)),
                                wasm_f32x4_mul(wasm_f32x4_convert_i32x4(msum), BCAST32(dd, 1)));
      accf[t] = fma_f32(accf[t], v, wasm_v128_load32_splat(&x->d));
    }
  }
  for (int t = 0; t < NT; t++) out[t] = hsum_f32(accf[t]);
}

// Q6_K: 210-byte blocks, ql[128] qh[64] scales[16] (int8) d; codes 0..63 with zero point 32. Each
// 16-value sub-block: one pmaddubsw (pair sums ≤ 2·63·127) widened by an i16 dot with its scale; the
// zero point meets the activation sums in two i16 dot products.
INLINE void q6_k_row(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, const int NT) {
  v128_t accf[4];
  for (int t = 0; t < NT; t++) accf[t] = wasm_f32x4_splat(0);
  const v128_t m4 = wasm_i8x16_splat(0x0f), m30 = wasm_i8x16_splat(0x30);
  for (int b = 0; b < nb; b++, w += 210) {
    v128_t dd = f16x4_to_f32(ld16(w + 208), 0, 0, 0);
    v128_t d = BCAST32(dd, 0);
    v128_t sc8 = LD(w + 192);
    v128_t sc_lo = wasm_i16x8_extend_low_i8x16(sc8), sc_hi = wasm_i16x8_extend_high_i8x16(sc8);
    v128_t scs[16];
    SPLAT16x8(scs, sc_lo);
    SPLAT16x8(scs + 8, sc_hi);
    v128_t isum[4];
    for (int t = 0; t < NT; t++) isum[t] = wasm_i32x4_splat(0);
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
      for (int v = 0; v < 2; v++) {
        v128_t la = LD(ql + 16 * v), lb = LD(ql + 32 + 16 * v), hb = LD(qh + 16 * v);
        // 16-bit shifts then byte masks: the kept bits always come from the same byte
        v128_t q[4];
        q[0] = wasm_v128_or(wasm_v128_and(la, m4), wasm_v128_and(wasm_i16x8_shl(hb, 4), m30));
        q[1] = wasm_v128_or(wasm_v128_and(lb, m4), wasm_v128_and(wasm_i16x8_shl(hb, 2), m30));
        q[2] = wasm_v128_or(hi_nibbles(la, m4), wasm_v128_and(hb, m30));
        q[3] = wasm_v128_or(hi_nibbles(lb, m4), wasm_v128_and(wasm_u16x8_shr(hb, 2), m30));
        for (int k = 0; k < 4; k++) {
          int i = 2 * k + v; // sub-block 8h + i: elements 16·(8h + i).., scale sc[8h + i]
          v128_t s = scs[8 * h + i];
          for (int t = 0; t < NT; t++) {
            const int8_t *x = ((const bq8k *)(xq + t * xs) + b)->qs + 16 * (8 * h + i);
            isum[t] = wasm_i32x4_add(isum[t], wasm_i32x4_dot_i16x8(pdot_u7s8(q[k], LD(x)), s));
          }
        }
      }
    }
    for (int t = 0; t < NT; t++) {
      const bq8k *x = (const bq8k *)(xq + t * xs) + b;
      v128_t corr = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(x->bsums), sc_lo), wasm_i32x4_dot_i16x8(LD(x->bsums + 8), sc_hi));
      v128_t v = wasm_f32x4_convert_i32x4(wasm_i32x4_sub(isum[t], wasm_i32x4_shl(corr, 5)));
      accf[t] = fma_f32(accf[t], v, wasm_f32x4_mul(d, wasm_v128_load32_splat(&x->d)));
    }
  }
  for (int t = 0; t < NT; t++) out[t] = hsum_f32(accf[t]);
}

// --- Prefill: 4 tokens in the 4 lanes (activations interleaved by quantize_q8x4 / quantize_q8kx4) ---
// Each weight row is unpacked once (one code byte per value, scales as floats or i16) and then meets
// every group of 4 tokens: every 4 codes are broadcast to all lanes (one shuffle) against the 4 tokens'
// 4 values at once, so the sums come out per token with no horizontal adds. Loops are kept short (one
// block or sub-block per iteration) because V8 issues all of an iteration's loads first and would
// spill them past ~12 vectors.

// Σ over 4 groups of 4 values: codes u (16 codes = groups 0..3) against 4 interleaved activation
// vectors x, in i16 lanes (pair sums of 2 values per token).
INLINE v128_t dot4x4(v128_t u, const int8_t *x) {
  return wasm_i16x8_add(wasm_i16x8_add(pdot_u7s8(BCAST32(u, 0), LD(x)), pdot_u7s8(BCAST32(u, 1), LD(x + 16))),
                        wasm_i16x8_add(pdot_u7s8(BCAST32(u, 2), LD(x + 32)), pdot_u7s8(BCAST32(u, 3), LD(x + 48))));
}

// The f16 block scales of one row (blocks of `bsz` bytes, scale at offset 0) as floats, converted once
// per row rather than once per row and token group.
static void row_scales(const uint8_t *w, int bsz, int nb, float *out) {
  int b = 0;
  for (; b + 4 <= nb; b += 4, w += 4 * bsz)
    wasm_v128_store(out + b, f16x4_to_f32(ld16(w), ld16(w + bsz), ld16(w + 2 * bsz), ld16(w + 3 * bsz)));
  for (; b < nb; b++, w += bsz) out[b] = fp16_to_f32(ld16(w));
}

// A Q4_0 row unpacked for prefill: codes (32 per block, in value order) and the block scales as floats.
static void prep_q4_0(const uint8_t *w, int nb, uint8_t *codes, float *dws) {
  const v128_t m4 = wasm_i8x16_splat(0x0f);
  row_scales(w, 18, nb, dws);
  for (int b = 0; b < nb; b++, w += 18, codes += 32) {
    v128_t q = LD(w + 2);
    wasm_v128_store(codes, wasm_v128_and(q, m4));
    wasm_v128_store(codes + 16, hi_nibbles(q, m4));
  }
}

// An unpacked Q4_0 row × one group of 4 tokens (xg: 160·nb bytes, layout in quantize.c); the zero point
// 8 is subtracted from the integer sums (8·Σx per token and block, from the activations).
INLINE v128_t q4_0_x4(const uint8_t *codes, const float *dws, const uint8_t *xg, int nb) {
  const int8_t *x = (const int8_t *)xg;
  const float *dx = (const float *)(xg + 128 * nb);
  const int32_t *s8 = (const int32_t *)(dx + 4 * nb);
  const v128_t one = wasm_i16x8_splat(1);
  v128_t acc = wasm_f32x4_splat(0);
  NOUNROLL for (int b = 0; b < nb; b++, codes += 32, x += 128) {
    // 8 pair sums ≤ 2·15·127 each: ≤ 30480 in i16
    v128_t p = wasm_i16x8_add(dot4x4(LD(codes), x), dot4x4(LD(codes + 16), x + 64));
    v128_t i = wasm_i32x4_sub(wasm_i32x4_dot_i16x8(p, one), LD(s8 + 4 * b));
    acc = fma_f32(acc, wasm_f32x4_convert_i32x4(i), wasm_f32x4_mul(wasm_v128_load32_splat(dws + b), LD(dx + 4 * b)));
  }
  return acc;
}

// As q4_0_x4 for NG token groups at once (xg, xg + xs, ...): each 4 codes' load and broadcast serve
// 4·NG tokens. A whole block per iteration: V8 spills some of its loads, which still costs less than a
// nested loop over the two halves (measured: NG 2 ≈ +8 % over q4_0_x4 alone; NG 3 and the nested loop
// are slower, and so is storing the broadcast codes per row instead of shuffling).
#define Q4_0_NG 2
INLINE void q4_0_xg(const uint8_t *codes, const float *dws, const uint8_t *xg, int xs, int nb, v128_t *out, const int NG) {
  v128_t acc[NG];
  for (int g = 0; g < NG; g++) acc[g] = wasm_f32x4_splat(0);
  for (int b = 0; b < nb; b++, codes += 32) {
    v128_t p[NG]; // 8 pair sums ≤ 2·15·127 each: ≤ 30480 in i16
    for (int g = 0; g < NG; g++) p[g] = wasm_i16x8_splat(0);
    for (int h = 0; h < 2; h++) {
      v128_t u = LD(codes + 16 * h);
      v128_t u0 = BCAST32(u, 0), u1 = BCAST32(u, 1), u2 = BCAST32(u, 2), u3 = BCAST32(u, 3);
      for (int g = 0; g < NG; g++) {
        const int8_t *x = (const int8_t *)(xg + g * xs) + 128 * b + 64 * h;
        p[g] = wasm_i16x8_add(p[g], wasm_i16x8_add(wasm_i16x8_add(pdot_u7s8(u0, LD(x)), pdot_u7s8(u1, LD(x + 16))),
                                                   wasm_i16x8_add(pdot_u7s8(u2, LD(x + 32)), pdot_u7s8(u3, LD(x + 48)))));
      }
    }
    v128_t dw = wasm_v128_load32_splat(dws + b);
    for (int g = 0; g < NG; g++) {
      const float *dx = (const float *)(xg + g * xs + 128 * nb);
      const int32_t *s8 = (const int32_t *)(dx + 4 * nb);
      v128_t i = wasm_i32x4_sub(wasm_i32x4_extadd_pairwise_i16x8(p[g]), LD(s8 + 4 * b));
      acc[g] = fma_f32(acc[g], wasm_f32x4_convert_i32x4(i), wasm_f32x4_mul(dw, LD(dx + 4 * b)));
    }
  }
  for (int g = 0; g < NG; g++) out[g] = acc[g];
}

// K-quant prefill. A row is unpacked once into a stack buffer (prep_k: one code byte per value, in
// value order, i16 scales per sub-block, f32 super-block scales, and for Q4_K/Q5_K the mins as i16
// pairs) and every token group then runs over the unpacked row: the inner loop is loads, broadcasts and
// pmaddubsw only, the same for the three types.
typedef struct {
  uint8_t *codes; // k bytes, 0..63
  int16_t *sc;    // Q4_K/Q5_K: one scale per 32 values; Q6_K: one per 16
  int16_t *mn;    // Q4_K/Q5_K: each sub-block's min twice (pairs with the two 16-value sums)
  float *d;       // per super-block: d, dmin (Q4_K/Q5_K) or d (Q6_K)
} krow;

static void prep_k(int type, const uint8_t *w, int nb, krow r) {
  const v128_t m4 = wasm_i8x16_splat(0x0f), b4 = wasm_i8x16_splat(0x10), m30 = wasm_i8x16_splat(0x30);
  for (int b = 0; b < nb; b++) {
    uint8_t *codes = r.codes + QKK * b;
    if (type == T_Q6_K) {
      r.d[b] = fp16_to_f32(ld16(w + 208));
      wasm_v128_store(r.sc + 16 * b, wasm_i16x8_extend_low_i8x16(LD(w + 192)));
      wasm_v128_store(r.sc + 16 * b + 8, wasm_i16x8_extend_high_i8x16(LD(w + 192)));
      for (int h = 0; h < 2; h++)
        for (int v = 0; v < 2; v++) {
          const uint8_t *ql = w + 64 * h + 16 * v, *qh = w + 128 + 32 * h + 16 * v;
          v128_t la = LD(ql), lb = LD(ql + 32), hb = LD(qh);
          uint8_t *o = codes + 128 * h + 16 * v;
          wasm_v128_store(o, wasm_v128_or(wasm_v128_and(la, m4), wasm_v128_and(wasm_i16x8_shl(hb, 4), m30)));
          wasm_v128_store(o + 32, wasm_v128_or(wasm_v128_and(lb, m4), wasm_v128_and(wasm_i16x8_shl(hb, 2), m30)));
          wasm_v128_store(o + 64, wasm_v128_or(hi_nibbles(la, m4), wasm_v128_and(hb, m30)));
          wasm_v128_store(o + 96, wasm_v128_or(hi_nibbles(lb, m4), wasm_v128_and(wasm_u16x8_shr(hb, 2), m30)));
        }
      w += 210;
      continue;
    }
    const int has_h = type == T_Q5_K;
    r.d[2 * b] = fp16_to_f32(ld16(w));
    r.d[2 * b + 1] = fp16_to_f32(ld16(w + 2));
    v128_t sm = scales_mins_k4(w + 4);
    v128_t mn16 = wasm_u16x8_extend_high_u8x16(sm);
    wasm_v128_store(r.sc + 8 * b, wasm_u16x8_extend_low_u8x16(sm));
    wasm_v128_store(r.mn + 16 * b, wasm_i16x8_shuffle(mn16, mn16, 0, 0, 1, 1, 2, 2, 3, 3));
    wasm_v128_store(r.mn + 16 * b + 8, wasm_i16x8_shuffle(mn16, mn16, 4, 4, 5, 5, 6, 6, 7, 7));
    const uint8_t *qs = w + (has_h ? 48 : 16);
    for (int c = 0; c < 4; c++)
      for (int half = 0; half < 2; half++) {
        v128_t q = LD(qs + 32 * c + 16 * half);
        v128_t lo = wasm_v128_and(q, m4), hi = hi_nibbles(q, m4);
        if (has_h) {
          // the 5th bit of sub-block j is bit j of qh (16-bit shifts: the mask keeps bits of the same byte)
          v128_t qh = LD(w + 16 + 16 * half);
          lo = wasm_v128_or(lo, wasm_v128_and(wasm_i16x8_shl(wasm_u16x8_shr(qh, 2 * c), 4), b4));
          hi = wasm_v128_or(hi, wasm_v128_and(wasm_i16x8_shl(wasm_u16x8_shr(qh, 2 * c + 1), 4), b4));
        }
        wasm_v128_store(codes + 64 * c + 16 * half, lo);
        wasm_v128_store(codes + 64 * c + 32 + 16 * half, hi);
      }
    w += has_h ? 176 : 144;
  }
}

// Σ over the 4 activation sum pairs × i16 factor pairs of a 256-value block, per token lane: the
// Q4_K/Q5_K mins or the Q6_K scales (for the zero point) against bsums.
INLINE v128_t bsum_dot(const int16_t *bs, const int16_t *f) {
  v128_t a = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(bs), wasm_v128_load32_splat(f)), wasm_i32x4_dot_i16x8(LD(bs + 8), wasm_v128_load32_splat(f + 2)));
  v128_t b = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(bs + 16), wasm_v128_load32_splat(f + 4)), wasm_i32x4_dot_i16x8(LD(bs + 24), wasm_v128_load32_splat(f + 6)));
  v128_t c = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(bs + 32), wasm_v128_load32_splat(f + 8)), wasm_i32x4_dot_i16x8(LD(bs + 40), wasm_v128_load32_splat(f + 10)));
  v128_t e = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(bs + 48), wasm_v128_load32_splat(f + 12)), wasm_i32x4_dot_i16x8(LD(bs + 56), wasm_v128_load32_splat(f + 14)));
  return wasm_i32x4_add(wasm_i32x4_add(a, b), wasm_i32x4_add(c, e));
}

// An unpacked Q4_K (HAS_H = 0) or Q5_K (1) row × one group of 4 tokens (1168 bytes per block).
INLINE v128_t qk45_x4(krow r, const uint8_t *xg, int nb, const int HAS_H) {
  v128_t accf = wasm_f32x4_splat(0);
  for (int b = 0; b < nb; b++, xg += 1168) {
    const int8_t *x = (const int8_t *)(xg + 144);
    const uint8_t *codes = r.codes + QKK * b;
    const int16_t *sc = r.sc + 8 * b;
    v128_t isum = wasm_i32x4_splat(0);
    NOUNROLL for (int j = 0; j < 8; j++, codes += 32, x += 128) {
      v128_t s = wasm_v128_load16_splat(sc + j);
      if (HAS_H) // 4 pair sums ≤ 2·31·127 each (≤ 31496): widen each half on its own
        isum = wasm_i32x4_add(isum, wasm_i32x4_add(wasm_i32x4_dot_i16x8(dot4x4(LD(codes), x), s), wasm_i32x4_dot_i16x8(dot4x4(LD(codes + 16), x + 64), s)));
      else // 8 pair sums ≤ 2·15·127 each: ≤ 30480
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(wasm_i16x8_add(dot4x4(LD(codes), x), dot4x4(LD(codes + 16), x + 64)), s));
    }
    v128_t msum = bsum_dot((const int16_t *)(xg + 16), r.mn + 16 * b);
    v128_t v = wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_v128_load32_splat(r.d + 2 * b)),
                              wasm_f32x4_mul(wasm_f32x4_convert_i32x4(msum), wasm_v128_load32_splat(r.d + 2 * b + 1)));
    accf = fma_f32(accf, v, LD(xg));
  }
  return accf;
}

// An unpacked Q6_K row × one group of 4 tokens: 16-value sub-blocks (i16 sums of at most two pair sums
// ≤ 2·63·127 before the scale widens them); the zero point 32 meets the activation sums.
INLINE v128_t q6_k_x4(krow r, const uint8_t *xg, int nb) {
  v128_t accf = wasm_f32x4_splat(0);
  for (int b = 0; b < nb; b++, xg += 1168) {
    const int8_t *x = (const int8_t *)(xg + 144);
    const uint8_t *codes = r.codes + QKK * b;
    const int16_t *sc = r.sc + 16 * b;
    v128_t isum = wasm_i32x4_splat(0);
    NOUNROLL for (int j = 0; j < 16; j++, codes += 16, x += 64) {
      v128_t u = LD(codes), s = wasm_v128_load16_splat(sc + j);
      v128_t p0 = wasm_i16x8_add(pdot_u7s8(BCAST32(u, 0), LD(x)), pdot_u7s8(BCAST32(u, 1), LD(x + 16)));
      v128_t p1 = wasm_i16x8_add(pdot_u7s8(BCAST32(u, 2), LD(x + 32)), pdot_u7s8(BCAST32(u, 3), LD(x + 48)));
      isum = wasm_i32x4_add(isum, wasm_i32x4_add(wasm_i32x4_dot_i16x8(p0, s), wasm_i32x4_dot_i16x8(p1, s)));
    }
    v128_t corr = bsum_dot((const int16_t *)(xg + 16), sc);
    v128_t v = wasm_f32x4_convert_i32x4(wasm_i32x4_sub(isum, wasm_i32x4_shl(corr, 5)));
    accf = fma_f32(accf, v, wasm_f32x4_mul(wasm_v128_load32_splat(r.d + b), LD(xg)));
  }
  return accf;
}

// Q5_K (176-byte blocks: as Q4_K with the 5th bits in qh[32] before the nibbles) for one token: as
// q4_k_row, but the 64-value loop is not unrolled, so each iteration's loads fit in
// registers (V8 issues a basic block's loads first), and qh is shifted along as a loop-carried value
// so that every shift has a constant count.
static float q5_k_tok(const uint8_t *w, const uint8_t *xq, int nb) {
  v128_t accf = wasm_f32x4_splat(0);
  const v128_t m4 = wasm_i8x16_splat(0x0f), b4 = wasm_i8x16_splat(0x10);
  int16_t sct[8] __attribute__((aligned(16)));
  const bq8k *x = (const bq8k *)xq;
  for (int b = 0; b < nb; b++, w += 176, x++) {
    v128_t dd = f16x4_to_f32(ld16(w), ld16(w + 2), 0, 0);
    v128_t sm = scales_mins_k4(w + 4);
    v128_t mn16 = wasm_u16x8_extend_high_u8x16(sm);
    wasm_v128_store(sct, wasm_u16x8_extend_low_u8x16(sm));
    v128_t qh0 = LD(w + 16), qh1 = LD(w + 32);
    const uint8_t *qs = w + 48;
    const int8_t *xs8 = x->qs;
    v128_t isum = wasm_i32x4_splat(0);
    NOUNROLL for (int c = 0; c < 4; c++, qs += 32, xs8 += 64) {
      v128_t q0 = LD(qs), q1 = LD(qs + 16);
      v128_t l0 = wasm_v128_or(wasm_v128_and(q0, m4), wasm_v128_and(wasm_i16x8_shl(qh0, 4), b4));
      v128_t l1 = wasm_v128_or(wasm_v128_and(q1, m4), wasm_v128_and(wasm_i16x8_shl(qh1, 4), b4));
      v128_t h0 = wasm_v128_or(hi_nibbles(q0, m4), wasm_v128_and(wasm_i16x8_shl(qh0, 3), b4));
      v128_t h1 = wasm_v128_or(hi_nibbles(q1, m4), wasm_v128_and(wasm_i16x8_shl(qh1, 3), b4));
      qh0 = wasm_u16x8_shr(qh0, 2), qh1 = wasm_u16x8_shr(qh1, 2);
      v128_t pl = wasm_i16x8_add(pdot_u7s8(l0, LD(xs8)), pdot_u7s8(l1, LD(xs8 + 16)));
      v128_t ph = wasm_i16x8_add(pdot_u7s8(h0, LD(xs8 + 32)), pdot_u7s8(h1, LD(xs8 + 48)));
      isum = wasm_i32x4_add(isum, wasm_i32x4_add(wasm_i32x4_dot_i16x8(pl, wasm_v128_load16_splat(sct + 2 * c)),
                                                 wasm_i32x4_dot_i16x8(ph, wasm_v128_load16_splat(sct + 2 * c + 1))));
    }
    v128_t mn_a = wasm_i16x8_shuffle(mn16, mn16, 0, 0, 1, 1, 2, 2, 3, 3), mn_b = wasm_i16x8_shuffle(mn16, mn16, 4, 4, 5, 5, 6, 6, 7, 7);
    v128_t msum = wasm_i32x4_add(wasm_i32x4_dot_i16x8(LD(x->bsums), mn_a), wasm_i32x4_dot_i16x8(LD(x->bsums + 8), mn_b));
    v128_t v = wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), BCAST32(dd, 0)),
                              wasm_f32x4_mul(wasm_f32x4_convert_i32x4(msum), BCAST32(dd, 1)));
    accf = fma_f32(accf, v, wasm_v128_load32_splat(&x->d));
  }
  return hsum_f32(accf);
}


// Q8_0 dots a row with 4 tokens at a time (ntok ≥ 4 has no interleaved kernel for it); the types
// with prefill kernels only ever see 1 to 3 tokens here.
static void row_q8_0(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, int nt) {
  if (nt == 4) q8_0_row(w, xq, xs, nb, out, 4);
  else for (int t = 0; t < nt; t++) q8_0_row(w, xq + t * xs, xs, nb, out + t, 1);
}
#define ROW1_KERNEL(NAME, CALL)                                                                    \
  static void NAME(const uint8_t *w, const uint8_t *xq, int xs, int nb, float *out, int nt) {      \
    for (int t = 0; t < nt; t++) CALL;                                                             \
  }
ROW1_KERNEL(row_q4_0, q4_0_row(w, xq + t * xs, xs, nb, out + t, 1))
ROW1_KERNEL(row_q4_k, q4_k_row(w, xq + t * xs, xs, nb, out + t, 1))
ROW1_KERNEL(row_q5_k, out[t] = q5_k_tok(w, xq + t * xs, nb))
ROW1_KERNEL(row_q6_k, q6_k_row(w, xq + t * xs, xs, nb, out + t, 1))

// x4: xq is in the 4-token interleaved layout (quantize_q8x4 / quantize_q8kx4), x_stride = bytes per group.
void matmul_q(int type, const uint8_t *w, int row_bytes, int r0, int r1, int rows, int k, const uint8_t *xq, int x_stride, int ntok, float *y,
              int x4) {
  if (x4) {
    // row-outer: a row, unpacked on the stack (k ≤ 32768: index.ts), stays in L1 while every token group
    // passes over it
    int nb = type == T_Q4_0 ? k / QK : k / QKK;
    float dws[type == T_Q4_0 ? nb : 2 * nb];
    uint8_t codes[k] __attribute__((aligned(16)));
    int16_t sc[type == T_Q4_0 ? 8 : k / 16] __attribute__((aligned(16)));
    int16_t mn[type == T_Q4_0 ? 8 : 16 * nb] __attribute__((aligned(16)));
    krow kr = { codes, sc, mn, dws };
    for (int r = r0; r < r1; r++) {
      const uint8_t *wr = w + (uint32_t)r * row_bytes;
      if (type == T_Q4_0) prep_q4_0(wr, nb, codes, dws);
      else prep_k(type, wr, nb, kr);
      int t0 = 0;
      if (type == T_Q4_0)
        for (; t0 + 4 * Q4_0_NG <= ntok; t0 += 4 * Q4_0_NG) {
          v128_t v[Q4_0_NG];
          float o[4 * Q4_0_NG];
          q4_0_xg(codes, dws, xq + (t0 / 4) * x_stride, x_stride, nb, v, Q4_0_NG);
          for (int g = 0; g < Q4_0_NG; g++) wasm_v128_store(o + 4 * g, v[g]);
          for (int t = 0; t < 4 * Q4_0_NG; t++) y[(t0 + t) * rows + r] = o[t];
        }
      for (; t0 < ntok; t0 += 4) {
        const uint8_t *xg = xq + (t0 / 4) * x_stride;
        v128_t v;
        switch (type) {
          case T_Q4_0: v = q4_0_x4(codes, dws, xg, nb); break;
          case T_Q4_K: v = qk45_x4(kr, xg, nb, 0); break;
          case T_Q5_K: v = qk45_x4(kr, xg, nb, 1); break;
          case T_Q6_K: v = q6_k_x4(kr, xg, nb); break;
          default: return;
        }
        float o[4];
        wasm_v128_store(o, v);
        int nt = ntok - t0 < 4 ? ntok - t0 : 4;
        for (int t = 0; t < nt; t++) y[(t0 + t) * rows + r] = o[t];
      }
    }
    return;
  }
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
