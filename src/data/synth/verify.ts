// Verification of synthetic records by recomputation: (1) the generator's independent `solve(params)`
// must give the recorded answer; (2) every arithmetic equation `expr = number` written in the solution
// must hold when `expr` is evaluated here (a small +,−,×,÷,%,() parser); (3) the solution must end at the
// answer. A record that fails any check is reported with the reason, never silently kept.
import type { SynthGenerator, SynthRecord } from './types.js';

/** Evaluates an arithmetic expression over numbers with + - × ÷ * / % and parentheses; undefined if malformed. */
export function evalArith(src: string): number | undefined {
  const toks = src.replace(/−/g, '-').replace(/×/g, '*').replace(/÷/g, '/').match(/\d+(?:\.\d+)?|[-+*/%()]|\S/g) ?? [];
  let i = 0;
  const primary = (): number => {
    const t = toks[i++];
    if (t === '(') {
      const v = sum();
      if (toks[i++] !== ')') throw new Error('missing )');
      return v;
    }
    if (t === '-') return -primary();
    if (t !== undefined && /^\d/.test(t)) return Number(t);
    throw new Error(`unexpected ${t}`);
  };
  const product = (): number => {
    let v = primary();
    while (toks[i] === '*' || toks[i] === '/' || toks[i] === '%') {
      const op = toks[i++];
      const w = primary();
      v = op === '*' ? v * w : op === '/' ? v / w : v % w;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (toks[i] === '+' || toks[i] === '-') v = toks[i++] === '+' ? v + product() : v - product();
    return v;
  };
  try {
    const v = sum();
    return i === toks.length ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface Equation {
  expr: string;
  stated: number;
  actual: number | undefined;
}

/** Every `expr = n` in `text` whose left side is an arithmetic expression with at least one operator. */
export function equations(text: string): Equation[] {
  const out: Equation[] = [];
  const re = /([\d(][\d\s.+\-−×÷*/%()]*[\d)])\s*=\s*(-?\d+(?:\.\d+)?)/g;
  for (const m of text.matchAll(re)) {
    const expr = m[1].trim();
    if (!/[+\-−×÷*/%]/.test(expr.replace(/^-/, ''))) continue;
    out.push({ expr, stated: Number(m[2]), actual: evalArith(expr) });
  }
  return out;
}

/** Reasons the record fails verification; empty when it is correct. */
export function verifyRecord(r: SynthRecord, gen: SynthGenerator): string[] {
  const errors: string[] = [];
  let solved: string | undefined;
  try {
    solved = gen.solve(r.params);
  } catch (e) {
    errors.push(`solve failed: ${(e as Error).message}`);
  }
  if (solved !== undefined && solved !== r.answer) errors.push(`answer ${r.answer} but recomputed ${solved}`);
  for (const q of equations(r.solution))
    if (q.actual === undefined || Math.abs(q.actual - q.stated) > 1e-9) errors.push(`step "${q.expr} = ${q.stated}" is wrong (${q.actual})`);
  const last = r.solution.trim().split('\n').at(-1) ?? '';
  if (!new RegExp(`(^|[^\\w.])${r.answer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(last)) errors.push(`the solution's last line does not reach the answer ${r.answer}`);
  return errors;
}
