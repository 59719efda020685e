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

// out[t, i] = silu(gu[t, i]) · gu[t, ff + i] for flat element indices e0..e1 of the [ntok, ff] output.
void swiglu(float *out, const float *gu, int e0, int e1, int ff) {
  for (int e = e0; e < e1; e++) {
    int t = e / ff, i = e - t * ff;
    float g = gu[2 * t * ff + i];
    out[e] = g / (1.0f + expf_(-g)) * gu[2 * t * ff + ff + i];
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
  for (int p = first; p <= pos; p++) sum += sc[p] = expf_(sc[p] - mx);
  for (int i = 0; i < hd; i++) acc[i] = 0;
  for (int p = first; p <= pos; p++) {
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
