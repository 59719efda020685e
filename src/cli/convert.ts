// `phi3 convert HF_DIR OUT.gguf [--type f16|bf16|f32]` and the progress/summary plumbing it shares with
// `phi3 quantize` (quantize.ts): the conversion runs on a worker thread (convert/run.ts) while this
// thread draws a progress bar with an ETA and turns Ctrl-C into "nothing written".
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Phi3Error } from '../errors.js';
import type { ConvertSummary } from '../convert/convert.js';
import { runConversion, type ConvertJob } from '../convert/run.js';

export interface ConvertCliOptions {
  type: string;
  tokenizer?: string;
  name?: string;
  force?: boolean;
  allowRequantize?: boolean;
  quiet?: boolean;
}

function gib(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Checks the paths, runs the job with a progress bar on stderr, prints a one-line summary. */
export async function runWithProgress(input: string, out: string, o: ConvertCliOptions, verb: string): Promise<ConvertSummary> {
  if (!existsSync(input)) throw new Phi3Error(`${input}: no such file or folder`);
  if (resolve(input) === resolve(out)) throw new Phi3Error('the output path is the input; choose another name');
  if (existsSync(out)) {
    if (statSync(out).isDirectory()) throw new Phi3Error(`${out} is a folder; give a file name like model-${o.type}.gguf`);
    if (!o.force) throw new Phi3Error(`${out} exists; pass --force to overwrite it`);
  }
  const job: ConvertJob = { input, out, type: o.type, tokenizer: o.tokenizer, name: o.name, allowRequantize: o.allowRequantize };
  const bar =
    process.stderr.isTTY && !o.quiet
      ? new cliProgress.SingleBar(
          { format: `${verb} {bar} {percentage}% | {tensor} | ETA {eta_formatted}`, stream: process.stderr, etaBuffer: 50, hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let started = false;
  const t0 = Date.now();
  try {
    const summary = await runConversion(job, (done, total, tensor) => {
      if (!bar) return;
      if (!started) bar.start(total, 0, { tensor });
      started = true;
      bar.update(done, { tensor });
    });
    if (started) bar?.stop();
    const types = Object.entries(summary.types).map(([t, n]) => `${n} ${t}`).join(', ');
    if (!o.quiet)
      console.error(`wrote ${out}: ${summary.tensors} tensors (${types}), ${gib(summary.bytes)} of weights, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return summary;
  } catch (e) {
    if (started) bar?.stop();
    throw e;
  }
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('convert a Hugging Face Phi-3 folder (config.json, *.safetensors, tokenizer) into a GGUF that llama.cpp, Ollama and phi3 load')
    .argument('<hf-dir>', 'Hugging Face folder (single or sharded safetensors, F32/F16/BF16)')
    .argument('<out>', 'output .gguf file')
    .addOption(new Option('--type <type>', 'weight type of the 2-D tensors (norms stay F32)').choices(['f32', 'f16', 'bf16']).default('f16'))
    .option('--tokenizer <path>', "tokenizer.json (or its folder, or a Phi-3 GGUF) when the folder has none; a tokenizer.model beside it supplies llama.cpp's piece scores")
    .option('--name <text>', 'general.name to record (default: the model folder\'s name, prefixed "phi3 " if it lacks it, which llama.cpp needs to apply Phi-3\'s token rules)')
    .option('-f, --force', 'overwrite an existing output file')
    .option('-q, --quiet', 'no progress bar or summary')
    .addHelpText('after', '\nExample:\n  phi3 convert ./Phi-3-mini-4k-instruct phi-3-mini-f16.gguf\n  phi3 quantize phi-3-mini-f16.gguf phi-3-mini-q4_k_m.gguf --type q4_k_m')
    .action(async (dir: string, out: string, o: ConvertCliOptions) => {
      if (existsSync(dir) && !statSync(dir).isDirectory())
        throw new Phi3Error(`${dir} is a file; convert reads a Hugging Face folder (use "phi3 quantize" to change a GGUF's type)`);
      await runWithProgress(dir, out, o, 'converting');
    });
}
