// The conversion worker thread started by run.ts: opens the input, converts it, and reports progress
// (throttled to ~10 messages a second), the summary, or the error back to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Phi3Error } from '../errors.js';
import { convertModel } from './convert.js';
import type { ConvertJob, WorkerMessage } from './run.js';
import { openConvertInput } from './source.js';
import { convertSmallModel, isPhi3SmallInput } from './small.js';

const job = workerData as ConvertJob;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
let last = 0;
try {
  // Phi-3-small has its own GGUF form (formats/phi3small-gguf.ts) and writer.
  const summary = isPhi3SmallInput(job.input)
    ? convertSmallModel(job, (done, total, tensor) => post({ kind: 'progress', done, total, tensor }))
    : convertModel(openConvertInput(job.input, { tokenizer: job.tokenizer, name: job.name }), job.out, {
        type: job.type,
        allowRequantize: job.allowRequantize,
        onProgress: (done, total, tensor) => {
          const now = Date.now();
          if (now - last < 100 && done < total) return;
          last = now;
          post({ kind: 'progress', done, total, tensor });
        },
      });
  post({ kind: 'done', summary });
} catch (e) {
  post({ kind: 'error', message: e instanceof Error ? e.message : String(e), expected: e instanceof Phi3Error });
}
