// Splits raw text into special tokens and plain-text fragments, as llama.cpp's tokenizer_st_partition:
// special tokens are taken one at a time, longest (in UTF-8 bytes) first, and each is cut out of every
// remaining text fragment before the next one is tried. RSTRIP/LSTRIP swallow ASCII whitespace (C
// isspace: space, \t, \n, \v, \f, \r) right after / before the match. Fragments that strip to nothing
// disappear. Empty input gives no fragments.

export interface SpecialToken {
  id: number;
  text: string;
  rstrip: boolean;
  lstrip: boolean;
  /** Matched even when special parsing is off (llama.cpp: USER_DEFINED tokens). */
  alwaysParsed: boolean;
}

/** A special token id, or a plain-text slice [start, end) of the input. */
export type Fragment = number | { start: number; end: number };

/** Orders the tokens the way the splitter must try them (longest first; equal lengths by id). */
export function sortSpecials(tokens: SpecialToken[]): SpecialToken[] {
  const utf8 = new TextEncoder();
  const bytes = (t: SpecialToken) => utf8.encode(t.text).length;
  return tokens.filter((t) => t.text.length > 0).sort((a, b) => bytes(b) - bytes(a) || a.id - b.id);
}

export function splitSpecial(text: string, specials: readonly SpecialToken[], parseSpecial: boolean): Fragment[] {
  let frags: Fragment[] = text.length > 0 ? [{ start: 0, end: text.length }] : [];
  for (const tok of specials) {
    if (!parseSpecial && !tok.alwaysParsed) continue;
    const next: Fragment[] = [];
    for (const f of frags) {
      if (typeof f === 'number') next.push(f);
      else cutToken(text, f.start, f.end, tok, next);
    }
    frags = next;
  }
  return frags;
}

function cutToken(text: string, start: number, end: number, tok: SpecialToken, out: Fragment[]): void {
  let off = start;
  for (;;) {
    const m = text.indexOf(tok.text, off);
    if (m < 0 || m + tok.text.length > end) break;
    let leftEnd = m;
    if (tok.lstrip) while (leftEnd > off && isCSpace(text.charCodeAt(leftEnd - 1))) leftEnd--;
    if (leftEnd > off) out.push({ start: off, end: leftEnd });
    out.push(tok.id);
    off = m + tok.text.length;
    if (tok.rstrip) while (off < end && isCSpace(text.charCodeAt(off))) off++;
  }
  if (end > off) out.push({ start: off, end });
}

function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
