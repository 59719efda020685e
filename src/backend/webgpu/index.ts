/// <reference types="@webgpu/types" />
// The WebGPU backend: WGSL compute shaders (wgsl.ts) behind the synchronous Backend interface.
//
// The Backend interface is synchronous over Float32Arrays; WebGPU is asynchronous, and reading results
// back after every op would cost a round trip per op. So this backend records instead of running, like a
// ggml graph built by the same calls: each op call appends a dispatch to a list and returns at once.
//  - Every Float32Array an op touches gets a GPU buffer mirroring its whole ArrayBuffer (a WeakMap; the
//    buffer is destroyed when the array is collected). From the first op that touches an array, the GPU
//    copy is the truth: outputs stay on the GPU, are read by the next ops from there, and the CPU
//    contents are stale until sync([array]) reads them back and hands the array back to the CPU.
//  - Weights are uploaded once per Tensor (quantized types in their ggml block layout, dequantized in the
//    shader; types without a shader are converted to F32 at upload) and norm weights once per array.
//  - The KV cache lives on the GPU: allocated there by zeros(), filled by storeKV(), grown by copy().
//  - Phi-3-small's ops (layernorm, addBias, gegelu, blocksparseAttention) too; a blocksparse layout's CSR
//    table goes up once, as a constant, and each attention workgroup walks only its row's key blocks.
//  - sync(outputs) encodes the recorded list into one command buffer (one uniform buffer for all the
//    dispatches' scalars), submits it and reads back only the arrays asked for: the logits.
// The core needs only a GPUDevice (or a promise of one, so the backend can be created synchronously by
// the CLI's selectBackend): no node: imports. node.ts makes a Dawn device for Node; a page passes
// navigator.gpu to createWebGPUBackend().
import { Phi3Error } from '../../errors.js';
import type { Tensor } from '../../model/tensor.js';
import { dequantizeRow } from '../../quant/index.js';
import { GGMLType, typeInfo } from '../../quant/types.js';
import type { BlockSparseLayout } from '../../model/blocksparse.js';
import type { AttentionShape, Backend, KVLayer, RopeAngles } from '../backend.js';
import { embed as refEmbed } from '../ref/matmul.js';
import {
  ADD,
  ADD_BIAS,
  ATTENTION,
  BLOCKSPARSE_ATTENTION,
  GEGELU,
  LAYERNORM,
  MATMUL_TYPES,
  RMSNORM,
  ROPE,
  STORE_KV,
  SWIGLU,
  TT,
  WG,
  matmulLanes,
  matmulShader,
} from './wgsl.js';

// GPUBufferUsage / GPUMapMode values, spelled out so the core does not depend on globals being installed.
const STORAGE = 0x80;
const UNIFORM = 0x40;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const MAP_MODE_READ = 0x01;
/** Bytes between two dispatches' scalars in the shared uniform buffer (WebGPU's max uniform alignment). */
const PARAM_STRIDE = 256;
const MAX_GROUPS = 65535;

/** The GPU mirror of one ArrayBuffer. */
interface Mirror {
  bytes: number;
  buffer?: GPUBuffer;
  /** True from the first op that touches the array until sync() returns it to the CPU. */
  onGpu: boolean;
}

/** A storage binding: an activation view, a constant (uploaded once), or a weight tensor. */
type Arg = { kind: 'view'; view: Float32Array; mirror: Mirror } | { kind: 'const'; view: Float32Array } | { kind: 'tensor'; tensor: Tensor };

type Command =
  | { kind: 'dispatch'; shader: string; args: Arg[]; params: ArrayBuffer; offsetsAt: number; groups: [number, number, number] }
  | { kind: 'upload'; mirror: Mirror; data: Uint8Array }
  | { kind: 'copy'; src: Mirror; dst: Mirror; bytes: number };

interface Uploaded {
  buffer: GPUBuffer;
  /** The ggml type the shader reads (F32 for types converted at upload). */
  type: string;
  rowBytes: number;
}

export interface WebGPUOptions {
  /** Use the f16 shader path where the device has 'shader-f16' (default true). */
  f16?: boolean;
}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  private device?: GPUDevice;
  private readonly devicePromise: Promise<GPUDevice>;
  private readonly mirrors = new WeakMap<ArrayBufferLike, Mirror>();
  private readonly consts = new WeakMap<Float32Array, GPUBuffer>();
  private readonly weights = new WeakMap<Tensor, Uploaded>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Each blocksparse layout's rowPtr and cols as one u32 table (uploaded once, as a constant). */
  private readonly layouts = new WeakMap<BlockSparseLayout, Float32Array>();
  private readonly freed = new FinalizationRegistry<GPUBuffer>((b) => b.destroy());
  private commands: Command[] = [];
  private disposed = false;

  constructor(
    device: GPUDevice | Promise<GPUDevice>,
    private readonly opts: WebGPUOptions = {},
  ) {
    this.devicePromise = Promise.resolve(device).then((d) => (this.device = d));
    // A failed device request is reported by the first sync(), not as an unhandled rejection.
    this.devicePromise.catch(() => {});
  }

  /** Whether shaders use the f16 path (known once the device is there). */
  get f16(): boolean {
    return this.opts.f16 !== false && !!this.device?.features.has('shader-f16');
  }

  // ---------------------------------------------------------------- recording

  private mirror(a: Float32Array): Mirror {
    let m = this.mirrors.get(a.buffer);
    if (!m) {
      m = { bytes: a.buffer.byteLength, onGpu: false };
      this.mirrors.set(a.buffer, m);
    }
    return m;
  }

  /**
   * The binding of an activation view the op reads (or writes only part of): the first touch uploads the
   * array's whole buffer, so the GPU mirror starts out equal to the CPU contents.
   */
  private touch(a: Float32Array, wholeWrite = false): Arg {
    const m = this.mirror(a);
    if (!m.onGpu) {
      const whole = wholeWrite && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
      if (!whole && m.bytes > 0) this.commands.push({ kind: 'upload', mirror: m, data: new Uint8Array(a.buffer.slice(0)) });
      m.onGpu = true;
    }
    return { kind: 'view', view: a, mirror: m };
  }

  private dispatch(shader: string, args: Arg[], words: (number | { f: number })[], threads: number, groups?: [number, number, number]): void {
    if (this.disposed) throw new Phi3Error('the webgpu backend was disposed');
    // The scalars, then one element offset per activation binding (filled in at encode time), padded to
    // the 16-byte multiple a uniform struct occupies.
    const nOffsets = args.filter((a) => a.kind !== 'tensor').length;
    const params = new ArrayBuffer(Math.ceil((words.length + nOffsets) / 4) * 16);
    const dv = new DataView(params);
    words.forEach((w, i) => (typeof w === 'number' ? dv.setUint32(i * 4, w, true) : dv.setFloat32(i * 4, w.f, true)));
    // Element-wise shaders: 64 threads a group, spread over y when there are more than 65535 groups.
    if (!groups) {
      const g = Math.ceil(threads / 64);
      groups = [Math.min(g, MAX_GROUPS), Math.ceil(g / MAX_GROUPS), 1];
    }
    this.commands.push({ kind: 'dispatch', shader, args, params, offsetsAt: words.length, groups });
  }

  matmul(y: Float32Array, x: Float32Array, w: Tensor, nTokens: number): void {
    const [k, rows] = w.dims;
    if (x.length < nTokens * k || y.length < nTokens * rows)
      throw new Phi3Error(`matmul ${w.name}: arrays too short for ${nTokens} tokens of ${k} → ${rows}`);
    const yArg = this.touch(y, y.length === nTokens * rows);
    const xArg = this.touch(x);
    const lanes = matmulLanes(k);
    const rowGroups = Math.ceil(rows / (WG / lanes));
    const tt = nTokens === 1 ? 1 : TT; // decode gets its own shader: no token loop at all
    const groups: [number, number, number] = [Math.min(rowGroups, MAX_GROUPS), Math.ceil(nTokens / tt), Math.ceil(rowGroups / MAX_GROUPS)];
    // The type the shader reads and rowBytes are settled at encode time, when the weights are uploaded.
    this.dispatch(`matmul:?:${lanes}:${tt}`, [{ kind: 'tensor', tensor: w }, xArg, yArg], [rows, k, nTokens, 0 /* rowBytes */], 0, groups);
  }

  embed(y: Float32Array, table: Tensor, ids: ArrayLike<number>): void {
    // A table lookup: done on the CPU, then y goes to the GPU as the input of the first op.
    const m = this.mirror(y);
    if (m.onGpu) {
      // y already lives on the GPU (a reused array): send the new rows there, in order with the ops.
      refEmbed(y, table, ids);
      this.commands.push({ kind: 'upload', mirror: m, data: new Uint8Array(y.buffer.slice(0)) });
    } else refEmbed(y, table, ids);
  }

  rmsnorm(y: Float32Array, x: Float32Array, weight: Float32Array, eps: number, nTokens: number, dim: number): void {
    const xArg = this.touch(x);
    const yArg = this.touch(y, y.length === nTokens * dim);
    this.dispatch('rmsnorm', [xArg, { kind: 'const', view: weight }, yArg], [dim, { f: eps }], 0, [nTokens, 1, 1]);
  }

  rope(x: Float32Array, nTokens: number, rowStride: number, offset: number, nHeads: number, headDim: number, angles: RopeAngles): void {
    const args = [this.touch(x), this.touch(angles.cos), this.touch(angles.sin)];
    this.dispatch('rope', args, [nTokens, rowStride, offset, nHeads, headDim, angles.half], nTokens * nHeads * angles.half);
  }

  attention(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape): void {
    if (s.headDim > 256) throw new Phi3Error(`webgpu attention supports head_dim ≤ 256, got ${s.headDim}`);
    const args = [this.touch(q), this.touch(kv.k), this.touch(kv.v), this.touch(out, out.length === s.nTokens * s.numHeads * s.headDim)];
    const group = s.numHeads / s.numKvHeads;
    const words = [s.startPos, s.numHeads, group, s.headDim, s.numKvHeads * s.headDim, qRowStride, { f: s.scale }, s.window];
    this.dispatch('attention', args, words, 0, [s.numHeads, s.nTokens, 1]);
  }

  swiglu(out: Float32Array, gateUp: Float32Array, nTokens: number, ff: number): void {
    const args = [this.touch(gateUp), this.touch(out, out.length === nTokens * ff)];
    this.dispatch('swiglu', args, [nTokens, ff], nTokens * ff);
  }

  add(y: Float32Array, x: Float32Array, n: number): void {
    const args = [this.touch(y), this.touch(x)];
    this.dispatch('add', args, [n], n);
  }

  storeKV(kv: KVLayer, src: Float32Array, srcRowStride: number, srcOffset: number, nTokens: number, startPos: number, kvDim: number): void {
    const args = [this.touch(src), this.touch(kv.k), this.touch(kv.v)];
    this.dispatch('storekv', args, [nTokens, kvDim, srcRowStride, srcOffset, startPos], nTokens * kvDim);
  }

  copy(dst: Float32Array, src: Float32Array): void {
    if (src.length === 0) return;
    if (dst.byteOffset !== 0 || src.byteOffset !== 0 || src.length > dst.length)
      throw new Phi3Error('webgpu copy() takes whole arrays, the source no longer than the destination');
    const s = this.touch(src) as { mirror: Mirror };
    const d = this.touch(dst, src.byteLength === dst.buffer.byteLength) as { mirror: Mirror };
    this.commands.push({ kind: 'copy', src: s.mirror, dst: d.mirror, bytes: src.byteLength });
  }

  zeros(floats: number): Float32Array {
    // WebGPU zero-initialises new buffers, so the GPU copy is already right: no upload, and the CPU
    // array's pages are never touched (the OS does not even commit them).
    const a = new Float32Array(floats);
    this.mirror(a).onGpu = true;
    return a;
  }

  // ------------------------------------------------- Phi-3-small ops (FACTS.md §4, ref/small.ts)

  layernorm(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array, eps: number, nTokens: number, dim: number): void {
    const xArg = this.touch(x);
    const yArg = this.touch(y, y.length === nTokens * dim);
    this.dispatch('layernorm', [xArg, { kind: 'const', view: weight }, { kind: 'const', view: bias }, yArg], [dim, { f: eps }], 0, [nTokens, 1, 1]);
  }

  addBias(y: Float32Array, bias: Float32Array, nTokens: number, dim: number): void {
    this.dispatch('addbias', [this.touch(y), { kind: 'const', view: bias }], [nTokens * dim, dim], nTokens * dim);
  }

  gegelu(out: Float32Array, x: Float32Array, nTokens: number, ff: number, limit: number): void {
    const args = [this.touch(x), this.touch(out, out.length === nTokens * ff)];
    this.dispatch('gegelu', args, [nTokens, ff, { f: limit }], nTokens * ff);
  }

  blocksparseAttention(out: Float32Array, q: Float32Array, qRowStride: number, kv: KVLayer, s: AttentionShape, layout: BlockSparseLayout): void {
    if (s.headDim > 256) throw new Phi3Error(`webgpu attention supports head_dim ≤ 256, got ${s.headDim}`);
    if (layout.numHeads !== s.numHeads) throw new Phi3Error(`blocksparse layout is for ${layout.numHeads} heads, attention has ${s.numHeads}`);
    if (s.startPos + s.nTokens > layout.numBlocks * layout.blockSize)
      throw new Phi3Error(`blocksparse layout covers ${layout.numBlocks * layout.blockSize} positions, attention needs ${s.startPos + s.nTokens}`);
    let table = this.layouts.get(layout);
    if (!table) {
      const t = new Int32Array(layout.rowPtr.length + layout.cols.length);
      t.set(layout.rowPtr);
      t.set(layout.cols, layout.rowPtr.length);
      table = new Float32Array(t.buffer); // the shader reads the bits as u32
      this.layouts.set(layout, table);
    }
    const args = [this.touch(q), this.touch(kv.k), this.touch(kv.v), { kind: 'const', view: table } as Arg, this.touch(out, out.length === s.nTokens * s.numHeads * s.headDim)];
    const group = s.numHeads / s.numKvHeads;
    const words = [s.startPos, s.numHeads, group, s.headDim, s.numKvHeads * s.headDim, qRowStride, { f: s.scale }, layout.blockSize, layout.numBlocks];
    this.dispatch('blocksparse', args, words, 0, [s.numHeads, s.nTokens, 1]);
  }

  // ---------------------------------------------------------------- running

  /**
   * Runs everything recorded so far and copies `outputs` back into their arrays, which then belong to
   * the CPU again (a later op re-uploads them). Other arrays stay on the GPU.
   */
  async sync(outputs: Float32Array[] = []): Promise<void> {
    const commands = this.commands;
    this.commands = [];
    const device = await this.devicePromise;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    const temps: GPUBuffer[] = [];
    const reads: { buffer: GPUBuffer; mirror: Mirror; target: ArrayBufferLike }[] = [];
    let failure: Error | undefined;
    try {
      const dispatches = commands.filter((c) => c.kind === 'dispatch').length;
      const uniforms = device.createBuffer({ size: Math.max(PARAM_STRIDE, dispatches * PARAM_STRIDE), usage: UNIFORM | COPY_DST });
      temps.push(uniforms);
      const paramBytes = new Uint8Array(Math.max(PARAM_STRIDE, dispatches * PARAM_STRIDE));
      const encoder = device.createCommandEncoder();
      let pass: GPUComputePassEncoder | undefined;
      let slot = 0;
      for (const c of commands) {
        if (c.kind === 'dispatch') {
          pass ??= encoder.beginComputePass();
          const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniforms, offset: slot * PARAM_STRIDE, size: c.params.byteLength } }];
          const dv = new DataView(c.params);
          let shader = c.shader;
          let offWord = c.offsetsAt;
          c.args.forEach((a, i) => {
            if (a.kind === 'tensor') {
              const u = this.uploadTensor(device, a.tensor);
              shader = shader.replace('?', u.type);
              dv.setUint32(12, u.rowBytes, true);
              entries.push({ binding: i + 1, resource: { buffer: u.buffer } });
              return;
            }
            const { buffer, offset, size, rest } = a.kind === 'const' ? this.constBinding(device, a.view) : this.viewBinding(device, a.mirror, a.view);
            entries.push({ binding: i + 1, resource: { buffer, offset, size } });
            dv.setUint32(offWord++ * 4, rest, true);
          });
          paramBytes.set(new Uint8Array(c.params), slot * PARAM_STRIDE);
          slot++;
          const pipeline = this.pipeline(device, shader);
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
          pass.dispatchWorkgroups(...c.groups);
          continue;
        }
        pass?.end();
        pass = undefined;
        if (c.kind === 'upload') {
          const staging = device.createBuffer({ size: align4(c.data.byteLength), usage: COPY_SRC, mappedAtCreation: true });
          new Uint8Array(staging.getMappedRange()).set(c.data);
          staging.unmap();
          temps.push(staging);
          encoder.copyBufferToBuffer(staging, 0, this.gpuBuffer(device, c.mirror), 0, align4(c.data.byteLength));
        } else {
          encoder.copyBufferToBuffer(this.gpuBuffer(device, c.src), 0, this.gpuBuffer(device, c.dst), 0, c.bytes);
        }
      }
      pass?.end();
      for (const a of outputs) {
        const m = this.mirrors.get(a.buffer);
        if (!m?.onGpu || m.bytes === 0) continue;
        const rb = device.createBuffer({ size: align4(m.bytes), usage: MAP_READ | COPY_DST });
        temps.push(rb);
        encoder.copyBufferToBuffer(this.gpuBuffer(device, m), 0, rb, 0, align4(m.bytes));
        reads.push({ buffer: rb, mirror: m, target: a.buffer });
      }
      device.queue.writeBuffer(uniforms, 0, paramBytes);
      device.queue.submit([encoder.finish()]);
    } catch (e) {
      failure = e as Error;
    }
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    const gpuError = invalid ?? oom;
    if (!failure && gpuError) failure = new Phi3Error(`webgpu: ${gpuError.message}`);
    if (!failure) {
      for (const r of reads) {
        await r.buffer.mapAsync(MAP_MODE_READ);
        new Uint8Array(r.target, 0, r.mirror.bytes).set(new Uint8Array(r.buffer.getMappedRange(), 0, r.mirror.bytes));
        r.buffer.unmap();
        r.mirror.onGpu = false;
      }
    }
    // Temporary buffers are destroyed only after the GPU is done with them.
    if (!failure && reads.length === 0) await device.queue.onSubmittedWorkDone();
    for (const b of temps) b.destroy();
    if (failure) throw failure instanceof Phi3Error ? failure : new Phi3Error(`webgpu: ${failure.message}`);
  }

  /** Frees every GPU buffer this backend made and the device. */
  dispose(): void {
    this.disposed = true;
    this.device?.destroy();
  }

  private gpuBuffer(device: GPUDevice, m: Mirror): GPUBuffer {
    if (!m.buffer) {
      m.buffer = device.createBuffer({ size: Math.max(4, align4(m.bytes)), usage: STORAGE | COPY_SRC | COPY_DST });
      this.freed.register(m, m.buffer);
    }
    return m.buffer;
  }

  /** Binds a view from the aligned offset at or below its start; `rest` is the element offset left. */
  private viewBinding(device: GPUDevice, m: Mirror, view: Float32Array): { buffer: GPUBuffer; offset: number; size: number; rest: number } {
    const buffer = this.gpuBuffer(device, m);
    const align = device.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor(view.byteOffset / align) * align;
    const size = Math.max(4, view.byteOffset + view.byteLength - offset);
    if (size > device.limits.maxStorageBufferBindingSize)
      throw new Phi3Error(`an array of ${view.byteLength} bytes exceeds this device's binding limit of ${device.limits.maxStorageBufferBindingSize}`);
    return { buffer, offset, size, rest: (view.byteOffset - offset) / 4 };
  }

  private constBinding(device: GPUDevice, view: Float32Array): { buffer: GPUBuffer; offset: number; size: number; rest: number } {
    let buffer = this.consts.get(view);
    if (!buffer) {
      buffer = this.createFilled(device, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      this.consts.set(view, buffer);
      this.freed.register(view, buffer);
    }
    return { buffer, offset: 0, size: buffer.size, rest: 0 };
  }

  private createFilled(device: GPUDevice, bytes: Uint8Array): GPUBuffer {
    const buffer = device.createBuffer({ size: Math.max(4, align4(bytes.byteLength)), usage: STORAGE | COPY_DST, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(bytes);
    buffer.unmap();
    return buffer;
  }

  /** Uploads a weight tensor once: in its block layout when a shader reads the type, else as F32. */
  private uploadTensor(device: GPUDevice, t: Tensor): Uploaded {
    let u = this.weights.get(t);
    if (u) return u;
    const [k, rows] = t.dims;
    const name = typeInfo(t.type)?.name ?? String(t.type);
    let bytes = t.data;
    let type = name;
    if (!MATMUL_TYPES.includes(name)) {
      const f = new Float32Array(k * rows);
      dequantizeRow(t.type, t.data, 0, f, 0, k * rows);
      bytes = new Uint8Array(f.buffer);
      type = 'F32';
    }
    const info = typeInfo(type === 'F32' ? GGMLType.F32 : t.type)!;
    const rowBytes = (k / info.blockSize) * info.typeSize;
    if (bytes.byteLength > device.limits.maxStorageBufferBindingSize)
      throw new Phi3Error(`tensor ${t.name} (${bytes.byteLength} bytes) exceeds this device's storage binding limit of ${device.limits.maxStorageBufferBindingSize} bytes`);
    u = { buffer: this.createFilled(device, bytes.subarray(0, rows * rowBytes)), type, rowBytes };
    this.weights.set(t, u);
    this.freed.register(t, u.buffer);
    return u;
  }

  private pipeline(device: GPUDevice, shader: string): GPUComputePipeline {
    const key = `${shader}:${this.f16}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const code = shaderSource(shader, this.f16);
      p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code, label: shader }), entryPoint: 'main' } });
      this.pipelines.set(key, p);
    }
    return p;
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** The WGSL source of a shader by its key ('rmsnorm', 'matmul:Q4_0:32:8' = type, lanes a row, token tile, …). */
export function shaderSource(shader: string, f16: boolean): string {
  if (shader.startsWith('matmul:')) {
    const [, type, lanes, tt] = shader.split(':');
    return matmulShader(type, Number(lanes), Number(tt), f16);
  }
  const s = {
    rmsnorm: RMSNORM,
    rope: ROPE,
    attention: ATTENTION,
    swiglu: SWIGLU,
    add: ADD,
    storekv: STORE_KV,
    layernorm: LAYERNORM,
    addbias: ADD_BIAS,
    gegelu: GEGELU,
    blocksparse: BLOCKSPARSE_ATTENTION,
  }[shader];
  if (!s) throw new Phi3Error(`webgpu: no shader "${shader}"`);
  return s;
}

/**
 * A WebGPU backend on `gpu` (navigator.gpu in a browser, Dawn's GPU object in Node). Asks for the
 * adapter's full storage limits, and for shader-f16 where the adapter has it.
 */
export async function createWebGPUBackend(gpu: GPU, opts: WebGPUOptions & { adapter?: GPURequestAdapterOptions } = {}): Promise<WebGPUBackend> {
  return new WebGPUBackend(requestDevice(gpu, opts.adapter), opts);
}

export async function requestDevice(gpu: GPU, adapterOptions: GPURequestAdapterOptions = {}): Promise<GPUDevice> {
  const adapter = await gpu.requestAdapter(adapterOptions);
  if (!adapter) throw new Phi3Error('webgpu: no GPU adapter is available');
  const L = adapter.limits;
  const features: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
  return adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
    },
  });
}
