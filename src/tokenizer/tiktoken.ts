// tiktoken BPE (cl100k_base) with Phi-3-small's special tokens (FACTS.md §4.6), behind the Tokenizer
// interface. Exactly what `tiktoken.get_encoding("cl100k_base")` + tokenization_phi3_small.py give:
//  - specials (all allowed, as Phi-3-small encodes) are cut out first;
//  - the rest is split by the cl100k pre-tokenizer regex; JS lacks `(?i:…)` and its \s differs from the
//    Rust regex crate's (JS adds U+FEFF, lacks U+0085), so both are spelled out below;
//  - each piece is its own token if its UTF-8 bytes have a rank, else adjacent parts are merged, lowest
//    rank first (ranks are token ids), until no merge applies.
// Decoding concatenates token bytes and decodes UTF-8 (invalid → U+FFFD); skipSpecial drops ids ≥ 100256.
// Pieces are shown in GPT-2's byte-level alphabet (`Ġhello`), which is also how GGUF stores them.
// Tested by test/tiktoken.test.ts against tiktoken's published cl100k_base test vectors.
import { readFileSync } from 'node:fs';
import { FormatError, RequestError } from '../errors.js';
import { Utf8DecodeStream, concatBytes, decodeUtf8, type DecodeStream } from './decode-stream.js';
import { sortSpecials, splitSpecial, type SpecialToken } from './special-split.js';
import type { DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';

/** Rust regex `\s` (Unicode White_Space) as a JS class body. */
const WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** cl100k_base's pat_str with `(?i:'s|'t|'re|'ve|'m|'ll|'d)` expanded (ſ case-folds to s) and \s/\S explicit. */
export const CL100K_PATTERN = new RegExp(
  `'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|[${WS}]*[\\r\\n]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  'gu',
);

/** Phi-3-small's padded vocabulary (EFFECTIVE_PADDED_VOCAB_SIZE). */
export const PHI3_SMALL_VOCAB_SIZE = 100352;

/** tokenization_phi3_small.py's special tokens: name → id (FACTS.md §4.6). */
export function phi3SmallSpecialTokens(): Map<string, number> {
  const m = new Map<string, number>([
    ['<|endoftext|>', 100257],
    ['<|fim_prefix|>', 100258],
    ['<|fim_middle|>', 100259],
    ['<|fim_suffix|>', 100260],
    ['<|system|>', 100261],
    ['<|user|>', 100262],
    ['<|assistant|>', 100263],
    ['<|dummy_id_0|>', 100264],
    ['<|dummy_id_1|>', 100265],
    ['<|end|>', 100266],
    ['<|dummy_id_2|>', 100256],
  ]);
  for (let i = 3; i <= 11; i++) m.set(`<|dummy_id_${i}|>`, 100264 + i);
  m.set('<|endofprompt|>', 100276);
  for (let o = 1; o <= 75; o++) m.set(`<|dummy_id_${11 + o}|>`, 100276 + o);
  return m;
}

/** GPT-2's reversible byte → printable character map (bytes_to_unicode). */
function byteAlphabet(): string[] {
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return out;
}
const BYTE_CHARS = byteAlphabet();
const CHAR_BYTES = new Map(BYTE_CHARS.map((c, b) => [c, b]));

/** Bytes → GPT-2 byte-level string (`Ġhello`). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_CHARS[b];
  return s;
}

/** GPT-2 byte-level string → bytes, or undefined if it is not one. */
export function byteLevelToBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_BYTES.get(s[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

/** Bytes as a "binary string" (one char per byte): a cheap, exact Map key. */
function key(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

const utf8 = new TextEncoder();

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

export class TiktokenTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly unkId = undefined;
  readonly padId: number | undefined;
  readonly addBos = false;
  /** Byte string → rank (= token id). */
  private readonly ranks = new Map<string, number>();
  /** Token id → its bytes (mergeable ranks) or its text's UTF-8 (specials). */
  private readonly tokenBytes: (Uint8Array | undefined)[];
  private readonly specialIds = new Map<string, number>();
  /** Recent pieces that needed merging → their ids (bounded). */
  private readonly pieceCache = new Map<string, number[]>();
  private readonly specials: SpecialToken[];
  /** Lowest special id: ids at or above are special (Phi-3-small: 100256). */
  private readonly firstSpecial: number;

  /**
   * `ranked[r]` holds the bytes of rank r (ranks 0..n−1, contiguous); `specials` maps text → id.
   * `vocabSize` is the model's padded vocabulary (ids beyond every token decode to nothing).
   */
  constructor(ranked: Uint8Array[], specials: Map<string, number>, vocabSize: number, bos: number | undefined, eos: number | undefined, source: string) {
    this.vocabSize = vocabSize;
    this.tokenBytes = new Array<Uint8Array | undefined>(vocabSize);
    ranked.forEach((b, r) => {
      const k = key(b, 0, b.length);
      if (this.ranks.has(k)) throw new FormatError(source, `duplicate token bytes at rank ${r}`);
      this.ranks.set(k, r);
      this.tokenBytes[r] = b;
    });
    for (let b = 0; b < 256; b++)
      if (!this.ranks.has(String.fromCharCode(b))) throw new FormatError(source, `no token for the single byte 0x${b.toString(16)}`);
    let first = vocabSize;
    for (const [text, id] of specials) {
      if (!Number.isInteger(id) || id < ranked.length || id >= vocabSize)
        throw new FormatError(source, `special token ${text} has id ${id}, outside ${ranked.length}..${vocabSize - 1}`);
      this.specialIds.set(text, id);
      this.tokenBytes[id] = utf8.encode(text);
      first = Math.min(first, id);
    }
    this.firstSpecial = Math.min(first, ranked.length);
    this.specials = sortSpecials([...specials].map(([text, id]) => ({ id, text, rstrip: false, lstrip: false, alwaysParsed: false })));
    this.bosId = bos;
    this.eosId = eos;
    this.padId = undefined;
  }

  /** From a `.tiktoken` ranks file (lines "base64 rank") plus Phi-3-small's specials. */
  static fromTiktokenFile(path: string, vocabSize = PHI3_SMALL_VOCAB_SIZE): TiktokenTokenizer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new FormatError(path, `cannot read: ${(e as Error).message}`);
    }
    const ranked: Uint8Array[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      const m = /^([A-Za-z0-9+/=]+) (\d+)$/.exec(line);
      if (!m) throw new FormatError(path, `line ${i + 1} is not "base64 rank"`);
      if (Number(m[2]) !== ranked.length) throw new FormatError(path, `line ${i + 1}: rank ${m[2]} out of order (expected ${ranked.length})`);
      ranked.push(new Uint8Array(Buffer.from(m[1], 'base64')));
    }
    if (ranked.length === 0) throw new FormatError(path, 'no ranks in the file');
    return new TiktokenTokenizer(ranked, phi3SmallSpecialTokens(), vocabSize, 100257, 100257, path);
  }

  /** From our phi3small GGUF metadata (tokenizer.ggml.model "tiktoken"; see formats/phi3small-gguf.ts). */
  static fromGGUFMetadata(get: (key: string) => unknown, source: string): TiktokenTokenizer {
    const tokens = get('tokenizer.ggml.tokens');
    const types = get('tokenizer.ggml.token_type');
    if (!Array.isArray(tokens) || !Array.isArray(types) || types.length !== tokens.length)
      throw new FormatError(source, 'tokenizer.ggml.tokens / token_type missing or of different lengths');
    const ranked: Uint8Array[] = [];
    const specials = new Map<string, number>();
    tokens.forEach((t, id) => {
      if (typeof t !== 'string') throw new FormatError(source, `token ${id} is not a string`);
      if (types[id] === 1 && specials.size === 0) {
        const b = byteLevelToBytes(t);
        if (!b) throw new FormatError(source, `token ${id} ${JSON.stringify(t)} is not in the byte-level alphabet`);
        ranked.push(b);
      } else if (types[id] === 3) specials.set(t, id);
      else if (types[id] !== 5) throw new FormatError(source, `token ${id}: ordinary tokens must precede specials (type ${String(types[id])})`);
    });
    const id = (k: string) => {
      const v = get(k);
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
    };
    return new TiktokenTokenizer(ranked, specials, tokens.length, id('tokenizer.ggml.bos_token_id'), id('tokenizer.ggml.eos_token_id'), source);
  }

  /** Every id as GGUF stores it (formats/phi3small-gguf.ts): byte-level strings, then special texts. */
  ggufVocab(): { tokens: string[]; types: number[] } {
    const tokens: string[] = [];
    const types: number[] = [];
    for (let id = 0; id < this.vocabSize; id++) {
      const b = this.tokenBytes[id];
      if (b === undefined) {
        tokens.push(`<|unused_${id}|>`);
        types.push(5);
      } else if (id >= this.firstSpecial) {
        tokens.push(new TextDecoder().decode(b));
        types.push(3);
      } else {
        tokens.push(bytesToByteLevel(b));
        types.push(1);
      }
    }
    return { tokens, types };
  }

  /** Number of ordinary (ranked) tokens. */
  get rankCount(): number {
    return this.ranks.size;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new RequestError(`encode: text must be a string, got ${typeof text}`);
    const out: number[] = [];
    if (opts.addBos) out.push(this.required(this.bosId, 'BOS'));
    for (const f of splitSpecial(text, this.specials, opts.parseSpecial ?? true)) {
      if (typeof f === 'number') out.push(f);
      else this.encodeOrdinary(text.slice(f.start, f.end), out);
    }
    if (opts.addEos) out.push(this.required(this.eosId, 'EOS'));
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const m of text.matchAll(CL100K_PATTERN)) {
      const piece = m[0];
      // ASCII pieces are their own byte-string key; most text is words that repeat, so cache merges.
      const ascii = isAscii(piece);
      const whole = ascii ? this.ranks.get(piece) : undefined;
      if (whole !== undefined) {
        out.push(whole);
        continue;
      }
      const cached = this.pieceCache.get(piece);
      if (cached) {
        for (const id of cached) out.push(id);
        continue;
      }
      // Lone surrogates become U+FFFD here, as tiktoken does when it encodes to UTF-8.
      const bytes = utf8.encode(piece);
      const ids: number[] = [];
      const one = ascii ? undefined : this.ranks.get(key(bytes, 0, bytes.length));
      if (one !== undefined) ids.push(one);
      else this.bytePairMerge(bytes, ids);
      if (this.pieceCache.size >= 1 << 16) this.pieceCache.clear();
      this.pieceCache.set(piece, ids);
      for (const id of ids) out.push(id);
    }
  }

  /** tiktoken's byte_pair_merge: merge the adjacent pair of lowest rank until none has a rank. */
  private bytePairMerge(bytes: Uint8Array, out: number[]): void {
    // bounds[i] = start of part i; parts are [bounds[i], bounds[i+1]). rank[i] = rank of parts i and i+1 merged.
    const bounds: number[] = [];
    for (let i = 0; i <= bytes.length; i++) bounds.push(i);
    const pairRank = (i: number): number =>
      i + 2 < bounds.length ? (this.ranks.get(key(bytes, bounds[i], bounds[i + 2])) ?? Infinity) : Infinity;
    const rank: number[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) rank.push(pairRank(i));
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < rank.length - 1; i++)
        if (rank[i] < best) {
          best = rank[i];
          at = i;
        }
      if (at < 0) break;
      bounds.splice(at + 1, 1);
      rank.splice(at + 1, 1);
      rank[at] = pairRank(at);
      if (at > 0) rank[at - 1] = pairRank(at - 1);
    }
    for (let i = 0; i + 1 < bounds.length; i++) out.push(this.ranks.get(key(bytes, bounds[i], bounds[i + 1]))!);
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? false;
    const all = concatBytes(Array.from(ids, (id) => this.pieceBytes(id, skip)));
    return decodeUtf8(all, false);
  }

  createDecodeStream(opts: DecodeOptions = {}): DecodeStream {
    const skip = opts.skipSpecial ?? false;
    return new Utf8DecodeStream((id) => this.pieceBytes(id, skip), false);
  }

  idToPiece(id: number): string {
    this.checkId(id);
    const b = this.tokenBytes[id];
    if (b === undefined) return '';
    return id >= this.firstSpecial ? new TextDecoder().decode(b) : bytesToByteLevel(b);
  }

  tokenId(text: string): number | undefined {
    const s = this.specialIds.get(text);
    if (s !== undefined) return s;
    const b = byteLevelToBytes(text);
    return b ? this.ranks.get(key(b, 0, b.length)) : undefined;
  }

  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= this.firstSpecial && id < this.vocabSize;
  }

  private pieceBytes(id: number, skipSpecial: boolean): Uint8Array {
    this.checkId(id);
    if (skipSpecial && id >= this.firstSpecial) return new Uint8Array(0);
    return this.tokenBytes[id] ?? new Uint8Array(0);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
      throw new RequestError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1}, size ${this.vocabSize})`);
  }

  private required(id: number | undefined, what: string): number {
    if (id === undefined) throw new RequestError(`${what} requested but the tokenizer has no ${what} token`);
    return id;
  }
}
