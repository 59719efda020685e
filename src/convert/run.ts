// Runs a conversion on a worker thread so the main thread stays free to draw the progress bar and to
// handle Ctrl-C: on SIGINT/SIGTERM the worker is terminated and its temporary output file removed, so
// an interrupted `phi3 convert`/`phi3 quantize` leaves nothing behind (writeGGUF only renames the
// temporary file into place once it is complete). Errors from the worker keep their message and are
// re-thrown as Phi3Errors. Tested in test/convert.test.ts (a SIGINT in the middle of a conversion).
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Phi3Error } from '../errors.js';
import type { ConvertSummary } from './convert.js';

export interface ConvertJob {
  input: string;
  out: string;
  type: string;
  tokenizer?: string;
  name?: string;
  allowRequantize?: boolean;
}

export type WorkerMessage =
  | { kind: 'progress'; done: number; total: number; tensor: string }
  | { kind: 'done'; summary: ConvertSummary }
  | { kind: 'error'; message: string; expected: boolean };

/** Removes `out`'s temporary files (writeGGUF names them `<out>.partial-<pid>`). */
function removePartials(out: string): void {
  const dir = dirname(resolve(out));
  const prefix = `${basename(out)}.partial-${process.pid}`;
  for (const f of readdirSync(dir)) if (f.startsWith(prefix)) rmSync(join(dir, f), { force: true });
}

/** dist/ (installed): worker.js. Development (tsx): worker.ts, with tsx registered inside the worker too. */
function startWorker(job: ConvertJob): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData: job });
}

export function runConversion(job: ConvertJob, onProgress?: (done: number, total: number, tensor: string) => void): Promise<ConvertSummary> {
  const worker = startWorker(job);
  return new Promise<ConvertSummary>((resolvePromise, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      fn();
    };
    let interrupted = false;
    const onSignal = (sig: NodeJS.Signals) => {
      interrupted = true; // terminate() makes the worker exit with code 1: not a failure to report
      void worker.terminate().then(() => {
        removePartials(job.out);
        process.exitCode = sig === 'SIGINT' ? 130 : 143;
        finish(() => reject(new Phi3Error(`interrupted (${sig}): nothing was written to ${job.out}`)));
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') onProgress?.(m.done, m.total, m.tensor);
      else if (m.kind === 'done') finish(() => resolvePromise(m.summary));
      else finish(() => reject(m.expected ? new Phi3Error(m.message) : new Error(m.message)));
    });
    worker.on('error', (e) => {
      removePartials(job.out);
      finish(() => reject(e));
    });
    worker.on('exit', (code) => {
      if (!interrupted) finish(() => reject(new Error(`conversion worker exited with code ${code}`)));
    });
  });
}
