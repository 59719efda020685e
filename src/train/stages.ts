// The three stages of the Phi-3 recipe (report §2–3) on top of trainer.ts:
//   pretrain(run.json): phases run in order, each a data mixture + steps + schedule; phase k starts from
//     phase k−1's final weights (fresh optimizer and schedule, as a new phase of the report does);
//   sft: chat data through the template, loss on assistant tokens only;
//   dpo: preference pairs against a frozen reference (the starting model), β.
// Every stage checkpoints into its out folder and resumes. Tested by test/train.test.ts.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import type { ChatMessage } from '../chat/template.js';
import { Phi3Error } from '../errors.js';
import { toChat, toText } from '../data/synth/index.js';
import { readCheckpoint } from './checkpoint.js';
import {
  chatBatch, heldOutRecords, openMixture, openTokenizer, preferenceBatch, pretrainBatch, readChatFile, readPairFile,
  stepRng, synthPair, trainRecord, type PreferencePair, type SourceSpec, type TokenizerBundle,
} from './data.js';
import { loadStart, modelConfig } from './init.js';
import { crossEntropy, dpoLoss, sequenceLogp } from './losses.js';
import { TrainModel, type Batch } from './model.js';
import { DEFAULT_OPTIM, type OptimConfig } from './optim.js';
import { Phi3Params } from './params.js';
import { trainLoop, type LoopResult } from './trainer.js';

export interface PhaseSpec {
  name: string;
  steps: number;
  lr: number;
  minLr?: number;
  warmup?: number;
  mixture: SourceSpec[];
}

export interface RunSpec {
  out: string;
  tokenizer: string;
  model: Record<string, unknown>;
  seed?: number;
  batch?: number;
  seqLen?: number;
  accum?: number;
  ckptEvery?: number;
  evalEvery?: number;
  weights?: 'f32' | 'bf16';
  optim?: Partial<OptimConfig>;
  phases: PhaseSpec[];
}

export interface StageCommon {
  resume?: boolean;
  quiet?: boolean;
  /** Tests: stop after this many steps (simulates a kill). */
  stopAfter?: number;
}

function optimFor(base: Partial<OptimConfig> | undefined, lr: number, steps: number, warmup: number, minLr?: number): OptimConfig {
  return { ...DEFAULT_OPTIM, ...base, lr, minLr: minLr ?? base?.minLr, totalSteps: steps, warmupSteps: warmup };
}

/** Mean cross-entropy of the scored tokens of `batches` (no gradient). */
export function evalLoss(model: TrainModel, batches: Batch[]): number {
  let sum = 0, n = 0;
  for (const b of batches) {
    const r = crossEntropy(model.forward(b), b.targets);
    sum += r.loss * r.count;
    n += r.count;
  }
  return n ? sum / n : NaN;
}

/** Held-out documents of the synth skills in a mixture, one per row (every token scored). */
export function heldOutTextBatches(skills: string[], tok: TokenizerBundle, seed: number, seqLen: number, n = 16): Batch[] {
  return skills.map((skill) => {
    const recs = heldOutRecords(skill, seed, n);
    const b: Batch = { batch: n, seqLen, tokens: new Int32Array(n * seqLen), targets: new Int32Array(n * seqLen).fill(-1) };
    recs.forEach((r, i) => {
      const ids = [...tok.tokenizer.encode(toText(r)), tok.eos];
      for (let t = 0; t < seqLen; t++) {
        b.tokens[i * seqLen + t] = t < ids.length ? ids[t] : tok.eos;
        if (t + 1 < ids.length) b.targets[i * seqLen + t] = ids[t + 1];
      }
    });
    return b;
  });
}

export function readRunSpec(path: string): RunSpec {
  let spec: RunSpec;
  try {
    spec = JSON.parse(readFileSync(path, 'utf8')) as RunSpec;
  } catch (e) {
    throw new Phi3Error(`${path}: cannot read run config: ${(e as Error).message}`);
  }
  const base = dirname(resolve(path));
  if (typeof spec.out !== 'string' || typeof spec.tokenizer !== 'string' || typeof spec.model !== 'object' || spec.model === null)
    throw new Phi3Error(`${path}: needs "out" (folder), "tokenizer" (path) and "model" ({"preset": …} or config fields)`);
  if (!Array.isArray(spec.phases) || spec.phases.length === 0) throw new Phi3Error(`${path}: needs a non-empty "phases" list`);
  spec.phases.forEach((p, i) => {
    if (typeof p.name !== 'string' || !/^[\w.-]+$/.test(p.name)) throw new Phi3Error(`${path}: phases[${i}].name must be a simple name`);
    if (!Number.isInteger(p.steps) || p.steps <= 0) throw new Phi3Error(`${path}: phases[${i}].steps must be a positive integer`);
    if (!(p.lr > 0)) throw new Phi3Error(`${path}: phases[${i}].lr must be > 0`);
    for (const m of p.mixture ?? []) if (m.file) m.file = resolve(base, m.file);
  });
  return { ...spec, out: resolve(base, spec.out), tokenizer: resolve(base, spec.tokenizer) };
}

/** Runs every phase of a run.json; returns each phase's result. */
export async function pretrain(spec: RunSpec, o: StageCommon = {}): Promise<Array<LoopResult & { phase: string; heldOutLoss: number }>> {
  const tok = openTokenizer(spec.tokenizer);
  const seed = spec.seed ?? 1;
  const B = spec.batch ?? 8, T = spec.seqLen ?? 128;
  const config = modelConfig(spec.model, { vocabSize: tok.vocab.pieces.length, bos: tok.vocab.bosId, eos: tok.eos });
  const params = new Phi3Params(config).initRandom(seed);
  mkdirSync(spec.out, { recursive: true });
  const results = [];
  let budget = o.stopAfter;
  for (const phase of spec.phases) {
    const ckpt = join(spec.out, `${phase.name}.ckpt`);
    if (o.resume && existsSync(ckpt)) {
      const ck = readCheckpoint(ckpt);
      if (ck.header.step >= phase.steps) {
        params.data.set(ck.buffers.get('params')!);
        continue;
      }
    }
    const sources = await openMixture(phase.mixture, tok, seed);
    const skills = [...new Set(phase.mixture.filter((m) => m.synth).map((m) => m.synth!))];
    const evalBatches = heldOutTextBatches(skills, tok, seed, T);
    const r = trainLoop(params, {
      phase: phase.name,
      steps: phase.steps,
      accum: spec.accum ?? 1,
      optim: optimFor(spec.optim, phase.lr, phase.steps, phase.warmup ?? 0, phase.minLr),
      checkpoint: ckpt,
      ckptEvery: spec.ckptEvery ?? 100,
      log: join(spec.out, `${phase.name}.jsonl`),
      resume: o.resume === true,
      weights: spec.weights,
      state: { kind: 'pretrain', tokenizer: tok.path, seed },
      quiet: o.quiet,
      stopAfter: budget,
      evalEvery: spec.evalEvery,
      evaluate: evalBatches.length ? (m) => ({ heldOutLoss: evalLoss(m, evalBatches) }) : undefined,
      micro(model, step, micro, grads, scale) {
        const b = pretrainBatch(sources, tok, B, T, stepRng(seed, step, micro, phase.name));
        const ce = crossEntropy(model.forward(b), b.targets, scale);
        model.backward(ce.dlogp, grads);
        return { loss: ce.loss, tokens: B * T };
      },
    });
    const heldOutLoss = evalBatches.length ? evalLoss(new TrainModel(params), evalBatches) : NaN;
    results.push({ ...r, phase: phase.name, heldOutLoss });
    if (budget !== undefined) {
      budget -= r.step - r.resumedFrom;
      if (budget <= 0 || r.step < phase.steps) break;
    }
  }
  return results;
}

export interface FinetuneOptions extends StageCommon {
  init: string;
  out: string;
  /** "synth:SKILL[,SKILL…]" or a JSON-lines file. */
  data: string;
  tokenizer?: string;
  steps: number;
  batch: number;
  seqLen: number;
  accum: number;
  lr: number;
  warmup: number;
  seed: number;
  ckptEvery: number;
  weightDecay?: number;
  /** DPO only. */
  beta?: number;
}

function synthSkills(data: string): string[] | undefined {
  return data.startsWith('synth:') ? data.slice(6).split(',').filter(Boolean) : undefined;
}

/** SFT: conversations, loss on the assistant's tokens (and its closing <|end|>) only. */
export function sft(o: FinetuneOptions): LoopResult & { heldOutLoss: number } {
  const start = loadStart(o.init, o.tokenizer);
  const tok = openTokenizer(start.tokenizer);
  const skills = synthSkills(o.data);
  const file = skills ? undefined : readChatFile(o.data);
  const convs = (step: number, micro: number): ChatMessage[][] => {
    const rng = stepRng(o.seed, step, micro, 'sft');
    return Array.from({ length: o.batch }, () =>
      skills ? (toChat(trainRecord(skills[Math.floor(rng.next() * skills.length)], o.seed, rng)) as ChatMessage[]) : file![Math.floor(rng.next() * file!.length)],
    );
  };
  const evalBatches = skills ? skills.map((s) => chatBatch(heldOutRecords(s, o.seed, 16).map((r) => toChat(r) as ChatMessage[]), tok, o.seqLen)) : [];
  const r = trainLoop(start.params, {
    phase: 'sft',
    steps: o.steps,
    accum: o.accum,
    optim: { ...DEFAULT_OPTIM, lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmup, weightDecay: o.weightDecay ?? 0 },
    checkpoint: join(o.out, 'sft.ckpt'),
    ckptEvery: o.ckptEvery,
    log: join(o.out, 'sft.jsonl'),
    resume: o.resume === true,
    state: { kind: 'sft', tokenizer: tok.path, seed: o.seed, data: o.data },
    quiet: o.quiet,
    stopAfter: o.stopAfter,
    evalEvery: Math.max(1, Math.floor(o.steps / 10)),
    evaluate: evalBatches.length ? (m) => ({ heldOutLoss: evalLoss(m, evalBatches) }) : undefined,
    micro(model, step, micro, grads, scale) {
      const b = chatBatch(convs(step, micro), tok, o.seqLen);
      const ce = crossEntropy(model.forward(b), b.targets, scale);
      model.backward(ce.dlogp, grads);
      return { loss: ce.loss, tokens: o.batch * o.seqLen };
    },
  });
  return { ...r, heldOutLoss: evalBatches.length ? evalLoss(new TrainModel(start.params), evalBatches) : NaN };
}

export interface PreferenceEval {
  /** Fraction of pairs where log π(chosen) > log π(rejected). */
  accuracy: number;
  /** Mean log π(chosen) − log π(rejected). */
  margin: number;
}

/** How often the model itself prefers the chosen answer (likelihood), on given pairs. */
export function preferenceAccuracy(model: TrainModel, pairs: PreferencePair[], tok: TokenizerBundle, seqLen: number): PreferenceEval {
  let acc = 0, margin = 0;
  for (let i = 0; i < pairs.length; i += 8) {
    const chunk = pairs.slice(i, i + 8);
    const b = preferenceBatch(chunk, tok, seqLen);
    const s = sequenceLogp(model.forward(b), b.targets, b.batch, seqLen);
    for (let k = 0; k < chunk.length; k++) {
      const d = s[2 * k] - s[2 * k + 1];
      margin += d;
      if (d > 0) acc++;
    }
  }
  return { accuracy: acc / pairs.length, margin: margin / pairs.length };
}

export function heldOutPairs(skills: string[], seed: number, n: number): PreferencePair[] {
  const out: PreferencePair[] = [];
  for (const s of skills) heldOutRecords(s, seed, n).forEach((r, i) => out.push(synthPair(r, stepRng(seed, i, 0, 'pair:' + s))));
  return out;
}

/** DPO against a frozen copy of the starting model. */
export function dpo(o: FinetuneOptions): LoopResult & { before: PreferenceEval; after: PreferenceEval } {
  const beta = o.beta ?? 0.1;
  if (!(beta > 0)) throw new Phi3Error('--beta must be > 0');
  if (o.batch % 1 !== 0 || o.batch < 1) throw new Phi3Error('--batch must be a positive number of pairs');
  const start = loadStart(o.init, o.tokenizer);
  const tok = openTokenizer(start.tokenizer);
  const ref = new TrainModel(new Phi3Params(start.params.config));
  ref.params.data.set(start.params.data);
  const skills = synthSkills(o.data);
  const file = skills ? undefined : readPairFile(o.data);
  const pairs = (step: number, micro: number): PreferencePair[] => {
    const rng = stepRng(o.seed, step, micro, 'dpo');
    return Array.from({ length: o.batch }, () =>
      skills ? synthPair(trainRecord(skills[Math.floor(rng.next() * skills.length)], o.seed, rng), rng) : file![Math.floor(rng.next() * file!.length)],
    );
  };
  const evalPairs = skills ? heldOutPairs(skills, o.seed, 32) : file!.slice(0, 32);
  const before = preferenceAccuracy(ref, evalPairs, tok, o.seqLen);
  const r = trainLoop(start.params, {
    phase: 'dpo',
    steps: o.steps,
    accum: o.accum,
    optim: { ...DEFAULT_OPTIM, lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmup, weightDecay: o.weightDecay ?? 0 },
    checkpoint: join(o.out, 'dpo.ckpt'),
    ckptEvery: o.ckptEvery,
    log: join(o.out, 'dpo.jsonl'),
    resume: o.resume === true,
    state: { kind: 'dpo', tokenizer: tok.path, seed: o.seed, data: o.data, beta },
    quiet: o.quiet,
    stopAfter: o.stopAfter,
    evalEvery: Math.max(1, Math.floor(o.steps / 10)),
    evaluate: (m) => {
      const e = preferenceAccuracy(m, evalPairs, tok, o.seqLen);
      return { heldOutPrefAccuracy: e.accuracy, heldOutPrefMargin: e.margin };
    },
    micro(model, step, micro, grads, scale) {
      const b = preferenceBatch(pairs(step, micro), tok, o.seqLen);
      const refLogp = sequenceLogp(ref.forward(b), b.targets, b.batch, o.seqLen);
      const d = dpoLoss(model.forward(b), refLogp, b.targets, b.batch, o.seqLen, beta, scale);
      model.backward(d.dlogp, grads);
      return {
        loss: d.loss,
        tokens: b.batch * o.seqLen,
        metrics: { rewardChosen: d.chosenReward, rewardRejected: d.rejectedReward, rewardMargin: d.margin, rewardAccuracy: d.accuracy },
      };
    },
  });
  return { ...r, before, after: preferenceAccuracy(new TrainModel(start.params), evalPairs, tok, o.seqLen) };
}
