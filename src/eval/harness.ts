// The evaluation loop: load each task's instances, skip the ones already in the JSON-lines file
// (--resume), run the rest on the model in file order (so a task's shared few-shot prefix stays in the
// KV cache), score them, append one JSON line per item as soon as it is done, and aggregate per task and
// per benchmark (micro-average, as lm-eval's weight_by_size groups). Progress goes to a callback (the
// CLI draws a bar with ETA). Tested in test/eval-harness.test.ts on the tiny model.
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { Phi3Error } from '../errors.js';
import type { JudgeClient } from './judge.js';
import type { EvalModel } from './lm.js';
import { meanStderr, scoreMultipleChoice } from './metrics.js';
import { probeSandbox, runPython, type SandboxOptions } from './sandbox.js';
import type { Instance, ItemResult, PromptStyle, Task, TaskResult } from './types.js';

export interface RunOptions {
  dataDir: string;
  /** Overrides every task's default (the report's) shot count. */
  shots?: number;
  style?: PromptStyle;
  /** At most this many items per task (the first ones, in file order). */
  limit?: number;
  /** Per-item results (JSON lines). */
  itemsPath: string;
  /** Keep items already in itemsPath; otherwise an existing file is an error unless `overwrite`. */
  resume?: boolean;
  overwrite?: boolean;
  /** Caps every generation (quick smoke runs; lowers scores of CoT tasks when too small). */
  maxGenTokens?: number;
  judge?: JudgeClient;
  sandbox?: SandboxOptions;
  onProgress?: (done: number, total: number, task: string) => void;
}

export interface BenchmarkResult {
  benchmark: string;
  headline: string;
  value: number;
  stderr: number;
  n: number;
  tasks: string[];
}

export interface EvalResults {
  model: { name: string; parameters: number };
  date: string;
  style: PromptStyle;
  limit: number | null;
  tasks: TaskResult[];
  benchmarks: BenchmarkResult[];
  wallSeconds: number;
}

interface Header {
  type: 'header';
  model: string;
  style: PromptStyle;
  shots: Record<string, number>;
}

interface Planned {
  task: Task;
  shots: number;
  style: PromptStyle;
  items: Instance[];
}

function readItems(path: string): { header?: Header; items: ItemResult[] } {
  const items: ItemResult[] = [];
  let header: Header | undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: (ItemResult & { type?: string }) | Header;
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      // A line cut short by an interrupted run is dropped (its item runs again); anything else is damage.
      if (i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === '')) return;
      throw new Phi3Error(`${path}: line ${i + 1} is not JSON; the results file is damaged`);
    }
    if (rec.type === 'header') header = rec as Header;
    else items.push(rec as ItemResult);
  });
  return { header, items };
}

async function runItem(inst: Instance, task: string, model: EvalModel, o: RunOptions): Promise<ItemResult> {
  const cap = (n: number) => Math.min(n, o.maxGenTokens ?? n);
  switch (inst.kind) {
    case 'mc': {
      const res = model.loglikelihood(inst.requests);
      const lls = res.map((r) => r.ll);
      return { task, id: inst.id, metrics: scoreMultipleChoice(lls, inst.gold, inst.choiceTexts, inst.truth), detail: { lls, greedy: res.map((r) => r.greedy), gold: inst.gold } };
    }
    case 'gen': {
      const output = await model.generateUntil(inst.prompt, inst.until, cap(inst.maxTokens));
      const s = inst.score(output);
      return { task, id: inst.id, metrics: s.metrics, detail: { output, extracted: s.extracted } };
    }
    case 'code': {
      const completion = await model.generateUntil(inst.prompt, inst.until, cap(inst.maxTokens));
      const r = await runPython(inst.program(completion), o.sandbox);
      return { task, id: inst.id, metrics: { 'pass@1': r.status === 'passed' ? 1 : 0 }, detail: { completion, status: r.status, error: r.detail } };
    }
    case 'judged': {
      const judge = o.judge!;
      const answers: string[] = [];
      const messages: { role: 'user' | 'assistant'; content: string }[] = [];
      for (const turn of inst.turns) {
        messages.push({ role: 'user', content: turn });
        const a = await model.chat(messages, { temperature: inst.temperature, maxTokens: cap(inst.maxTokens), seed: 0 });
        answers.push(a);
        messages.push({ role: 'assistant', content: a });
      }
      const metrics: Record<string, number> = {};
      const missing: string[] = [];
      const verdicts: unknown[] = [];
      const scores: number[] = [];
      for (let t = 0; t < inst.metricNames.length; t++) {
        const m = inst.judgeMessages(answers, t);
        if (!m) continue;
        const v = await judge.verdict(m.system, m.user, inst.parseVerdict);
        verdicts.push(v);
        if (v.score === null) missing.push(inst.metricNames[t]);
        else {
          metrics[inst.metricNames[t]] = v.score;
          scores.push(v.score);
        }
      }
      if (missing.length === 0) {
        if (inst.metricNames.length > 1) metrics.score = scores.reduce((a, b) => a + b, 0) / scores.length;
        Object.assign(metrics, inst.derive?.(scores) ?? {});
      } else missing.push(...(inst.metricNames.length > 1 ? ['score'] : []));
      return { task, id: inst.id, metrics, ...(missing.length ? { missing } : {}), detail: { category: inst.category, answers, verdicts } };
    }
  }
}

export function aggregateTask(task: Task, shots: number, style: PromptStyle, items: ItemResult[]): TaskResult {
  const names = new Set<string>();
  for (const it of items) Object.keys(it.metrics).forEach((k) => names.add(k));
  const metrics: Record<string, number> = {};
  const stderr: Record<string, number> = {};
  for (const k of names) {
    const ms = meanStderr(items.filter((it) => k in it.metrics).map((it) => it.metrics[k]));
    metrics[k] = ms.mean;
    stderr[k] = ms.stderr;
  }
  const missing: Record<string, number> = {};
  for (const it of items) for (const m of it.missing ?? []) missing[m] = (missing[m] ?? 0) + 1;
  // MT-bench's headline is the mean over all judged turns, not over items with both turns.
  if (task.benchmark === 'mt_bench') {
    const turns = items.flatMap((it) => ['turn1', 'turn2'].filter((k) => k in it.metrics).map((k) => it.metrics[k]));
    const ms = meanStderr(turns);
    metrics.score = ms.mean;
    stderr.score = ms.stderr;
  }
  return { task: task.name, benchmark: task.benchmark, shots, style, n: items.length, headline: task.headline, metrics, stderr, ...(Object.keys(missing).length ? { missing } : {}) };
}

/** Micro-average of the headline over a benchmark's tasks (weighted by items). */
export function aggregateBenchmarks(tasks: TaskResult[]): BenchmarkResult[] {
  const by = new Map<string, TaskResult[]>();
  for (const t of tasks) by.set(t.benchmark, [...(by.get(t.benchmark) ?? []), t]);
  return [...by.entries()].map(([benchmark, ts]) => {
    const headline = ts[0].headline;
    const usable = ts.filter((t) => Number.isFinite(t.metrics[headline]));
    const n = usable.reduce((a, t) => a + t.n, 0);
    const value = usable.reduce((a, t) => a + t.metrics[headline] * t.n, 0) / n;
    const se = Math.sqrt(usable.reduce((a, t) => a + (t.n * (t.stderr[headline] || 0)) ** 2, 0)) / n;
    return { benchmark, headline, value, stderr: se, n, tasks: ts.map((t) => t.task) };
  });
}

export async function runEval(tasks: Task[], model: EvalModel, o: RunOptions): Promise<EvalResults> {
  const t0 = performance.now();
  const style = o.style ?? 'lm-eval';
  // Load everything first, so a missing file or a missing judge / python fails before hours of work.
  const plan: Planned[] = tasks.map((task) => {
    const shots = o.shots ?? task.defaultShots;
    const s = task.styles.includes(style) ? style : task.styles[0];
    let items = task.load({ dataDir: o.dataDir, shots, style: s });
    if (o.limit !== undefined) items = items.slice(0, o.limit);
    return { task, shots, style: s, items };
  });
  if (plan.some((p) => p.items.some((i) => i.kind === 'judged')) && !o.judge)
    throw new Phi3Error(`${plan.filter((p) => p.items[0]?.kind === 'judged').map((p) => p.task.name).join(', ')} need an LLM judge: pass --judge-url (an OpenAI-compatible endpoint) and --judge-model`);
  if (plan.some((p) => p.items.some((i) => i.kind === 'code'))) probeSandbox(o.sandbox?.python);

  const header: Header = { type: 'header', model: model.name, style, shots: Object.fromEntries(plan.map((p) => [p.task.name, p.shots])) };
  const done = new Map<string, ItemResult>();
  if (existsSync(o.itemsPath) && readFileSync(o.itemsPath, 'utf8').trim() !== '') {
    if (o.resume) {
      // An interrupted run can leave half a line: cut it, so appended lines start on a line of their own.
      const text = readFileSync(o.itemsPath, 'utf8');
      if (!text.endsWith('\n')) truncateSync(o.itemsPath, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
      const prev = readItems(o.itemsPath);
      if (prev.header && (prev.header.model !== header.model || prev.header.style !== header.style))
        throw new Phi3Error(`${o.itemsPath} holds results of model "${prev.header.model}" (${prev.header.style} style); cannot resume it with "${header.model}" (${style})`);
      for (const p of plan) {
        const before = prev.header?.shots[p.task.name];
        if (before !== undefined && before !== p.shots) throw new Phi3Error(`${o.itemsPath}: ${p.task.name} ran with ${before} shots before, ${p.shots} now; cannot resume`);
      }
      for (const it of prev.items) done.set(`${it.task}\u0000${it.id}`, it);
      appendFileSync(o.itemsPath, JSON.stringify(header) + '\n');
    } else if (!o.overwrite) throw new Phi3Error(`${o.itemsPath} exists: pass --resume to continue it or --overwrite to start again`);
    else writeFileSync(o.itemsPath, JSON.stringify(header) + '\n');
  } else writeFileSync(o.itemsPath, JSON.stringify(header) + '\n');

  const total = plan.reduce((a, p) => a + p.items.filter((i) => !done.has(`${p.task.name}\u0000${i.id}`)).length, 0);
  let count = 0;
  o.onProgress?.(0, total, plan[0]?.task.name ?? '');
  const results: TaskResult[] = [];
  for (const p of plan) {
    const items: ItemResult[] = [];
    for (const inst of p.items) {
      const key = `${p.task.name}\u0000${inst.id}`;
      const prev = done.get(key);
      if (prev) {
        items.push(prev);
        continue;
      }
      const r = await runItem(inst, p.task.name, model, o);
      appendFileSync(o.itemsPath, JSON.stringify(r) + '\n');
      items.push(r);
      o.onProgress?.(++count, total, p.task.name);
      // Let the progress bar's timer and signals run between items.
      await new Promise<void>((res) => setImmediate(res));
    }
    results.push(aggregateTask(p.task, p.shots, p.style, items));
  }
  return {
    model: { name: model.name, parameters: model.parameters },
    date: new Date().toISOString(),
    style,
    limit: o.limit ?? null,
    tasks: results,
    benchmarks: aggregateBenchmarks(results),
    wallSeconds: (performance.now() - t0) / 1000,
  };
}
