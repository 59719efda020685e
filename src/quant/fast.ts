// Fast K-quant weight quantizers: wasm/kquants.c compiled to WebAssembly (committed kquants.wasm),
// byte-identical to the TypeScript reference codecs (q4_k.ts, q5_k.ts, q6_k.ts, themselves checked
// against the real ggml) and about an order of magnitude faster, for `phi3 quantize`. Every other type
// goes to the reference codec. quantizeFast(type, src, n) has quantizeRow's contract.
// Tested in test/quantize.test.ts (every kind of block, WASM vs TypeScript, byte for byte).
import { readFileSync } from 'node:fs';
import { quantizeRow } from './index.js';
import { GGMLType } from './types.js';

interface KQuantExports {
  memory: WebAssembly.Memory;
  in_ptr(): number;
  out_ptr(): number;
  quantize_q4_K(n: number): void;
  quantize_q5_K(n: number): void;
  quantize_q6_K(n: number): void;
}

/** Elements per call (the module's static input buffer). */
const MAXN = 1 << 20;
const BYTES: Partial<Record<GGMLType, number>> = { [GGMLType.Q4_K]: 144, [GGMLType.Q5_K]: 176, [GGMLType.Q6_K]: 210 };

let module: KQuantExports | null | undefined;

function load(): KQuantExports | null {
  if (module !== undefined) return module;
  try {
    const bytes = readFileSync(new URL('./wasm/kquants.wasm', import.meta.url.replace(/\/dist\/quant\//, '/src/quant/')));
    module = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as KQuantExports;
  } catch {
    module = null; // no WebAssembly here: the reference codecs do the work
  }
  return module;
}

export function quantizeFast(type: GGMLType, src: Float32Array, n: number): Uint8Array {
  const blockBytes = BYTES[type];
  const m = blockBytes ? load() : null;
  if (!m || !blockBytes || n % 256 !== 0 || n > src.length) return quantizeRow(type, src, n);
  const out = new Uint8Array((n / 256) * blockBytes);
  const fn = type === GGMLType.Q4_K ? m.quantize_q4_K : type === GGMLType.Q5_K ? m.quantize_q5_K : m.quantize_q6_K;
  for (let done = 0; done < n; done += MAXN) {
    const k = Math.min(MAXN, n - done);
    new Float32Array(m.memory.buffer, m.in_ptr(), k).set(src.subarray(done, done + k));
    fn(k);
    out.set(new Uint8Array(m.memory.buffer, m.out_ptr(), (k / 256) * blockBytes), (done / 256) * blockBytes);
  }
  return out;
}

/** Whether the WebAssembly module loaded (for benchmarks and tests). */
export function hasFastKQuants(): boolean {
  return load() !== null;
}
