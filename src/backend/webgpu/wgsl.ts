// The WGSL compute shaders of the WebGPU backend, as source strings (no build step: the device compiles
// them when a pipeline is first needed). One shader per operation; the matmul shader is assembled per
// weight type from a shared skeleton and a per-type "load 32 weights" function that dequantizes straight
// from the ggml block layout (src/quant/*.ts), so quantized weights are uploaded as they are in the file.
//
// Every shader takes its scalars in a uniform struct at binding 0 and its arrays as storage buffers at
// bindings 1.., each with an element offset (`o*`) in the struct: a Float32Array view may start anywhere
// in its GPU buffer, and a binding offset must be aligned (256 bytes on most GPUs), so the backend binds
// from the aligned offset below and passes the rest here.
//
// Activations, the KV cache and all accumulation are f32 on every device, so results match the
// reference backend. The f16 path (`enable f16`, where the adapter has `shader-f16`) only changes how F16
// weights are read: native f16 loads instead of unpack2x16float, the same values.

/** Threads per workgroup of the row-reduction shaders (matmul, rmsnorm, attention). */
export const WG = 64;
/** Tokens one prefill matmul workgroup computes: a row's weights are dequantized once for TT tokens (decode: 1). */
export const TT = 8;

// Byte access into an array<u32> holding raw block bytes. The block sizes (18, 34, 210 bytes) keep fields
// only 2-byte aligned, so u32At() stitches a word from two halves when needed.
const BYTES = /* wgsl */ `
fn byteAt(o: u32) -> u32 { return (w[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu; }
fn u16At(o: u32) -> u32 { return (w[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu; }
fn f16At(o: u32) -> f32 { return unpack2x16float(u16At(o)).x; }
fn u32At(o: u32) -> u32 {
  let i = o >> 2u;
  if ((o & 2u) == 0u) { return w[i]; }
  return (w[i] >> 16u) | (w[i + 1u] << 16u);
}
fn i8At(o: u32) -> f32 { return f32(extractBits(i32(byteAt(o)), 0u, 8u)); }
`;

// load(rowByte, u, v) fills v with the 32 weights of unit u (elements 32u..32u+31) of the row that starts
// at byte rowByte, as 8 vec4s, and returns how many are valid (fewer only at the end of a float row,
// where the rest are zero). Loops have constant trip counts so compilers unroll them and keep v in
// registers; bytes(q) splits a word into its 4 bytes.
const LOADERS: Record<string, string> = {
  F32: /* wgsl */ `
fn load(rb: u32, u: u32, v: ptr<function, array<vec4<f32>, 8>>) -> u32 {
  let n = min(32u, p.k - u * 32u);
  let base = (rb >> 2u) + u * 32u;
  if (n == 32u) {
    for (var j = 0u; j < 8u; j++) {
      let o = base + 4u * j;
      (*v)[j] = vec4<f32>(bitcast<f32>(w[o]), bitcast<f32>(w[o + 1u]), bitcast<f32>(w[o + 2u]), bitcast<f32>(w[o + 3u]));
    }
  } else {
    for (var j = 0u; j < 8u; j++) { (*v)[j] = vec4<f32>(0.0); }
    for (var i = 0u; i < n; i++) { (*v)[i / 4u][i % 4u] = bitcast<f32>(w[base + i]); }
  }
  return n;
}`,
  F16: /* wgsl */ `
fn load(rb: u32, u: u32, v: ptr<function, array<vec4<f32>, 8>>) -> u32 {
  let n = min(32u, p.k - u * 32u);
  let base = rb + u * 64u;
  if (n == 32u) {
    for (var j = 0u; j < 8u; j++) {
      let o = base + 8u * j;
      (*v)[j] = vec4<f32>(half2(o), half2(o + 4u));
    }
  } else {
    for (var j = 0u; j < 8u; j++) { (*v)[j] = vec4<f32>(0.0); }
    for (var i = 0u; i < n; i++) { (*v)[i / 4u][i % 4u] = f16At(base + 2u * i); }
  }
  return n;
}`,
  // Q4_0: f16 d, 16 bytes; byte j holds element j (low nibble) and j + 16 (high), value (q − 8)·d.
  Q4_0: /* wgsl */ `
fn load(rb: u32, u: u32, v: ptr<function, array<vec4<f32>, 8>>) -> u32 {
  let b = rb + u * 18u;
  let d = f16At(b);
  for (var j = 0u; j < 4u; j++) {
    let q = bytes(u32At(b + 2u + 4u * j));
    (*v)[j] = (vec4<f32>(q & vec4<u32>(0xfu)) - 8.0) * d;
    (*v)[4u + j] = (vec4<f32>(q >> vec4<u32>(4u)) - 8.0) * d;
  }
  return 32u;
}`,
  // Q8_0: f16 d, 32 int8 values, value q·d.
  Q8_0: /* wgsl */ `
fn load(rb: u32, u: u32, v: ptr<function, array<vec4<f32>, 8>>) -> u32 {
  let b = rb + u * 34u;
  let d = f16At(b);
  for (var j = 0u; j < 8u; j++) {
    let q = i32(u32At(b + 2u + 4u * j));
    (*v)[j] = vec4<f32>(vec4<i32>(extractBits(q, 0u, 8u), extractBits(q, 8u, 8u), extractBits(q, 16u, 8u), extractBits(q, 24u, 8u))) * d;
  }
  return 32u;
}`,
  // Q4_K: 256-element super-blocks of 144 bytes: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins
  // (ggml's get_scale_min_k4), 128 bytes of nibbles. Unit u is sub-block j = u % 8: chunk c = j / 2 of 32
  // bytes, low nibbles for even j, high for odd; value (d·sc)·q − dmin·m.
  Q4_K: /* wgsl */ `
fn load(rb: u32, u: u32, v: ptr<function, array<vec4<f32>, 8>>) -> u32 {
  let b = rb + (u / 8u) * 144u;
  let j = u % 8u;
  let d = f16At(b);
  let dmin = f16At(b + 2u);
  var sc: u32;
  var m: u32;
  if (j < 4u) {
    sc = byteAt(b + 4u + j) & 63u;
    m = byteAt(b + 8u + j) & 63u;
  } else {
    sc = (byteAt(b + 8u + j) & 0xfu) | ((byteAt(b + j) >> 6u) << 4u);
    m = (byteAt(b + 8u + j) >> 4u) | ((byteAt(b + 4u + j) >> 6u) << 4u);
  }
  let d1 = d * f32(sc);
  let m1 = dmin * f32(m);
  let shift = (j & 1u) * 4u;
  let q0 = (b + 16u + 32u * (j / 2u)) >> 2u;
  for (var i = 0u; i < 8u; i++) {
    (*v)[i] = d1 * vec4<f32>(bytes(w[q0 + i] >> shift) & vec4<u32>(0xfu)) - m1;
  }
  return 32u;
}`,
  // Q6_K: 256-element super-blocks of 210 bytes: ql[128] (low 4 bits), qh[64] (high 2 bits), int8
  // scales[16], f16 d. Unit u: half h = j / 4 and quarter r = j % 4 of that half, value (d·sc)·(q − 32).
  Q6_K: /* wgsl */ `
fn load(rb: u32, u: u32, v: ptr<function, array<vec4<f32>, 8>>) -> u32 {
  let b = rb + (u / 8u) * 210u;
  let j = u % 8u;
  let h = j / 4u;
  let r = j % 4u;
  let d = f16At(b + 208u);
  let ql = b + 64u * h + 32u * (r & 1u);
  let qh = b + 128u + 32u * h;
  let lshift = (r >> 1u) * 4u;
  let hshift = 2u * r;
  let s0 = d * i8At(b + 192u + 8u * h + 2u * r);
  let s1 = d * i8At(b + 192u + 8u * h + 2u * r + 1u);
  for (var i = 0u; i < 8u; i++) {
    let lo = bytes(u32At(ql + 4u * i) >> lshift) & vec4<u32>(0xfu);
    let hi = bytes(u32At(qh + 4u * i) >> hshift) & vec4<u32>(3u);
    (*v)[i] = select(s1, s0, i < 4u) * (vec4<f32>(lo | (hi << vec4<u32>(4u))) - 32.0);
  }
  return 32u;
}`,
};

// The f16 path for F16 weights: native f16 loads (needs the shader-f16 feature) in place of
// unpack2x16float. The same values, so the same results; it exists for speed where devices have it.
const HALF2_F32 = /* wgsl */ `fn half2(o: u32) -> vec2<f32> { return unpack2x16float(u32At(o)); }`;
const HALF2_F16 = /* wgsl */ `fn half2(o: u32) -> vec2<f32> { return vec2<f32>(bitcast<vec2<f16>>(u32At(o))); }`;

/** Weight types with an in-shader dequantizer; others are converted to F32 when uploaded. */
export const MATMUL_TYPES = Object.keys(LOADERS);

/**
 * y[t, r] = Σ_c W[r, c]·x[t, c]. A workgroup of WG threads computes WG/S rows for a tile of tt tokens:
 * the S threads of a row stride over its 32-weight units, each unit dequantized once and dotted with up to
 * tt token rows, then a tree reduction over the S lanes. S is chosen per matrix (more lanes for longer
 * rows): few units per row (the 64-wide rows of a tiny model) would leave most lanes of a 64-lane row
 * idle. Rows beyond 65535 groups go to the z dimension of the dispatch.
 */
export function matmulShader(type: string, lanes: number, tt: number, f16: boolean): string {
  return /* wgsl */ `${f16 ? 'enable f16;' : ''}
struct P { rows: u32, k: u32, nTok: u32, rowBytes: u32, ox: u32, oy: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
const WG = ${WG}u;
const S = ${lanes}u;
const TT = ${tt}u;
var<workgroup> red: array<f32, ${WG * tt}>;
${BYTES}
fn bytes(q: u32) -> vec4<u32> { return vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xffu); }
${f16 ? HALF2_F16 : HALF2_F32}
${LOADERS[type]}
fn x4(o: u32) -> vec4<f32> { return vec4<f32>(x[o], x[o + 1u], x[o + 2u], x[o + 3u]); }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = (g.x + g.z * 65535u) * (WG / S) + lid / S;
  let lane = lid % S;
  let t0 = g.y * TT;
  let nt = min(TT, p.nTok - t0);
  var acc: array<f32, ${tt}>;
  if (row < p.rows) {
    let nu = (p.k + 31u) / 32u;
    let rb = row * p.rowBytes;
    var v: array<vec4<f32>, 8>;
    for (var u = lane; u < nu; u += S) {
      let n = load(rb, u, &v);
      for (var t = 0u; t < nt; t++) {
        let xb = p.ox + (t0 + t) * p.k + u * 32u;
        var s = vec4<f32>(0.0);
        if (n == 32u) {
          for (var j = 0u; j < 8u; j++) { s += v[j] * x4(xb + 4u * j); }
        } else {
          for (var i = 0u; i < n; i++) { s.x += v[i / 4u][i % 4u] * x[xb + i]; }
        }
        acc[t] += (s.x + s.y) + (s.z + s.w);
      }
    }
  }
  if (S == 1u) {
    if (row < p.rows) {
      for (var t = 0u; t < TT; t++) {
        if (t < nt) { y[p.oy + (t0 + t) * p.rows + row] = acc[t]; }
      }
    }
    return;
  }
  for (var t = 0u; t < TT; t++) { red[t * WG + lid] = acc[t]; }
  workgroupBarrier();
  for (var s = S / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var t = 0u; t < TT; t++) { red[t * WG + lid] += red[t * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  if (row < p.rows && lane == 0u) {
    for (var t = 0u; t < TT; t++) {
      if (t < nt) { y[p.oy + (t0 + t) * p.rows + row] = red[t * WG + lid]; }
    }
  }
}`;
}

/** Lanes a matmul row gets: about 4 units (128 weights) a lane, at most WG. */
export function matmulLanes(k: number): number {
  let s = 1;
  while (s < WG && s * 4 * 32 < k) s *= 2;
  return s;
}

/** RMSNorm, one workgroup per row; the normalized value is rounded to f32 before the weight multiply. */
export const RMSNORM = /* wgsl */ `
struct P { dim: u32, eps: f32, ox: u32, ow: u32, oy: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let xb = p.ox + g.x * p.dim;
  let yb = p.oy + g.x * p.dim;
  var ss = 0.0;
  for (var i = lid; i < p.dim; i += ${WG}u) { ss += x[xb + i] * x[xb + i]; }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(red[0] / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += ${WG}u) { y[yb + i] = (x[xb + i] * inv) * wt[p.ow + i]; }
}`;

/** In-place NeoX RoPE: one thread per (token, head, pair). */
export const ROPE = /* wgsl */ `
struct P { nTok: u32, stride: u32, off: u32, nHeads: u32, headDim: u32, half: u32, ox: u32, oc: u32, os: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<f32>;
@group(0) @binding(3) var<storage, read> sn: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let id = gid.x + gid.y * 65535u * 64u;
  if (id >= p.nTok * p.nHeads * p.half) { return; }
  let i = id % p.half;
  let h = (id / p.half) % p.nHeads;
  let t = id / (p.half * p.nHeads);
  let base = p.ox + t * p.stride + p.off + h * p.headDim;
  let c = cs[p.oc + t * p.half + i];
  let s = sn[p.os + t * p.half + i];
  let a = x[base + i];
  let b = x[base + i + p.half];
  x[base + i] = a * c - b * s;
  x[base + i + p.half] = b * c + a * s;
}`;

/**
 * WGSL: one online-softmax pass over key positions start..last (inclusive), WG at a time (one score per
 * thread, then every thread folds the chunk into its running max m, sum l and its 4 output dims acc).
 * Shared by dense and blocksparse attention, which differ only in which ranges they visit.
 */
function attendRange(start: string, last: string): string {
  return `
  for (var c0 = ${start}; c0 <= ${last}; c0 += ${WG}u) {
    let pp = c0 + lid;
    var s = -3.0e38;
    if (pp <= ${last}) {
      let kp = p.ok + pp * p.kvDim + kvo;
      var dot = 0.0;
      for (var i = 0u; i < p.headDim; i++) { dot += q[qb + i] * kc[kp + i]; }
      s = dot * p.scale;
    }
    sc[lid] = s;
    workgroupBarrier();
    let n = min(${WG}u, ${last} + 1u - c0);
    var cm = m;
    for (var j = 0u; j < n; j++) { cm = max(cm, sc[j]); }
    let f = exp(m - cm);
    l *= f;
    for (var j = 0u; j < 4u; j++) { acc[j] *= f; }
    for (var j = 0u; j < n; j++) {
      let e = exp(sc[j] - cm);
      l += e;
      let vb = p.ov + (c0 + j) * p.kvDim + kvo;
      for (var dj = 0u; dj < 4u; dj++) {
        let d = lid + dj * ${WG}u;
        if (d < p.headDim) { acc[dj] += e * vc[vb + d]; }
      }
    }
    m = cm;
    workgroupBarrier();
  }`;
}

/** WGSL: out = acc / l for this thread's output dims. */
const WRITE_OUT = `
  let ob = p.oo + t * p.numHeads * p.headDim + h * p.headDim;
  for (var dj = 0u; dj < 4u; dj++) {
    let d = lid + dj * ${WG}u;
    if (d < p.headDim) { o[ob + d] = acc[dj] / l; }
  }`;

/**
 * Causal (optionally windowed) GQA attention over the cache, one workgroup per (head, token), with an
 * online softmax over chunks of WG positions: each thread scores one position of the chunk, then every
 * thread rescales its running output dims (d = lid + WG·j, head_dim ≤ 4·WG) — no scratch buffer.
 */
export const ATTENTION = /* wgsl */ `
struct P { startPos: u32, numHeads: u32, group: u32, headDim: u32, kvDim: u32, qStride: u32, scale: f32, window: u32, oq: u32, ok: u32, ov: u32, oo: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
var<workgroup> sc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = g.x;
  let t = g.y;
  let pos = p.startPos + t;
  var first = 0u;
  if (p.window > 0u && pos + 1u > p.window) { first = pos + 1u - p.window; }
  let qb = p.oq + t * p.qStride + h * p.headDim;
  let kvo = (h / p.group) * p.headDim;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, 4>;
${attendRange('first', 'pos')}
${WRITE_OUT}
}`;

/** out[t, i] = silu(gate)·up over the fused gate|up rows. */
export const SWIGLU = /* wgsl */ `
struct P { nTok: u32, ff: u32, og: u32, oo: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let id = gid.x + gid.y * 65535u * 64u;
  if (id >= p.nTok * p.ff) { return; }
  let t = id / p.ff;
  let i = id % p.ff;
  let gate = gu[p.og + t * 2u * p.ff + i];
  o[p.oo + id] = gate / (1.0 + exp(-gate)) * gu[p.og + t * 2u * p.ff + p.ff + i];
}`;

/** y[i] += x[i] (the residual connection). */
export const ADD = /* wgsl */ `
struct P { n: u32, oy: u32, ox: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let id = gid.x + gid.y * 65535u * 64u;
  if (id < p.n) { y[p.oy + id] += x[p.ox + id]; }
}`;

/** Copies the new K and V rows of nTok fused rows into the cache at startPos. */
export const STORE_KV = /* wgsl */ `
struct P { nTok: u32, kvDim: u32, stride: u32, off: u32, startPos: u32, os: u32, ok: u32, ov: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> kc: array<f32>;
@group(0) @binding(3) var<storage, read_write> vc: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let id = gid.x + gid.y * 65535u * 64u;
  if (id >= p.nTok * p.kvDim) { return; }
  let t = id / p.kvDim;
  let i = id % p.kvDim;
  let s = p.os + t * p.stride + p.off + i;
  let d = (p.startPos + t) * p.kvDim + i;
  kc[p.ok + d] = src[s];
  vc[p.ov + d] = src[s + p.kvDim];
}`;

// --- Phi-3-small ops (FACTS.md §4): the reference is src/backend/ref/small.ts. ---

/** LayerNorm with bias, one workgroup per row: the mean, then the biased variance about it (two passes). */
export const LAYERNORM = /* wgsl */ `
struct P { dim: u32, eps: f32, ox: u32, ow: u32, ob: u32, oy: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bs: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> red2: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let xb = p.ox + g.x * p.dim;
  let yb = p.oy + g.x * p.dim;
  var sum = 0.0;
  for (var i = lid; i < p.dim; i += ${WG}u) { sum += x[xb + i]; }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let mean = red[0] / f32(p.dim);
  var ss = 0.0;
  for (var i = lid; i < p.dim; i += ${WG}u) { ss += (x[xb + i] - mean) * (x[xb + i] - mean); }
  red2[lid] = ss;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red2[lid] += red2[lid + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(red2[0] / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += ${WG}u) { y[yb + i] = (x[xb + i] - mean) * inv * wt[p.ow + i] + bs[p.ob + i]; }
}`;

/** y[t, i] += bias[i]. */
export const ADD_BIAS = /* wgsl */ `
struct P { n: u32, dim: u32, oy: u32, ob: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> bs: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let id = gid.x + gid.y * 65535u * 64u;
  if (id < p.n) { y[p.oy + id] += bs[p.ob + id % p.dim]; }
}`;

/**
 * GeGeLU on interleaved columns (even: gelu input a, odd: linear b), clamped at ±limit when limit > 0 with
 * infinities passed through as torch.where(isinf(x), x, clamp) does: the test is on the exponent bits,
 * which a compiler cannot fold away as it may an isinf() written with comparisons.
 */
export const GEGELU = /* wgsl */ `
struct P { nTok: u32, ff: u32, limit: f32, ox: u32, oo: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
fn finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let id = gid.x + gid.y * 65535u * 64u;
  if (id >= p.nTok * p.ff) { return; }
  let t = id / p.ff;
  let i = id % p.ff;
  var a = x[p.ox + t * 2u * p.ff + 2u * i];
  var b = x[p.ox + t * 2u * p.ff + 2u * i + 1u];
  if (p.limit > 0.0) {
    if (finite(a)) { a = min(a, p.limit); }
    if (finite(b)) { b = clamp(b, -p.limit, p.limit); }
  }
  o[p.oo + id] = a / (1.0 + exp(-1.702 * a)) * (b + 1.0);
}`;

/**
 * ATTENTION restricted to a blocksparse layout (src/model/blocksparse.ts): one workgroup per (head, token)
 * walks only the key blocks of its CSR row — lay holds rowPtr (numHeads·numBlocks + 1 entries) then cols,
 * uploaded once per layout — each block in chunks of up to WG positions, with the same online softmax.
 */
export const BLOCKSPARSE_ATTENTION = /* wgsl */ `
struct P { startPos: u32, numHeads: u32, group: u32, headDim: u32, kvDim: u32, qStride: u32, scale: f32, blockSize: u32, numBlocks: u32, oq: u32, ok: u32, ov: u32, ol: u32, oo: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read> lay: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
var<workgroup> sc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = g.x;
  let t = g.y;
  let pos = p.startPos + t;
  let r = h * p.numBlocks + pos / p.blockSize;
  let first = lay[p.ol + r];
  let last = lay[p.ol + r + 1u];
  let cols = p.ol + p.numHeads * p.numBlocks + 1u;
  let qb = p.oq + t * p.qStride + h * p.headDim;
  let kvo = (h / p.group) * p.headDim;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, 4>;
  for (var bi = first; bi < last; bi++) {
    let kb = lay[cols + bi];
    let end = min(kb * p.blockSize + p.blockSize - 1u, pos);
    ${attendRange('kb * p.blockSize', 'end')}
  }
${WRITE_OUT}
}`;
