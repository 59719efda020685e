// Reading request fields with OpenAI's conventions: `null` means "not given", a wrong type or range is a
// 400 that names the field and says what was expected, and unknown fields are ignored (clients send
// extras such as `user` or `metadata`).
import { invalid } from './api-error.js';

export class Fields {
  constructor(
    readonly raw: Record<string, unknown>,
    private readonly prefix = '',
  ) {}

  private name(key: string): string {
    return this.prefix + key;
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  get(key: string): unknown {
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  number(key: string, range: { min?: number; max?: number; int?: boolean; above?: number } = {}): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const { min, max, int, above } = range;
    const want = `${int ? 'an integer' : 'a number'}${
      above !== undefined ? ` > ${above}${max !== undefined ? ` and ≤ ${max}` : ''}` : min !== undefined && max !== undefined ? ` in [${min}, ${max}]` : min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : ''
    }`;
    if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isSafeInteger(v))) throw invalid(this.name(key), `expected ${want}, got ${show(v)}`);
    if ((min !== undefined && v < min) || (max !== undefined && v > max) || (above !== undefined && v <= above))
      throw invalid(this.name(key), `expected ${want}, got ${show(v)}`);
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw invalid(this.name(key), `expected true or false, got ${show(v)}`);
    return v;
  }

  string(key: string, opts: { nonEmpty?: boolean; oneOf?: readonly string[] } = {}): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalid(this.name(key), `expected a string, got ${show(v)}`);
    if (opts.nonEmpty && v.length === 0) throw invalid(this.name(key), 'must not be empty');
    if (opts.oneOf && !opts.oneOf.includes(v)) throw invalid(this.name(key), `expected one of ${opts.oneOf.map((x) => JSON.stringify(x)).join(', ')}, got ${show(v)}`);
    return v;
  }

  object(key: string): Fields | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(this.name(key), `expected an object, got ${show(v)}`);
    return new Fields(v as Record<string, unknown>, `${this.name(key)}.`);
  }

  /** A string or an array of strings (OpenAI's `stop`). */
  strings(key: string, maxItems: number): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string'))
      throw invalid(this.name(key), `expected a string or an array of strings, got ${show(v)}`);
    if (list.length > maxItems) throw invalid(this.name(key), `at most ${maxItems} entries, got ${list.length}`);
    return list as string[];
  }
}

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return typeof v;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
