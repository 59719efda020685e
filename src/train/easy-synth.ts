// One-step arithmetic word problems (add / subtract / multiply with small numbers) in the record format
// of src/data/synth, for models too small for that registry's multi-step problems: the embedded default
// model learns these. Registered beside src/data/synth's generators by data.ts (skill "basic").
// Tested through test/train.test.ts (every record verifies with src/data/synth's verifier).
import { NAMES, int, pick, type SynthGenerator } from '../data/synth/types.js';

const ITEMS = ['apples', 'pens', 'books', 'cards', 'eggs', 'coins', 'shells', 'cookies'] as const;

export const basic: SynthGenerator = {
  skill: 'basic',
  description: 'one-step word problems: add or subtract numbers up to 20, multiply up to 9 × 9',
  make(rng) {
    const name = pick(rng, NAMES), item = pick(rng, ITEMS);
    const op = pick(rng, ['add', 'sub', 'mul'] as const);
    if (op === 'add') {
      const a = int(rng, 1, 20), b = int(rng, 1, 20);
      return {
        question: `${name} has ${a} ${item} and gets ${b} more. How many ${item} does ${name} have now?`,
        solution: `${a} + ${b} = ${a + b}`,
        answer: String(a + b),
        params: { op, a, b },
      };
    }
    if (op === 'sub') {
      const a = int(rng, 2, 20), b = int(rng, 1, a - 1);
      return {
        question: `${name} has ${a} ${item} and gives away ${b}. How many ${item} are left?`,
        solution: `${a} - ${b} = ${a - b}`,
        answer: String(a - b),
        params: { op, a, b },
      };
    }
    const a = int(rng, 2, 9), b = int(rng, 2, 9);
    return {
      question: `${name} has ${a} bags with ${b} ${item} in each bag. How many ${item} are there in all?`,
      solution: `${a} × ${b} = ${a * b}`,
      answer: String(a * b),
      params: { op, a, b },
    };
  },
  solve(p) {
    const a = Number(p.a), b = Number(p.b);
    return String(p.op === 'add' ? a + b : p.op === 'sub' ? a - b : a * b);
  },
};
