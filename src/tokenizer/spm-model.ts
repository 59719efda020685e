// Reads a SentencePiece `tokenizer.model` (a protobuf ModelProto) for its pieces and scores: llama.cpp's
// converter takes the scores stored in GGUF from this file, and tokenizer.json does not carry them
// (its BPE merges only give their order), so `phi3 convert` reads it when the tokenizer folder has one.
//
// Wire format (protobuf): a sequence of (key varint = field << 3 | wire type, value). ModelProto field 1
// (wire type 2, repeated) is a SentencePiece message: field 1 piece (string), field 2 score (float,
// wire type 5), field 3 type (varint: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE).
// Other fields (trainer/normalizer specs) are skipped by their wire type. Every length is bounds-checked:
// a truncated or hostile file is a FormatError, never a RangeError. Tested in test/convert.test.ts.
import { readFileSync } from 'node:fs';
import { FormatError } from '../errors.js';

export interface SentencePieceModel {
  pieces: string[];
  scores: number[];
  types: number[];
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end: number,
    readonly path: string,
  ) {}

  fail(what: string): never {
    throw new FormatError(this.path, `not a valid SentencePiece model: ${what} at byte ${this.pos}`);
  }

  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 53) v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    return this.fail('varint longer than 10 bytes');
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.advance(this.varint());
    else if (wire === 5) this.advance(4);
    else this.fail(`unsupported wire type ${wire}`);
  }

  advance(n: number): number {
    if (n > this.end - this.pos) this.fail(`length ${n} runs past the end`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
}

export function readSentencePieceModel(path: string): SentencePieceModel {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new FormatError(path, `cannot read: ${(e as Error).message}`);
  }
  const r = new Reader(buf, buf.length, path);
  const out: SentencePieceModel = { pieces: [], scores: [], types: [] };
  while (r.pos < r.end) {
    const key = r.varint();
    if (key >>> 3 !== 1 || (key & 7) !== 2) {
      r.skip(key & 7);
      continue;
    }
    const len = r.varint();
    const start = r.advance(len);
    const p = new Reader(buf, start + len, path);
    p.pos = start;
    let piece: string | undefined;
    let score = 0;
    let type = 1;
    while (p.pos < p.end) {
      const k = p.varint();
      const field = k >>> 3;
      const wire = k & 7;
      if (field === 1 && wire === 2) {
        const n = p.varint();
        const at = p.advance(n);
        piece = buf.toString('utf8', at, at + n);
      } else if (field === 2 && wire === 5) {
        score = buf.readFloatLE(p.advance(4));
      } else if (field === 3 && wire === 0) {
        type = p.varint();
      } else p.skip(wire);
    }
    if (piece === undefined) throw new FormatError(path, `not a valid SentencePiece model: piece #${out.pieces.length} has no text`);
    out.pieces.push(piece);
    out.scores.push(score);
    out.types.push(type);
  }
  if (out.pieces.length === 0) throw new FormatError(path, 'not a SentencePiece model: it holds no pieces');
  return out;
}
