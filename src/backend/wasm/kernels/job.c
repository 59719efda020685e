// The job slot shared by all threads: the main thread (JS, src/backend/wasm/pool.ts) writes an op and
// its arguments here, bumps `gen` and every thread (main included) calls run(tid). Work is handed out
// either by a shared atomic chunk counter (matmul, attention: threads that finish early take more) or
// by static slices (the cheap element-wise ops). Exported entry points for the main thread too.
#include "common.h"

void rmsnorm(float *y, const float *x, const float *w, float eps, int t0, int t1, int dim);
void rope(float *x, int t0, int t1, int row_stride, int offset, int nheads, int head_dim, const float *c, const float *s, int half);
void swiglu(float *out, const float *gu, int e0, int e1, int ff);
void attention_item(float *out, const float *q, int q_stride, const float *k, const float *v, int t, int h, int start, int nheads,
                    int nkv, int hd, float scale, int window, float *scratch, int scores_len);
// Phi-3-small's ops (small.c): op codes 6..9, with the job's arguments.
void small_op(int op, int tid, int lo, int n, const int32_t *a, const float *f);

enum { OP_MATMUL = 1, OP_RMSNORM = 2, OP_ROPE = 3, OP_SWIGLU = 4, OP_ATTENTION = 5 };

// Layout known to pool.ts: int32 words [gen, counter, op, total, done, chunk, 2 spare, a[0..15], f[0..3]].
// `counter` packs the job generation (high 20 bits) with the next chunk index (low 12 bits): a thread
// takes chunk i of job g only by a compare-and-swap that still sees generation g, so a thread woken
// late never touches a later job, and the main thread never waits for a thread that has no work left
// (completion is counted in finished chunks, not in threads).
typedef struct {
  int32_t gen;
  uint32_t counter;
  int32_t op, total, done, chunk, spare[2];
  int32_t a[16];
  float f[4];
} job_t;

static job_t job;
EXPORT job_t *job_addr(void) { return &job; }

#define P(i) ((void *)(uintptr_t)(uint32_t)job.a[i])
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static inline int take(uint32_t gen) {
  for (;;) {
    uint32_t v = __atomic_load_n(&job.counter, __ATOMIC_SEQ_CST);
    if ((v >> 12) != gen || (int)(v & 0xfff) >= job.total) return -1;
    if (__atomic_compare_exchange_n(&job.counter, &v, v + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return (int)(v & 0xfff);
  }
}

// Runs chunks of the current job until none is left. gen: the job generation the caller was woken for.
EXPORT void run(int tid, uint32_t gen) {
  for (;;) {
    int c = take(gen);
    if (c < 0) return;
    const int32_t *a = job.a;
    int lo = c * job.chunk, n = job.chunk;
    switch (job.op) {
      case OP_MATMUL: {
        // a: type, w, row_bytes, rows, k, x, x_stride, ntok, y, x4 (activation layout) — chunk: rows
        int type = a[0], hi = MIN(a[3], lo + n);
        if (type == T_F32 || type == T_F16 || type == T_BF16)
          matmul_f(type, P(1), a[2], lo, hi, a[3], a[4], P(5), a[7], P(8));
        else
          matmul_q(type, P(1), a[2], lo, hi, a[3], a[4], P(5), a[6], a[7], P(8), a[9]);
        break;
      }
      case OP_RMSNORM: // y, x, w, ntok, dim; f0 eps — chunk: tokens
        rmsnorm(P(0), P(1), P(2), job.f[0], lo, MIN(a[3], lo + n), a[4]);
        break;
      case OP_ROPE: // x, ntok, row_stride, offset, nheads, head_dim, cos, sin, half — chunk: tokens
        rope(P(0), lo, MIN(a[1], lo + n), a[2], a[3], a[4], a[5], P(6), P(7), a[8]);
        break;
      case OP_SWIGLU: // out, gu, ntok, ff — chunk: output elements
        swiglu(P(0), P(1), lo, MIN(a[2] * a[3], lo + n), a[3]);
        break;
      case OP_ATTENTION: {
        // out, q, q_stride, k, v, ntok, start, nheads, nkv, hd, window, scratch, scratch_stride; f0 scale
        // chunk: (token, head) items; each thread has its own scratch row
        int items = a[5] * a[7], hi = MIN(items, lo + n);
        float *scratch = (float *)P(11) + tid * a[12];
        for (int i = lo; i < hi; i++)
          attention_item(P(0), P(1), a[2], P(3), P(4), i / a[7], i % a[7], a[6], a[7], a[8], a[9], job.f[0], a[10], scratch,
                         a[6] + a[5]);
        break;
      }
      default:
        small_op(job.op, tid, lo, n, job.a, job.f);
        break;
    }
    __atomic_fetch_add(&job.done, 1, __ATOMIC_SEQ_CST);
  }
}
