// Arithmetic word problems with step-by-step solutions (GSM8K-style, 2–3 steps, integers only).
// Five templates; each `make` writes the steps while computing, `solve` recomputes from params alone.
import { NAMES, int, pick, type SynthGenerator } from './types.js';

const ITEMS = ['notebook', 'apple', 'pencil', 'ticket', 'sticker', 'muffin', 'marble', 'book'] as const;

type P = Record<string, number | string>;

const TEMPLATES: Record<string, { make(r: { next(): number }): { params: P; question: string; steps: string[]; answer: number }; solve(p: P): number }> = {
  change: {
    make(r) {
      const name = pick(r, NAMES), item = pick(r, ITEMS), n = int(r, 2, 12), price = int(r, 2, 15);
      const cost = n * price;
      const bill = [20, 50, 100, 200].find((b) => b > cost) ?? Math.ceil((cost + 1) / 100) * 100;
      return {
        params: { name, item, n, price, bill },
        question: `${name} buys ${n} ${item}s at $${price} each and pays with a $${bill} bill. How much change does ${name} get, in dollars?`,
        steps: [`The ${item}s cost ${n} × ${price} = ${cost} dollars.`, `The change is ${bill} − ${cost} = ${bill - cost} dollars.`],
        answer: bill - cost,
      };
    },
    solve: (p) => +p.bill - +p.n * +p.price,
  },
  share: {
    make(r) {
      const name = pick(r, NAMES), item = pick(r, ITEMS), k = int(r, 2, 9), each = int(r, 2, 20);
      const total = k * each, a = int(r, 1, total - 1), b = total - a;
      return {
        params: { name, item, a, b, k },
        question: `${name} has ${a} ${item}s and is given ${b} more. ${name} shares them equally among ${k} friends. How many ${item}s does each friend get?`,
        steps: [`${name} has ${a} + ${b} = ${total} ${item}s in all.`, `Each friend gets ${total} ÷ ${k} = ${each} ${item}s.`],
        answer: each,
      };
    },
    solve: (p) => (+p.a + +p.b) / +p.k,
  },
  trip: {
    make(r) {
      const v1 = int(r, 3, 12) * 10, t1 = int(r, 1, 5), v2 = int(r, 3, 12) * 10, t2 = int(r, 1, 5);
      const d1 = v1 * t1, d2 = v2 * t2;
      return {
        params: { v1, t1, v2, t2 },
        question: `A train travels at ${v1} km/h for ${t1} hours, then at ${v2} km/h for ${t2} hours. How many kilometres does it travel in total?`,
        steps: [`First part: ${v1} × ${t1} = ${d1} km.`, `Second part: ${v2} × ${t2} = ${d2} km.`, `Total: ${d1} + ${d2} = ${d1 + d2} km.`],
        answer: d1 + d2,
      };
    },
    solve: (p) => +p.v1 * +p.t1 + +p.v2 * +p.t2,
  },
  savings: {
    make(r) {
      const name = pick(r, NAMES), a = int(r, 3, 40), w = int(r, 2, 12);
      const saved = a * w, spent = int(r, 1, saved - 1);
      return {
        params: { name, a, w, spent },
        question: `${name} saves $${a} every week for ${w} weeks, then spends $${spent} on a gift. How many dollars does ${name} have left?`,
        steps: [`${name} saves ${a} × ${w} = ${saved} dollars.`, `After the gift: ${saved} − ${spent} = ${saved - spent} dollars.`],
        answer: saved - spent,
      };
    },
    solve: (p) => +p.a * +p.w - +p.spent,
  },
  fence: {
    make(r) {
      const l = int(r, 3, 30), w = int(r, 2, 20), c = int(r, 2, 9);
      const per = 2 * (l + w);
      return {
        params: { l, w, c },
        question: `A rectangular garden is ${l} m long and ${w} m wide. Fencing costs $${c} per metre. How many dollars does it cost to fence the whole garden?`,
        steps: [`The perimeter is 2 × (${l} + ${w}) = ${per} m.`, `The fence costs ${per} × ${c} = ${per * c} dollars.`],
        answer: per * c,
      };
    },
    solve: (p) => (+p.l + +p.w + +p.l + +p.w) * +p.c,
  },
};

export const arithmetic: SynthGenerator = {
  skill: 'arithmetic',
  description: 'multi-step arithmetic word problems (shopping change, sharing, distance, savings, perimeter cost)',
  make(rng) {
    const template = pick(rng, Object.keys(TEMPLATES));
    const { params, question, steps, answer } = TEMPLATES[template].make(rng);
    return { question, answer: String(answer), solution: steps.join('\n'), params: { template, ...params } };
  },
  solve(params) {
    const t = TEMPLATES[String(params.template)];
    if (!t) throw new Error(`unknown arithmetic template ${String(params.template)}`);
    return String(t.solve(params as P));
  },
};
