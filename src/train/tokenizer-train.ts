// A SentencePiece-style BPE tokenizer trainer, for small models whose vocabulary should be far smaller
// than Llama-2's 32000 (an embedding of 32064 rows dwarfs a tiny model). Layout as in the Phi-3 vocab:
//   <unk> <s> </s> | 256 byte pieces <0x00>…<0xFF> (byte fallback: any text encodes) | characters |
//   merged pieces in merge order | <|endoftext|> <|assistant|> <|placeholder1-4|> <|system|> <|end|>
//   <|placeholder5-6|> <|user|> | placeholders up to a multiple of 64.
// Text is split as SentencePiece sees it (' ' → '▁', a '▁' prefix); merges never cross a word start,
// a newline or a digit (split_digits, as Llama: numbers are read digit by digit, which arithmetic needs).
// Ties break by count, then by the pair's text, so training is deterministic.
// Tested by test/train-tokenizer.test.ts.
import { Phi3Error } from '../errors.js';
import { TokenType, bytePiece, emptyVocab, type SpmVocab } from '../tokenizer/vocab.js';

const PHI3_ADDED = [
  '<|endoftext|>', '<|assistant|>', '<|placeholder1|>', '<|placeholder2|>', '<|placeholder3|>', '<|placeholder4|>',
  '<|system|>', '<|end|>', '<|placeholder5|>', '<|placeholder6|>', '<|user|>',
];
const SPECIAL_RE = /<\|[a-z0-9_]+\|>|<s>|<\/s>|<unk>/g;

/** SentencePiece words: '▁'-led runs, each digit and each newline on its own. */
function words(text: string): string[] {
  const s = ('▁' + text).replace(/ /g, '▁');
  return s.match(/▁?[^▁\d\n]+|▁?\d|\n|▁+/gu) ?? [];
}

export interface TokenizerTrainOptions {
  /** Total ids, including bytes and specials; rounded up to a multiple of 64. */
  vocabSize: number;
  /** Characters seen fewer times than this are left to byte fallback. */
  minCharCount?: number;
  onProgress?: (merges: number, total: number) => void;
}

export function trainTokenizer(docs: Iterable<string>, o: TokenizerTrainOptions): SpmVocab {
  const fixed = 3 + 256 + PHI3_ADDED.length;
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < fixed + 16) throw new Phi3Error(`--vocab-size must be at least ${fixed + 16}`);
  const wordCount = new Map<string, number>();
  for (const d of docs)
    for (const part of d.split(SPECIAL_RE).filter((x) => x.trim() !== '')) for (const w of words(part)) wordCount.set(w, (wordCount.get(w) ?? 0) + 1);
  if (wordCount.size === 0) throw new Phi3Error('the training text is empty');
  const charCount = new Map<string, number>();
  for (const [w, n] of wordCount) for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + n);
  const minChar = o.minCharCount ?? 2;
  const chars = [...charCount].filter(([, n]) => n >= minChar).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c);
  const budget = o.vocabSize - fixed - chars.length;
  if (budget < 0) throw new Phi3Error(`--vocab-size ${o.vocabSize} cannot hold the ${chars.length} characters of the text`);
  const known = new Set(chars);

  // Word types as symbol arrays; symbols not in the char set stay as single chars that never merge.
  const types = [...wordCount].map(([w, n]) => ({ syms: Array.from(w), n }));
  const merges: string[] = [];
  while (merges.length < budget) {
    const pairs = new Map<string, number>();
    for (const t of types) {
      const s = t.syms;
      for (let i = 0; i + 1 < s.length; i++) {
        if (!known.has(s[i]) || !known.has(s[i + 1]) || s[i + 1].startsWith('▁')) continue;
        const k = s[i] + '\u0000' + s[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + t.n);
      }
    }
    let best: string | undefined, bestN = 1;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && best !== undefined && k < best)) [best, bestN] = [k, n];
    if (best === undefined) break; // nothing occurs twice any more
    const [a, b] = best.split('\u0000');
    const ab = a + b;
    // a piece reached by a second route is merged in the words but is no new vocabulary entry
    if (!known.has(ab)) merges.push(ab);
    known.add(ab);
    for (const t of types) {
      const s = t.syms;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, ab);
    }
    o.onProgress?.(merges.length, budget);
  }

  const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, i) => bytePiece(i)), ...chars, ...merges, ...PHI3_ADDED];
  const n = Math.ceil(pieces.length / 64) * 64;
  const v = emptyVocab(n);
  pieces.forEach((p, id) => (v.pieces[id] = p));
  v.types[0] = TokenType.UNKNOWN;
  v.types[1] = v.types[2] = TokenType.CONTROL;
  for (let i = 0; i < 256; i++) v.types[3 + i] = TokenType.BYTE;
  // Score = merge priority: earlier merges higher; characters (never a merge result) 0.
  merges.forEach((_, r) => (v.scores[3 + 256 + chars.length + r] = -(r + 1)));
  const addedStart = pieces.length - PHI3_ADDED.length;
  for (let id = addedStart; id < n; id++) {
    v.types[id] = TokenType.CONTROL;
    v.scores[id] = -1000;
    if (id >= pieces.length) v.pieces[id] = `<|placeholder${7 + id - pieces.length}|>`;
    // as in Phi-3's tokenizer.json: every added token but <|endoftext|> swallows the whitespace after it
    if (v.pieces[id] !== '<|endoftext|>') v.rstrip[id] = 1;
  }
  v.unkId = 0;
  v.bosId = 1;
  v.eosId = addedStart; // <|endoftext|>
  v.padId = addedStart;
  v.addBos = false;
  v.addEos = false;
  v.addSpacePrefix = true;
  return v;
}
