// `phi3 export CKPT OUT --format gguf|hf`: a training checkpoint as a GGUF file (this engine, llama.cpp)
// or a Hugging Face folder (transformers' Phi3ForCausalLM). See src/train/export.ts.
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { join } from 'node:path';
import { exportGGUF, exportHF } from '../train/export.js';
import { loadStart } from '../train/init.js';

export function exportCommand(): Command {
  return new Command('export')
    .description('write a training checkpoint as a GGUF file or a Hugging Face folder')
    .argument('<checkpoint>', 'a .ckpt written by phi3 train (or a GGUF, to re-encode it)')
    .argument('<out>', 'output folder (gguf: <out>/model.gguf unless <out> ends in .gguf)')
    .addOption(new Option('--format <f>', 'gguf or hf').choices(['gguf', 'hf']).default('gguf'))
    .option('--type <t>', 'gguf: f32, f16, bf16, q8_0, q4_0, q4_k_m, … (default q8_0); hf: f32 or bf16 (default f32)')
    .option('--tokenizer <path>', 'tokenizer (default: the one the checkpoint recorded)')
    .option('--name <text>', 'general.name of the GGUF')
    .action((ckpt: string, out: string, o: { format: 'gguf' | 'hf'; type?: string; tokenizer?: string; name?: string }) => {
      const { params, tokenizer } = loadStart(ckpt, o.tokenizer);
      const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'export {bar} {value}/{total} tensors', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
      let started = false;
      const onTensor = (done: number, total: number) => {
        if (bar && !started) bar.start(total, 0);
        started = true;
        bar?.update(done);
      };
      try {
        if (o.format === 'gguf') {
          const path = out.endsWith('.gguf') ? out : join(out, 'model.gguf');
          exportGGUF(params, tokenizer, path, { type: o.type, name: o.name, onTensor });
          out = path;
        } else exportHF(params, tokenizer, out, { type: o.type, onTensor });
      } finally {
        if (started) bar?.stop();
      }
      console.error(`wrote ${out}`);
    });
}
