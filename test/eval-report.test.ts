// `phi3 eval report`: the paper-style table (Markdown, HTML) and the log-error vs log-size SVG, from
// hand-written results, plus the CLI end to end (a small eval run, then the report from its file) and
// its clear errors on bad input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { EvalResults } from '../src/eval/harness.js';
import { plotPoints, plotSvg } from '../src/eval/plot.js';
import { buildTable, toHtml, toMarkdown } from '../src/eval/report.js';
import { REPO, SHARED, tempDir } from './helpers.js';

function results(name: string, parameters: number, mmlu: number, gsm8k: number): EvalResults {
  return {
    model: { name, parameters },
    date: '2026-11-29T00:00:00.000Z',
    style: 'lm-eval',
    limit: null,
    tasks: [
      { task: 'mmlu_anatomy', benchmark: 'mmlu', shots: 5, style: 'lm-eval', n: 135, headline: 'acc', metrics: { acc: mmlu }, stderr: { acc: 0.01 } },
      { task: 'gsm8k_cot', benchmark: 'gsm8k', shots: 8, style: 'lm-eval', n: 1319, headline: 'exact_match,strict', metrics: { 'exact_match,strict': gsm8k }, stderr: {} },
    ],
    benchmarks: [
      { benchmark: 'gsm8k', headline: 'exact_match,strict', value: gsm8k, stderr: 0, n: 1319, tasks: ['gsm8k_cot'] },
      { benchmark: 'mmlu', headline: 'acc', value: mmlu, stderr: 0.01, n: 135, tasks: ['mmlu_anatomy'] },
    ],
    wallSeconds: 1,
  };
}

test('the table has the report\'s row order, shot counts and one column per model, ×100', () => {
  const t = buildTable([results('small', 1e8, 0.25, 0.015), results('big', 1e9, 0.6875, 0.5)]);
  const md = toMarkdown(t);
  assert.equal(
    md.split('\n').slice(0, 4).join('\n'),
    ['| Benchmark | Shots | small | big |', '| --- | --- | ---: | ---: |', '| MMLU | 5 | 25.0 | 68.8 |', '| GSM-8K | 8 | 1.5 | 50.0 |'].join('\n'),
  );
  assert.match(md, /- small \(100\.0M parameters, lm-eval prompts, 2026-11-29\): gsm8k: exact_match,strict, n=1319; mmlu: acc, n=135/);
  const html = toHtml(t, 'Phi <3>');
  assert.match(html, /<title>Phi &lt;3&gt;<\/title>/);
  assert.match(html, /<tr><th scope="row">MMLU<\/th><td>5<\/td><td>25\.0<\/td><td>68\.8<\/td><\/tr>/);
});

test('the plot places log error against log size', () => {
  const pts = plotPoints([results('big', 1e9, 0.9, 0), results('small', 1e7, 0.5, 0)], 'mmlu');
  assert.deepEqual(pts.map((p) => [p.label, p.parameters]), [['small', 1e7], ['big', 1e9]]);
  assert.ok(Math.abs(pts[1].error - 0.1) < 1e-12);
  const svg = plotSvg(pts, 'mmlu', 640, 420);
  // x: decades 6..10 over [70, 620] → 1e7 at 70 + 550/4 = 207.5, 1e9 at 482.5.
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(circles.map((c) => c[0]), [207.5, 482.5]);
  assert.ok(circles[0][1] < circles[1][1], 'the larger error (smaller model) is drawn higher');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.throws(() => plotPoints([results('a', 1e8, 0.5, 0)], 'hellaswag'), /no results file has the benchmark "hellaswag"/);
});

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { cwd: REPO, env: { ...process.env, PHI3_SHARED: SHARED } });

test('phi3 eval then phi3 eval report, end to end', async () => {
  const dir = tempDir();
  const out = join(dir, 'r.json');
  const { stdout } = await cli(['eval', '--tasks', 'boolq', '--limit', '2', '--shots', '0', '--out', out]);
  assert.match(stdout, /\| BoolQ \| 0 \| \d+\.\d \|/);
  const res = JSON.parse(readFileSync(out, 'utf8')) as EvalResults;
  assert.equal(res.tasks[0].n, 2);
  assert.equal(readFileSync(join(dir, 'r.items.jsonl'), 'utf8').trim().split('\n').length, 3);
  const md = join(dir, 't.md');
  await cli(['eval', 'report', out, '--md', md, '--html', join(dir, 't.html')]);
  assert.match(readFileSync(md, 'utf8'), /^\| Benchmark \| Shots \| phi3 tiny/);
  assert.match(readFileSync(join(dir, 't.html'), 'utf8'), /<th scope="row">BoolQ<\/th>/);
});

test('bad input gets one clear line, not a stack trace', async () => {
  const bad = join(tempDir(), 'bad.json');
  writeFileSync(bad, '{"not": "results"}');
  await assert.rejects(cli(['eval', 'report', bad]), (e: { stderr: string }) => /phi3: .*bad\.json: not a phi3 eval results file/.test(e.stderr) && !/\n\s+at /.test(e.stderr));
  await assert.rejects(cli(['eval', '--tasks', 'nonsense', '--out', join(tempDir(), 'x.json')]), (e: { stderr: string }) => /phi3: unknown task "nonsense"/.test(e.stderr));
  await assert.rejects(cli(['eval', '--tasks', 'mmlu', '--data', '/nonexistent']), (e: { stderr: string }) => /--data \/nonexistent does not exist/.test(e.stderr));
  await assert.rejects(cli(['eval']), (e: { stderr: string }) => /phi3: give --tasks/.test(e.stderr));
});
