// The harness end to end on the embedded tiny model (random weights: chance-level scores, the point is
// the machinery): every multiple-choice task runs with --limit; per-item JSON lines are written as
// items finish; --resume skips what is done and refuses a different setup; the few-shot prefix is
// evaluated once per task, not once per item.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runEval } from '../src/eval/harness.js';
import { Phi3EvalModel } from '../src/eval/lm.js';
import { allTasks } from '../src/eval/tasks/index.js';
import { arcEasy } from '../src/eval/tasks/arc.js';
import type { McInstance } from '../src/eval/types.js';
import { loadModel } from '../src/phi3.js';
import { REPO, SHARED, tempDir } from './helpers.js';

const DATA = join(SHARED, 'datasets');
const phi3 = await loadModel(join(REPO, 'models/phi3-tiny.gguf'));

test('every multiple-choice task runs end to end (0 shots, first item)', async () => {
  const mcTasks = allTasks(DATA).filter((t) => t.load({ dataDir: DATA, shots: 0, style: 'lm-eval' })[0]?.kind === 'mc');
  assert.ok(mcTasks.length >= 78, `${mcTasks.length} MC tasks`);
  const itemsPath = join(tempDir(), 'mc.jsonl');
  const r = await runEval(mcTasks, new Phi3EvalModel(phi3), { dataDir: DATA, shots: 0, limit: 1, itemsPath });
  assert.equal(r.tasks.length, mcTasks.length);
  for (const t of r.tasks) {
    assert.equal(t.n, 1, t.task);
    assert.ok(t.metrics.acc === 0 || t.metrics.acc === 1, t.task);
    assert.ok(Number.isFinite(t.metrics.acc_norm), t.task);
  }
  const tq = r.tasks.find((t) => t.task === 'truthfulqa_mc2')!;
  assert.ok(tq.metrics.mc2 > 0 && tq.metrics.mc2 < 1);
  const benchmarks = r.benchmarks.map((b) => b.benchmark);
  for (const b of ['mmlu', 'hellaswag', 'medqa', 'agieval', 'arc_challenge', 'arc_easy', 'piqa', 'social_iqa', 'winogrande', 'openbookqa', 'boolq', 'commonsense_qa', 'truthfulqa', 'truthfulqa_mc1'])
    assert.ok(benchmarks.includes(b), b);
  const mmlu = r.benchmarks.find((b) => b.benchmark === 'mmlu')!;
  assert.equal(mmlu.n, 57);
  assert.ok(Math.abs(mmlu.value - r.tasks.filter((t) => t.benchmark === 'mmlu').reduce((a, t) => a + t.metrics.acc, 0) / 57) < 1e-12, 'micro-average');
  const lines = readFileSync(itemsPath, 'utf8').trim().split('\n');
  assert.equal(lines.length, mcTasks.length + 1, 'a header and one line per item');
  const item = JSON.parse(lines[1]) as { task: string; detail: { lls: number[] } };
  assert.equal(item.task, mcTasks[0].name);
  assert.equal(item.detail.lls.length, 4);
});

test('the few-shot prefix is evaluated once: later items only run their own tokens', async () => {
  const model = new Phi3EvalModel(phi3);
  const items = arcEasy.load({ dataDir: DATA, shots: 10, style: 'lm-eval' }).slice(0, 3) as McInstance[];
  const contextTokens = items.map((i) => phi3.tokenizer.encode(i.requests[0].context, { parseSpecial: false }).length);
  await runEval([arcEasy], model, { dataDir: DATA, limit: 3, itemsPath: join(tempDir(), 'arc.jsonl') });
  const all = contextTokens.reduce((a, b) => a + b, 0);
  assert.ok(model.tokensEvaluated < contextTokens[0] + all / 3, `${model.tokensEvaluated} tokens run for contexts of ${contextTokens.join('+')}`);
});

test('--resume runs only the missing items and gives the same results; a changed setup is refused', async () => {
  const dir = tempDir();
  const itemsPath = join(dir, 'items.jsonl');
  const full = await runEval([arcEasy], new Phi3EvalModel(phi3), { dataDir: DATA, shots: 2, limit: 4, itemsPath });
  const lines = readFileSync(itemsPath, 'utf8').trim().split('\n');
  assert.equal(lines.length, 5);
  // Keep the header and the first item, plus half a line as an interrupted run leaves it.
  writeFileSync(itemsPath, lines.slice(0, 2).join('\n') + '\n' + lines[2].slice(0, 20));
  let ran = 0;
  const resumed = await runEval([arcEasy], new Phi3EvalModel(phi3), { dataDir: DATA, shots: 2, limit: 4, itemsPath, resume: true, onProgress: (d, total) => (ran = total) });
  assert.equal(ran, 3);
  assert.deepEqual(resumed.tasks[0].metrics, full.tasks[0].metrics);
  await assert.rejects(runEval([arcEasy], new Phi3EvalModel(phi3), { dataDir: DATA, shots: 3, limit: 4, itemsPath, resume: true }), /ran with 2 shots before, 3 now/);
  await assert.rejects(runEval([arcEasy], new Phi3EvalModel(phi3), { dataDir: DATA, shots: 2, limit: 4, itemsPath }), /exists: pass --resume to continue it or --overwrite/);
});
