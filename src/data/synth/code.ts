// Code tracing: a short Python loop and "what does it print?", solved by a line-by-line trace.
// `make` simulates the loop step by step; `solve` uses closed forms (arithmetic series, counting
// multiples, products), so the two routes are independent.
import { int, pick, type SynthGenerator } from './types.js';

type Kind = 'sum' | 'count' | 'product';

export const code: SynthGenerator = {
  skill: 'code',
  description: 'trace a short Python loop (running sum, counting multiples, running product) and give what it prints',
  make(rng) {
    const kind = pick(rng, ['sum', 'count', 'product'] as const) as Kind;
    const a = int(rng, 0, 4), b = a + int(rng, 2, 6);
    const start = kind === 'product' ? 1 : kind === 'count' ? 0 : int(rng, 0, 10);
    const k = kind === 'count' ? int(rng, 2, 4) : int(rng, 1, 5);
    const v = kind === 'count' ? 'count' : kind === 'product' ? 'p' : 'total';
    const lines = [`${v} = ${start}`, `for i in range(${a}, ${b}):`];
    if (kind === 'sum') lines.push(`    ${v} = ${v} + ${k} * i`);
    else if (kind === 'product') lines.push(`    ${v} = ${v} * (i + ${k})`);
    else lines.push(`    if i % ${k} == 0:`, `        ${v} = ${v} + 1`);
    lines.push(`print(${v})`);
    const steps = [`${v} starts at ${start}; i runs from ${a} to ${b - 1}.`];
    let x = start;
    for (let i = a; i < b; i++) {
      if (kind === 'sum') {
        steps.push(`i = ${i}: ${v} = ${x} + ${k} × ${i} = ${x + k * i}`);
        x += k * i;
      } else if (kind === 'product') {
        steps.push(`i = ${i}: ${v} = ${x} × (${i} + ${k}) = ${x * (i + k)}`);
        x *= i + k;
      } else if (i % k === 0) {
        steps.push(`i = ${i}: ${i} % ${k} = 0, so ${v} = ${x} + 1 = ${x + 1}`);
        x += 1;
      } else steps.push(`i = ${i}: ${i} % ${k} = ${i % k}, not 0, so ${v} stays ${x}`);
    }
    steps.push(`The program prints ${x}.`);
    return {
      question: `What does this Python program print?\n\n\`\`\`python\n${lines.join('\n')}\n\`\`\``,
      answer: String(x),
      solution: steps.join('\n'),
      params: { kind, a, b, start, k },
    };
  },
  solve(params) {
    const { a, b, start, k } = params as Record<string, number>;
    if (params.kind === 'sum') return String(start + (k * (a + b - 1) * (b - a)) / 2);
    if (params.kind === 'count') return String(Math.floor((b - 1) / k) - Math.floor((a - 1) / k));
    let p = start;
    for (let j = a + k; j < b + k; j++) p *= j; // (a+k)(a+k+1)…(b-1+k): a rising factorial
    return String(p);
  },
};
