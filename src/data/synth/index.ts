// Offline programmatic generators (the registry) and the record → chat / text renderings the trainer uses.
// generateSynth(skills, count, seed) is deterministic: record i of a skill depends only on (seed, skill, i),
// so asking for more records extends the list without changing the earlier ones.
import { Phi3Error } from '../../errors.js';
import { arithmetic } from './arithmetic.js';
import { code } from './code.js';
import { logic } from './logic.js';
import { recordRng, type SynthGenerator, type SynthRecord } from './types.js';
import { units } from './units.js';
import { verifyRecord } from './verify.js';

export type { SynthGenerator, SynthRecord } from './types.js';
export { verifyRecord, equations, evalArith } from './verify.js';

export const GENERATORS: Record<string, SynthGenerator> = { arithmetic, units, logic, code };

export function generator(skill: string): SynthGenerator {
  const g = GENERATORS[skill];
  if (!g) throw new Phi3Error(`unknown skill "${skill}"; one of ${Object.keys(GENERATORS).join(', ')}`);
  return g;
}

/** Record `index` of `skill` for `seed`. */
export function synthRecord(skill: string, seed: number, index: number): SynthRecord {
  const g = generator(skill);
  const r = g.make(recordRng(seed, skill, index));
  return { id: `${skill}-${seed}-${index}`, skill, ...r };
}

/** `count` records, spread round-robin over `skills`, each verified (a failing record is an error: a generator bug). */
export function* generateSynth(skills: string[], count: number, seed: number): Generator<SynthRecord> {
  if (skills.length === 0) throw new Phi3Error('no skills given');
  const perSkill = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const skill = skills[i % skills.length];
    const k = perSkill.get(skill) ?? 0;
    perSkill.set(skill, k + 1);
    const r = synthRecord(skill, seed, k);
    const errors = verifyRecord(r, generator(skill));
    if (errors.length) throw new Phi3Error(`generator ${skill} made a wrong record ${r.id}: ${errors.join('; ')}`);
    yield r;
  }
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The record as a chat exchange for supervised fine-tuning. */
export function toChat(r: Pick<SynthRecord, 'question' | 'solution' | 'answer'>): ChatMessage[] {
  return [
    { role: 'user', content: r.question },
    { role: 'assistant', content: `${r.solution}\nAnswer: ${r.answer}` },
  ];
}

/** The record as one pretraining document ("textbook exercise" layout). */
export function toText(r: Pick<SynthRecord, 'question' | 'solution' | 'answer'>): string {
  return `Question: ${r.question}\nSolution:\n${r.solution}\nAnswer: ${r.answer}`;
}
