// `phi3 init`: writes a random-weight Phi-3 GGUF of a real shape (a preset) in any file type, for
// benchmarks and tests. llama.cpp loads these files like any converted model.
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { writeGGUF } from '../formats/gguf.js';
import { phi3Metadata } from '../formats/phi3-gguf.js';
import { presetConfig } from '../model/config.js';
import { PRESETS } from '../model/presets.js';
import { randomPhi3Tensors } from '../model/random.js';
import { FILE_TYPES } from '../quant/mix.js';
import { loadVocab } from '../tokenizer/vocab-source.js';
import { Phi3Error } from '../errors.js';
import { PHI3_TEMPLATE } from '../chat/template.js';
import { PHI3_VOCAB_MODEL, intArg } from './common.js';
import { isPhi3SmallJson } from '../model/config-small.js';
import { initSmallModel } from './init-small.js';

export interface InitOptions {
  preset: string;
  random: boolean;
  seed: number;
  type: string;
  tokenizer?: string;
  name?: string;
  force?: boolean;
}

export function initModel(out: string, o: InitOptions, onTensor?: (done: number, total: number) => void): void {
  if (!o.random) throw new Phi3Error('only random initialisation is supported: pass --random');
  const ft = FILE_TYPES[o.type];
  if (!ft) throw new Phi3Error(`unknown --type "${o.type}"; one of ${Object.keys(FILE_TYPES).join(', ')}`);
  if (existsSync(out) && !o.force) throw new Phi3Error(`${out} exists; pass --force to overwrite`);
  if (PRESETS[o.preset] && isPhi3SmallJson(PRESETS[o.preset].config)) return initSmallModel(out, o, onTensor);
  const config = presetConfig(o.preset);
  const vocabPath = o.tokenizer ?? PHI3_VOCAB_MODEL;
  const { vocab, chatTemplate } = loadVocab(vocabPath, config.vocabSize);
  const name = o.name ?? `phi3 ${o.preset} (random weights, seed ${o.seed})`;
  const metadata = phi3Metadata({ config, vocab, name, fileType: ft.fileType, chatTemplate: chatTemplate ?? PHI3_TEMPLATE });
  const tensors = randomPhi3Tensors(config, ft, o.seed);
  if (config.ropeScaling) {
    // LongRoPE factors travel as two F32 tensors, as llama.cpp's converter writes them.
    const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
    const half = config.rotaryDim / 2;
    tensors.splice(1, 0,
      { name: 'rope_factors_long.weight', type: 0, dims: [half], data: f32(config.ropeScaling.longFactor) },
      { name: 'rope_factors_short.weight', type: 0, dims: [half], data: f32(config.ropeScaling.shortFactor) },
    );
  }
  writeGGUF(out, metadata, tensors, { onTensor });
}

export function initCommand(): Command {
  return new Command('init')
    .description('write a random-weight Phi-3 model of a real shape (for benchmarks and tests)')
    .argument('<out>', 'output .gguf path')
    .addOption(new Option('--preset <name>', 'model shape').choices(Object.keys(PRESETS)).default('phi-3-mini-4k'))
    .option('--random', 'random weights (required: the only initialisation this command does)')
    .option('--seed <n>', 'random seed', intArg(0), 1)
    .addOption(new Option('--type <type>', 'file type (llama.cpp tensor-type mix)').choices(Object.keys(FILE_TYPES)).default('q4_0'))
    .option('--tokenizer <path>', 'vocabulary: tokenizer.json (or its folder) or a Phi-3 GGUF (default: the embedded model\'s); for phi-3-small presets, cl100k_base.tiktoken (or its folder)')
    .option('--name <text>', 'general.name to record')
    .option('-f, --force', 'overwrite an existing file')
    .action((out: string, o: InitOptions) => {
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'writing {bar} {value}/{total} tensors | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : undefined;
      let started = false;
      try {
        initModel(out, o, (done, total) => {
          if (bar && !started) bar.start(total, 0);
          started = true;
          bar?.update(done);
        });
      } finally {
        if (started) bar?.stop();
      }
      console.error(`wrote ${out}`);
    });
}
