// Splitting a document into passages for retrieval: paragraphs are packed together up to `words` words;
// a paragraph longer than that is cut at sentence ends, and a sentence longer than that at word
// boundaries. Neighbouring passages of a cut paragraph overlap by `overlap` words so a fact that
// straddles a cut is still found whole in one of them.
import { wordCount } from './text.js';

export interface ChunkOptions {
  /** Most words per passage (default 120 ≈ 160 tokens). */
  words?: number;
  /** Words repeated between consecutive pieces of one long paragraph (default 20). */
  overlap?: number;
}

export function chunkText(text: string, opts: ChunkOptions = {}): string[] {
  const max = Math.max(8, opts.words ?? 120);
  const overlap = Math.min(Math.max(0, opts.overlap ?? 20), Math.floor(max / 2));
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.replace(/[ \t]+/g, ' ').trim())
    .filter(Boolean);

  const out: string[] = [];
  let current: string[] = [];
  let currentWords = 0;
  const flush = () => {
    if (current.length) out.push(current.join('\n\n'));
    current = [];
    currentWords = 0;
  };
  for (const p of paragraphs) {
    const n = wordCount(p);
    if (n > max) {
      flush();
      out.push(...splitLong(p, max, overlap));
      continue;
    }
    if (currentWords + n > max) flush();
    current.push(p);
    currentWords += n;
  }
  flush();
  return out;
}

function splitLong(p: string, max: number, overlap: number): string[] {
  // Sentences (kept with their punctuation); over-long ones become word runs.
  const sentences = (p.match(/[^.!?。！？]+(?:[.!?。！？]+["')\]]*\s*|$)/gu) ?? [p]).map((s) => s.trim()).filter(Boolean);
  const words: string[][] = [];
  for (const s of sentences) {
    const w = s.split(/\s+/);
    for (let i = 0; i < w.length; i += max) words.push(w.slice(i, i + max));
  }
  const out: string[] = [];
  let cur: string[] = [];
  for (const w of words) {
    if (cur.length + w.length > max && cur.length > 0) {
      out.push(cur.join(' '));
      cur = overlap > 0 ? cur.slice(-overlap) : [];
      if (cur.length + w.length > max) cur = [];
    }
    cur.push(...w);
  }
  if (cur.length) out.push(cur.join(' '));
  return out;
}
