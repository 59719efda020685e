// phi3 in browsers: the same API as in Node (src/index.ts), with loadModel taking what a page has —
// a File or Blob (e.g. from <input type="file">), a URL, or any ByteSource (an OPFS file) — and the
// fastest backend it has: WebGPU where navigator.gpu gives an adapter, else WASM, its kernels fetched
// from next to this bundle (or `wasmBase`). Built by
// `npm run build:browser` into dist/browser/ (scripts/build-browser.ts) and chosen by package.json's
// "browser" export condition. Run it in a Web Worker: files are read synchronously tensor by tensor
// (FileReaderSync, OPFS sync handles) and the thread pool needs Atomics.wait; on a page's main thread
// it works for models small enough to read into memory, on one thread.
import type { Backend } from '../backend/backend.js';
import { refBackend } from '../backend/ref/index.js';
import { installedWasmHost, setWasmHost } from '../backend/wasm/host.js';
import { WasmBackend, type SimdFlavor } from '../backend/wasm/index.js';
import { requestDevice, WebGPUBackend } from '../backend/webgpu/index.js';
import { Phi3Error } from '../errors.js';
import { memorySource, type ByteSource } from '../formats/io.js';
import { loadModel as loadFromSource, type LoadOptions, type Phi3 } from '../phi3.js';
import { blobSource } from './source.js';
import { browserWasmHost, inWorker } from './wasm-host.js';

export { Phi3, Session, type LoadOptions, type ModelInfo } from '../phi3.js';
export { ChatTemplate, PHI3_TEMPLATE, type ChatMessage, type Role } from '../chat/template.js';
export type { GenerateOptions, GeneratedPiece, GenerationResult, FinishReason } from '../generate/generate.js';
export { Sampler, type SamplingOptions } from '../generate/sampler.js';
export { configFromHF, configFromGGUF, presetConfig, parameterCount, type Phi3Config } from '../model/config.js';
export { PRESETS } from '../model/presets.js';
export type { CausalLM, ModelConfig } from '../model/causal-lm.js';
export type { Backend } from '../backend/backend.js';
export { refBackend } from '../backend/ref/index.js';
export { WasmBackend } from '../backend/wasm/index.js';
export { WebGPUBackend, createWebGPUBackend } from '../backend/webgpu/index.js';
export type { Tokenizer } from '../tokenizer/tokenizer.js';
export { Phi3Error, FormatError, RequestError } from '../errors.js';
export type { ByteSource } from '../formats/io.js';
export { blobSource, opfsSource, type SyncAccessHandle } from './source.js';
export { threadsPossible } from './wasm-host.js';

export interface BrowserLoadOptions extends Omit<LoadOptions, 'backend'> {
  /**
   * 'auto' (default: WebGPU when navigator.gpu offers an adapter, else WASM), 'webgpu', 'wasm', 'ref',
   * or a Backend object.
   */
  backend?: 'auto' | 'webgpu' | 'wasm' | 'ref' | Backend;
  /** WASM threads (default: the cores when the page is cross-origin isolated and this is a worker, else 1). */
  threads?: number;
  simd?: SimdFlavor;
  /** Folder URL holding kernels-*.wasm (default: next to this bundle). */
  wasmBase?: string | URL;
}

/** A WASM backend for this page, fetching the kernels first (once). */
export async function createWasmBackend(opts: { threads?: number; simd?: SimdFlavor; wasmBase?: string | URL } = {}): Promise<WasmBackend> {
  if (!installedWasmHost()) setWasmHost(await browserWasmHost(opts.wasmBase ?? new URL('./', import.meta.url)));
  return new WasmBackend({ threads: opts.threads, simd: opts.simd });
}

/** The largest Blob read into memory when FileReaderSync is missing (a page's main thread). */
const IN_MEMORY_LIMIT = 2 ** 31 - 1;

/** A File/Blob/URL/ByteSource as a ByteSource (URLs are fetched into a Blob, which browsers keep on disk). */
export async function toByteSource(input: Blob | URL | string | ByteSource): Promise<ByteSource> {
  if (typeof input === 'string' || input instanceof URL) {
    const res = await fetch(input);
    if (!res.ok) throw new Phi3Error(`${String(input)}: HTTP ${res.status}`);
    const name = new URL(String(input), location.href).pathname.split('/').pop() || String(input);
    return toByteSource(new File([await res.blob()], name));
  }
  if (input instanceof Blob) {
    const name = input instanceof File ? input.name : 'model.gguf';
    if (inWorker()) return blobSource(input, name);
    if (input.size > IN_MEMORY_LIMIT) throw new Phi3Error(`${name}: ${input.size} bytes is too large to read on the page's main thread; load it in a Web Worker`);
    return memorySource(new Uint8Array(await input.arrayBuffer()), name);
  }
  return input;
}

/** A WebGPU backend on this browser's GPU, or undefined when there is none (no navigator.gpu, no adapter). */
export async function tryWebGPU(): Promise<WebGPUBackend | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return undefined;
  try {
    return new WebGPUBackend(await requestDevice(gpu));
  } catch {
    return undefined;
  }
}

async function pickBackend(opts: BrowserLoadOptions): Promise<Backend> {
  const b = opts.backend ?? 'auto';
  if (typeof b === 'object') return b;
  if (b === 'ref') return refBackend;
  if (b === 'webgpu' || b === 'auto') {
    const gpu = await tryWebGPU();
    if (gpu) return gpu;
    if (b === 'webgpu') throw new Phi3Error('WebGPU is not available in this browser (no navigator.gpu or no adapter)');
  }
  return createWasmBackend(opts);
}

/** Loads a GGUF model from a File, Blob, URL or ByteSource. */
export async function loadModel(input: Blob | URL | string | ByteSource, opts: BrowserLoadOptions = {}): Promise<Phi3> {
  const source = await toByteSource(input);
  return loadFromSource(source, { ...opts, backend: await pickBackend(opts) });
}
