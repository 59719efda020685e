// Text → search terms, the same way for documents and queries: Unicode-normalised, lower-cased, accents
// dropped, split on anything that is not a letter or digit, English stop words removed, plurals folded
// by Harman's "S" stemmer (1991: ies→y, es→e, s→∅ with its exceptions) — conservative on purpose, so
// "Quillport" never matches "Quill". Runs of CJK characters become overlapping bigrams.

const STOP = new Set(
  ('a an and are as at be been but by can could did do does for from had has have he her hers him his how i if in into is it its ' +
    'me my no not of on or our ours she so than that the their them then there these they this those to too us was we were what ' +
    'when where which who whom why will with would you your yours about after all also am any because before being both each ' +
    'few further here just more most other own same should some such only over under until up very while again against down off out once')
    .split(' '),
);

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** Harman's S stemmer. */
export function sStem(w: string): string {
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && !w.endsWith('eies') && !w.endsWith('aies')) return w.slice(0, -3) + 'y';
  if (w.endsWith('es') && !w.endsWith('aes') && !w.endsWith('ees') && !w.endsWith('oes')) return w.slice(0, -1);
  if (w.endsWith('s') && !w.endsWith('us') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

export function terms(text: string): string[] {
  const out: string[] = [];
  const norm = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  for (const word of norm.split(/[^\p{L}\p{N}]+/u)) {
    if (!word) continue;
    if (CJK.test(word)) {
      const chars = [...word];
      if (chars.length === 1) out.push(word);
      for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
      continue;
    }
    if (STOP.has(word)) continue;
    out.push(sStem(word));
  }
  return out;
}

/** Whitespace-separated words (for chunk sizes). */
export function wordCount(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}
