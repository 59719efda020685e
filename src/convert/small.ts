// `phi3 convert` / `phi3 quantize` for Phi-3-small: a Hugging Face Phi3SmallForCausalLM folder (with
// cl100k_base.tiktoken, or --tokenizer) or a phi3small GGUF in, a phi3small GGUF (formats/phi3small-gguf.ts)
// of any file type out, one tensor at a time (formats/phi3small-write.ts). Called from the conversion
// worker (worker.ts) when the input is Phi-3-small; everything else goes through convert.ts.
// Tested by test/phi3-small.test.ts (HF folder → BF16 / Q8_0 GGUF → the same model).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readGGUF } from '../formats/gguf.js';
import { PHI3SMALL_ARCH } from '../formats/phi3small-gguf.js';
import { writeSmallGGUF } from '../formats/phi3small-write.js';
import { openModelFiles } from '../load.js';
import { isPhi3SmallJson, type Phi3SmallConfig } from '../model/config-small.js';
import { numElements } from '../model/tensor.js';
import { FILE_TYPES } from '../quant/mix.js';
import { tensorByteSize, typeName } from '../quant/types.js';
import { Phi3Error } from '../errors.js';
import { TiktokenTokenizer } from '../tokenizer/tiktoken.js';
import type { ConvertSummary } from './convert.js';
import type { ConvertJob } from './run.js';

/** Whether `path` is a Phi-3-small HF folder or phi3small GGUF (cheap: reads config.json or the header). */
export function isPhi3SmallInput(path: string): boolean {
  try {
    if (statSync(path).isDirectory()) {
      const cfg = join(path, 'config.json');
      return existsSync(cfg) && isPhi3SmallJson(JSON.parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>);
    }
    return readGGUF(path).get('general.architecture') === PHI3SMALL_ARCH;
  } catch {
    return false; // not readable as either: let the general path report what is wrong
  }
}

export function convertSmallModel(job: ConvertJob, onProgress?: (done: number, total: number, tensor: string) => void): ConvertSummary {
  const ft = FILE_TYPES[job.type.toLowerCase()];
  if (!ft) throw new Phi3Error(`unknown type "${job.type}"; one of ${Object.keys(FILE_TYPES).join(', ')}`);
  const files = openModelFiles(job.input, { tokenizer: job.tokenizer });
  const config = files.config as Phi3SmallConfig;
  const types: Record<string, number> = {};
  let bytes = 0;
  writeSmallGGUF(job.out, {
    config,
    tokenizer: files.tokenizer as TiktokenTokenizer,
    tensors: files.tensors,
    fileType: ft,
    name: job.name ?? files.name ?? `phi3 ${basename(job.input)}`,
    chatTemplate: files.chatTemplate,
    allowRequantize: job.allowRequantize,
    onTensor: (done, total, name) => onProgress?.(done, total, name),
    onPlan: (t) => {
      types[typeName(t.type)] = (types[typeName(t.type)] ?? 0) + 1;
      bytes += tensorByteSize(t.type, numElements(t.dims)) as number;
    },
  });
  return { tensors: Object.values(types).reduce((a, b) => a + b, 0), bytes, types };
}
