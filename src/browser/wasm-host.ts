// The WASM backend's host in a browser (see src/backend/wasm/host.ts): kernel builds fetched once from
// next to the bundle, relaxed SIMD decided by WebAssembly.validate alone (no engine flags to set),
// and pool threads as Web Workers made from a Blob URL running the same WORKER_LOOP as Node's. Threads
// need a SharedArrayBuffer (a cross-origin isolated page: COOP/COEP headers) and Atomics.wait, which
// browsers allow only off the main thread; otherwise the backend runs on one thread.
import { Phi3Error } from '../errors.js';
import { WORKER_LOOP, type WasmHost } from '../backend/wasm/host.js';

const KERNELS = ['kernels-relaxed.wasm', 'kernels-simd128.wasm'];

/** True inside a Web Worker (where Atomics.wait and FileReaderSync exist). */
export function inWorker(): boolean {
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
}

/** Whether the WASM pool can have more than one thread here. */
export function threadsPossible(): boolean {
  return inWorker() && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

/** Whether this context can make a shared WebAssembly.Memory (a cross-origin isolated page or worker). */
export function sharedMemoryPossible(): boolean {
  try {
    return typeof SharedArrayBuffer === 'function' && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * The kernels import a shared memory (they are built for threads). Where a page is not cross-origin
 * isolated there is no shared memory, so the import's limits flag is flipped to unshared in a copy of
 * the module: the kernels' atomic instructions are valid on unshared memory, and with one thread
 * nothing waits. Walks the sections to the import section; only that one byte changes.
 */
export function unshareMemoryImport(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  let p = 8;
  const leb = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = out[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
  };
  const skipName = () => {
    const n = leb();
    p += n;
  };
  while (p < out.length) {
    const id = out[p++];
    const size = leb();
    const end = p + size;
    if (id !== 2) {
      p = end;
      continue;
    }
    for (let count = leb(); count > 0; count--) {
      skipName();
      skipName();
      const kind = out[p++];
      if (kind === 0) leb();
      else if (kind === 1) {
        p++;
        const flags = out[p++];
        leb();
        if (flags & 1) leb();
      } else if (kind === 2) {
        const flags = out[p];
        out[p++] = flags & ~0x02;
        leb();
        if (flags & 1) leb();
      } else if (kind === 3) p += 2;
      else if (kind === 4) {
        p++;
        leb();
      } else throw new Phi3Error(`unexpected import kind ${kind} in the WASM kernels`);
    }
    return out;
  }
  return out;
}

/** Fetches the kernel builds from `base` (a folder URL ending in '/') and returns the host. */
export async function browserWasmHost(base: string | URL): Promise<WasmHost> {
  const bytes = new Map<string, Uint8Array<ArrayBuffer>>();
  await Promise.all(
    KERNELS.map(async (file) => {
      const url = new URL(file, base);
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new Phi3Error(`cannot fetch the WASM kernels ${url}: ${(e as Error).message}`);
      }
      if (!res.ok) throw new Phi3Error(`cannot fetch the WASM kernels ${url}: HTTP ${res.status}`);
      const raw = new Uint8Array(await res.arrayBuffer());
      bytes.set(file, sharedMemoryPossible() ? raw : unshareMemoryImport(raw));
    }),
  );
  // One classic-script worker source for every pool thread: take the WorkerStart, then loop.
  const source = `onmessage = (e) => { onmessage = null; const { module, memory, tid, jobAddr, stackTop, spin } = e.data;\n${WORKER_LOOP}\n};`;
  let workerURL: string | undefined;
  return {
    kernelBytes(file) {
      const b = bytes.get(file);
      if (!b) throw new Phi3Error(`unknown WASM kernel build ${file}`);
      return b;
    },
    cores: () => (threadsPossible() ? Math.max(1, navigator.hardwareConcurrency || 1) : 1),
    enableRelaxedSimd: () => false,
    spawnWorker(start) {
      workerURL ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      const w = new Worker(workerURL, { name: `phi3-wasm-${start.tid}` });
      w.postMessage(start);
      return { terminate: () => w.terminate() };
    },
  };
}
