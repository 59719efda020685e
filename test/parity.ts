// Shared pieces of the backend parity suites (test/wasm-*.test.ts, test/webgpu.test.ts): seeded inputs,
// random weights of any type, and the error measures that compare a backend with the reference one.
import { NormalRng } from '../src/model/random.js';
import type { Tensor } from '../src/model/tensor.js';
import { quantizeRow } from '../src/quant/index.js';
import { GGMLType } from '../src/quant/types.js';

/** n seeded normal values × scale, + offset. */
export function randn(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rng = new NormalRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * rng.next();
  return a;
}

/** Normalised mean squared error Σ(y − ref)² / Σ ref², as llama.cpp's test-backend-ops measures. */
export function nmse(y: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (y[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return num / den;
}

export function maxAbs(y: Float32Array, ref: Float32Array): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(y[i] - ref[i]));
  return m;
}

/** A [k, rows] weight of `type` from seeded normals scaled by 1/√k (so outputs stay O(1)). */
export function makeTensor(type: GGMLType, k: number, rows: number, seed: number): Tensor {
  const w = randn(k * rows, seed, 1 / Math.sqrt(k));
  const data = type === GGMLType.F32 ? new Uint8Array(w.buffer) : quantizeRow(type, w, k * rows);
  return { name: `w${type}`, type, dims: [k, rows], data };
}
