// What the WASM backend needs from the platform it runs on, and nothing else: the kernel bytes, the
// number of cores, a way to turn relaxed SIMD on, and worker threads. Node's answers are in
// host-node.ts (the default, index.ts); a browser installs its own (src/browser/wasm-host.ts: fetched .wasm,
// Web Workers from a Blob URL) with setWasmHost() before creating a WasmBackend. Keeping the seam
// this narrow lets index.ts, pool.ts and arena.ts stay the same code on both.
import { GEN, OP } from './job.js';

/** What a pool thread is started with (pool.ts). */
export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
  jobAddr: number;
  stackTop: number;
  /** Polls of the generation counter before sleeping in Atomics.wait. */
  spin: number;
}

export interface PoolWorker {
  terminate(): void;
}

export interface WasmHost {
  /** Bytes of a kernel build shipped next to the backend (kernels-relaxed.wasm, kernels-simd128.wasm). */
  kernelBytes(file: string): Uint8Array<ArrayBuffer>;
  /** Threads worth using by default. */
  cores(): number;
  /** Turns relaxed SIMD on if the engine hides it behind a flag; returns whether it tried anything. */
  enableRelaxedSimd(): boolean;
  /** Starts a pool thread running WORKER_LOOP on `start`. */
  spawnWorker(start: WorkerStart): PoolWorker;
}

/**
 * The body every pool thread runs once it has its WorkerStart fields as locals: instantiate the kernels
 * over the shared memory, then wait for a new job generation, run its chunks, repeat (OP −1 = stop).
 */
export const WORKER_LOOP = `
const inst = new WebAssembly.Instance(module, { env: { memory } });
inst.exports.__stack_pointer.value = stackTop;
const I = new Int32Array(memory.buffer, jobAddr, 32);
let seen = 0;
for (;;) {
  let g, n = 0;
  while ((g = Atomics.load(I, ${GEN})) === seen) {
    if (++n > spin) { Atomics.wait(I, ${GEN}, seen); n = 0; }
  }
  seen = g;
  if (I[${OP}] === -1) break;
  inst.exports.run(tid, g);
}
`;

let installed: WasmHost | undefined;

/** Installs the platform's host (browsers, before the first WasmBackend); Node's is the default. */
export function setWasmHost(host: WasmHost): void {
  installed = host;
}

export function installedWasmHost(): WasmHost | undefined {
  return installed;
}
