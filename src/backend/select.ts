// Picks a compute backend by name for the CLI and the server: 'wasm' (default: SIMD kernels on worker
// threads, src/backend/wasm), 'ref' (plain TypeScript, the ground truth) or 'webgpu' (WGSL kernels
// through Dawn, src/backend/webgpu). One backend per kind (and WASM thread count) lives for the process.
import { Phi3Error } from '../errors.js';
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { WasmBackend } from './wasm/index.js';
import type { WebGPUBackend } from './webgpu/index.js';
import { nodeWebGPUBackend } from './webgpu/node.js';

export const BACKENDS = ['wasm', 'ref', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const wasm = new Map<number, WasmBackend>();
let webgpu: WebGPUBackend | undefined;

/** The backend called `name`; `threads` (default: available cores) applies to 'wasm'. */
export function selectBackend(name: string = 'wasm', threads?: number): Backend {
  if (name === 'ref') return refBackend;
  // WGSL kernels on a Dawn device (src/backend/webgpu); the device is acquired on first use.
  if (name === 'webgpu') return (webgpu ??= nodeWebGPUBackend());
  if (name !== 'wasm') throw new Phi3Error(`unknown backend "${name}"; one of ${BACKENDS.join(', ')}`);
  const key = threads ?? 0;
  let b = wasm.get(key);
  if (!b) {
    b = new WasmBackend({ threads });
    wasm.set(key, b);
  }
  return b;
}
