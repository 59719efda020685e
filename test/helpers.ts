// Shared test fixtures: where ../shared lives (the reference outputs are the truth we test against),
// plus a tiny .npy reader for the reference logits.
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The read-only shared folder beside the checkout (override with PHI3_SHARED). */
export const SHARED = process.env.PHI3_SHARED ?? resolve(REPO, '../shared');
export const REFERENCE = join(SHARED, 'reference');
export const TOKENIZER_DIR = join(SHARED, 'phi3/tokenizer');

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function tempDir(prefix = 'phi3-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Reads a little-endian float32 .npy file (v1/v2 header). Returns the data and its shape. */
export function readNpyF32(path: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'descr': '<f4'")) throw new Error(`${path}: expected <f4 data, header ${header}`);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const off = start + headerLen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length));
  return { shape, data };
}

/**
 * mulberry32: a tiny seeded uniform [0, 1) generator, written out so the inputs behind golden hashes
 * (computed once with ggml's own C code on the same sequence) never change with a library.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
