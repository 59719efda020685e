// Phi-3-small's kernels (FACTS.md §4): LayerNorm with bias, bias add, GeGeLU on interleaved columns with
// its clamp, and blocksparse causal attention that walks only the key blocks of the layout (CSR table
// built by src/model/blocksparse.ts), so a long context costs local + strided blocks per query, not all
// of them. Each works on a slice [i0, i1) of its units that job.c hands to one thread (small_op below).
// The math is src/backend/ref/small.ts's; tested against it in test/wasm-small.test.ts.
#include "common.h"

enum { OP_LAYERNORM = 6, OP_ADD_BIAS = 7, OP_GEGELU = 8, OP_BLOCKSPARSE = 9 };

// y = (x − mean) / sqrt(var + eps) · w + b per row; two passes (mean, then Σ(x − mean)²) as the
// reference does, so rows with a large mean lose no precision to cancellation.
static void layernorm(float *y, const float *x, const float *w, const float *b, float eps, int t0, int t1, int dim) {
  for (int t = t0; t < t1; t++) {
    const float *xr = x + t * dim;
    float *yr = y + t * dim;
    v128_t acc = wasm_f32x4_splat(0);
    int i = 0;
    for (; i + 4 <= dim; i += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(xr + i));
    float sum = hsum_f32(acc);
    for (; i < dim; i++) sum += xr[i];
    float mean = sum / (float)dim;
    v128_t vm = wasm_f32x4_splat(mean);
    acc = wasm_f32x4_splat(0);
    for (i = 0; i + 4 <= dim; i += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + i), vm);
      acc = fma_f32(acc, d, d);
    }
    float ss = hsum_f32(acc);
    for (; i < dim; i++) ss += (xr[i] - mean) * (xr[i] - mean);
    float inv = 1.0f / __builtin_sqrtf(ss / (float)dim + eps);
    v128_t vi = wasm_f32x4_splat(inv);
    for (i = 0; i + 4 <= dim; i += 4) {
      v128_t d = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + i), vm), vi);
      wasm_v128_store(yr + i, wasm_f32x4_add(wasm_f32x4_mul(d, wasm_v128_load(w + i)), wasm_v128_load(b + i)));
    }
    for (; i < dim; i++) yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
  }
}

static void add_bias(float *y, const float *b, int t0, int t1, int dim) {
  for (int t = t0; t < t1; t++) {
    float *yr = y + t * dim;
    int i = 0;
    for (; i + 4 <= dim; i += 4) wasm_v128_store(yr + i, wasm_f32x4_add(wasm_v128_load(yr + i), wasm_v128_load(b + i)));
    for (; i < dim; i++) yr[i] += b[i];
  }
}

// out[t, i] = a·σ(1.702a)·(b + 1) with a = x[t, 2i], b = x[t, 2i+1], for flat output indices e0..e1 of
// [ntok, ff]. With limit > 0: a = min(a, limit), b = clamp(b, ±limit), infinities passed through (the
// original's torch.where(isinf(x), x, x.clamp(...))); NaN fails every comparison and stays NaN.
static void gegelu(float *out, const float *x, int e0, int e1, int ff, float limit) {
  for (int e = e0; e < e1; e++) {
    int t = e / ff, i = e - t * ff;
    float a = x[2 * t * ff + 2 * i], b = x[2 * t * ff + 2 * i + 1];
    if (limit > 0) {
      if (!__builtin_isinf(a) && a > limit) a = limit;
      if (!__builtin_isinf(b)) {
        if (b > limit) b = limit;
        if (b < -limit) b = -limit;
      }
    }
    out[e] = a / (1.0f + expf_(-1.702f * a)) * (b + 1.0f);
  }
}

static inline float dot(const float *a, const float *b, int n) {
  v128_t acc = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) acc = fma_f32(acc, wasm_v128_load(a + i), wasm_v128_load(b + i));
  float d = hsum_f32(acc);
  for (; i < n; i++) d += a[i] * b[i];
  return d;
}

// One (token t, query head h) of blocksparse attention: the key blocks are cols[rowptr[r]..rowptr[r+1])
// with r = h·nblocks + floor(pos / B), ascending; inside them only positions ≤ pos. Head h reads kv head
// h / (nheads / nkv) (grouped-query attention). scratch: one score per visited position (packed in
// visiting order, so its length is bounded by what the layout allows) then hd accumulator floats.
static void blocksparse_item(float *out, const float *q, int q_stride, const float *k, const float *v, int t, int h, int start,
                             int nheads, int nkv, int hd, float scale, const int32_t *rowptr, const int32_t *cols, int B, int nblocks,
                             float *scratch, int scores_len) {
  int pos = start + t;
  int r = h * nblocks + pos / B;
  int b0 = rowptr[r], b1 = rowptr[r + 1];
  int kvdim = nkv * hd, kvo = (h / (nheads / nkv)) * hd;
  const float *qv = q + t * q_stride + h * hd;
  float *sc = scratch, *acc = scratch + scores_len;
  float mx = -__builtin_inff();
  int j = 0;
  for (int bi = b0; bi < b1; bi++) {
    int p0 = cols[bi] * B, p1 = p0 + B - 1 < pos ? p0 + B - 1 : pos;
    for (int p = p0; p <= p1; p++, j++) {
      float d = dot(qv, k + p * kvdim + kvo, hd) * scale;
      sc[j] = d;
      if (d > mx) mx = d;
    }
  }
  float sum = 0;
  for (int i = 0; i < j; i++) sum += sc[i] = expf_(sc[i] - mx);
  for (int i = 0; i < hd; i++) acc[i] = 0;
  j = 0;
  for (int bi = b0; bi < b1; bi++) {
    int p0 = cols[bi] * B, p1 = p0 + B - 1 < pos ? p0 + B - 1 : pos;
    for (int p = p0; p <= p1; p++, j++) {
      const float *vp = v + p * kvdim + kvo;
      v128_t wv = wasm_f32x4_splat(sc[j]);
      int i = 0;
      for (; i + 4 <= hd; i += 4) wasm_v128_store(acc + i, fma_f32(wasm_v128_load(acc + i), wv, wasm_v128_load(vp + i)));
      for (; i < hd; i++) acc[i] += sc[j] * vp[i];
    }
  }
  float inv = 1.0f / sum;
  float *o = out + t * nheads * hd + h * hd;
  for (int i = 0; i < hd; i++) o[i] = acc[i] * inv;
}

#define P(i) ((void *)(uintptr_t)(uint32_t)a[i])
#define MIN(x, y) ((x) < (y) ? (x) : (y))

// Chunk [lo, lo + n) of a Phi-3-small op, called by job.c's run() with the job's int and float arguments.
void small_op(int op, int tid, int lo, int n, const int32_t *a, const float *f) {
  switch (op) {
    case OP_LAYERNORM: // y, x, w, b, ntok, dim; f0 eps — chunk: tokens
      layernorm(P(0), P(1), P(2), P(3), f[0], lo, MIN(a[4], lo + n), a[5]);
      break;
    case OP_ADD_BIAS: // y, b, ntok, dim — chunk: tokens
      add_bias(P(0), P(1), lo, MIN(a[2], lo + n), a[3]);
      break;
    case OP_GEGELU: // out, x, ntok, ff; f0 limit — chunk: output elements
      gegelu(P(0), P(1), lo, MIN(a[2] * a[3], lo + n), a[3], f[0]);
      break;
    case OP_BLOCKSPARSE: {
      // out, q, q_stride, k, v, ntok, start, nheads, nkv, hd, scratch, scratch_stride, rowptr, cols, B,
      // nblocks; f0 scale — chunk: (token, head) items; each thread has its own scratch row
      int items = a[5] * a[7], hi = MIN(items, lo + n);
      float *scratch = (float *)P(10) + tid * a[11];
      for (int i = lo; i < hi; i++)
        blocksparse_item(P(0), P(1), a[2], P(3), P(4), i / a[7], i % a[7], a[6], a[7], a[8], a[9], f[0], P(12), P(13), a[14], a[15],
                         scratch, a[11] - a[9]);
      break;
    }
  }
}
