// `phi3 quantize IN OUT.gguf --type q4_k_m`: IN is a Hugging Face folder or a GGUF; the tensor types
// follow llama.cpp's mixes (quant/mix.ts), so file sizes and quality match what llama-quantize makes.
import { Command, Option } from 'commander';
import { presetConfig } from '../model/config.js';
import { phi3TensorSpecs } from '../model/random.js';
import { FILE_TYPES, tensorTypeFor } from '../quant/mix.js';
import { tensorByteSize } from '../quant/types.js';
import { runWithProgress, type ConvertCliOptions } from './convert.js';

export const QUANT_TYPES = ['q4_0', 'q4_k_s', 'q4_k_m', 'q5_k_s', 'q5_k_m', 'q6_k', 'q8_0'];

/** "q4_k_m  Q4_K_M  4.89 bits/weight  2.23 GiB" for phi-3-mini, computed from llama.cpp's mix. */
function sizeLine(type: string): string {
  const c = presetConfig('phi-3-mini-4k');
  let bytes = 0;
  let n = 0;
  for (const s of phi3TensorSpecs(c)) {
    const k = s.dims.reduce((a, b) => a * b, 1);
    bytes += tensorByteSize(tensorTypeFor(FILE_TYPES[type], s.name, s.dims, c.numLayers), k) as number;
    n += k;
  }
  return `  ${type.padEnd(7)} ${FILE_TYPES[type].name.padEnd(7)} ${((8 * bytes) / n).toFixed(2)} bits/weight  ${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

export function quantizeCommand(): Command {
  return new Command('quantize')
    .description("quantize a Phi-3 model (Hugging Face folder or GGUF) to a smaller GGUF with llama.cpp's per-tensor type mixes")
    .argument('<in>', 'Hugging Face folder or .gguf file (F32/F16/BF16 weights)')
    .argument('<out>', 'output .gguf file')
    .addOption(new Option('--type <type>', 'quantization type').choices([...QUANT_TYPES, 'f16', 'bf16', 'f32']).default('q4_k_m'))
    .option('--tokenizer <path>', 'tokenizer.json (or its folder, or a Phi-3 GGUF) for a Hugging Face folder that lacks one')
    .option('--name <text>', 'general.name to record')
    .option('--allow-requantize', 'allow re-quantizing tensors that are already quantized (quality loss compounds)')
    .option('-f, --force', 'overwrite an existing output file')
    .option('-q, --quiet', 'no progress bar or summary')
    .addHelpText('after', () => '\nSizes on phi-3-mini (3.8 B weights), from the mix:\n' + QUANT_TYPES.map(sizeLine).join('\n') + '\nq4_k_m is the usual choice for devices; q8_0 is near-lossless.')
    .action(async (input: string, out: string, o: ConvertCliOptions) => {
      await runWithProgress(input, out, o, 'quantizing');
    });
}
