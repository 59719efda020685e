// Helpers shared by the k-quant reference quantizers (ggml/src/ggml-quants.c): the per-sub-block scale
// searches `make_qkx2_quants` (Q4_K, Q5_K: scale + min) and `make_qx_quants` (Q6_K: signed scale), the
// 6-bit scale/min packing of Q4_K/Q5_K (`get_scale_min_k4` and its inverse), and the whole-block
// "scales and mins" step Q4_K and Q5_K share. All float arithmetic is float32 (see common.ts): each
// intermediate C keeps in a `float` is Math.fround-ed here, in the C evaluation order.
import { GROUP_MAX_EPS, nearestInt } from './common.js';
import { f32ToFp16, fp16ToF32 } from './half.js';

const fr = Math.fround;
const F_0_1 = Math.fround(0.1);

/** Result of make_qkx2_quants: the sub-block scale and `theMin` (>= 0, subtracted at decode). */
export interface ScaleMin {
  scale: number;
  theMin: number;
}

/**
 * ggml `make_qkx2_quants` with use_mad = false: fits x ≈ scale·L - theMin (L in [0, nmax]) minimising
 * Σ w·err², trying nstep+1 candidate inverse scales (nmax + rmin + rdelta·is)/(max - min) and a weighted
 * least-squares refit for each. Writes the levels of the best fit into L[lOff..lOff+n).
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOff: number,
  w: Float32Array,
  L: Uint8Array,
  lOff: number,
  laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
): ScaleMin {
  let min = x[xOff];
  let max = x[xOff];
  let sumW = w[0];
  let sumX = fr(sumW * x[xOff]);
  for (let i = 1; i < n; i++) {
    const xi = x[xOff + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    sumW = fr(sumW + w[i]);
    sumX = fr(sumX + fr(w[i] * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lOff, lOff + n);
    return { scale: 0, theMin: -min };
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(fr(iscale * fr(x[xOff + i] - min))), 0, nmax);
    L[lOff + i] = l;
    const diff = fr(fr(fr(scale * l) + min) - x[xOff + i]);
    bestError = fr(bestError + fr(w[i] * fr(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    // NB: `min` is the best fit so far, not the data minimum, once a candidate has been accepted (ggml
    // reuses the variable), so both the range and the offset below move with it
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i];
      const l = clamp(nearestInt(fr(iscale * fr(xi - min))), 0, nmax);
      laux[i] = l;
      const wl = fr(w[i] * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * xi));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
    let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = fr(sumXL / sumL2);
    }
    let curError = 0;
    for (let i = 0; i < n; i++) {
      const diff = fr(fr(fr(thisScale * laux[i]) + thisMin) - x[xOff + i]);
      curError = fr(curError + fr(w[i] * fr(diff * diff)));
    }
    if (curError < bestError) {
      for (let i = 0; i < n; i++) L[lOff + i] = laux[i];
      bestError = curError;
      scale = thisScale;
      min = thisMin;
    }
  }
  return { scale, theMin: -min };
}

/**
 * ggml `make_qx_quants` with rmse_type 1 and no importance weights (weights w = x²): a signed scale for
 * levels l in [-nmax, nmax-1] (stored as l + nmax in L), starting from -nmax/max (max = the value of
 * largest magnitude) and trying 18 nearby inverse scales -(nmax + 0.1·is)/max, keeping the one that
 * maximises (Σw·x·l)²/Σw·l² (the least-squares fit quality). Returns the least-squares scale.
 */
export function makeQxQuantsRmse1(n: number, nmax: number, x: Float32Array, xOff: number, L: Uint8Array, lOff: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xOff + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xOff + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lOff, lOff + n);
    return 0;
  }
  let iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    const l = clamp(nearestInt(fr(iscale * xi)), -nmax, nmax - 1);
    L[lOff + i] = l + nmax;
    const w = fr(xi * xi);
    sumlx = fr(sumlx + fr(fr(w * xi) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(F_0_1 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i];
      const l = clamp(nearestInt(fr(iscale * xi)), -nmax, nmax - 1);
      const w = fr(xi * xi);
      sumlx = fr(sumlx + fr(fr(w * xi) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        L[lOff + i] = nmax + clamp(nearestInt(fr(iscale * x[xOff + i])), -nmax, nmax - 1);
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * ggml `get_scale_min_k4`: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes at
 * q[off]. j < 4: low 6 bits of bytes j and j+4. j >= 4: low/high nibble of byte j+4 plus the top two
 * bits of bytes j-4 (scale) and j (min) as bits 4-5. Writes [scale, min] into out.
 */
export function getScaleMinK4(j: number, q: Uint8Array, off: number, out: Uint8Array): void {
  if (j < 4) {
    out[0] = q[off + j] & 63;
    out[1] = q[off + j + 4] & 63;
  } else {
    out[0] = (q[off + j + 4] & 0xf) | ((q[off + j - 4] >> 6) << 4);
    out[1] = (q[off + j + 4] >> 4) | ((q[off + j] >> 6) << 4);
  }
}

/** The inverse of getScaleMinK4 for all 8 sub-blocks: packs ls[j], lm[j] (each <= 63) into q[off..off+12). */
export function packScaleMinK4(ls: Uint8Array, lm: Uint8Array, q: Uint8Array, off: number): void {
  for (let j = 0; j < 4; j++) {
    q[off + j] = ls[j];
    q[off + j + 4] = lm[j];
  }
  for (let j = 4; j < 8; j++) {
    q[off + j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4);
    q[off + j - 4] |= (ls[j] >> 4) << 6;
    q[off + j] |= (lm[j] >> 4) << 6;
  }
}

/** Scratch buffers of one Q4_K/Q5_K block quantization (allocated once per quantize call). */
export class KBlockScratch {
  readonly L = new Uint8Array(256);
  readonly laux = new Uint8Array(32);
  readonly weights = new Float32Array(32);
  readonly scales = new Float32Array(8);
  readonly mins = new Float32Array(8);
  readonly ls = new Uint8Array(8);
  readonly lm = new Uint8Array(8);
  readonly sm = new Uint8Array(2);
}

/**
 * The part `quantize_row_q4_K_ref` and `quantize_row_q5_K_ref` share, for the 256 values at x[xOff]:
 * per 32-value sub-block, weights av_x + |x| (av_x = rms of the sub-block) and make_qkx2_quants; then
 * 6-bit scales/mins relative to the largest (63/max, nearest_int, uint8 wrap, min 63), packed into
 * out[off+4..off+16), d = fp16(max_scale/63) at out[off], dmin = fp16(max_min/63) at out[off+2]; then the
 * final levels, re-quantized against the stored (fp16 × 6-bit) scale and min, in s.L[0..256).
 */
export function quantizeScaleMinBlock(
  x: Float32Array,
  xOff: number,
  nmax: number,
  rmin: number,
  nstep: number,
  out: Uint8Array,
  off: number,
  s: KBlockScratch,
): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xj = xOff + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[xj + l] * x[xj + l]));
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) s.weights[l] = avX + Math.abs(x[xj + l]); // stored as float32 = fround
    const r = makeQkx2Quants(32, nmax, x, xj, s.weights, s.L, 32 * j, s.laux, rmin, F_0_1, nstep);
    s.scales[j] = r.scale;
    s.mins[j] = r.theMin;
    if (s.scales[j] > maxScale) maxScale = s.scales[j];
    if (s.mins[j] > maxMin) maxMin = s.mins[j];
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    // C stores nearest_int(...) into a uint8_t first (wraps mod 256), then MIN(63, ·)
    s.ls[j] = Math.min(63, nearestInt(fr(invScale * s.scales[j])) & 0xff);
    s.lm[j] = Math.min(63, nearestInt(fr(invMin * s.mins[j])) & 0xff);
  }
  out.fill(0, off + 4, off + 16);
  packScaleMinK4(s.ls, s.lm, out, off + 4);
  const dBits = f32ToFp16(fr(maxScale / 63));
  const mBits = f32ToFp16(fr(maxMin / 63));
  out[off] = dBits & 0xff;
  out[off + 1] = dBits >> 8;
  out[off + 2] = mBits & 0xff;
  out[off + 3] = mBits >> 8;
  const dAll = fp16ToF32(dBits);
  const mAll = fp16ToF32(mBits);
  for (let j = 0; j < 8; j++) {
    getScaleMinK4(j, out, off + 4, s.sm);
    const d = fr(dAll * s.sm[0]);
    if (!d) continue; // levels stay as make_qkx2_quants left them (ggml does the same)
    const dm = fr(mAll * s.sm[1]);
    for (let ii = 0; ii < 32; ii++) {
      const xi = x[xOff + 32 * j + ii];
      s.L[32 * j + ii] = clamp(nearestInt(fr(fr(xi + dm) / d)), 0, nmax);
    }
  }
}
