// Programmatic synthetic data: the record every generator emits and the small seeded helpers they share.
// A record is chat-ready (question → solution + answer) and carries the `params` it was drawn from, so
// `verifyRecord` (verify.ts) can recompute the answer by an independent path. Tested in test/data-synth.test.ts.
import { Rng } from '../../generate/sampler.js';

export interface SynthRecord {
  /** `<skill>-<seed>-<index>`: stable, so a seed and index always name the same record. */
  id: string;
  skill: string;
  question: string;
  /** The short final answer (a number or a word), as a string. */
  answer: string;
  /** Step-by-step worked solution; every `a op b = c` in it is checked by verify.ts. */
  solution: string;
  /** What the problem was drawn from; the generator's `solve` recomputes the answer from it. */
  params: Record<string, unknown>;
}

export interface SynthGenerator {
  skill: string;
  description: string;
  /** Draws one problem from `rng` (all randomness must come from it). */
  make(rng: Pick<Rng, 'next'>): Omit<SynthRecord, 'id' | 'skill'>;
  /** Recomputes the answer from `params` alone, by a different route than `make`. */
  solve(params: Record<string, unknown>): string;
}

/** Integer in [lo, hi]. */
export function int(rng: Pick<Rng, 'next'>, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

export function pick<T>(rng: Pick<Rng, 'next'>, xs: readonly T[]): T {
  return xs[Math.floor(rng.next() * xs.length)];
}

export function shuffle<T>(rng: Pick<Rng, 'next'>, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** 32-bit FNV-1a of a string: mixes (seed, skill, index) into one record seed. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function recordRng(seed: number, skill: string, index: number): Rng {
  return new Rng(fnv1a(`${seed}:${skill}:${index}`));
}

export const NAMES = ['Ava', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro', 'Imani', 'Jonas', 'Kira', 'Leo', 'Maya', 'Nikhil', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sam', 'Tariq', 'Uma', 'Victor', 'Wen', 'Yusuf', 'Zoe'] as const;
