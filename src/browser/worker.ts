// The chat page's engine, run in a module Web Worker (dist/browser/worker.js; the page side is
// src/web/local.js). It keeps GGUF files in the Origin Private File System (folder "phi3-models"):
// a file picked from disk or downloaded from a URL is copied there in slices with progress, so the next
// visit loads it with no network. One model is loaded at a time; generation streams token pieces.
//
// Protocol: the page posts {id, op, ...}; the worker answers {id, progress} / {id, piece} any number of
// times, then {id, result} or {id, error: {name, message}}.
//   list                       → [{name, size}]
//   delete {name}              → true
//   import {file | url, name?} → {name, size}          (progress: {done, total})
//   load {name | file, threads?, backend?} → info       (progress: layers; backend: auto = WebGPU if any, else WASM)
//   generate {messages | prompt (text or ids), options} → {tokens, text, finishReason, promptTokens, ms}
//   abort {target}             → true                   (stops generation `target` between tokens)
import { RequestError } from '../errors.js';
import type { GenerateOptions, GenerationResult } from '../generate/generate.js';
import type { ChatMessage } from '../chat/template.js';
import type { ByteSource } from '../formats/io.js';
import { loadModel, type Phi3 } from './index.js';
import { opfsSource, type SyncAccessHandle } from './source.js';
import { threadsPossible } from './wasm-host.js';

const FOLDER = 'phi3-models';
/** Bytes copied into OPFS per write (and per progress message). */
const SLICE = 16 << 20;

interface OpfsFile extends FileSystemFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
  move?(name: string): Promise<void>;
}

interface Request {
  id: number;
  op: string;
  name?: string;
  file?: File;
  url?: string;
  threads?: number;
  backend?: 'auto' | 'webgpu' | 'wasm' | 'ref';
  messages?: ChatMessage[];
  prompt?: string | number[];
  options?: GenerateOptions;
  target?: number;
}

type Reply = (msg: Record<string, unknown>) => void;

let model: Phi3 | undefined;
let modelInfo: Record<string, unknown> | undefined;
const running = new Map<number, AbortController>();

async function folder(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(FOLDER, { create: true });
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !/^[^/\\]{1,200}$/.test(name) || name.startsWith('.') || name.endsWith('.part'))
    throw new RequestError(`invalid model file name ${JSON.stringify(name)}`);
  return name;
}

async function list(): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  // entries() is async-iterable in every browser with OPFS; TypeScript's DOM lib lacks it.
  const entries = (await folder()) as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> };
  for await (const [name, h] of entries.entries())
    if (h.kind === 'file' && !name.endsWith('.part')) out.push({ name, size: (await (h as FileSystemFileHandle).getFile()).size });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Copies a File or a URL's body into OPFS as `name`: written to "name.part" first and renamed when
 * complete, so an interrupted copy never shows up as a cached model.
 */
async function importModel(req: Request, reply: Reply): Promise<{ name: string; size: number }> {
  const dir = await folder();
  let total = 0;
  let chunks: AsyncIterable<Uint8Array>;
  let name: string;
  if (req.file) {
    const file = req.file;
    name = checkName(req.name ?? file.name);
    total = file.size;
    chunks = (async function* () {
      for (let at = 0; at < file.size; at += SLICE) yield new Uint8Array(await file.slice(at, at + SLICE).arrayBuffer());
    })();
  } else if (typeof req.url === 'string') {
    const res = await fetch(req.url);
    if (!res.ok || !res.body) throw new RequestError(`${req.url}: HTTP ${res.status}`);
    name = checkName(req.name ?? (new URL(req.url, location.href).pathname.split('/').pop() || 'model.gguf'));
    total = Number(res.headers.get('content-length') ?? 0);
    const reader = res.body.getReader();
    chunks = (async function* () {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    })();
  } else throw new RequestError('import needs a file or a url');
  const part = (await dir.getFileHandle(`${name}.part`, { create: true })) as OpfsFile;
  const h = await part.createSyncAccessHandle();
  let done = 0;
  try {
    h.truncate(0);
    for await (const c of chunks) {
      for (let w = 0; w < c.length; ) w += h.write(c.subarray(w), { at: done + w });
      done += c.length;
      reply({ progress: { done, total: total || done } });
    }
    h.flush();
    // a browser may keep less than it was given (an in-memory incognito store, a full disk): never
    // cache a short file as a model
    const stored = h.getSize();
    if (stored !== done || (total && done !== total))
      throw new RequestError(`${name}: the browser stored ${stored} of ${total || done} bytes (storage full, or the download ended early)`);
  } catch (e) {
    h.close();
    await dir.removeEntry(`${name}.part`);
    throw e;
  }
  h.close();
  await dir.removeEntry(name).catch(() => undefined);
  if (part.move) await part.move(name);
  else throw new RequestError('this browser cannot rename OPFS files (FileSystemFileHandle.move)');
  return { name, size: done };
}

async function load(req: Request, reply: Reply): Promise<Record<string, unknown>> {
  running.forEach((c) => c.abort());
  // a new backend (memory, threads) per model: free the old one's threads
  (model?.model.backend as { dispose?(): void } | undefined)?.dispose?.();
  model = undefined;
  let source: ByteSource | File;
  let handle: SyncAccessHandle | undefined;
  if (req.file) source = req.file;
  else {
    const name = checkName(req.name);
    const fh = (await (await folder()).getFileHandle(name).catch(() => {
      throw new RequestError(`no cached model named ${name}`);
    })) as OpfsFile;
    handle = await fh.createSyncAccessHandle();
    source = opfsSource(handle, name);
  }
  const t0 = performance.now();
  try {
    model = await loadModel(source, {
      backend: req.backend ?? 'auto',
      threads: req.threads,
      onProgress: (done, total) => reply({ progress: { done, total } }),
    });
  } finally {
    // Every tensor has been read into the model's memory: the file is no longer needed.
    handle?.close();
  }
  const info = model.info();
  const b = model.model.backend as { name?: string; threads?: number };
  modelInfo = {
    model: info.name ?? (req.file?.name ?? req.name),
    file: req.file?.name ?? req.name,
    context_size: info.contextSize,
    parameters: info.parameters,
    backend: b.name ?? 'unknown',
    threads: b.threads ?? 1,
    cross_origin_isolated: threadsPossible(),
    load_ms: Math.round(performance.now() - t0),
  };
  return modelInfo;
}

async function generate(req: Request, reply: Reply): Promise<Record<string, unknown>> {
  if (!model) throw new RequestError('no model is loaded');
  const controller = new AbortController();
  running.set(req.id, controller);
  const opts: GenerateOptions = { ...(req.options ?? {}), signal: controller.signal };
  const t0 = performance.now();
  try {
    const it = req.messages ? model.chat(req.messages, opts) : model.generate(req.prompt ?? '', opts);
    let r: IteratorResult<{ token: number | null; text: string }, GenerationResult>;
    while (!(r = await it.next()).done) reply({ piece: r.value });
    return { ...r.value, ms: Math.round(performance.now() - t0) };
  } finally {
    running.delete(req.id);
  }
}

async function handle(req: Request, reply: Reply): Promise<unknown> {
  switch (req.op) {
    case 'list':
      return list();
    case 'delete':
      await (await folder()).removeEntry(checkName(req.name));
      return true;
    case 'import':
      return importModel(req, reply);
    case 'load':
      return load(req, reply);
    case 'info':
      return modelInfo ?? null;
    case 'generate':
      return generate(req, reply);
    case 'abort':
      running.get(req.target ?? -1)?.abort();
      return true;
    default:
      throw new RequestError(`unknown operation ${JSON.stringify(req.op)}`);
  }
}

// Loads, imports and generations are serialized (one engine); list/info/abort answer at once.
let queue: Promise<unknown> = Promise.resolve();
self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  const reply: Reply = (msg) => self.postMessage({ id: req.id, ...msg });
  const run = () =>
    handle(req, reply).then(
      (result) => reply({ result }),
      (err: unknown) => reply({ error: { name: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) } }),
    );
  if (req.op === 'abort' || req.op === 'list' || req.op === 'info') void run();
  else queue = queue.then(run);
};
