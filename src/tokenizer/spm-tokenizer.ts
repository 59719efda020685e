// SentencePiece BPE tokenizer (Phi-3-mini/medium: Llama-2 vocab + Phi-3 added tokens), token for token
// what llama.cpp's llama_tokenize / detokenize give:
// encode: split out special tokens (special-split.ts), then per text fragment prepend ' ' when it starts
// the text or follows a special token (SentencePiece dummy prefix), turn ' ' into '▁' and run the BPE
// merges (spm-bpe.ts). decode: '▁' → ' ', byte tokens fused into UTF-8 (invalid → U+FFFD), control /
// unknown tokens as their text unless skipSpecial, unused tokens as nothing, and one leading space of
// the whole text removed (the dummy prefix; HF's Strip decoder). Ids outside the vocab → RequestError.
import { FormatError, RequestError } from '../errors.js';
import { Utf8DecodeStream, concatBytes, decodeUtf8, type DecodeStream } from './decode-stream.js';
import { spmTokenize, type MergeVocab } from './spm-bpe.js';
import { spmVocabFromGGUF } from './spm-gguf.js';
import { spmVocabFromTokenizerJson } from './spm-hf.js';
import { sortSpecials, splitSpecial, type SpecialToken } from './special-split.js';
import type { DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { TokenType, bytePiece, isMatchableSpecial, pieceByte, type SpmVocab } from './vocab.js';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

export class SpmTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly unkId: number | undefined;
  readonly padId: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  private readonly pieceToId = new Map<string, number>();
  private readonly merge: MergeVocab;
  private readonly specials: SpecialToken[];
  /** UTF-8 of each id as decode renders it (lazily filled; specials cached with their text). */
  private readonly bytesCache: (Uint8Array | undefined)[];

  private constructor(
    private readonly vocab: SpmVocab,
    source: string,
  ) {
    this.vocabSize = vocab.pieces.length;
    ({ bosId: this.bosId, eosId: this.eosId, unkId: this.unkId, padId: this.padId } = vocab);
    ({ addBos: this.addBos, addEos: this.addEos } = vocab);
    // Last duplicate wins, as in llama.cpp's token_to_id map.
    vocab.pieces.forEach((p, id) => this.pieceToId.set(p, id));
    checkBytePieces(vocab, source);
    this.merge = { lookup: (t) => this.pieceToId.get(t), scores: vocab.scores, byteIds: this.byteIds(source) };
    this.specials = sortSpecials(this.specialTokens());
    this.bytesCache = new Array<Uint8Array | undefined>(this.vocabSize);
  }

  /** From an already built vocabulary (e.g. the tokenizer trainer's, or loadVocab's). */
  static fromVocab(vocab: SpmVocab, source = 'vocabulary'): SpmTokenizer {
    return new SpmTokenizer(vocab, source);
  }

  /** From GGUF metadata (`get` returns a key's value or undefined, e.g. GGUFFile.get). */
  static fromGGUFMetadata(get: (key: string) => unknown, source = 'GGUF metadata'): SpmTokenizer {
    return new SpmTokenizer(spmVocabFromGGUF(get, source), source);
  }

  /**
   * From a parsed HF tokenizer.json and optional tokenizer_config.json. `vocabSize` (the model's
   * embedding rows, config.json vocab_size) defaults to the last id rounded up to a multiple of 64.
   */
  static fromTokenizerJson(tok: unknown, config?: unknown, source = 'tokenizer.json', vocabSize?: number): SpmTokenizer {
    return new SpmTokenizer(spmVocabFromTokenizerJson(tok, config, source, vocabSize), source);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new RequestError(`encode: text must be a string, got ${typeof text}`);
    const out: number[] = [];
    if (opts.addBos ?? this.addBos) out.push(this.required(this.bosId, 'BOS'));
    let afterSpecial = true;
    for (const f of splitSpecial(text, this.specials, opts.parseSpecial ?? true)) {
      if (typeof f === 'number') {
        out.push(f);
        afterSpecial = true;
        continue;
      }
      const prefix = this.vocab.addSpacePrefix && afterSpecial ? ' ' : '';
      spmTokenize((prefix + text.slice(f.start, f.end)).replaceAll(' ', '▁'), this.merge, out);
      afterSpecial = false;
    }
    if (opts.addEos ?? this.addEos) out.push(this.required(this.eosId, 'EOS'));
    return out;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? false;
    const all = concatBytes(Array.from(ids, (id) => this.pieceBytes(id, skip)));
    return decodeUtf8(all, this.vocab.addSpacePrefix);
  }

  createDecodeStream(opts: DecodeOptions = {}): DecodeStream {
    const skip = opts.skipSpecial ?? false;
    return new Utf8DecodeStream((id) => this.pieceBytes(id, skip), this.vocab.addSpacePrefix);
  }

  idToPiece(id: number): string {
    this.checkId(id);
    return this.vocab.pieces[id];
  }

  tokenId(text: string): number | undefined {
    return this.pieceToId.get(text);
  }

  isSpecial(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return false;
    const t = this.vocab.types[id];
    return t === TokenType.CONTROL || t === TokenType.USER_DEFINED || t === TokenType.UNUSED || t === TokenType.UNKNOWN;
  }

  private pieceBytes(id: number, skipSpecial: boolean): Uint8Array {
    this.checkId(id);
    const type = this.vocab.types[id];
    if (skipSpecial && (type === TokenType.CONTROL || type === TokenType.UNKNOWN)) return EMPTY;
    let b = this.bytesCache[id];
    if (b === undefined) b = this.bytesCache[id] = this.renderBytes(id, type);
    return b;
  }

  private renderBytes(id: number, type: number): Uint8Array {
    const piece = this.vocab.pieces[id];
    switch (type) {
      case TokenType.NORMAL:
        return utf8.encode(piece.replaceAll('▁', ' '));
      case TokenType.BYTE:
        return Uint8Array.of(pieceByte(piece) ?? 0);
      case TokenType.CONTROL:
      case TokenType.UNKNOWN:
      case TokenType.USER_DEFINED:
        return utf8.encode(piece);
      default: // UNUSED / UNDEFINED: llama.cpp renders nothing
        return EMPTY;
    }
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RequestError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1}, size ${this.vocabSize})`);
    }
  }

  private required(id: number | undefined, what: string): number {
    if (id === undefined) throw new RequestError(`${what} requested but the tokenizer has no ${what} token`);
    return id;
  }

  private byteIds(source: string): Int32Array {
    const ids = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const id = this.pieceToId.get(bytePiece(b));
      if (id === undefined) throw new FormatError(source, `no byte token ${bytePiece(b)} (byte fallback needs all 256)`);
      ids[b] = id;
    }
    return ids;
  }

  private specialTokens(): SpecialToken[] {
    const v = this.vocab;
    const out: SpecialToken[] = [];
    for (let id = 0; id < v.pieces.length; id++) {
      const type = v.types[id];
      if (!isMatchableSpecial(type)) continue;
      const alwaysParsed = type === TokenType.USER_DEFINED;
      out.push({ id, text: v.pieces[id], rstrip: v.rstrip[id] === 1, lstrip: v.lstrip[id] === 1, alwaysParsed });
    }
    return out;
  }
}

function checkBytePieces(v: SpmVocab, source: string): void {
  v.types.forEach((t, id) => {
    if (t === TokenType.BYTE && pieceByte(v.pieces[id]) === undefined) {
      throw new FormatError(source, `token ${id} ${JSON.stringify(v.pieces[id])} has type BYTE but is not a <0xXX> piece`);
    }
  });
}
