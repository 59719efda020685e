// The tokenizer `phi3 data mix` packs with: from a GGUF file (default: the embedded model, which carries
// the real Phi-3 vocabulary) or a Hugging Face tokenizer.json / its folder. No weights are loaded.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../errors.js';
import { isGGUF, readGGUF } from '../formats/gguf.js';
import { tokenizerFromGGUFMetadata, tokenizerFromHF, type Tokenizer } from '../tokenizer/tokenizer.js';

export const DEFAULT_TOKENIZER = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/phi3-tiny.gguf');

export function loadDataTokenizer(path = DEFAULT_TOKENIZER): Tokenizer {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  if (statSync(path).isFile() && isGGUF(path)) {
    const f = readGGUF(path);
    return tokenizerFromGGUFMetadata((k) => f.get(k), path);
  }
  const tokPath = statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  const cfgPath = join(dirname(tokPath), 'tokenizer_config.json');
  const read = (p: string) => {
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as unknown;
    } catch (e) {
      throw new FormatError(p, `cannot read JSON: ${(e as Error).message}`);
    }
  };
  return tokenizerFromHF(read(tokPath), existsSync(cfgPath) ? read(cfgPath) : undefined, tokPath);
}

/** The benchmark folder for contamination checks: $PHI3_SHARED/datasets, else ../shared/datasets beside the cwd or the package. */
export function defaultBenchmarks(): string | undefined {
  const cands = [
    process.env.PHI3_SHARED ? join(process.env.PHI3_SHARED, 'datasets') : undefined,
    resolve('../shared/datasets'),
    resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/datasets'),
  ];
  return cands.find((c) => c !== undefined && existsSync(c));
}
