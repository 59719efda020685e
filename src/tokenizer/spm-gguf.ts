// Builds the SentencePiece vocab from GGUF `tokenizer.ggml.*` metadata the way llama.cpp's
// llama_vocab::load does for tokenizer model "llama": tokens / scores / token_type arrays of equal
// length, special ids (defaults bos 1, eos 2, unk 0 when absent, as llama.cpp), add_bos (default true),
// add_eos (default false), add_space_prefix (default true). When general.name contains "phi3" or
// "phi-3", every matchable special token gets RSTRIP except <unk>, <s>, <|endoftext|>, and </s> gets it
// too (llama.cpp copies Phi-3's tokenizer.json rstrip flags this way). Bad metadata → FormatError.
import { FormatError } from '../errors.js';
import { TokenType, emptyVocab, isMatchableSpecial, type SpmVocab } from './vocab.js';

type Get = (key: string) => unknown;

export function spmVocabFromGGUF(get: Get, source: string): SpmVocab {
  const model = get('tokenizer.ggml.model');
  if (model !== 'llama') {
    throw new FormatError(source, `tokenizer.ggml.model is ${JSON.stringify(model)}, expected "llama" (SentencePiece)`);
  }
  const tokens = stringArray(get, 'tokenizer.ggml.tokens', source);
  const n = tokens.length;
  const scores = numberArray(get, 'tokenizer.ggml.scores', n, source);
  const types = numberArray(get, 'tokenizer.ggml.token_type', n, source);
  const v = emptyVocab(n);
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (!Number.isInteger(t) || t < TokenType.UNDEFINED || t > TokenType.BYTE) {
      throw new FormatError(source, `tokenizer.ggml.token_type[${i}] is ${t}, not a token type 0..6`);
    }
    v.pieces[i] = tokens[i];
    v.scores[i] = scores[i];
    v.types[i] = t;
  }
  v.bosId = optionalId(get, 'tokenizer.ggml.bos_token_id', n, source, 1);
  v.eosId = optionalId(get, 'tokenizer.ggml.eos_token_id', n, source, 2);
  v.unkId = optionalId(get, 'tokenizer.ggml.unknown_token_id', n, source, 0);
  v.padId = optionalId(get, 'tokenizer.ggml.padding_token_id', n, source, undefined);
  v.addBos = optionalBool(get, 'tokenizer.ggml.add_bos_token', source, true);
  v.addEos = optionalBool(get, 'tokenizer.ggml.add_eos_token', source, false);
  v.addSpacePrefix = optionalBool(get, 'tokenizer.ggml.add_space_prefix', source, true);
  const name = get('general.name');
  if (typeof name === 'string' && /phi-?3/.test(name.toLowerCase())) applyPhi3Rstrip(v);
  return v;
}

function applyPhi3Rstrip(v: SpmVocab): void {
  for (let i = 0; i < v.pieces.length; i++) if (isMatchableSpecial(v.types[i])) v.rstrip[i] = 1;
  setByText(v, '</s>', 1);
  for (const text of ['<unk>', '<s>', '<|endoftext|>']) setByText(v, text, 0);
}

/** llama.cpp's _set_token_attr looks the text up in its map, where the last duplicate wins. */
function setByText(v: SpmVocab, text: string, rstrip: number): void {
  const id = v.pieces.lastIndexOf(text);
  if (id >= 0) v.rstrip[id] = rstrip;
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

function stringArray(get: Get, key: string, source: string): string[] {
  const a = get(key);
  if (a === undefined) throw new FormatError(source, `missing ${key}`);
  if (!Array.isArray(a) || a.length === 0) throw new FormatError(source, `${key} is not a non-empty array of strings`);
  a.forEach((s, i) => {
    if (typeof s !== 'string') throw new FormatError(source, `${key}[${i}] is not a string`);
  });
  return a as string[];
}

function numberArray(get: Get, key: string, n: number, source: string): ArrayLike<number> {
  const a = get(key);
  if (a === undefined) throw new FormatError(source, `missing ${key}`);
  if (!isArrayLike(a)) throw new FormatError(source, `${key} is not an array`);
  if (a.length !== n) throw new FormatError(source, `${key} has ${a.length} entries, tokenizer.ggml.tokens has ${n}`);
  for (let i = 0; i < n; i++) {
    if (typeof a[i] !== 'number' || Number.isNaN(a[i])) throw new FormatError(source, `${key}[${i}] is not a number`);
  }
  return a as ArrayLike<number>;
}

function optionalId(get: Get, key: string, n: number, source: string, dflt: number | undefined): number | undefined {
  const raw = get(key);
  if (raw === undefined) return dflt !== undefined && dflt < n ? dflt : undefined;
  const id = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new FormatError(source, `${key} is not an integer`);
  // llama.cpp stores "none" as -1 (or u32 0xFFFFFFFF) in some files.
  if (id === -1 || id === 0xffffffff) return undefined;
  if (id < 0 || id >= n) throw new FormatError(source, `${key} = ${id} is outside the vocab (0..${n - 1})`);
  return id;
}

function optionalBool(get: Get, key: string, source: string, dflt: boolean): boolean {
  const raw = get(key);
  if (raw === undefined) return dflt;
  if (typeof raw !== 'boolean') throw new FormatError(source, `${key} is not a boolean`);
  return raw;
}
