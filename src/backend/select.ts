// Picks a compute backend by name for the CLI and the server: 'wasm' (default: SIMD kernels on worker
// threads, src/backend/wasm) or 'ref' (plain TypeScript, the ground truth). One WASM backend per thread
// count is created and kept for the life of the process.
import { Phi3Error } from '../errors.js';
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { WasmBackend } from './wasm/index.js';

export const BACKENDS = ['wasm', 'ref'] as const;
export type BackendName = (typeof BACKENDS)[number];

const wasm = new Map<number, WasmBackend>();

/** The backend called `name`; `threads` (default: available cores) applies to 'wasm'. */
export function selectBackend(name: string = 'wasm', threads?: number): Backend {
  if (name === 'ref') return refBackend;
  if (name !== 'wasm') throw new Phi3Error(`unknown backend "${name}"; one of ${BACKENDS.join(', ')}`);
  const key = threads ?? 0;
  let b = wasm.get(key);
  if (!b) {
    b = new WasmBackend({ threads });
    wasm.set(key, b);
  }
  return b;
}
