// The body of a quant-pool.ts helper thread: converts one job's rows (read → float32 → target type)
// into the shared output buffer, a chunk at a time, then counts the job done. Errors are written into
// the shared error buffer (first failure wins) so the waiting converter can report them.
import { quantizeFast } from '../quant/fast.js';
import { dequantizeRow } from '../quant/index.js';
import { CTL, type HelperMessage } from './quant-pool.js';
import { readRows, rowBytes } from './source.js';

export function runJob(m: HelperMessage): void {
  const c = new Int32Array(m.ctl);
  try {
    const { cols, from, to, chunkElements } = m.task;
    const inRow = rowBytes(from, cols);
    const outRow = rowBytes(to, cols);
    const chunkRows = Math.max(1, Math.floor(chunkElements / cols));
    const n = Math.min(chunkRows, m.job.rows);
    const raw = new Uint8Array(n * inRow);
    const f32 = new Float32Array(n * cols);
    const out = new Uint8Array(m.out);
    const seg = { file: m.job.file, offset: m.job.offset, rows: m.job.rows };
    for (let r = 0; r < m.job.rows; r += chunkRows) {
      const k = Math.min(chunkRows, m.job.rows - r);
      readRows(seg, r * inRow, k * inRow, raw);
      dequantizeRow(from, raw, 0, f32, 0, k * cols);
      for (let i = 0; i < k * cols; i++) {
        const v = f32[i];
        if (v - v !== 0) throw new Error(`non-finite value (${v}) near row ${r}; the checkpoint is corrupt`);
      }
      out.set(quantizeFast(to, f32, k * cols), m.job.outOffset + r * outRow);
      Atomics.add(c, CTL.DONE, k * cols);
      Atomics.notify(c, CTL.LEFT);
    }
  } catch (e) {
    if (Atomics.compareExchange(c, CTL.FAILED, 0, 1) === 0) {
      const msg = Buffer.from(e instanceof Error ? e.message : String(e), 'utf8').subarray(0, m.err.byteLength - 1);
      new Uint8Array(m.err).set(msg);
    }
  } finally {
    Atomics.sub(c, CTL.LEFT, 1);
    Atomics.notify(c, CTL.LEFT);
  }
}
