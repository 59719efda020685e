// JSON mode (`response_format: {"type": "json_object"}`): a byte-level JSON recogniser used as a
// constraint on decoding. Before each token, every vocabulary entry whose bytes would take the text so
// far out of the language "a JSON object, optionally surrounded by whitespace" gets −Infinity, so
// whatever the sampler picks keeps the output a valid prefix; once the object is closed only
// end-of-generation tokens remain. The output is therefore valid JSON unless max_tokens cuts it short
// (finish_reason "length"), as with OpenAI's JSON mode.
//
// The recogniser follows RFC 8259 (strings with escapes and \u hex, numbers, true/false/null, nesting)
// and checks UTF-8 well-formedness inside strings. Runs of whitespace outside strings are capped so a
// model cannot stall forever on blank space.

const enum Mode {
  Start,
  ObjFirst, // after '{': key or '}'
  ObjKey, // after ',' in an object: key
  Colon,
  Value,
  ArrFirst, // after '[': value or ']'
  After, // after a value: ',' or a closing bracket
  Str,
  Num,
  Lit,
  Done,
}

const enum NumSub {
  Minus, // need a digit
  Zero, // may end, '.', 'e'
  Int, // digits; may end
  Dot, // need a digit
  Frac, // may end
  Exp, // after e: sign or digit
  ExpSign, // need a digit
  ExpDigits, // may end
}

export interface JsonState {
  mode: Mode;
  /** Open containers, innermost last: '{' or '['. */
  stack: string;
  /** Str: 0 plain, 1 after '\', 2..5 hex digits of \u still due (n−1); Num: NumSub; Lit: index into lit. */
  sub: number;
  /** Str: this string is an object key. */
  key: boolean;
  /** Str: UTF-8 continuation bytes still due. */
  cont: number;
  /** Lit: the literal being matched. */
  lit: string;
  /** Consecutive whitespace bytes outside strings. */
  ws: number;
}

export const MAX_WHITESPACE_RUN = 32;

export function initialJsonState(): JsonState {
  return { mode: Mode.Start, stack: '', sub: 0, key: false, cont: 0, lit: '', ws: 0 };
}

export function jsonDone(s: JsonState): boolean {
  return s.mode === Mode.Done;
}

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Advances `s` (in place) by one byte; false when the byte is not allowed here. */
export function stepJson(s: JsonState, b: number): boolean {
  switch (s.mode) {
    case Mode.Str:
      return stepString(s, b);
    case Mode.Num:
      return stepNumber(s, b);
    case Mode.Lit:
      if (b !== s.lit.charCodeAt(s.sub)) return false;
      if (++s.sub === s.lit.length) afterValue(s);
      return true;
    case Mode.Done:
      return false;
  }
  if (isWs(b)) {
    if (++s.ws > MAX_WHITESPACE_RUN) return false;
    return true;
  }
  s.ws = 0;
  switch (s.mode) {
    case Mode.Start:
      if (b !== 0x7b) return false; // json_object: the top level is an object
      return open(s, '{');
    case Mode.ObjFirst:
      if (b === 0x7d) return close(s, '{');
      if (b === 0x22) return startString(s, true);
      return false;
    case Mode.ObjKey:
      return b === 0x22 && startString(s, true);
    case Mode.Colon:
      if (b !== 0x3a) return false;
      s.mode = Mode.Value;
      return true;
    case Mode.ArrFirst:
      if (b === 0x5d) return close(s, '[');
      return startValue(s, b);
    case Mode.Value:
      return startValue(s, b);
    case Mode.After: {
      const top = s.stack[s.stack.length - 1];
      if (b === 0x2c) {
        s.mode = top === '{' ? Mode.ObjKey : Mode.Value;
        return true;
      }
      if (b === 0x7d) return top === '{' && close(s, '{');
      if (b === 0x5d) return top === '[' && close(s, '[');
      return false;
    }
  }
  return false;
}

function open(s: JsonState, c: '{' | '['): boolean {
  s.stack += c;
  s.mode = c === '{' ? Mode.ObjFirst : Mode.ArrFirst;
  return true;
}

function close(s: JsonState, c: '{' | '['): boolean {
  if (s.stack[s.stack.length - 1] !== c) return false;
  s.stack = s.stack.slice(0, -1);
  afterValue(s);
  return true;
}

function afterValue(s: JsonState): void {
  s.mode = s.stack.length === 0 ? Mode.Done : Mode.After;
  s.ws = 0;
}

function startString(s: JsonState, key: boolean): boolean {
  s.mode = Mode.Str;
  s.key = key;
  s.sub = 0;
  s.cont = 0;
  return true;
}

function startValue(s: JsonState, b: number): boolean {
  if (b === 0x22) return startString(s, false);
  if (b === 0x7b) return open(s, '{');
  if (b === 0x5b) return open(s, '[');
  if (b === 0x2d || isDigit(b)) {
    s.mode = Mode.Num;
    s.sub = b === 0x2d ? NumSub.Minus : b === 0x30 ? NumSub.Zero : NumSub.Int;
    return true;
  }
  const lit = b === 0x74 ? 'true' : b === 0x66 ? 'false' : b === 0x6e ? 'null' : '';
  if (!lit) return false;
  s.mode = Mode.Lit;
  s.lit = lit;
  s.sub = 1;
  return true;
}

function stepString(s: JsonState, b: number): boolean {
  if (s.cont > 0) {
    if ((b & 0xc0) !== 0x80) return false;
    s.cont--;
    return true;
  }
  if (s.sub === 1) {
    // after a backslash
    if (b === 0x75) s.sub = 5; // \u: four hex digits follow
    else if (b === 0x22 || b === 0x5c || b === 0x2f || b === 0x62 || b === 0x66 || b === 0x6e || b === 0x72 || b === 0x74) s.sub = 0;
    else return false;
    return true;
  }
  if (s.sub >= 2) {
    if (!isHex(b)) return false;
    s.sub = s.sub === 2 ? 0 : s.sub - 1;
    return true;
  }
  if (b === 0x22) {
    if (s.key) s.mode = Mode.Colon;
    else afterValue(s);
    s.ws = 0;
    return true;
  }
  if (b === 0x5c) {
    s.sub = 1;
    return true;
  }
  if (b < 0x20) return false;
  if (b < 0x80) return true;
  // A UTF-8 lead byte (no overlongs via C0/C1, nothing past U+10FFFF).
  if (b >= 0xc2 && b <= 0xdf) s.cont = 1;
  else if (b >= 0xe0 && b <= 0xef) s.cont = 2;
  else if (b >= 0xf0 && b <= 0xf4) s.cont = 3;
  else return false;
  return true;
}

function stepNumber(s: JsonState, b: number): boolean {
  const digit = isDigit(b);
  switch (s.sub as NumSub) {
    case NumSub.Minus:
      if (!digit) return false;
      s.sub = b === 0x30 ? NumSub.Zero : NumSub.Int;
      return true;
    case NumSub.Zero:
    case NumSub.Int:
      if (digit && s.sub === NumSub.Int) return true;
      if (b === 0x2e) return ((s.sub = NumSub.Dot), true);
      if (b === 0x65 || b === 0x45) return ((s.sub = NumSub.Exp), true);
      break;
    case NumSub.Dot:
      if (!digit) return false;
      s.sub = NumSub.Frac;
      return true;
    case NumSub.Frac:
      if (digit) return true;
      if (b === 0x65 || b === 0x45) return ((s.sub = NumSub.Exp), true);
      break;
    case NumSub.Exp:
      if (b === 0x2b || b === 0x2d) return ((s.sub = NumSub.ExpSign), true);
      if (!digit) return false;
      s.sub = NumSub.ExpDigits;
      return true;
    case NumSub.ExpSign:
      if (!digit) return false;
      s.sub = NumSub.ExpDigits;
      return true;
    case NumSub.ExpDigits:
      if (digit) return true;
      break;
  }
  if (s.sub === NumSub.Minus || s.sub === NumSub.Dot || s.sub === NumSub.Exp || s.sub === NumSub.ExpSign) return false;
  // The number ended; this byte belongs to what follows it.
  afterValue(s);
  return stepJson(s, b);
}

/** Feeds bytes to a copy of `s`; returns the new state, or undefined if any byte is refused. */
export function advance(s: JsonState, bytes: Uint8Array): JsonState | undefined {
  const t = { ...s };
  for (let i = 0; i < bytes.length; i++) if (!stepJson(t, bytes[i])) return undefined;
  return t;
}

/** Valid-token bitmaps by state key, shared by every request over the same vocabulary. */
const maskCaches = new WeakMap<readonly (Uint8Array | undefined)[], { window: number; masks: Map<string, Uint8Array> }>();
const MAX_MASKS = 256;

/**
 * A decoding constraint over a vocabulary. `tokenBytes[id]` is the text a token adds (undefined for
 * special tokens, which JSON mode never emits); `stopTokens` are allowed once the object is complete.
 * Which tokens are valid depends only on the recogniser's state, and a token of at most W bytes can
 * only see the innermost W open brackets, so masks are cached by (state, last W brackets): decoding
 * inside a long string costs one lookup per token instead of a pass over the vocabulary.
 */
export class JsonConstraint {
  private state = initialJsonState();
  private consumed = 0;
  private readonly cache: { window: number; masks: Map<string, Uint8Array> };

  constructor(
    private readonly tokenBytes: readonly (Uint8Array | undefined)[],
    private readonly stopTokens: readonly number[],
  ) {
    let cache = maskCaches.get(tokenBytes);
    if (!cache) {
      const window = tokenBytes.reduce((m, b) => Math.max(m, b?.length ?? 0), 0);
      maskCaches.set(tokenBytes, (cache = { window, masks: new Map() }));
    }
    this.cache = cache;
  }

  get done(): boolean {
    return jsonDone(this.state);
  }

  /** Catches up with the tokens generated so far, then returns `row` with every forbidden token at −Infinity. */
  apply(row: Float32Array, generated: readonly number[]): Float32Array {
    for (; this.consumed < generated.length; this.consumed++) {
      const b = this.tokenBytes[generated[this.consumed]];
      const next = b && advance(this.state, b);
      if (!next) throw new Error(`JSON constraint: token ${generated[this.consumed]} was not allowed`);
      this.state = next;
    }
    const out = new Float32Array(row.length).fill(-Infinity);
    if (jsonDone(this.state)) {
      for (const id of this.stopTokens) if (id < row.length) out[id] = row[id];
      return out;
    }
    const valid = this.mask();
    for (let id = 0; id < row.length; id++) if (valid[id]) out[id] = row[id];
    return out;
  }

  private mask(): Uint8Array {
    const s = this.state;
    const { window, masks } = this.cache;
    const stack = s.stack.length <= window ? s.stack : `…${s.stack.slice(-window)}`;
    const key = `${s.mode}|${s.sub}|${s.key ? 1 : 0}|${s.cont}|${s.lit}|${s.ws}|${stack}`;
    let valid = masks.get(key);
    if (valid) {
      masks.delete(key); // most recently used goes last
      masks.set(key, valid);
      return valid;
    }
    valid = new Uint8Array(this.tokenBytes.length);
    const t = { ...s };
    for (let id = 0; id < this.tokenBytes.length; id++) {
      const b = this.tokenBytes[id];
      if (!b || b.length === 0) continue;
      Object.assign(t, s);
      let ok = true;
      for (let i = 0; i < b.length && ok; i++) ok = stepJson(t, b[i]);
      if (ok) valid[id] = 1;
    }
    if (masks.size >= MAX_MASKS) masks.delete(masks.keys().next().value as string);
    masks.set(key, valid);
    return valid;
  }
}
