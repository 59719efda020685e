// The tokenizer interface the engine codes against, and factories that pick the implementation from
// what a model ships: GGUF `tokenizer.ggml.*` metadata or a Hugging Face tokenizer.json (+ config).
// Only SentencePiece BPE (Phi-3-mini/medium, llama.cpp's "llama" tokenizer model) exists so far;
// anything else is a FormatError naming the tokenizer kind, never a wrong tokenization.
import { FormatError } from '../errors.js';
import { SpmTokenizer } from './spm-tokenizer.js';
import type { DecodeStream } from './decode-stream.js';

export type { DecodeStream } from './decode-stream.js';
export { SpmTokenizer } from './spm-tokenizer.js';

export interface EncodeOptions {
  /** Match special-token text (e.g. `<|user|>`) in the input; default true. */
  parseSpecial?: boolean;
  /** Prepend BOS; default: the tokenizer's own setting (false for Phi-3). */
  addBos?: boolean;
  /** Append EOS; default: the tokenizer's own setting (false for Phi-3). */
  addEos?: boolean;
}

export interface DecodeOptions {
  /** Render control / unknown tokens as nothing instead of their text. */
  skipSpecial?: boolean;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly unkId: number | undefined;
  readonly padId: number | undefined;
  readonly addBos: boolean;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  createDecodeStream(opts?: DecodeOptions): DecodeStream;
  /** The raw vocab piece (`▁Hello`, `<0x0A>`, `<|end|>`). */
  idToPiece(id: number): string;
  /** Exact piece / special-token lookup, e.g. tokenId('<|end|>') → 32007. */
  tokenId(text: string): number | undefined;
  /** Control, user-defined, unknown or unused token (not ordinary text). */
  isSpecial(id: number): boolean;
}

/** A tokenizer from GGUF metadata; `get` returns a key's value or undefined (e.g. GGUFFile.get). */
export function tokenizerFromGGUFMetadata(get: (key: string) => unknown, source = 'GGUF metadata'): Tokenizer {
  const model = get('tokenizer.ggml.model');
  if (model === undefined) throw new FormatError(source, 'no tokenizer.ggml.model: the file carries no tokenizer');
  if (model === 'llama') return SpmTokenizer.fromGGUFMetadata(get, source);
  throw new FormatError(source, `tokenizer.ggml.model ${JSON.stringify(model)} is not supported (only "llama", SentencePiece BPE)`);
}

/** A tokenizer from a parsed Hugging Face tokenizer.json and (optionally) tokenizer_config.json. */
export function tokenizerFromHF(tokenizerJson: unknown, tokenizerConfig?: unknown, source = 'tokenizer.json'): Tokenizer {
  return SpmTokenizer.fromTokenizerJson(tokenizerJson, tokenizerConfig, source);
}
