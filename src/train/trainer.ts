// The training loop shared by pretraining, SFT and DPO: micro-batches with gradient accumulation,
// clipping, AdamW with warmup + cosine, fp32 master weights (optionally bf16 working weights, as the
// Phi-3 report trained), JSON-lines logs with a progress bar, atomic checkpoints every N steps, and
// --resume that continues bit for bit (the checkpoint holds weights + Adam moments; batches are a pure
// function of (seed, step), see data.ts). Tested by test/train-resume.test.ts and test/train.test.ts.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import cliProgress from 'cli-progress';
import { Phi3Error } from '../errors.js';
import { bf16ToF32, f32ToBf16 } from '../quant/index.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { Batch } from './model.js';
import { TrainModel } from './model.js';
import { AdamW, learningRate, type OptimConfig } from './optim.js';
import type { Phi3Params } from './params.js';

export interface MicroResult {
  loss: number;
  /** Tokens processed (for tokens/s). */
  tokens: number;
  /** Extra numbers to log (averaged over micro-steps), e.g. DPO margins. */
  metrics?: Record<string, number>;
}

export interface LoopOptions {
  /** Name written in logs and checkpoints (e.g. "phase1", "sft"). */
  phase: string;
  steps: number;
  accum: number;
  optim: OptimConfig;
  /** Checkpoint file (written atomically every ckptEvery steps and at the end). */
  checkpoint: string;
  ckptEvery: number;
  log: string;
  resume: boolean;
  /** Working-weight storage: 'f32' or 'bf16' (master weights are always f32). */
  weights?: 'f32' | 'bf16';
  /** Run-level state to keep in the checkpoint (config of the run, tokenizer path…). */
  state: Record<string, unknown>;
  /** Runs forward + backward of micro-step `micro` of `step`, accumulating into grads. */
  micro(model: TrainModel, step: number, micro: number, grads: Float32Array, scale: number): MicroResult;
  /** Optional evaluation every evalEvery steps and at the end; its numbers go to the log. */
  evaluate?(model: TrainModel): Record<string, number>;
  evalEvery?: number;
  /** Stop after this many steps in this process (tests simulate a kill with it). */
  stopAfter?: number;
  quiet?: boolean;
}

export interface LoopResult {
  step: number;
  lastLoss: number;
  tokensPerSec: number;
  resumedFrom: number;
}

function roundBf16(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = bf16ToF32(f32ToBf16(src[i]));
}

export function trainLoop(params: Phi3Params, o: LoopOptions): LoopResult {
  if (!(o.steps > 0) || !(o.accum > 0)) throw new Error('steps and accumulation must be positive');
  mkdirSync(dirname(o.checkpoint), { recursive: true });
  mkdirSync(dirname(o.log), { recursive: true });
  const opt = new AdamW(params.views, params.count);
  const bf16 = o.weights === 'bf16';
  const master = bf16 ? params.data.slice() : params.data;
  let start = 0;
  if (o.resume && existsSync(o.checkpoint)) {
    const ck = readCheckpoint(o.checkpoint);
    if (ck.header.state.phase !== o.phase) throw new Phi3Error(`${o.checkpoint} belongs to phase "${String(ck.header.state.phase)}", not "${o.phase}"`);
    for (const name of ['params', 'adam_m', 'adam_v'])
      if (ck.buffers.get(name)?.length !== params.count)
        throw new Phi3Error(`${o.checkpoint} holds a model of another shape (${ck.buffers.get(name)?.length ?? 0} values in ${name}, this run has ${params.count}); use a new out folder`);
    master.set(ck.buffers.get('params')!);
    opt.m.set(ck.buffers.get('adam_m')!);
    opt.v.set(ck.buffers.get('adam_v')!);
    opt.t = ck.header.step;
    start = ck.header.step;
    // keep the log as an uninterrupted run would have written it
    if (existsSync(o.log)) {
      const kept = readFileSync(o.log, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= start);
      writeFileSync(o.log, kept.map((l) => l + '\n').join(''));
    }
  } else if (existsSync(o.log)) writeFileSync(o.log, '');
  if (bf16) roundBf16(params.data, master);

  const model = new TrainModel(params);
  const grads = new Float32Array(params.count);
  const save = (step: number) =>
    writeCheckpoint(o.checkpoint, params.config, step, { ...o.state, phase: o.phase }, { params: master, adam_m: opt.m, adam_v: opt.v });
  const bar =
    !o.quiet && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: `${o.phase} {bar} {value}/{total} | loss {loss} | {tps} tok/s | ETA {eta_formatted}`, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(o.steps, start, { loss: '-', tps: '-' });
  let lastLoss = NaN;
  let tokSum = 0;
  let timeSum = 0;
  const end = o.stopAfter !== undefined ? Math.min(o.steps, start + o.stopAfter) : o.steps;
  try {
    for (let step = start; step < end; step++) {
      const t0 = performance.now();
      grads.fill(0);
      let loss = 0;
      let tokens = 0;
      const metrics: Record<string, number> = {};
      for (let m = 0; m < o.accum; m++) {
        const r = o.micro(model, step, m, grads, 1 / o.accum);
        loss += r.loss / o.accum;
        tokens += r.tokens;
        for (const [k, v] of Object.entries(r.metrics ?? {})) metrics[k] = (metrics[k] ?? 0) + v / o.accum;
      }
      if (!Number.isFinite(loss)) throw new Phi3Error(`loss became ${loss} at step ${step + 1}; lower the learning rate`);
      const lr = learningRate(o.optim, step);
      const gradNorm = opt.step(master, grads, lr, o.optim);
      if (bf16) roundBf16(params.data, master);
      const dt = (performance.now() - t0) / 1000;
      tokSum += tokens;
      timeSum += dt;
      lastLoss = loss;
      const rec: Record<string, unknown> = { phase: o.phase, step: step + 1, loss, lr, gradNorm, tokensPerSec: tokens / dt, ...metrics };
      const done = step + 1;
      if (o.evaluate && ((o.evalEvery && done % o.evalEvery === 0) || done === o.steps)) Object.assign(rec, o.evaluate(model));
      appendFileSync(o.log, JSON.stringify(rec) + '\n');
      if (done % o.ckptEvery === 0 || done === o.steps) save(done);
      bar?.update(done, { loss: loss.toFixed(4), tps: Math.round(tokens / dt) });
    }
  } finally {
    bar?.stop();
  }
  return { step: end, lastLoss, tokensPerSec: timeSum > 0 ? tokSum / timeSum : 0, resumedFrom: start };
}

export type { Batch };
