// SentencePiece BPE as llama.cpp's llm_tokenizer_spm runs it, on one already-normalized fragment
// (spaces already '▁'). Start from single characters; repeatedly merge the adjacent pair whose
// concatenation is a vocab piece with the highest score (ties: the leftmost pair); a final symbol that
// is not a piece falls back to one `<0xXX>` token per UTF-8 byte.
// Stale queue entries are detected the way llama.cpp does it: symbols only ever grow, so a pair is still
// current iff both symbols are alive and their lengths still add up to the length recorded at push time.
// Heap + linked list: O(n log n) in the fragment length.
import { Heap } from './heap.js';

export interface MergeVocab {
  /** Id of the piece spelled exactly `text`, any type (llama.cpp's text_to_token). */
  lookup(text: string): number | undefined;
  scores: ArrayLike<number>;
  /** Token id for each byte value 0..255. */
  byteIds: ArrayLike<number>;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

const utf8 = new TextEncoder();

function before(a: Bigram, b: Bigram): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

/** Appends the ids of `text` to `out`. */
export function spmTokenize(text: string, vocab: MergeVocab, out: number[]): void {
  const syms = splitChars(text);
  if (syms.count === 0) return;
  const { start, len, prev, next } = syms;
  const queue = new Heap<Bigram>(before);

  const tryAdd = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const size = len[left] + len[right];
    const id = vocab.lookup(text.slice(start[left], start[left] + size));
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id], size });
  };

  for (let i = 1; i < syms.count; i++) tryAdd(i - 1, i);

  for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
    const { left, right } = b;
    if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== b.size) continue;
    len[left] += len[right];
    len[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    tryAdd(prev[left], left);
    tryAdd(left, next[left]);
  }

  for (let i = 0; i !== -1; i = next[i]) emitSymbol(text.slice(start[i], start[i] + len[i]), vocab, out);
}

function emitSymbol(piece: string, vocab: MergeVocab, out: number[]): void {
  const id = vocab.lookup(piece);
  if (id !== undefined) {
    out.push(id);
    return;
  }
  for (const byte of utf8.encode(piece)) out.push(vocab.byteIds[byte]);
}

/** One symbol per code point (a surrogate pair stays together; a lone surrogate is its own symbol). */
function splitChars(text: string) {
  const n = text.length;
  const start = new Int32Array(n);
  const len = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; ) {
    const w = isPairAt(text, i) ? 2 : 1;
    start[count] = i;
    len[count] = w;
    count++;
    i += w;
  }
  const prev = new Int32Array(count);
  const next = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    prev[k] = k - 1;
    next[k] = k + 1 < count ? k + 1 : -1;
  }
  return { count, start, len, prev, next };
}

function isPairAt(text: string, i: number): boolean {
  const hi = text.charCodeAt(i);
  if (hi < 0xd800 || hi > 0xdbff || i + 1 >= text.length) return false;
  const lo = text.charCodeAt(i + 1);
  return lo >= 0xdc00 && lo <= 0xdfff;
}
