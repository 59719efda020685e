// Where a model writer gets its vocabulary from: a tokenizer.json (with tokenizer_config.json beside it)
// or any Phi-3 GGUF, e.g. the embedded default model, which carries the full Phi-3 vocabulary.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FormatError } from '../errors.js';
import { isGGUF, readGGUF } from '../formats/gguf.js';
import { spmVocabFromGGUF } from './spm-gguf.js';
import { spmVocabFromTokenizerJson } from './spm-hf.js';
import type { SpmVocab } from './vocab.js';

export interface VocabWithTemplate {
  vocab: SpmVocab;
  chatTemplate?: string;
}

function json(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FormatError(path, `cannot read JSON: ${(e as Error).message}`);
  }
}

/** Reads a vocabulary (and the chat template, if the source has one) for a model of `vocabSize` ids. */
export function loadVocab(path: string, vocabSize: number): VocabWithTemplate {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  if (statSync(path).isFile() && isGGUF(path)) {
    const f = readGGUF(path);
    const vocab = spmVocabFromGGUF((k) => f.get(k), path);
    if (vocab.pieces.length !== vocabSize)
      throw new FormatError(path, `vocabulary has ${vocab.pieces.length} tokens but the model needs ${vocabSize}`);
    const t = f.get('tokenizer.chat_template');
    return { vocab, chatTemplate: typeof t === 'string' ? t : undefined };
  }
  const tokPath = statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  const cfgPath = join(dirname(tokPath), 'tokenizer_config.json');
  const cfg = existsSync(cfgPath) ? (json(cfgPath) as Record<string, unknown>) : undefined;
  const vocab = spmVocabFromTokenizerJson(json(tokPath), cfg, tokPath, vocabSize);
  return { vocab, chatTemplate: typeof cfg?.chat_template === 'string' ? cfg.chat_template : undefined };
}
