// Training kernels: the forward and the hand-written backward of every op of the Phi-3 block, on flat
// row-major Float32Arrays (N rows = batch·seq tokens). Plain TypeScript written for speed: no allocation
// inside loops, contiguous inner loops, four token rows per weight-row load in the matmuls. Each
// backward ACCUMULATES into its gradient buffers (+=), so residual branches and gradient accumulation
// need no extra copies. A GPU backend would implement exactly these functions.
// Tested by test/train-grad.test.ts: every backward against central finite differences of its forward.

/** y[t, r] = Σ_c x[t, c] · W[r, c]  (W: rows×cols row-major, i.e. ggml dims [cols, rows]). */
export function matmul(y: Float32Array, x: Float32Array, w: Float32Array, n: number, cols: number, rows: number): void {
  gemm(y, x, w, n, cols, rows, false);
}

/**
 * The one kernel: y[t, r] (+)= dot(x row t, w row r), four x rows per pass over a w row so each weight
 * row is loaded once per four tokens. Inner loops are contiguous dot products, which V8 compiles to
 * tight scalar code; every other product (the backward's) is routed here through transposes.
 */
function gemm(y: Float32Array, x: Float32Array, w: Float32Array, n: number, cols: number, rows: number, acc: boolean): void {
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
    const y0 = t * rows, y1 = y0 + rows, y2 = y1 + rows, y3 = y2 + rows;
    for (let r = 0; r < rows; r++) {
      const wo = r * cols;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let c = 0; c < cols; c++) {
        const wv = w[wo + c];
        s0 += x[x0 + c] * wv;
        s1 += x[x1 + c] * wv;
        s2 += x[x2 + c] * wv;
        s3 += x[x3 + c] * wv;
      }
      if (acc) {
        y[y0 + r] += s0;
        y[y1 + r] += s1;
        y[y2 + r] += s2;
        y[y3 + r] += s3;
      } else {
        y[y0 + r] = s0;
        y[y1 + r] = s1;
        y[y2 + r] = s2;
        y[y3 + r] = s3;
      }
    }
  }
  for (; t < n; t++) {
    const xo = t * cols;
    for (let r = 0; r < rows; r++) {
      const wo = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[xo + c] * w[wo + c];
      if (acc) y[t * rows + r] += s;
      else y[t * rows + r] = s;
    }
  }
}

let scratchA = new Float32Array(0);
let scratchB = new Float32Array(0);

/** dst (cols × rows) = transpose of src (rows × cols); dst is a grown scratch buffer. */
function transpose(src: Float32Array, rows: number, cols: number, which: 0 | 1): Float32Array {
  if (which === 0 && scratchA.length < rows * cols) scratchA = new Float32Array(rows * cols);
  if (which === 1 && scratchB.length < rows * cols) scratchB = new Float32Array(rows * cols);
  const dst = which === 0 ? scratchA : scratchB;
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B)
    for (let c0 = 0; c0 < cols; c0 += B) {
      const r1 = Math.min(rows, r0 + B), c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
    }
  return dst;
}

/** dx[t, c] += Σ_r dy[t, r] · W[r, c]  and  dW[r, c] += Σ_t dy[t, r] · x[t, c]. */
export function matmulBackward(
  dx: Float32Array | null,
  dw: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  n: number,
  cols: number,
  rows: number,
): void {
  // dx = dy · W  =  rows of dy dotted with rows of Wᵀ
  if (dx) gemm(dx, dy, transpose(w, rows, cols, 0), n, rows, cols, true);
  // dW = dyᵀ · x  =  rows of dyᵀ dotted with rows of xᵀ
  const dyT = transpose(dy, n, rows, 0);
  const xT = transpose(x, n, cols, 1);
  gemm(dw, dyT, xT, rows, n, cols, true);
}

/** Row t of y = row ids[t] of the table (vocab rows of `dim`). */
export function embed(y: Float32Array, table: Float32Array, ids: Int32Array, dim: number): void {
  for (let t = 0; t < ids.length; t++) y.set(table.subarray(ids[t] * dim, ids[t] * dim + dim), t * dim);
}

export function embedBackward(dtable: Float32Array, dy: Float32Array, ids: Int32Array, dim: number): void {
  for (let t = 0; t < ids.length; t++) {
    const o = ids[t] * dim;
    const yo = t * dim;
    for (let i = 0; i < dim; i++) dtable[o + i] += dy[yo + i];
  }
}

/** y = x · inv · g with inv = 1/√(mean(x²) + eps) per row; saves inv for the backward. */
export function rmsnorm(y: Float32Array, inv: Float32Array, x: Float32Array, g: Float32Array, eps: number, n: number, dim: number): void {
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / dim + eps);
    inv[t] = r;
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * r * g[i];
  }
}

/** dx += inv·(u − x·inv²·mean(u·x)) with u = dy·g;  dg += Σ_t dy·x·inv. */
export function rmsnormBackward(
  dx: Float32Array,
  dg: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  inv: Float32Array,
  g: Float32Array,
  n: number,
  dim: number,
): void {
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    const r = inv[t];
    let dot = 0;
    for (let i = 0; i < dim; i++) {
      dot += dy[o + i] * g[i] * x[o + i];
      dg[i] += dy[o + i] * x[o + i] * r;
    }
    const k = (r * r * r * dot) / dim;
    for (let i = 0; i < dim; i++) dx[o + i] += r * dy[o + i] * g[i] - k * x[o + i];
  }
}

/**
 * In-place NeoX RoPE on `heads` heads starting at column `offset` of each row (stride `stride`). Row t is
 * at position t mod seqLen (every sequence of the batch starts at 0). `sign` −1 rotates backwards,
 * which is the backward pass: the rotation is orthogonal, so its transpose is its inverse.
 */
export function rope(
  x: Float32Array,
  n: number,
  stride: number,
  offset: number,
  heads: number,
  headDim: number,
  seqLen: number,
  cos: Float32Array,
  sin: Float32Array,
  half: number,
  sign: 1 | -1,
): void {
  for (let t = 0; t < n; t++) {
    const a0 = (t % seqLen) * half;
    for (let h = 0; h < heads; h++) {
      const b = t * stride + offset + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[a0 + i];
        const s = sign * sin[a0 + i];
        const p = x[b + i];
        const q = x[b + i + half];
        x[b + i] = p * c - q * s;
        x[b + i + half] = q * c + p * s;
      }
    }
  }
}

/** out[t, i] = silu(gate) · up on the fused gate|up rows. */
export function swiglu(out: Float32Array, gu: Float32Array, n: number, ff: number): void {
  for (let t = 0; t < n; t++) {
    const g0 = t * 2 * ff;
    const o = t * ff;
    for (let i = 0; i < ff; i++) {
      const g = gu[g0 + i];
      out[o + i] = (g / (1 + Math.exp(-g))) * gu[g0 + ff + i];
    }
  }
}

export function swigluBackward(dgu: Float32Array, dout: Float32Array, gu: Float32Array, n: number, ff: number): void {
  for (let t = 0; t < n; t++) {
    const g0 = t * 2 * ff;
    const o = t * ff;
    for (let i = 0; i < ff; i++) {
      const g = gu[g0 + i];
      const s = 1 / (1 + Math.exp(-g));
      const d = dout[o + i];
      dgu[g0 + i] += d * gu[g0 + ff + i] * s * (1 + g * (1 - s));
      dgu[g0 + ff + i] += d * g * s;
    }
  }
}

export interface AttnShape {
  batch: number;
  seqLen: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/** Row layout of the fused qkv buffer (row = Q | K | V) and the score scale. */
function attnGeometry(s: AttnShape): { qDim: number; kvDim: number; stride: number; scale: number } {
  const qDim = s.numHeads * s.headDim;
  const kvDim = s.numKvHeads * s.headDim;
  return { qDim, kvDim, stride: qDim + 2 * kvDim, scale: 1 / Math.sqrt(s.headDim) };
}

/** Offsets within a qkv row of the K and V of the key-value head that query head h shares. */
function kvOffsets(s: AttnShape, h: number): { ko: number; vo: number } {
  const { qDim, kvDim } = attnGeometry(s);
  const ko = qDim + Math.floor(h / (s.numHeads / s.numKvHeads)) * s.headDim;
  return { ko, vo: ko + kvDim };
}

/**
 * Causal GQA attention inside each of `batch` sequences of seqLen rows of the fused qkv buffer
 * (row = Q | K | V). Saves the softmax probabilities P[b, h, t, 0..t] (stride seqLen) for the backward.
 */
export function attention(out: Float32Array, probs: Float32Array, qkv: Float32Array, s: AttnShape): void {
  const { batch, seqLen: T, numHeads, headDim: D } = s;
  const { qDim, stride, scale } = attnGeometry(s);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < numHeads; h++) {
      const { ko, vo } = kvOffsets(s, h);
      for (let t = 0; t < T; t++) {
        const row = b * T + t;
        const qo = row * stride + h * D;
        const po = ((b * numHeads + h) * T + t) * T;
        let max = -Infinity;
        for (let p = 0; p <= t; p++) {
          const kb = (b * T + p) * stride + ko;
          let dot = 0;
          for (let i = 0; i < D; i++) dot += qkv[qo + i] * qkv[kb + i];
          const sc = dot * scale;
          probs[po + p] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let p = 0; p <= t; p++) {
          const e = Math.exp(probs[po + p] - max);
          probs[po + p] = e;
          sum += e;
        }
        const oo = row * qDim + h * D;
        for (let i = 0; i < D; i++) out[oo + i] = 0;
        const invSum = 1 / sum;
        for (let p = 0; p <= t; p++) {
          const w = (probs[po + p] *= invSum);
          const vb = (b * T + p) * stride + vo;
          for (let i = 0; i < D; i++) out[oo + i] += w * qkv[vb + i];
        }
      }
    }
  }
}

/** dqkv += the gradient of attention w.r.t. q, k and v (dP = dO·V; dS = P ⊙ (dP − Σ P·dP)). */
export function attentionBackward(dqkv: Float32Array, dout: Float32Array, probs: Float32Array, qkv: Float32Array, dp: Float32Array, s: AttnShape): void {
  const { batch, seqLen: T, numHeads, headDim: D } = s;
  const { qDim, stride, scale } = attnGeometry(s);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < numHeads; h++) {
      const { ko, vo } = kvOffsets(s, h);
      for (let t = 0; t < T; t++) {
        const row = b * T + t;
        const qo = row * stride + h * D;
        const oo = row * qDim + h * D;
        const po = ((b * numHeads + h) * T + t) * T;
        let sumPdP = 0;
        for (let p = 0; p <= t; p++) {
          const vb = (b * T + p) * stride + vo;
          let d = 0;
          for (let i = 0; i < D; i++) d += dout[oo + i] * qkv[vb + i];
          dp[p] = d;
          sumPdP += probs[po + p] * d;
          // dV_p += P[t, p] · dO_t
          const w = probs[po + p];
          for (let i = 0; i < D; i++) dqkv[vb + i] += w * dout[oo + i];
        }
        for (let p = 0; p <= t; p++) {
          const ds = probs[po + p] * (dp[p] - sumPdP) * scale;
          if (ds === 0) continue;
          const kb = (b * T + p) * stride + ko;
          for (let i = 0; i < D; i++) {
            dqkv[qo + i] += ds * qkv[kb + i];
            dqkv[kb + i] += ds * qkv[qo + i];
          }
        }
      }
    }
  }
}

/**
 * Log-softmax of each row's target: logp[t] = logits[t, target[t]] − logsumexp(logits[t]); rows with
 * target < 0 get 0. Overwrites logits with the softmax probabilities (what the backward needs).
 */
export function logSoftmaxTargets(logp: Float64Array, logits: Float32Array, targets: Int32Array, vocab: number): void {
  for (let t = 0; t < targets.length; t++) {
    const o = t * vocab;
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (logits[o + i] > max) max = logits[o + i];
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(logits[o + i] - max);
    const lse = max + Math.log(sum);
    const y = targets[t];
    logp[t] = y >= 0 ? logits[o + y] - lse : 0;
    for (let i = 0; i < vocab; i++) logits[o + i] = Math.exp(logits[o + i] - lse);
  }
}

/** In place: probs → dlogits for an objective with dL/dlogp[t] = dlogp[t]: dlogits = −dlogp·(onehot − p). */
export function logSoftmaxBackward(probs: Float32Array, dlogp: Float64Array, targets: Int32Array, vocab: number): void {
  for (let t = 0; t < targets.length; t++) {
    const o = t * vocab;
    const d = dlogp[t];
    const y = targets[t];
    if (d === 0 || y < 0) {
      probs.fill(0, o, o + vocab);
      continue;
    }
    const k = -d;
    for (let i = 0; i < vocab; i++) probs[o + i] *= k;
    probs[o + y] -= k;
  }
}
