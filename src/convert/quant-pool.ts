// A pool of helper threads that convert row ranges of one tensor in parallel, for the synchronous
// converter (convert.ts runs inside the conversion worker and must hand writeGGUF a finished tensor).
// The caller splits a tensor into jobs (file, byte offset, rows); each helper reads its rows itself,
// decodes them to float32 and encodes them in the target type into one SharedArrayBuffer, then counts
// down a shared counter; the caller sleeps in Atomics.wait (waking every 200 ms to report progress).
// The bytes are those of the single-threaded path (same codecs, rows are independent); helpers only
// change who computes which rows. Errors travel back through a shared buffer as text.
// Tested in test/quantize.test.ts (pool output byte-identical to the sequential path).
import { Worker } from 'node:worker_threads';
import { Phi3Error } from '../errors.js';
import type { GGMLType } from '../quant/types.js';

export interface RowJob {
  file: string;
  /** Absolute file offset of the first row. */
  offset: number;
  rows: number;
  /** Byte offset of the job's first output row in the output buffer. */
  outOffset: number;
}

export interface PoolTask {
  cols: number;
  from: GGMLType;
  to: GGMLType;
  /** Elements per chunk a helper converts at a time. */
  chunkElements: number;
}

/** Shared control words: [0] jobs left, [1] failed flag, [2] elements done (progress). */
const LEFT = 0;
const FAILED = 1;
const DONE = 2;

export interface HelperMessage {
  task: PoolTask;
  job: RowJob;
  out: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  err: SharedArrayBuffer;
}

const HELPER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const ready = import(process.env.PHI3_QUANT_HELPER_API || 'data:text/javascript,').then(async (api) => {
  if (api && api.register) api.register();
  return import(process.env.PHI3_QUANT_HELPER_ENTRY);
});
parentPort.on('message', (m) => { ready.then((h) => h.runJob(m)); });
`;

export class QuantPool {
  private readonly workers: Worker[] = [];
  private next = 0;

  constructor(readonly size: number) {
    const ts = import.meta.url.endsWith('.ts');
    const entry = new URL(`./quant-helper.${ts ? 'ts' : 'js'}`, import.meta.url).href;
    const env = { ...process.env, PHI3_QUANT_HELPER_ENTRY: entry, PHI3_QUANT_HELPER_API: ts ? import.meta.resolve('tsx/esm/api') : '' };
    for (let i = 0; i < size; i++) {
      const w = new Worker(HELPER_SOURCE, { eval: true, env });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Runs every job on the helpers and waits (synchronously) for all of them. */
  run(task: PoolTask, jobs: RowJob[], outBytes: number, onProgress?: (elements: number) => void): Uint8Array {
    const out = new SharedArrayBuffer(outBytes);
    const ctl = new SharedArrayBuffer(12);
    const err = new SharedArrayBuffer(4096);
    const c = new Int32Array(ctl);
    c[LEFT] = jobs.length;
    for (const job of jobs) {
      const msg: HelperMessage = { task, job, out, ctl, err };
      this.workers[this.next++ % this.workers.length].postMessage(msg);
    }
    let reported = 0;
    for (;;) {
      const left = Atomics.load(c, LEFT);
      const done = Atomics.load(c, DONE);
      if (done > reported) {
        onProgress?.(done - reported);
        reported = done;
      }
      if (left === 0) break;
      Atomics.wait(c, LEFT, left, 200);
    }
    if (Atomics.load(c, FAILED)) {
      const bytes = new Uint8Array(err);
      const end = bytes.indexOf(0);
      throw new Phi3Error(Buffer.from(bytes.slice(0, end < 0 ? bytes.length : end)).toString('utf8') || 'a quantization helper failed');
    }
    return new Uint8Array(out);
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

export const CTL = { LEFT, FAILED, DONE };
