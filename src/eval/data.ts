// Readers for the benchmark files in their published formats: JSON lines, JSON, CSV (RFC 4180 quoting),
// .gz (zlib), .bz2 (the system `bzip2`), password-protected .zip (the system `unzip`), plus a seeded
// sampler for few-shot draws. Every failure names the file and what is wrong. Tested in
// test/eval-tasks.test.ts (each task loads its real file) and test/eval-metrics.test.ts (CSV edge cases).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FormatError, Phi3Error } from '../errors.js';

/** Resolves `rel` under the data folder, with a message that says where the set is published. */
export function dataFile(dataDir: string, rel: string, publishedAt: string): string {
  const p = join(dataDir, rel);
  if (!existsSync(p))
    throw new Phi3Error(`${p} not found: pass --data DIR holding ${rel} (published at ${publishedAt})`);
  return p;
}

export function readText(path: string): string {
  if (path.endsWith('.gz')) return gunzipSync(readFileSync(path)).toString('utf8');
  if (path.endsWith('.bz2')) {
    try {
      return execFileSync('bzip2', ['-dc', path], { maxBuffer: 1 << 30 }).toString('utf8');
    } catch (e) {
      throw new FormatError(path, `cannot decompress with bzip2 (is the bzip2 package installed?): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return readFileSync(path, 'utf8');
}

/** One member of a (possibly password-protected) zip archive, via `unzip -p`. */
export function readZipMember(path: string, member: string, password?: string): string {
  try {
    const args = password ? ['-P', password, '-p', path, member] : ['-p', path, member];
    return execFileSync('unzip', args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  } catch (e) {
    throw new FormatError(path, `cannot extract ${member} with unzip (is the unzip package installed?): ${(e as Error).message.split('\n')[0]}`);
  }
}

export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  const out: T[] = [];
  const lines = readText(path).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      throw new FormatError(path, `line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}

export function readJson<T = unknown>(path: string): T {
  try {
    return JSON.parse(readText(path)) as T;
  } catch (e) {
    throw new FormatError(path, `not JSON: ${(e as Error).message}`);
  }
}

/** RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes. Returns rows of fields. */
export function parseCsv(text: string, source = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
    i++;
  }
  if (quoted) throw new FormatError(source, 'unterminated quoted field at end of file');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** CSV with a header row → objects; rows with the wrong number of fields are a FormatError. */
export function readCsvObjects(path: string): Record<string, string>[] {
  const rows = parseCsv(readText(path), path);
  if (rows.length === 0) throw new FormatError(path, 'empty CSV');
  const header = rows[0];
  return rows.slice(1).map((r, i) => {
    if (r.length !== header.length) throw new FormatError(path, `row ${i + 2} has ${r.length} fields, the header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, r[j]]));
  });
}

/** mulberry32: a small seeded PRNG, so few-shot draws are reproducible across runs and machines. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct indices of 0..n−1 drawn without replacement (partial Fisher–Yates), in draw order. */
export function sampleIndices(n: number, k: number, seed: number): number[] {
  const rnd = seededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m);
}

/** Fisher–Yates shuffle of a copy, seeded. */
export function shuffled<T>(xs: T[], seed: number): T[] {
  const rnd = seededRandom(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export function field<T>(obj: Record<string, unknown>, key: string, source: string, check: (v: unknown) => v is T): T {
  const v = obj[key];
  if (!check(v)) throw new FormatError(source, `field "${key}" is missing or has the wrong type in ${JSON.stringify(obj).slice(0, 120)}`);
  return v;
}
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
