// The WASM backend's host on Node (see host.ts): kernels read from disk, os cores, V8's relaxed-SIMD
// flag, worker_threads built from an inline script (no separate file to locate).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { Phi3Error } from '../../errors.js';
import { WORKER_LOOP, type WasmHost } from './host.js';

function wasmPath(file: string): string {
  // src/backend/wasm/ when run from source; dist/backend/wasm/ → the shipped src/ copy when built.
  const here = new URL(`./${file}`, import.meta.url);
  const fromDist = new URL(`../../../src/backend/wasm/${file}`, import.meta.url);
  for (const u of [here, fromDist]) if (existsSync(fileURLToPath(u))) return fileURLToPath(u);
  throw new Phi3Error(`WASM kernels ${file} not found next to ${fileURLToPath(import.meta.url)}; run npm run build:wasm`);
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, tid, jobAddr, stackTop, spin } = workerData;
${WORKER_LOOP}`;

export const nodeWasmHost: WasmHost = {
  kernelBytes: (file) => readFileSync(wasmPath(file)),
  cores: () => availableParallelism(),
  enableRelaxedSimd() {
    // Node 20 hides relaxed SIMD behind a flag. Its baseline compiler (Liftoff) miscompiles
    // relaxed_dot_i8x16_i7x16_add with a memory operand; compile with the optimizing compiler only
    // (this process's later modules too).
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    setFlagsFromString('--no-liftoff');
    return true;
  },
  spawnWorker(start) {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: start });
    w.unref();
    return { terminate: () => void w.terminate() };
  },
};
