// Options and helpers shared by the CLI commands: model loading with a progress bar, number parsing
// that rejects nonsense with a message, and the embedded default model.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadModel, type LoadOptions, type Phi3 } from '../phi3.js';
import type { RopeFactorMode } from '../model/rope.js';
import { selectBackend } from '../backend/select.js';
import type { GenerateOptions } from '../generate/generate.js';

/** The model shipped inside the package (see models/README.md), used when --model is not given. */
export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/phi3-chat.gguf');
/** The embedded file carrying the full 32064-token Phi-3 vocabulary (`phi3 init`'s default vocabulary). */
export const PHI3_VOCAB_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/phi3-tiny.gguf');

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer${max < Number.MAX_SAFE_INTEGER ? ` in ${min}..${max}` : ` ≥ ${min}`}, got "${v}"`);
    return n;
  };
}

export function floatArg(min: number, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <path>', 'GGUF file or Hugging Face folder (default: the embedded tiny chat model, models/phi3-chat.gguf)')
    .option('--tokenizer <path>', 'tokenizer.json (or its folder) for a Hugging Face folder that lacks one')
    .option('-c, --context <n>', 'context size in tokens (default: the model\'s)', intArg(1))
    .option(
      '--rope-factors <mode>',
      'LongRoPE factor choice: dynamic (Hugging Face: long past the original context), context (llama.cpp: long if --context exceeds it), short, long',
      'dynamic',
    )
    .option('--backend <name>', 'compute backend: wasm (SIMD kernels on worker threads), ref (plain TypeScript reference) or webgpu (WGSL kernels through Dawn; needs the optional webgpu package)', 'wasm')
    .option('--threads <n>', 'threads for the wasm backend (default: available cores)', intArg(1, 256));
}

export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option('-n, --max-tokens <n>', 'most tokens to generate', intArg(0))
    .option('-t, --temperature <t>', 'sampling temperature; 0 = greedy', floatArg(0), 0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', intArg(0))
    .option('--top-p <p>', 'nucleus sampling threshold (1 = off)', floatArg(Number.MIN_VALUE, 1))
    .option('--min-p <p>', 'drop tokens below p × the best probability (0 = off)', floatArg(0, 1))
    .option('--repeat-penalty <x>', 'repetition penalty (1 = off)', floatArg(Number.MIN_VALUE))
    .option('--seed <n>', 'sampling seed (same seed, same text)', intArg(0))
    .option('--stop <text...>', 'stop when the output contains this text')
    .option('--no-stop', 'do not stop at end-of-generation tokens');
}

export interface ModelCliOptions {
  model?: string;
  tokenizer?: string;
  context?: number;
  ropeFactors: string;
  backend?: string;
  threads?: number;
}

export async function openModel(o: ModelCliOptions): Promise<Phi3> {
  const path = o.model ?? DEFAULT_MODEL;
  if (!o.model && !existsSync(path)) throw new Error(`no --model given and the embedded model ${path} is missing`);
  const modes = ['dynamic', 'context', 'short', 'long'];
  if (!modes.includes(o.ropeFactors)) throw new Error(`--rope-factors must be one of ${modes.join(', ')}`);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'loading {bar} {value}/{total} layers', clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  let started = false;
  const opts: LoadOptions = {
    tokenizer: o.tokenizer,
    contextSize: o.context,
    ropeFactors: o.ropeFactors as RopeFactorMode,
    backend: selectBackend(o.backend, o.threads),
    onProgress: (done, total) => {
      if (!bar) return;
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
  };
  try {
    return await loadModel(path, opts);
  } finally {
    if (started) bar?.stop();
  }
}

export interface SamplingCliOptions {
  maxTokens?: number;
  temperature: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  seed?: number;
  stop?: string[] | boolean;
}

export function generateOptions(o: SamplingCliOptions): GenerateOptions {
  return {
    maxTokens: o.maxTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    minP: o.minP,
    repetitionPenalty: o.repeatPenalty,
    seed: o.seed,
    // commander folds --stop <text...> and --no-stop into one key: an array, or false.
    stop: Array.isArray(o.stop) ? o.stop : undefined,
    noStop: o.stop === false,
  };
}

export function parseIds(s: string): number[] {
  const ids = s.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (ids.length === 0 || ids.some((x) => !Number.isInteger(x) || x < 0))
    throw new InvalidArgumentError(`expected comma-separated token ids like 1,2,3, got "${s}"`);
  return ids;
}
