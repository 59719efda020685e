// The non-matmul kernels: RMSNorm, NeoX RoPE, SwiGLU and causal attention over the f32 KV cache, each
// over a slice of the work [i0, i1) that job.c hands to one thread. Attention keeps one scores row and
// one accumulator per thread in `scratch`; softmax is max-subtracted, as in the reference.
// Tested against src/backend/ref in test/wasm-parity.test.ts.
#include "common.h"

void rmsnorm(float *y, const float *x, const float *w, float eps, int t0, int t1, int dim) {
  for (int t = t0; t < t1; t++) {
    const float *xr = x + t * dim;
    float *yr = y + t * dim;
    v128_t acc = wasm_f32x4_splat(0);
    int i = 0;
    for (; i + 4 <= dim; i += 4) {
      v128_t v = wasm_v128_load(xr + i);
      acc = fma_f32(acc, v, v);
    }
    float ss = hsum_f32(acc);
    for (; i < dim; i++) ss += xr[i] * xr[i];
    float inv = 1.0f / __builtin_sqrtf(ss / (float)dim + eps);
    v128_t vi = wasm_f32x4_splat(inv);
    for (i = 0; i + 4 <= dim; i += 4)
      wasm_v128_store(yr + i, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(xr + i), vi), wasm_v128_load(w + i)));
    for (; i < dim; i++) yr[i] = (xr[i] * inv) * w[i];
  }
}

void rope(float *x, int t0, int t1, int row_stride, int offset, int nheads, int head_dim, const float *cosv, const float *sinv, int half) {
  for (int t = t0; t < t1; t++) {
    const float *c = cosv + t * half, *s = sinv + t * half;
    for (int h = 0; h < nheads; h++) {
      float *a = x + t * row_stride + offset + h * head_dim, *b = a + half;
      int i = 0;
      for (; i + 4 <= half; i += 4) {
        v128_t va = wasm_v128_load(a + i), vb = wasm_v128_load(b + i);
        v128_t vc = wasm_v128_load(c + i), vs = wasm_v128_load(s + i);
        wasm_v128_store(a + i, wasm_f32x4_sub(wasm_f32x4_mul(va, vc), wasm_f32x4_mul(vb, vs)));
        wasm_v128_store(b + i, wasm_f32x4_add(wasm_f32x4_mul(vb, vc), wasm_f32x4_mul(va, vs)));
      }
      for (; i < half; i++) {
        float va = a[i], vb = b[i];
        a[i] = va * c[i] - vb * s[i];
        b[i] = vb * c[i] + va * s[i];
      }
    }
  }
}

// e^x for 4 lanes as expf_ (degree-6 polynomial, 2^n via the exponent bits), with x clamped to
// [−87, 88] so that 2^n stays a normal float: e^−87 ≈ 1.6e−38 instead of smaller values or 0, which
// changes silu(x) = x / (1 + e^−x) by < 1e−35 absolute.
static inline v128_t expf4(v128_t x) {
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, wasm_f32x4_splat(88.0f)), wasm_f32x4_splat(-87.0f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145751953125f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(1.428606765330187045e-06f)));
  // unfused multiply-adds, in expf_'s order, so that both builds round alike
#define MADD(c, p) wasm_f32x4_add(wasm_f32x4_splat(c), wasm_f32x4_mul(r, p))
  v128_t p = MADD(1.0f, MADD(1.0f, MADD(0.5f, MADD(0.16666666666f, MADD(0.041666666666f, MADD(0.0083333333333f, wasm_f32x4_splat(0.00138888888888f)))))));
#undef MADD
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

// out[t, i] = silu(gu[t, i]) · gu[t, ff + i] for flat element indices e0..e1 of the [ntok, ff] output,
// 4 at a time within each token's row.
void swiglu(float *out, const float *gu, int e0, int e1, int ff) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int e = e0; e < e1;) {
    int t = e / ff, i = e - t * ff;
    int n = e1 - e < ff - i ? e1 - e : ff - i; // this row's part of the slice
    const float *g = gu + 2 * t * ff + i, *u = g + ff;
    float *o = out + e;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      v128_t gv = wasm_v128_load(g + j);
      v128_t s = wasm_f32x4_div(gv, wasm_f32x4_add(one, expf4(wasm_f32x4_neg(gv))));
      wasm_v128_store(o + j, wasm_f32x4_mul(s, wasm_v128_load(u + j)));
    }
    for (; j < n; j++) o[j] = g[j] / (1.0f + expf_(-g[j])) * u[j];
    e += n;
  }
}

// One (token, head) pair of causal attention. scratch holds ≥ start+ntok scores then head_dim floats.
void attention_item(float *out, const float *q, int q_stride, const float *k, const float *v, int t, int h, int start, int nheads,
                    int nkv, int hd, float scale, int window, float *scratch, int scores_len) {
  int pos = start + t;
  int first = window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
  int kvdim = nkv * hd, kvo = (h / (nheads / nkv)) * hd;
  const float *qv = q + t * q_stride + h * hd;
  float *sc = scratch, *acc = scratch + scores_len;
  float mx = -__builtin_inff();
  for (int p = first; p <= pos; p++) {
    const float *kp = k + p * kvdim + kvo;
    v128_t a = wasm_f32x4_splat(0);
    int i = 0;
    for (; i + 4 <= hd; i += 4) a = fma_f32(a, wasm_v128_load(qv + i), wasm_v128_load(kp + i));
    float d = hsum_f32(a);
    for (; i < hd; i++) d += qv[i] * kp[i];
    d *= scale;
    sc[p] = d;
    if (d > mx) mx = d;
  }
  float sum = 0;
  int p = first;
  v128_t vmx = wasm_f32x4_splat(mx), vsum = wasm_f32x4_splat(0);
  for (; p + 4 <= pos + 1; p += 4) {
    v128_t e = expf4(wasm_f32x4_sub(wasm_v128_load(sc + p), vmx));
    wasm_v128_store(sc + p, e);
    vsum = wasm_f32x4_add(vsum, e);
  }
  sum = hsum_f32(vsum);
  for (; p <= pos; p++) sum += sc[p] = expf_(sc[p] - mx);
  for (int i = 0; i < hd; i++) acc[i] = 0;
  for (p = first; p <= pos; p++) {
    const float *vp = v + p * kvdim + kvo;
    v128_t wv = wasm_f32x4_splat(sc[p]);
    int i = 0;
    for (; i + 4 <= hd; i += 4) wasm_v128_store(acc + i, fma_f32(wasm_v128_load(acc + i), wv, wasm_v128_load(vp + i)));
    for (; i < hd; i++) acc[i] += sc[p] * vp[i];
  }
  float inv = 1.0f / sum;
  float *o = out + t * nheads * hd + h * hd;
  for (int i = 0; i < hd; i++) o[i] = acc[i] * inv;
}
