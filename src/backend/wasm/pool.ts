// The kernel module instantiated once per thread over one shared memory, and the dispatch of jobs to
// them. The main thread writes a job into the module's job slot (job.c), bumps a generation counter,
// runs its own share, then waits until every worker has decremented `pending`. Workers spin briefly on
// the counter before sleeping in Atomics.wait, so back-to-back kernels (decode issues ~200 per token)
// cost microseconds, not a wake-up each. Without shared memory there is one thread and no workers.
// Workers come from the platform (host.ts: Node worker_threads, or Web Workers in a browser) and all run
// host.ts's WORKER_LOOP. Tested by test/wasm-parity.test.ts at 1 and 2 threads, and in Chromium by
// test/web-offline.test.ts.
import type { Arena } from './arena.js';
import type { PoolWorker, WasmHost } from './host.js';
import { ARGS, CHUNK, COUNTER, DONE, FARGS, GEN, OP, TOTAL } from './job.js';

export interface KernelExports {
  run(tid: number, gen: number): void;
  job_addr(): number;
  quantize_q8(x: number, y: number, k: number, ntok: number): void;
  quantize_q8k(x: number, y: number, k: number, ntok: number): void;
  quantize_q8x4(x: number, y: number, k: number, ntok: number): void;
  quantize_q8kx4(x: number, y: number, k: number, ntok: number): void;
  __heap_base: WebAssembly.Global;
  __stack_pointer: WebAssembly.Global;
}

const CLOSED = 0xfff; // chunk index meaning "no chunk to take"
const MAX_CHUNKS = 4000;
const STACK = 256 * 1024;

export class ThreadPool {
  readonly exports: KernelExports;
  readonly nThreads: number;
  private readonly workers: PoolWorker[] = [];
  private I: Int32Array;
  private F: Float32Array;
  private readonly jobAddr: number;
  private gen = 0;
  private closed = false;

  constructor(
    module: WebAssembly.Module,
    readonly arena: Arena,
    threads: number,
    host: WasmHost,
  ) {
    const inst = new WebAssembly.Instance(module, { env: { memory: arena.memory } });
    this.exports = inst.exports as unknown as KernelExports;
    arena.init(this.exports.__heap_base.value as number);
    const jobAddr = (this.jobAddr = this.exports.job_addr());
    this.I = new Int32Array(arena.buffer, jobAddr, 32);
    this.F = new Float32Array(arena.buffer, jobAddr, 32);
    this.nThreads = arena.shared ? Math.max(1, threads) : 1;
    for (let tid = 1; tid < this.nThreads; tid++) {
      const stackTop = arena.alloc(STACK) + STACK;
      this.workers.push(host.spawnWorker({ module, memory: arena.memory, tid, jobAddr, stackTop, spin: 100000 }));
    }
  }

  /**
   * Runs op over `units` units of work (rows, tokens, elements) cut into chunks of `chunk` units, on
   * every thread, or on the calling thread alone when `parallel` is false (small jobs, where waking
   * workers costs more than it saves). Returns when every chunk is done.
   */
  run(op: number, args: number[], fargs: number[], units: number, chunk: number, parallel = true): void {
    // an unshared memory (a browser page that is not cross-origin isolated) detaches views as it grows
    if (this.I.length === 0) {
      this.I = new Int32Array(this.arena.buffer, this.jobAddr, 32);
      this.F = new Float32Array(this.arena.buffer, this.jobAddr, 32);
    }
    const I = this.I;
    chunk = Math.max(1, chunk, Math.ceil(units / MAX_CHUNKS));
    const total = Math.ceil(units / chunk);
    if (total === 0) return;
    const g = (this.gen = (this.gen + 1) & 0xfffff);
    // close the counter under the new generation before touching the job, so that a late thread of the
    // previous job cannot take a chunk of this one while its arguments are being written
    Atomics.store(I, COUNTER, (g << 12) | CLOSED);
    I[OP] = op;
    I[TOTAL] = total;
    I[CHUNK] = chunk;
    for (let i = 0; i < args.length; i++) I[ARGS + i] = args[i];
    for (let i = 0; i < fargs.length; i++) this.F[FARGS + i] = fargs[i];
    Atomics.store(I, DONE, 0);
    Atomics.store(I, COUNTER, g << 12);
    const wake = parallel && this.workers.length > 0 && total > 1;
    if (wake) {
      Atomics.store(I, GEN, g);
      Atomics.notify(I, GEN);
    }
    this.exports.run(0, g);
    if (!wake) return;
    // the chunks still running belong to threads that are computing them: wait briefly
    let n = 0;
    while (Atomics.load(I, DONE) < total) if (++n > 20000) Atomics.wait(I, DONE, Atomics.load(I, DONE), 1);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length) {
      this.I[OP] = -1;
      this.gen = (this.gen + 1) & 0xfffff;
      Atomics.store(this.I, GEN, this.gen);
      Atomics.notify(this.I, GEN);
      for (const w of this.workers) w.terminate();
    }
  }
}
