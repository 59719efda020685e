// Reading numbers out of a Hugging Face config.json object, with errors that name the key and the file.
// Shared by the Phi-3 and Phi-3-small config parsers.
import { FormatError } from '../errors.js';

export type Json = Record<string, unknown>;

export function num(json: Json, key: string, source: string, fallback?: number): number {
  const v = json[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new FormatError(source, `config is missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(source, `config "${key}" is not a number`);
  return v;
}

export function positiveInt(json: Json, key: string, source: string, fallback?: number): number {
  const v = num(json, key, source, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new FormatError(source, `config "${key}" must be a positive integer, got ${v}`);
  return v;
}

export function optionalId(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

export function factorList(v: unknown, n: number, what: string, source: string): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && x > 0))
    throw new FormatError(source, `rope_scaling.${what} must be ${n} positive numbers`);
  return v as number[];
}
