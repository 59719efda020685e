// Builds the SentencePiece vocab from a Hugging Face tokenizer.json (model BPE, byte_fallback, the
// Llama normalizer Prepend('▁') + Replace(' '→'▁')) and tokenizer_config.json, so that it tokenizes
// exactly like llama.cpp on the GGUF converted from the same files:
// - scores: the HF converter orders merges by SentencePiece score, so a piece's score is minus the rank
//   of the first merge producing it (only the order matters to the merge loop);
// - types: `<0xXX>` pieces BYTE, the unk token UNKNOWN, added tokens that are SentencePiece pieces
//   (`<s>`, `</s>`) CONTROL as in the .model, other added tokens CONTROL if `special` else USER_DEFINED;
// - rstrip / lstrip from the added tokens;
// - ids above the last token up to `vocabSize` (default: the next multiple of 64, the Phi-3 embedding
//   padding 32011→32064) are filled the way the reference GGUF has them: `<|placeholderN|>` CONTROL +
//   RSTRIP continuing the file's own placeholder numbering, or llama.cpp's `[PADn]` UNUSED when the file
//   has no placeholders;
// - bos/eos/unk/pad and add_bos/add_eos from the config, else from the post-processor template.
import { FormatError } from '../errors.js';
import { TokenType, emptyVocab, pieceByte, type SpmVocab } from './vocab.js';

type Obj = Record<string, unknown>;

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  rstrip: boolean;
  lstrip: boolean;
}

interface BpeModel {
  vocab: Map<string, number>;
  merges: [string, string][];
  unkToken: string | undefined;
}

const ADDED_SCORE = -1000; // what llama.cpp's converter gives added tokens

export function spmVocabFromTokenizerJson(tok: unknown, config: unknown, source: string, vocabSize?: number): SpmVocab {
  const root = asObject(tok, 'tokenizer.json', source);
  const bpe = readModel(root.model, source);
  const addSpacePrefix = readNormalizer(root.normalizer, source);
  if (root.pre_tokenizer != null) throw new FormatError(source, 'pre_tokenizer must be null for a SentencePiece BPE tokenizer');
  const added = readAddedTokens(root.added_tokens, source);
  const n = totalSize(bpe, added, vocabSize, source);
  const v = emptyVocab(n);
  v.addSpacePrefix = addSpacePrefix;
  fillBase(v, bpe, source);
  fillAdded(v, bpe, added);
  fillPadding(v, bpe, added);
  const cfg = config === undefined || config === null ? {} : asObject(config, 'tokenizer_config.json', source);
  fillSpecialIds(v, cfg, bpe, root.post_processor, source);
  return v;
}

function asObject(x: unknown, what: string, source: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new FormatError(source, `${what} is not a JSON object`);
  return x as Obj;
}

function readModel(model: unknown, source: string): BpeModel {
  const m = asObject(model, 'tokenizer.json "model"', source);
  if (m.type !== 'BPE') throw new FormatError(source, `model.type is ${JSON.stringify(m.type)}, expected "BPE"`);
  if (m.byte_fallback !== true) throw new FormatError(source, 'model.byte_fallback must be true (SentencePiece byte fallback)');
  if (m.continuing_subword_prefix != null || m.end_of_word_suffix != null) {
    throw new FormatError(source, 'model.continuing_subword_prefix / end_of_word_suffix are not supported');
  }
  const vocab = readVocab(m.vocab, source);
  const merges = readMerges(m.merges, vocab, source);
  if (m.unk_token != null && typeof m.unk_token !== 'string') throw new FormatError(source, 'model.unk_token is not a string');
  return { vocab, merges, unkToken: (m.unk_token ?? undefined) as string | undefined };
}

function readVocab(vocab: unknown, source: string): Map<string, number> {
  if (vocab === undefined) throw new FormatError(source, 'missing model.vocab');
  const obj = asObject(vocab, 'model.vocab', source);
  const map = new Map<string, number>();
  for (const [piece, id] of Object.entries(obj)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new FormatError(source, `model.vocab[${JSON.stringify(piece)}] is not a token id`);
    map.set(piece, id as number);
  }
  if (map.size === 0) throw new FormatError(source, 'model.vocab is empty');
  return map;
}

function readMerges(merges: unknown, vocab: Map<string, number>, source: string): [string, string][] {
  if (merges === undefined) throw new FormatError(source, 'missing model.merges');
  if (!Array.isArray(merges)) throw new FormatError(source, 'model.merges is not an array');
  return merges.map((m, rank) => {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((p) => typeof p === 'string')) {
      throw new FormatError(source, `model.merges[${rank}] is not a pair of pieces: ${JSON.stringify(m)}`);
    }
    const [a, b] = pair as [string, string];
    for (const p of [a, b, a + b]) {
      if (!vocab.has(p)) throw new FormatError(source, `model.merges[${rank}] (${a} ${b}) uses ${JSON.stringify(p)}, which is not in model.vocab`);
    }
    return [a, b];
  });
}

/** True when the normalizer prepends '▁'; it must also turn ' ' into '▁' and do nothing else. */
function readNormalizer(norm: unknown, source: string): boolean {
  const parts = norm == null ? [] : flattenSequence(asObject(norm, 'normalizer', source), source);
  let prepend = false;
  let replace = false;
  for (const p of parts) {
    if (p.type === 'Prepend' && p.prepend === '▁') prepend = true;
    else if (p.type === 'Replace' && isSpaceToMeta(p)) replace = true;
    else throw new FormatError(source, `unsupported normalizer ${JSON.stringify(p)} (expected Prepend("▁") and Replace(" "→"▁"))`);
  }
  if (!replace) throw new FormatError(source, 'normalizer does not replace " " with "▁": not a SentencePiece-style tokenizer.json');
  return prepend;
}

function flattenSequence(n: Obj, source: string): Obj[] {
  if (n.type !== 'Sequence') return [n];
  if (!Array.isArray(n.normalizers)) throw new FormatError(source, 'normalizer Sequence has no "normalizers" array');
  return n.normalizers.flatMap((c) => flattenSequence(asObject(c, 'normalizer', source), source));
}

function isSpaceToMeta(p: Obj): boolean {
  const pat = p.pattern as Obj | undefined;
  return typeof pat === 'object' && pat !== null && pat.String === ' ' && p.content === '▁';
}

function readAddedTokens(list: unknown, source: string): AddedToken[] {
  if (list == null) return [];
  if (!Array.isArray(list)) throw new FormatError(source, 'added_tokens is not an array');
  return list.map((t, i) => {
    const o = asObject(t, `added_tokens[${i}]`, source);
    if (!Number.isInteger(o.id) || (o.id as number) < 0) throw new FormatError(source, `added_tokens[${i}] has no valid "id"`);
    if (typeof o.content !== 'string' || o.content === '') throw new FormatError(source, `added_tokens[${i}] has no "content"`);
    return {
      id: o.id as number,
      content: o.content,
      special: o.special === true,
      rstrip: o.rstrip === true,
      lstrip: o.lstrip === true,
    };
  });
}

function totalSize(bpe: BpeModel, added: AddedToken[], vocabSize: number | undefined, source: string): number {
  let maxId = -1;
  for (const id of bpe.vocab.values()) maxId = Math.max(maxId, id);
  for (const t of added) maxId = Math.max(maxId, t.id);
  if (vocabSize === undefined) return Math.ceil((maxId + 1) / 64) * 64;
  if (!Number.isInteger(vocabSize) || vocabSize <= maxId) {
    throw new FormatError(source, `vocab size ${vocabSize} does not hold token id ${maxId}`);
  }
  return vocabSize;
}

function fillBase(v: SpmVocab, bpe: BpeModel, source: string): void {
  const firstRank = new Map<string, number>();
  bpe.merges.forEach(([a, b], rank) => {
    if (!firstRank.has(a + b)) firstRank.set(a + b, rank);
  });
  const seen = new Uint8Array(v.pieces.length);
  for (const [piece, id] of bpe.vocab) {
    if (seen[id]) throw new FormatError(source, `model.vocab gives id ${id} to two pieces`);
    seen[id] = 1;
    v.pieces[id] = piece;
    // Pieces no merge produces (single chars, bytes, <s>…) can never be a merge result: score unused.
    v.scores[id] = -(firstRank.get(piece) ?? 0);
    if (pieceByte(piece) !== undefined) v.types[id] = TokenType.BYTE;
    else if (piece === bpe.unkToken) v.types[id] = TokenType.UNKNOWN;
  }
  for (let id = 0; id < bpe.vocab.size; id++) {
    if (!seen[id]) throw new FormatError(source, `model.vocab has no piece for id ${id}`);
  }
}

function fillAdded(v: SpmVocab, bpe: BpeModel, added: AddedToken[]): void {
  for (const t of added) {
    const inModel = bpe.vocab.get(t.content) === t.id;
    v.pieces[t.id] = t.content;
    if (!inModel || v.types[t.id] === TokenType.NORMAL) {
      v.types[t.id] = inModel || t.special ? TokenType.CONTROL : TokenType.USER_DEFINED;
    }
    if (!inModel) v.scores[t.id] = ADDED_SCORE;
    v.rstrip[t.id] = t.rstrip ? 1 : 0;
    v.lstrip[t.id] = t.lstrip ? 1 : 0;
  }
}

function fillPadding(v: SpmVocab, bpe: BpeModel, added: AddedToken[]): void {
  const taken = new Uint8Array(v.pieces.length);
  for (const id of bpe.vocab.values()) taken[id] = 1;
  for (const t of added) taken[t.id] = 1;
  const numbers = added.map((t) => /^<\|placeholder(\d+)\|>$/.exec(t.content)).filter((m) => m !== null);
  let next = numbers.length > 0 ? Math.max(...numbers.map((m) => Number(m[1]))) + 1 : undefined;
  for (let id = 0; id < v.pieces.length; id++) {
    if (taken[id]) continue;
    v.scores[id] = ADDED_SCORE;
    if (next === undefined) {
      v.pieces[id] = `[PAD${id}]`;
      v.types[id] = TokenType.UNUSED;
    } else {
      v.pieces[id] = `<|placeholder${next++}|>`;
      v.types[id] = TokenType.CONTROL;
      v.rstrip[id] = 1;
    }
  }
}

function fillSpecialIds(v: SpmVocab, cfg: Obj, bpe: BpeModel, post: unknown, source: string): void {
  const template = templateSpecials(post);
  const idOf = (key: string, fallback: string | undefined): number | undefined => {
    const text = tokenText(cfg[key], key, source) ?? fallback;
    if (text === undefined) return undefined;
    const id = v.pieces.lastIndexOf(text);
    if (id < 0) throw new FormatError(source, `${key} ${JSON.stringify(text)} is not a token of the vocab`);
    return id;
  };
  v.bosId = idOf('bos_token', template.first);
  v.eosId = idOf('eos_token', template.last);
  v.unkId = idOf('unk_token', bpe.unkToken);
  v.padId = idOf('pad_token', undefined);
  v.addBos = configBool(cfg, 'add_bos_token', source) ?? template.first !== undefined;
  v.addEos = configBool(cfg, 'add_eos_token', source) ?? template.last !== undefined;
}

/** A config special-token entry: a string, or an AddedToken object with "content". */
function tokenText(x: unknown, key: string, source: string): string | undefined {
  if (x == null) return undefined;
  if (typeof x === 'string') return x;
  const content = (x as Obj).content;
  if (typeof x === 'object' && typeof content === 'string') return content;
  throw new FormatError(source, `tokenizer_config ${key} is neither a string nor {content}`);
}

function configBool(cfg: Obj, key: string, source: string): boolean | undefined {
  const x = cfg[key];
  if (x == null) return undefined;
  if (typeof x !== 'boolean') throw new FormatError(source, `tokenizer_config ${key} is not a boolean`);
  return x;
}

/** Special tokens a TemplateProcessing post-processor puts before / after a single sequence. */
function templateSpecials(post: unknown): { first?: string; last?: string } {
  const single = (post as Obj | null)?.single;
  if ((post as Obj | null)?.type !== 'TemplateProcessing' || !Array.isArray(single) || single.length === 0) return {};
  const special = (item: unknown) => {
    const id = ((item as Obj | null)?.SpecialToken as Obj | undefined)?.id;
    return typeof id === 'string' ? id : undefined;
  };
  return { first: special(single[0]), last: single.length > 1 ? special(single[single.length - 1]) : undefined };
}
