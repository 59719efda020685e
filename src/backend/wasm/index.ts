// The WASM backend: the Backend interface (../backend.ts) over C kernels compiled to WebAssembly SIMD
// (kernels/, built by kernels/build.sh), run on worker threads sharing one memory (pool.ts, arena.ts).
// The relaxed-SIMD build is used where the engine supports it (enabled on Node 20 by setting V8's flag
// at run time before the first compile; browsers need no flag: the platform seam is host.ts) and passes
// a known-answer self-test, otherwise the SIMD128 build. Weights and the KV cache are allocated in WASM memory through allocate(), so they are read
// straight from the file to where the kernels use them, in ggml's block layout (no repacking);
// tensors that live elsewhere are copied in once (cached per buffer). Activations passed as plain
// Float32Arrays are copied in and out (small next to the weights). A model larger than one 4 GiB
// memory spreads over several (Shard below). Weight types without a kernel fall back to the reference
// backend. Tested op by op against ../ref in test/wasm-parity.test.ts, and end to end on the reference
// models (also spread over several small memories).
import type { AttentionShape, Backend, KVLayer, RopeAngles } from '../backend.js';
import { refBackend } from '../ref/index.js';
import type { Tensor } from '../../model/tensor.js';
import type { BlockSparseLayout } from '../../model/blocksparse.js';
import { GGMLType, typeInfo } from '../../quant/types.js';
import { quantizeRow } from '../../quant/index.js';
import { Phi3Error } from '../../errors.js';
import { Arena } from './arena.js';
import { ThreadPool } from './pool.js';
import { installedWasmHost, type WasmHost } from './host.js';
import { nodeWasmHost } from './host-node.js';

const OP_MATMUL = 1;
const OP_RMSNORM = 2;
const OP_ROPE = 3;
const OP_SWIGLU = 4;
const OP_ATTENTION = 5;
// Phi-3-small's ops (kernels/small.c)
const OP_LAYERNORM = 6;
const OP_ADD_BIAS = 7;
const OP_GEGELU = 8;
const OP_BLOCKSPARSE = 9;

const Q8_BLOCK = 40; // per 32 activations: 32 × i8, f32 d, f32 d·Σq (kernels/common.h)
const Q8K_BLOCK = 292; // bq8k: f32 d, 16 × i16 sums, 256 × i8
const Q32 = new Set<GGMLType>([GGMLType.Q4_0, GGMLType.Q8_0]);
const QK = new Set<GGMLType>([GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]);
const FLOAT = new Set<GGMLType>([GGMLType.F32, GGMLType.F16, GGMLType.BF16]);
/** Weight types with prefill kernels over 4-token-interleaved activations (kernels/quantize.c). */
const X4 = new Set<GGMLType>([GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]);
const X4_MAX_K = 32768;
/** Below this many elements an element-wise op runs on the calling thread alone. */
const SMALL = 1 << 15;

export type SimdFlavor = 'relaxed' | 'simd128';

export interface WasmBackendOptions {
  /** Threads including the calling one (default: available cores). */
  threads?: number;
  /** Force a kernel build (default: relaxed where supported). */
  simd?: SimdFlavor;
  /** Largest size of one WASM memory (default and maximum 4 GiB, wasm32's limit); tests use less. */
  memoryBytes?: number;
}

/**
 * One WebAssembly.Memory with its threads and scratch buffers. A model larger than one memory (phi-3-
 * medium at 4 bits, ~8 GB) is spread over several: allocate() fills them in order (so whole layers land
 * together, as they are loaded in order) and every op runs in the memory that holds its weights (matmul)
 * or its KV cache (attention); activations are copied in, as they are for a single memory.
 */
interface Shard {
  arena: Arena;
  pool: ThreadPool;
  slots: Map<string, { ptr: number; bytes: number }>;
}

/** The platform the kernels run on: Node's unless a browser installed its own (host.ts). */
function host(): WasmHost {
  return installedWasmHost() ?? nodeWasmHost;
}

let relaxedSupport: boolean | undefined;
/** Whether this engine runs relaxed SIMD; on Node 20 it is behind a V8 flag, which we set if needed. */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupport !== undefined) return relaxedSupport;
  const bytes = host().kernelBytes('kernels-relaxed.wasm');
  relaxedSupport = WebAssembly.validate(bytes);
  if (!relaxedSupport) {
    try {
      relaxedSupport = host().enableRelaxedSimd() && WebAssembly.validate(bytes);
    } catch {
      relaxedSupport = false;
    }
  }
  return relaxedSupport;
}

function sharedMemorySupported(): boolean {
  try {
    return typeof SharedArrayBuffer === 'function' && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

const modules = new Map<SimdFlavor, WebAssembly.Module>();
function kernelModule(flavor: SimdFlavor): WebAssembly.Module {
  let m = modules.get(flavor);
  if (!m) {
    m = new WebAssembly.Module(host().kernelBytes(flavor === 'relaxed' ? 'kernels-relaxed.wasm' : 'kernels-simd128.wasm'));
    modules.set(flavor, m);
  }
  return m;
}

export class WasmBackend implements Backend {
  readonly name: string;
  simd: SimdFlavor;
  threads: number;
  /** The memories in use: shards[0] always exists; more are opened when it is full. */
  readonly shards: Shard[] = [];
  /** The shard the current op runs in (see use()). */
  arena!: Arena;
  private pool!: ThreadPool;
  private slots!: Map<string, { ptr: number; bytes: number }>;
  private readonly memoryBytes: number | undefined;
  private readonly requestedThreads: number;
  /** Tensors uploaded from outside WASM memory, by their data buffer view. */
  private readonly uploaded = new WeakMap<Uint8Array, { shard: Shard; ptr: number }>();
  private readonly finalizer = new FinalizationRegistry<{ shard: Shard; ptr: number }>(({ shard, ptr }) => shard.arena.release(ptr));
  /** Blocksparse layout tables (CSR rowPtr, cols) copied into each memory that ran attention with them. */
  private readonly layouts = new WeakMap<BlockSparseLayout, Map<Shard, { rowPtr: number; cols: number }>>();

  constructor(opts: WasmBackendOptions = {}) {
    const threads = opts.threads ?? host().cores();
    if (!Number.isInteger(threads) || threads < 1) throw new Phi3Error(`threads must be a positive integer, got ${threads}`);
    this.simd = opts.simd ?? (relaxedSimdSupported() ? 'relaxed' : 'simd128');
    if (this.simd === 'relaxed' && !relaxedSimdSupported()) throw new Phi3Error('relaxed SIMD is not supported by this JavaScript engine');
    this.memoryBytes = opts.memoryBytes;
    this.requestedThreads = threads;
    this.use(this.openShard());
    this.threads = this.pool.nThreads;
    if (this.simd === 'relaxed' && opts.simd === undefined && !this.selfTest()) {
      // An engine whose relaxed SIMD computes wrong answers: use the plain SIMD128 build instead.
      this.pool.close();
      this.shards.length = 0;
      this.simd = 'simd128';
      this.use(this.openShard());
    }
    this.threads = this.pool.nThreads;
    this.name = `wasm-${this.simd}×${this.threads}`;
  }

  /**
   * Per-op wall time, when profiling is on (`phi3 bench --profile`): op name (matmul split by weight
   * type) → calls, milliseconds, weight bytes read.
   */
  profile: Map<string, { calls: number; ms: number; bytes: number }> | undefined;

  private note(op: string, t0: number, bytes = 0): void {
    const p = this.profile!.get(op) ?? { calls: 0, ms: 0, bytes: 0 };
    p.calls++;
    p.ms += performance.now() - t0;
    p.bytes += bytes;
    this.profile!.set(op, p);
  }

  /** A known-answer check of the int8 dot kernels (Q4_0 and Q6_K rows against the reference). */
  private selfTest(): boolean {
    for (const type of [GGMLType.Q4_0, GGMLType.Q6_K]) {
      const k = 256;
      const w = new Float32Array(k * 2);
      const x = new Float32Array(k);
      for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.7) * (1 + (i % 5));
      for (let i = 0; i < k; i++) x[i] = Math.cos(i * 1.3) * (i % 3 ? 1 : -2);
      const t: Tensor = { name: 'selftest', type, dims: [k, 2], data: quantizeRow(type, w, w.length) };
      const ref = new Float32Array(2);
      const y = new Float32Array(2);
      refBackend.matmul(ref, x, t, 1);
      this.matmul(y, x, t, 1);
      // 8-bit activations err by ≤ 1/254 of max|x| per element; a broken kernel errs by far more
      for (let r = 0; r < 2; r++) {
        let mag = 0;
        for (let i = 0; i < k; i++) mag += Math.abs(w[r * k + i] * x[i]);
        if (!(Math.abs(y[r] - ref[r]) <= 0.005 * mag)) return false;
      }
    }
    return true;
  }

  /**
   * Bytes in WASM memory (64-byte aligned) for weights or caches that kernels read in place. Only with
   * shared memory: an unshared memory detaches its views when it grows.
   */
  get allocate(): ((bytes: number) => Uint8Array) | undefined {
    if (!this.shards[0].arena.shared) return undefined;
    return (bytes: number) => {
      const { shard, ptr } = this.place(bytes);
      return shard.arena.u8(ptr, bytes);
    };
  }

  /** Returns memory from allocate() (or a view starting where it starts) to the allocator. */
  release(view: ArrayBufferView): void {
    this.shards.find((s) => s.arena.owns(view))?.arena.release(view.byteOffset);
  }

  dispose(): void {
    for (const s of this.shards) s.pool.close();
  }

  private openShard(): Shard {
    const arena = new Arena(sharedMemorySupported(), this.memoryBytes);
    const shard = { arena, pool: new ThreadPool(kernelModule(this.simd), arena, this.requestedThreads, host()), slots: new Map() };
    this.shards.push(shard);
    return shard;
  }

  /** Room for `bytes` in the first memory that has it, opening a new memory when none has. */
  private place(bytes: number): { shard: Shard; ptr: number } {
    for (const shard of this.shards) {
      // Leave 1/16 of every memory (256 MiB of 4 GiB) for the scratch buffers of the ops that run there:
      // a 7B model fills its first memory with weights, and a prefill's activations (tens of MB per 128
      // tokens) must still fit beside them. A new memory takes anything that fits at all.
      if (shard.arena.used + bytes > shard.arena.maxPages * 65536 * (15 / 16)) continue;
      const ptr = shard.arena.tryAlloc(bytes);
      if (ptr >= 0) return { shard, ptr };
    }
    const shard = this.openShard();
    return { shard, ptr: shard.arena.alloc(bytes) };
  }

  /** Makes `shard` the memory the next kernels run in. */
  private use(shard: Shard): void {
    this.arena = shard.arena;
    this.pool = shard.pool;
    this.slots = shard.slots;
  }

  private shardOf(view: ArrayBufferView): Shard | undefined {
    return this.shards.find((s) => s.arena.owns(view));
  }

  // --- helpers -------------------------------------------------------------------------------------

  private slot(name: string, bytes: number): number {
    const s = this.slots.get(name);
    if (s && s.bytes >= bytes) return s.ptr;
    if (s) this.arena.release(s.ptr);
    const size = Math.max(bytes, (s?.bytes ?? 0) * 2, 4096);
    const ptr = this.arena.alloc(size);
    this.slots.set(name, { ptr, bytes: size });
    return ptr;
  }

  /** Address of `n` floats of `a` in WASM memory: in place when `a` lives there, else copied to a slot. */
  private input(name: string, a: Float32Array, n: number): number {
    if (this.arena.owns(a)) return a.byteOffset;
    const ptr = this.slot(name, n * 4);
    this.arena.f32(ptr, n).set(a.subarray(0, n));
    return ptr;
  }

  private output(name: string, a: Float32Array, n: number): number {
    return this.arena.owns(a) ? a.byteOffset : this.slot(name, n * 4);
  }

  private copyOut(ptr: number, a: Float32Array, n: number): void {
    if (!this.arena.owns(a)) a.set(this.arena.f32(ptr, n));
  }

  /** Switches to the memory holding `t` (uploading it once if it lives in JS memory); its address. */
  private useTensor(t: Tensor): number {
    const own = this.shardOf(t.data);
    if (own) {
      this.use(own);
      return t.data.byteOffset;
    }
    let up = this.uploaded.get(t.data);
    if (up === undefined) {
      up = this.place(t.data.length);
      up.shard.arena.u8(up.ptr, t.data.length).set(t.data);
      this.uploaded.set(t.data, up);
      this.finalizer.register(t.data, up);
    }
    this.use(up.shard);
    return up.ptr;
  }

  // --- Backend ---------------------------------------------------------------------------------------

  matmul(y: Float32Array, x: Float32Array, w: Tensor, nTokens: number): void {
    if (!this.profile) return this.matmulImpl(y, x, w, nTokens);
    const t0 = performance.now();
    this.matmulImpl(y, x, w, nTokens);
    this.note(`matmul ${typeInfo(w.type)?.name ?? w.type}${nTokens > 1 ? ' (batch)' : ''}`, t0, w.data.length);
  }

  private matmulImpl(y: Float32Array, x: Float32Array, w: Tensor, nTokens: number): void {
    const info = typeInfo(w.type);
    const k = w.dims[0];
    const rows = w.dims[1] ?? 1;
    const quant32 = Q32.has(w.type) && k % 32 === 0;
    const quantK = QK.has(w.type) && k % 256 === 0;
    if (!info || !(quant32 || quantK || FLOAT.has(w.type))) return refBackend.matmul(y, x, w, nTokens);
    const rowBytes = (k / info.blockSize) * info.typeSize;
    const wPtr = this.useTensor(w);
    const xPtr = this.input('x', x, nTokens * k);
    let act = xPtr;
    let stride = k * 4;
    // prefill: activations interleaved by groups of 4 tokens for the kernels that take them (x4), which
    // unpack a weight row on the thread's stack (k bytes and a little more: the main thread has 64 KiB)
    const x4 = nTokens >= 4 && X4.has(w.type) && k <= X4_MAX_K ? 1 : 0;
    if (x4) {
      const groups = Math.ceil(nTokens / 4);
      stride = (quant32 ? (k / 32) * Q8_BLOCK : (k / 256) * Q8K_BLOCK) * 4;
      act = this.slot('xq', stride * groups);
      if (quant32) this.pool.exports.quantize_q8x4(xPtr, act, k, nTokens);
      else this.pool.exports.quantize_q8kx4(xPtr, act, k, nTokens);
    } else if (quant32) {
      stride = (k / 32) * Q8_BLOCK;
      act = this.slot('xq', stride * nTokens);
      this.pool.exports.quantize_q8(xPtr, act, k, nTokens);
    } else if (quantK) {
      stride = (k / 256) * Q8K_BLOCK;
      act = this.slot('xq', stride * nTokens);
      this.pool.exports.quantize_q8k(xPtr, act, k, nTokens);
    }
    const yPtr = this.output('y', y, nTokens * rows);
    // Chunks small enough that their weights stay in L2 while every token passes over them, and
    // enough of them (8 per thread) that threads finishing early even out the load.
    const chunk = Math.max(1, Math.min(Math.ceil(rows / (this.threads * 8)), Math.floor(262144 / rowBytes)));
    this.pool.run(OP_MATMUL, [w.type, wPtr, rowBytes, rows, k, act, stride, nTokens, yPtr, x4], [], rows, chunk, rows * nTokens * k >= SMALL);
    this.copyOut(yPtr, y, nTokens * rows);
  }

  embed(y: Float32Array, table: Tensor, ids: ArrayLike<number>): void {
    refBackend.embed(y, table, ids);
  }

  rmsnorm(y: Float32Array, x: Float32Array, weight: Float32Array, eps: number, nTokens: number, dim: number): void {
    if (!this.profile) return this.rmsnormImpl(y, x, weight, eps, nTokens, dim);
    const t0 = performance.now();
    this.rmsnormImpl(y, x, weight, eps, nTokens, dim);
    this.note('rmsnorm', t0);
  }

  private rmsnormImpl(y: Float32Array, x: Float32Array, weight: Float32Array, eps: number, nTokens: number, dim: number): void {
    this.use(this.shards[0]);
    const n = nTokens * dim;
    const xPtr = this.input('x', x, n);
    const wPtr = this.input('w', weight, dim);
    const yPtr = this.output('y', y, n);
    this.pool.run(OP_RMSNORM, [yPtr, xPtr, wPtr, nTokens, dim], [eps], nTokens, Math.ceil(nTokens / (4 * this.threads)), n >= SMALL);
    this.copyOut(yPtr, y, n);
  }

  rope(x: Float32Array, nTokens: number, rowStride: number, offset: number, nHeads: number, headDim: number, angles: RopeAngles): void {
    if (!this.profile) return this.ropeImpl(x, nTokens, rowStride, offset, nHeads, headDim, angles);
    const t0 = performance.now();
    this.ropeImpl(x, nTokens, rowStride, offset, nHeads, headDim, angles);
    this.note('rope', t0);
  }

  private ropeImpl(x: Float32Array, nTokens: number, rowStride: number, offset: number, nHeads: number, headDim: number, angles: RopeAngles): void {
    this.use(this.shards[0]);
    const n = nTokens * rowStride;
    const xPtr = this.input('x', x, n);
    const half = angles.half;
    const cPtr = this.input('cos', angles.cos, nTokens * half);
    const sPtr = this.input('sin', angles.sin, nTokens * half);
    this.pool.run(OP_ROPE, [xPtr, nTokens, rowStride, offset, nHeads, headDim, cPtr, sPtr, half], [], nTokens, Math.ceil(nTokens / (4 * this.threads)), n >= SMALL);
    this.copyOut(xPtr, x, n);
  }

  attention(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape): void {
    if (!this.profile) return this.attentionImpl(out, q, qRowStride, kv, s);
    const t0 = performance.now();
    this.attentionImpl(out, q, qRowStride, kv, s);
    this.note('attention', t0);
  }

  /**
   * What both attention kernels start with: checks that the cache holds the positions, moves to the
   * memory that holds it, and stages q, K, V, the output and the per-thread score scratch there.
   */
  private attentionIO(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape) {
    const { nTokens, numHeads, numKvHeads, headDim } = s;
    const positions = s.startPos + nTokens;
    const kvN = positions * numKvHeads * headDim;
    if (kv.k.length < kvN || kv.v.length < kvN) throw new Phi3Error(`KV cache holds fewer than ${positions} positions`);
    this.use(this.shardOf(kv.k) ?? this.shards[0]);
    const nOut = nTokens * numHeads * headDim;
    // scores of one (token, head): at most every position of the prefix
    const stride = Math.ceil((positions + headDim) / 4) * 4;
    return {
      positions,
      nOut,
      stride,
      qPtr: this.input('q', q, nTokens * qRowStride),
      kPtr: this.input('k', kv.k, kvN),
      vPtr: this.input('v', kv.v, kvN),
      oPtr: this.output('att', out, nOut),
      scratch: this.slot('scores', stride * 4 * this.threads),
    };
  }

  private attentionImpl(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape): void {
    const { nTokens, startPos, numHeads, numKvHeads, headDim } = s;
    const { positions, nOut, oPtr, qPtr, kPtr, vPtr, scratch, stride } = this.attentionIO(out, q, qRowStride, kv, s);
    const work = nTokens * numHeads * positions * headDim;
    this.pool.run(
      OP_ATTENTION,
      [oPtr, qPtr, qRowStride, kPtr, vPtr, nTokens, startPos, numHeads, numKvHeads, headDim, s.window, scratch, stride],
      [s.scale],
      nTokens * numHeads,
      Math.ceil((nTokens * numHeads) / (8 * this.threads)),
      // waking workers costs tens of µs, ~64K multiply-adds of this kernel (decode past ~20 positions)
      work >= 1 << 16,
    );
    this.copyOut(oPtr, out, nOut);
  }

  // Data movement in plain JS: memory-bound copies that a kernel call would not speed up.
  add(y: Float32Array, x: Float32Array, n: number): void {
    refBackend.add(y, x, n);
  }

  storeKV(kv: KVLayer, src: Float32Array, srcRowStride: number, srcOffset: number, nTokens: number, startPos: number, kvDim: number): void {
    refBackend.storeKV(kv, src, srcRowStride, srcOffset, nTokens, startPos, kvDim);
  }

  swiglu(out: Float32Array, gateUp: Float32Array, nTokens: number, ff: number): void {
    if (!this.profile) return this.swigluImpl(out, gateUp, nTokens, ff);
    const t0 = performance.now();
    this.swigluImpl(out, gateUp, nTokens, ff);
    this.note('swiglu', t0);
  }

  private swigluImpl(out: Float32Array, gateUp: Float32Array, nTokens: number, ff: number): void {
    this.use(this.shards[0]);
    const guPtr = this.input('gu', gateUp, nTokens * 2 * ff);
    const oPtr = this.output('y', out, nTokens * ff);
    this.pool.run(OP_SWIGLU, [oPtr, guPtr, nTokens, ff], [], nTokens * ff, 4096, nTokens * ff >= SMALL);
    this.copyOut(oPtr, out, nTokens * ff);
  }

  // --- Phi-3-small ops (kernels/small.c) -------------------------------------------------------------

  layernorm(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array, eps: number, nTokens: number, dim: number): void {
    const t0 = this.profile && performance.now();
    this.use(this.shards[0]);
    const n = nTokens * dim;
    const xPtr = this.input('x', x, n);
    const wPtr = this.input('w', weight, dim);
    const bPtr = this.input('b', bias, dim);
    const yPtr = this.output('y', y, n);
    this.pool.run(OP_LAYERNORM, [yPtr, xPtr, wPtr, bPtr, nTokens, dim], [eps], nTokens, Math.ceil(nTokens / (4 * this.threads)), n >= SMALL);
    this.copyOut(yPtr, y, n);
    if (t0) this.note('layernorm', t0);
  }

  addBias(y: Float32Array, bias: Float32Array, nTokens: number, dim: number): void {
    const t0 = this.profile && performance.now();
    this.use(this.shards[0]);
    const n = nTokens * dim;
    const yPtr = this.input('y', y, n);
    const bPtr = this.input('b', bias, dim);
    this.pool.run(OP_ADD_BIAS, [yPtr, bPtr, nTokens, dim], [], nTokens, Math.ceil(nTokens / (4 * this.threads)), n >= 4 * SMALL);
    this.copyOut(yPtr, y, n);
    if (t0) this.note('addBias', t0);
  }

  gegelu(out: Float32Array, x: Float32Array, nTokens: number, ff: number, limit: number): void {
    const t0 = this.profile && performance.now();
    this.use(this.shards[0]);
    const n = nTokens * ff;
    const xPtr = this.input('gu', x, 2 * n);
    const oPtr = this.output('y', out, n);
    this.pool.run(OP_GEGELU, [oPtr, xPtr, nTokens, ff], [limit], n, 4096, n >= SMALL);
    this.copyOut(oPtr, out, n);
    if (t0) this.note('gegelu', t0);
  }

  blocksparseAttention(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape, layout: BlockSparseLayout): void {
    const t0 = this.profile && performance.now();
    const { nTokens, startPos, numHeads, numKvHeads, headDim } = s;
    if (layout.numHeads !== numHeads) throw new Phi3Error(`blocksparse layout is for ${layout.numHeads} heads, attention has ${numHeads}`);
    if (startPos + nTokens > layout.numBlocks * layout.blockSize)
      throw new Phi3Error(`blocksparse layout covers ${layout.numBlocks * layout.blockSize} positions, attention needs ${startPos + nTokens}`);
    const { positions, nOut, oPtr, qPtr, kPtr, vPtr, scratch, stride } = this.attentionIO(out, q, qRowStride, kv, s);
    const shard = this.shards.find((sh) => sh.arena === this.arena)!;
    let perShard = this.layouts.get(layout);
    if (!perShard) this.layouts.set(layout, (perShard = new Map()));
    let tables = perShard.get(shard);
    if (!tables) {
      // kept for the layout's lifetime (one per model); small next to the KV cache
      tables = { rowPtr: this.arena.alloc(layout.rowPtr.byteLength), cols: this.arena.alloc(Math.max(4, layout.cols.byteLength)) };
      new Int32Array(this.arena.buffer, tables.rowPtr, layout.rowPtr.length).set(layout.rowPtr);
      new Int32Array(this.arena.buffer, tables.cols, layout.cols.length).set(layout.cols);
      perShard.set(shard, tables);
    }
    // work of the last query's head 0, times the items: an upper bound that decides on waking workers
    const last = Math.floor((positions - 1) / layout.blockSize);
    const visited = (layout.rowPtr[last + 1] - layout.rowPtr[last]) * layout.blockSize;
    const work = nTokens * numHeads * Math.min(positions, visited) * headDim;
    this.pool.run(
      OP_BLOCKSPARSE,
      [oPtr, qPtr, qRowStride, kPtr, vPtr, nTokens, startPos, numHeads, numKvHeads, headDim, scratch, stride, tables.rowPtr, tables.cols, layout.blockSize, layout.numBlocks],
      [s.scale],
      nTokens * numHeads,
      Math.ceil((nTokens * numHeads) / (8 * this.threads)),
      work >= 1 << 20,
    );
    this.copyOut(oPtr, out, nOut);
    if (t0) this.note('blocksparse attention', t0);
  }
}

/** A WASM backend with `threads` threads (default: available cores). */
export function createWasmBackend(opts: WasmBackendOptions = {}): WasmBackend {
  return new WasmBackend(opts);
}
