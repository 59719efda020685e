// The SentencePiece vocabulary both loaders (GGUF metadata, HF tokenizer.json) produce, in llama.cpp's
// terms: one piece, score and type per id, plus the per-token strip flags and the special ids.
// Loaders fill it; SpmTokenizer validates nothing it has not been given and never mutates it.

/** llama.cpp / GGUF `tokenizer.ggml.token_type` values. */
export enum TokenType {
  UNDEFINED = 0,
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

export interface SpmVocab {
  pieces: string[];
  /** Merge priority of the piece a merge would produce: higher merges first. */
  scores: Float64Array;
  types: Uint8Array;
  /** Whitespace right after (rstrip) / before (lstrip) a matched special token is swallowed. */
  rstrip: Uint8Array;
  lstrip: Uint8Array;
  bosId: number | undefined;
  eosId: number | undefined;
  unkId: number | undefined;
  padId: number | undefined;
  addBos: boolean;
  addEos: boolean;
  /** SentencePiece dummy prefix: '▁' before the text and after every special token. */
  addSpacePrefix: boolean;
}

/** Types llama.cpp matches in raw text (its cache_special_tokens). */
export function isMatchableSpecial(type: number): boolean {
  return type === TokenType.CONTROL || type === TokenType.USER_DEFINED || type === TokenType.UNKNOWN;
}

/** The `<0xXX>` piece SentencePiece uses for one byte (upper-case hex, as llama.cpp looks it up). */
export function bytePiece(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** The byte a `<0xXX>` piece stands for, or undefined when the piece is not of that form. */
export function pieceByte(piece: string): number | undefined {
  const m = BYTE_PIECE.exec(piece);
  return m ? parseInt(m[1], 16) : undefined;
}

/** An empty vocab of n ids, for loaders to fill. */
export function emptyVocab(n: number): SpmVocab {
  return {
    pieces: new Array<string>(n).fill(''),
    scores: new Float64Array(n),
    types: new Uint8Array(n).fill(TokenType.NORMAL),
    rstrip: new Uint8Array(n),
    lstrip: new Uint8Array(n),
    bosId: undefined,
    eosId: undefined,
    unkId: undefined,
    padId: undefined,
    addBos: false,
    addEos: false,
    addSpacePrefix: true,
  };
}
