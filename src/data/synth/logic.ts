// Simple logic: (a) orderings from pairwise comparisons ("Who is the tallest?"), (b) boolean expressions
// over named facts. `solve` re-derives orderings by counting wins and evaluates expressions by a parser.
import { NAMES, int, pick, shuffle, type SynthGenerator } from './types.js';

const RELATIONS = [
  { more: 'taller', most: 'tallest', least: 'shortest' },
  { more: 'older', most: 'oldest', least: 'youngest' },
  { more: 'faster', most: 'fastest', least: 'slowest' },
] as const;

function ordering(rng: { next(): number }) {
  const n = int(rng, 3, 5);
  const people = shuffle(rng, [...NAMES]).slice(0, n); // people[0] is the most
  const rel = pick(rng, RELATIONS);
  const facts = shuffle(rng, people.slice(0, -1).map((p, i) => [p, people[i + 1]] as [string, string]));
  const askMost = rng.next() < 0.5;
  const answer = askMost ? people[0] : people[n - 1];
  const chain = people.join(' > ');
  return {
    question: `${facts.map(([a, b]) => `${a} is ${rel.more} than ${b}.`).join(' ')} Who is the ${askMost ? rel.most : rel.least}?`,
    answer,
    solution: `Linking the statements gives the order, from ${rel.most} to ${rel.least}: ${chain}.\nSo the ${askMost ? rel.most : rel.least} is ${answer}.`,
    params: { kind: 'ordering', facts, askMost },
  };
}

const VARS = ['A', 'B', 'C', 'D'];

function boolExpr(rng: { next(): number }, depth: number, vars: string[]): string {
  if (depth === 0 || rng.next() < 0.3) return (rng.next() < 0.25 ? 'not ' : '') + pick(rng, vars);
  const op = rng.next() < 0.5 ? 'and' : 'or';
  return `(${boolExpr(rng, depth - 1, vars)} ${op} ${boolExpr(rng, depth - 1, vars)})`;
}

/** Evaluates the `not/and/or` grammar above (and is the independent check of `make`'s evaluation). */
export function evalBool(expr: string, env: Record<string, boolean>): boolean {
  const toks = expr.match(/\(|\)|not|and|or|[A-Z]/g) ?? [];
  let i = 0;
  const atom = (): boolean => {
    const t = toks[i++];
    if (t === 'not') return !atom();
    if (t === '(') {
      let v = atom();
      while (toks[i] === 'and' || toks[i] === 'or') {
        const op = toks[i++];
        const w = atom();
        v = op === 'and' ? v && w : v || w;
      }
      if (toks[i++] !== ')') throw new Error(`bad expression ${expr}`);
      return v;
    }
    if (t && t in env) return env[t];
    throw new Error(`bad token ${t} in ${expr}`);
  };
  return atom();
}

function boolean(rng: { next(): number }) {
  const vars = VARS.slice(0, int(rng, 2, 4));
  const env = Object.fromEntries(vars.map((v) => [v, rng.next() < 0.5]));
  let expr = boolExpr(rng, 2, vars);
  if (!expr.startsWith('(')) expr = `(${expr} or ${pick(rng, vars)})`;
  // Work the expression inside out, writing each innermost group's value (a trace a student would write).
  const steps: string[] = [];
  let cur = expr;
  for (;;) {
    const m = /\(([^()]*)\)/.exec(cur);
    if (!m) break;
    const v = evalBool(`(${m[1].replace(/true|false/g, (w) => (w === 'true' ? 'T' : 'F'))})`, { ...env, T: true, F: false });
    steps.push(`(${m[1]}) is ${v}.`);
    cur = cur.slice(0, m.index) + String(v) + cur.slice(m.index + m[0].length);
  }
  const answer = String(evalBool(expr, env));
  const given = vars.map((v) => `${v} is ${env[v]}`).join(', ');
  return {
    question: `${given}. Is the statement ${expr} true or false?`,
    answer,
    solution: [`Substitute ${given}.`, ...steps, `So the statement is ${answer}.`].join('\n'),
    params: { kind: 'boolean', expr, env },
  };
}

export const logic: SynthGenerator = {
  skill: 'logic',
  description: 'orderings from pairwise comparisons and boolean expressions over given facts',
  make: (rng) => (rng.next() < 0.5 ? ordering(rng) : boolean(rng)),
  solve(params) {
    if (params.kind === 'boolean') return String(evalBool(String(params.expr), params.env as Record<string, boolean>));
    // Ordering: in a chain of n-1 adjacent comparisons the top has n-1 people below it; count reachability.
    const facts = params.facts as [string, string][];
    const below = new Map<string, Set<string>>();
    const people = new Set(facts.flat());
    for (const p of people) below.set(p, new Set());
    for (let changed = true; changed; ) {
      changed = false;
      for (const [a, b] of facts)
        for (const x of [b, ...below.get(b)!])
          if (!below.get(a)!.has(x)) {
            below.get(a)!.add(x);
            changed = true;
          }
    }
    const ranked = [...people].sort((x, y) => below.get(y)!.size - below.get(x)!.size);
    return params.askMost ? ranked[0] : ranked[ranked.length - 1];
  },
};
