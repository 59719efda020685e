// `phi3 eval report`: the paper-style table from one or more results files (one column per model,
// one row per benchmark in the report's order, the headline metric ×100 with its shot count), as
// Markdown and as a standalone HTML page, plus notes on how each number was obtained. Tested in
// test/eval-report.test.ts against hand-written expected tables.
import { readFileSync } from 'node:fs';
import { Phi3Error } from '../errors.js';
import type { EvalResults } from './harness.js';
import { BENCHMARKS } from './tasks/index.js';

export function readResults(path: string): EvalResults {
  let r: EvalResults;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as EvalResults;
  } catch (e) {
    throw new Phi3Error(`${path}: not a results file (${(e as Error).message})`);
  }
  if (!r || typeof r !== 'object' || !r.model || !Array.isArray(r.benchmarks) || !Array.isArray(r.tasks))
    throw new Phi3Error(`${path}: not a phi3 eval results file (needs model, tasks, benchmarks)`);
  return r;
}

/** Headline numbers are shown ×100 except MT-bench (1–10) and ungroundedness (0–4). */
function show(benchmark: string, v: number): string {
  if (!Number.isFinite(v)) return '—';
  return benchmark === 'mt_bench' || benchmark === 'ungroundedness' ? v.toFixed(2) : (100 * v).toFixed(1);
}

export interface Table {
  header: string[];
  rows: string[][];
  notes: string[];
}

export function buildTable(results: EvalResults[]): Table {
  const header = ['Benchmark', 'Shots', ...results.map((r) => r.model.name)];
  const rows: string[][] = [];
  const known = new Set(BENCHMARKS.map((b) => b.id));
  const present = new Set(results.flatMap((r) => r.benchmarks.map((b) => b.benchmark)));
  const order = [...BENCHMARKS.filter((b) => present.has(b.id)), ...[...present].filter((b) => !known.has(b)).map((id) => ({ id, label: id }))];
  for (const b of order) {
    const shots = new Set<number>();
    const cells = results.map((r) => {
      const br = r.benchmarks.find((x) => x.benchmark === b.id);
      r.tasks.filter((t) => t.benchmark === b.id).forEach((t) => shots.add(t.shots));
      return br ? show(b.id, br.value) : '—';
    });
    rows.push([b.label, [...shots].join('/'), ...cells]);
  }
  const notes = results.map((r) => {
    const metrics = r.benchmarks.map((b) => `${b.benchmark}: ${b.headline}, n=${b.n}`).join('; ');
    return `${r.model.name} (${(r.model.parameters / 1e6).toFixed(1)}M parameters, ${r.style} prompts${r.limit !== null ? `, first ${r.limit} items per task` : ''}, ${r.date.slice(0, 10)}): ${metrics}`;
  });
  return { header, rows, notes };
}

export function toMarkdown(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(t.header),
    line(t.header.map((_, i) => (i < 2 ? '---' : '---:'))),
    ...t.rows.map(line),
    '',
    ...t.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toHtml(t: Table, title = 'phi3 eval'): string {
  const th = t.header.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{padding:.3em .8em;border-bottom:1px solid #ddd}td{text-align:right;font-variant-numeric:tabular-nums}thead th{border-bottom:2px solid #333}</style>
</head><body>
<h1>${esc(title)}</h1>
<table><thead><tr>${th}</tr></thead><tbody>
${body}
</tbody></table>
<ul>${t.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
</body></html>
`;
}
