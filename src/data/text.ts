// Text primitives shared by the classifier, dedup and the contamination check: a normaliser, a word
// splitter, and fast 32-bit string/number hashes (murmur3's finaliser over FNV-1a), so every stage
// agrees on what "the same n-gram" means. Tested through test/data-dedup.test.ts and data-classifier.
/** Lowercase words of letters/digits (Unicode-aware); punctuation and spacing carry no weight. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Canonical form for exact-duplicate detection: the words joined by single spaces. */
export function normalize(text: string): string {
  return words(text).join(' ');
}

/** 32-bit FNV-1a over a string's UTF-16 units, then murmur3's fmix32 for avalanche. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines two 32-bit hashes (for n-grams built from word hashes). */
export function hashPair(a: number, b: number): number {
  return fmix32((Math.imul(a, 0x9e3779b1) ^ (b + 0x7f4a7c15)) >>> 0);
}

// eslint-disable-next-line no-control-regex -- the ASCII range is the point
const ASCII = /^[\x00-\x7f]*$/;

/**
 * hashString(w, seed) of every word of words(text), without building the strings: a char-code scanner for
 * ASCII text (most of it), the regex path otherwise. Equal to words(text).map((w) => hashString(w, seed)).
 */
export function wordHashes(text: string, seed = 0): Uint32Array {
  if (!ASCII.test(text)) return Uint32Array.from(words(text), (w) => hashString(w, seed));
  const out: number[] = [];
  const h0 = (0x811c9dc5 ^ seed) >>> 0;
  let h = h0, inWord = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    const upper = c >= 65 && c <= 90;
    if (upper || (c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (upper) c += 32;
      if (!inWord) {
        h = h0;
        inWord = true;
      }
      h = Math.imul(h ^ c, 0x01000193);
    } else if (inWord) {
      out.push(fmix32(h));
      inWord = false;
    }
  }
  if (inWord) out.push(fmix32(h));
  return Uint32Array.from(out);
}

const ROLL = 0x01000193; // odd: multiplying by it is a bijection mod 2^32

/**
 * Hashes of the word n-grams of word hashes `wh` (for n > wh.length: one hash of the whole sequence, if
 * non-empty). A rolling polynomial Σ wh[i+j]·B^(n−1−j) mod 2^32, updated in O(1) per position (13-grams
 * cost what unigrams do), then fmix32 for avalanche.
 */
export function ngramHashesOf(wh: ArrayLike<number>, n: number): Uint32Array {
  if (wh.length === 0) return new Uint32Array(0);
  const m = Math.min(n, wh.length);
  const count = wh.length - m + 1;
  const out = new Uint32Array(count);
  let top = 1; // B^(m−1)
  for (let j = 1; j < m; j++) top = Math.imul(top, ROLL);
  let h = 0;
  for (let j = 0; j < m; j++) h = (Math.imul(h, ROLL) + wh[j]) | 0;
  out[0] = fmix32((h ^ m) >>> 0);
  for (let i = 1; i < count; i++) {
    h = (Math.imul((h - Math.imul(wh[i - 1], top)) | 0, ROLL) + wh[i + m - 1]) | 0;
    out[i] = fmix32((h ^ m) >>> 0);
  }
  return out;
}

/**
 * Hashes of the word n-grams of `ws`. Different `seed`s give independent hash families (two of them make
 * a 64-bit key where 32 bits collide).
 */
export function ngramHashes(ws: string[], n: number, seed = 0): Uint32Array {
  return ngramHashesOf(ws.map((w) => hashString(w, seed)), n);
}
