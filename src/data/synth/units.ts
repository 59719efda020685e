// Unit conversions: one or two steps between metric lengths, masses, volumes and times, either way.
// Downward conversions multiply; upward ones divide and are drawn so the result is a whole number.
import { int, pick, type SynthGenerator } from './types.js';

/** Chains of units, each with how many of the next-smaller unit it holds. */
const CHAINS: { units: string[]; factors: number[] }[] = [
  { units: ['kilometres', 'metres', 'centimetres'], factors: [1000, 100] },
  { units: ['kilograms', 'grams', 'milligrams'], factors: [1000, 1000] },
  { units: ['litres', 'millilitres'], factors: [1000] },
  { units: ['days', 'hours', 'minutes', 'seconds'], factors: [24, 60, 60] },
  { units: ['weeks', 'days', 'hours'], factors: [7, 24] },
];

export const units: SynthGenerator = {
  skill: 'units',
  description: 'unit conversions (length, mass, volume, time), one or two steps, up or down',
  make(rng) {
    const chain = pick(rng, CHAINS);
    const span = chain.units.length > 2 && rng.next() < 0.5 ? 2 : 1;
    const from = int(rng, 0, chain.units.length - 1 - span);
    const down = rng.next() < 0.5;
    const factors = chain.factors.slice(from, from + span);
    const big = chain.units[from], small = chain.units[from + span];
    const steps: string[] = [];
    let x: number, answer: number;
    if (down) {
      x = int(rng, 2, 40);
      let v = x;
      for (let i = 0; i < span; i++) {
        steps.push(`${v} ${chain.units[from + i]} is ${v} × ${factors[i]} = ${v * factors[i]} ${chain.units[from + i + 1]}.`);
        v *= factors[i];
      }
      answer = v;
    } else {
      answer = int(rng, 2, 40);
      x = factors.reduce((a, f) => a * f, answer);
      let v = x;
      for (let i = span - 1; i >= 0; i--) {
        steps.push(`${v} ${chain.units[from + i + 1]} is ${v} ÷ ${factors[i]} = ${v / factors[i]} ${chain.units[from + i]}.`);
        v /= factors[i];
      }
    }
    const [src, dst] = down ? [big, small] : [small, big];
    return {
      question: `How many ${dst} are there in ${x} ${src}?`,
      answer: String(answer),
      solution: steps.join('\n'),
      params: { x, from: src, to: dst },
    };
  },
  solve(params) {
    // Independent route: the size of each unit in the chain's smallest unit, then one ratio.
    const chain = CHAINS.find((c) => c.units.includes(String(params.from)) && c.units.includes(String(params.to)));
    if (!chain) throw new Error(`no unit chain holds ${String(params.from)} and ${String(params.to)}`);
    const size = (u: string) => chain.factors.slice(chain.units.indexOf(u)).reduce((a, f) => a * f, 1);
    return String((Number(params.x) * size(String(params.from))) / size(String(params.to)));
  },
};
