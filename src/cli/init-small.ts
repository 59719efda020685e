// `phi3 init --preset phi-3-small-8k --random`: a random-weight Phi-3-small GGUF (our phi3small form,
// formats/phi3small-gguf.ts) of the real shape, for benchmarks. Its vocabulary is the real one, read from
// the tiktoken ranks file (--tokenizer cl100k_base.tiktoken or its folder; by default the copy in the
// project's ../shared/phi3/tokenizer/phi-3-small when present, or $PHI3_TIKTOKEN).
// Tested by test/phi3-small.test.ts (initSmallModel on a tiny shape, loaded and run).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PHI3_SMALL_TEMPLATE } from '../chat/template.js';
import { Phi3Error } from '../errors.js';
import { writeGGUF } from '../formats/gguf.js';
import { phi3SmallMetadata } from '../formats/phi3small-gguf.js';
import type { Phi3SmallConfig } from '../model/config-small.js';
import { randomPhi3SmallTensors, smallPresetConfig } from '../model/random-small.js';
import { FILE_TYPES } from '../quant/mix.js';
import { TiktokenTokenizer } from '../tokenizer/tiktoken.js';

const SHARED_RANKS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/phi3/tokenizer/phi-3-small/cl100k_base.tiktoken');

/** The ranks file from --tokenizer (file or folder), $PHI3_TIKTOKEN, or the shared checkout. */
export function findTiktokenRanks(given?: string): string {
  const where = given ?? process.env.PHI3_TIKTOKEN ?? SHARED_RANKS;
  const path = existsSync(where) && statSync(where).isDirectory() ? join(where, 'cl100k_base.tiktoken') : where;
  if (!existsSync(path))
    throw new Phi3Error(`no tiktoken ranks file at ${path}: pass --tokenizer PATH to cl100k_base.tiktoken (or its folder)`);
  return path;
}

export interface InitSmallOptions {
  seed: number;
  type: string;
  tokenizer?: string;
  name?: string;
  /** A config to use instead of the preset's (tests use a tiny shape). */
  config?: Phi3SmallConfig;
  preset?: string;
}

export function initSmallModel(out: string, o: InitSmallOptions, onTensor?: (done: number, total: number) => void): void {
  const ft = FILE_TYPES[o.type];
  if (!ft) throw new Phi3Error(`unknown --type "${o.type}"; one of ${Object.keys(FILE_TYPES).join(', ')}`);
  const config = o.config ?? smallPresetConfig(o.preset ?? 'phi-3-small-8k');
  const tokenizer = TiktokenTokenizer.fromTiktokenFile(findTiktokenRanks(o.tokenizer), config.vocabSize);
  const name = o.name ?? `phi3 ${o.preset ?? 'phi-3-small'} (random weights, seed ${o.seed})`;
  const metadata = phi3SmallMetadata({ config, tokenizer, name, fileType: ft.fileType, chatTemplate: PHI3_SMALL_TEMPLATE });
  writeGGUF(out, metadata, randomPhi3SmallTensors(config, ft, o.seed), { onTensor });
}
