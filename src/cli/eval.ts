// `phi3 eval`: the Phi-3 report's benchmark harness (lm-evaluation-harness conventions) on a local
// model, and `phi3 eval report` to render results as the report's table and Figure 2 style plot.
// Thin layer over src/eval (harness.ts, report.ts, plot.ts); tested in test/eval-cli.test.ts.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { Phi3Error } from '../errors.js';
import { runEval } from '../eval/harness.js';
import { JudgeClient } from '../eval/judge.js';
import { Phi3EvalModel } from '../eval/lm.js';
import { plotPoints, plotSvg } from '../eval/plot.js';
import { buildTable, readResults, toHtml, toMarkdown } from '../eval/report.js';
import { allTasks, resolveTasks } from '../eval/tasks/index.js';
import { addModelOptions, floatArg, intArg, openModel, type ModelCliOptions } from './common.js';

/** ../shared/datasets beside the checkout, when it exists (the project's layout). */
function defaultDataDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const shared = process.env.PHI3_SHARED ?? resolve(here, '../../../shared');
  const d = join(shared, 'datasets');
  return existsSync(d) ? d : undefined;
}

interface EvalCliOptions extends ModelCliOptions {
  tasks?: string;
  shots?: number;
  limit?: number;
  data?: string;
  out: string;
  items?: string;
  resume?: boolean;
  overwrite?: boolean;
  style: 'lm-eval' | 'phi3';
  maxGenTokens?: number;
  judgeUrl?: string;
  judgeModel: string;
  judgeKey?: string;
  judgeAttempts: number;
  codeTimeout: number;
  codeMemory: number;
  python: string;
  listTasks?: boolean;
}

function reportCommand(): Command {
  return new Command('report')
    .description('render results files as the report-style table (Markdown + HTML) and the log-error vs log-size plot (SVG)')
    .argument('<results...>', 'results JSON files written by `phi3 eval --out` (one column per file)')
    .option('--md <path>', 'write the Markdown table here (default: print it)')
    .option('--html <path>', 'write a standalone HTML page with the table')
    .option('--svg <path>', 'write the Figure 2 style plot (log error vs log model size) as SVG')
    .option('--plot-benchmark <name>', 'benchmark whose error is plotted', 'mmlu')
    .option('--title <text>', 'title of the HTML page', 'phi3 eval')
    .action((files: string[], o: { md?: string; html?: string; svg?: string; plotBenchmark: string; title: string }) => {
      const results = files.map(readResults);
      const table = buildTable(results);
      const md = toMarkdown(table);
      if (o.md) writeFileSync(o.md, md);
      else process.stdout.write(md);
      if (o.html) writeFileSync(o.html, toHtml(table, o.title));
      if (o.svg) writeFileSync(o.svg, plotSvg(plotPoints(results, o.plotBenchmark), o.plotBenchmark));
    });
}

export function evalCommand(): Command {
  const cmd = addModelOptions(
    new Command('eval')
      .description('evaluate a model on the Phi-3 report benchmarks, few-shot at temperature 0, scored as lm-evaluation-harness does')
      .option('--tasks <list>', 'comma list of benchmarks or tasks (mmlu, hellaswag, gsm8k, medqa, agieval, triviaqa, arc_challenge, arc_easy, piqa, social_iqa, bbh, winogrande, openbookqa, boolq, commonsense_qa, truthfulqa, truthfulqa_mc1, humaneval, mbpp, gpqa, mt_bench, safety, ungroundedness; all; all-judged)')
      .option('--shots <k>', 'few-shot examples for every task (default: the report\'s count per benchmark)', intArg(0))
      .option('--limit <n>', 'evaluate only the first n items of each task', intArg(1))
      .option('--data <dir>', 'folder with the benchmark files in their published layout (default: ../shared/datasets)')
      .option('-o, --out <path>', 'results JSON (aggregates); per-item JSON lines go to <out>.items.jsonl', 'results.json')
      .option('--items <path>', 'per-item JSON lines file (default: <out>.items.jsonl)')
      .option('--resume', 'keep the items already in the JSON lines file and run only the rest')
      .option('--overwrite', 'start again even if the JSON lines file exists')
      .addOption(new Option('--style <style>', 'multiple-choice prompt layout: lm-eval (the harness\'s templates) or phi3 (the report\'s Appendix A "Question:/Options:/Answer:")').choices(['lm-eval', 'phi3']).default('lm-eval'))
      .option('--max-gen-tokens <n>', 'cap every generation (quick smoke runs; CoT scores drop if too small)', intArg(1))
      .option('--judge-url <url>', 'OpenAI-compatible endpoint for MT-bench / safety (e.g. http://127.0.0.1:8080/v1)')
      .option('--judge-model <name>', 'judge model name sent to the endpoint', 'gpt-4')
      .option('--judge-key <key>', 'API key for the judge (default: $OPENAI_API_KEY)')
      .option('--judge-attempts <n>', 'attempts per verdict before it is recorded as missing', intArg(1), 4)
      .option('--code-timeout <s>', 'seconds each HumanEval/MBPP program may run', floatArg(0.1), 10)
      .option('--code-memory <MiB>', 'address-space limit of each program', intArg(64), 1024)
      .option('--python <path>', 'Python interpreter for HumanEval/MBPP', 'python3')
      .option('--list-tasks', 'list every task with its benchmark, default shots, metric and data source, then exit'),
  );
  cmd.addCommand(reportCommand());
  cmd.action(async (o: EvalCliOptions) => {
    const data = o.data ?? defaultDataDir();
    if (!data) throw new Phi3Error('no --data folder given and ../shared/datasets does not exist');
    if (!existsSync(data)) throw new Phi3Error(`--data ${data} does not exist`);
    if (o.listTasks) {
      for (const t of allTasks(data)) console.log(`${t.name.padEnd(44)} ${t.benchmark.padEnd(16)} ${String(t.defaultShots).padStart(2)}-shot  ${t.headline.padEnd(22)} ${t.source}`);
      return;
    }
    if (!o.tasks) throw new Phi3Error('give --tasks, e.g. --tasks mmlu,hellaswag (or all); --list-tasks lists every task');
    const tasks = resolveTasks(o.tasks, data);
    const judgeKey = o.judgeKey ?? process.env.OPENAI_API_KEY;
    const judge = o.judgeUrl ? new JudgeClient({ baseUrl: o.judgeUrl, model: o.judgeModel, apiKey: judgeKey, attempts: o.judgeAttempts }) : undefined;
    const model = new Phi3EvalModel(await openModel(o));
    const itemsPath = o.items ?? o.out.replace(/\.json$/, '') + '.items.jsonl';
    const tty = process.stderr.isTTY;
    const bar = tty
      ? new cliProgress.SingleBar({ format: 'eval {bar} {value}/{total} items | {task} | {duration_formatted} elapsed, ETA {eta_formatted}', stream: process.stderr, etaBuffer: 200, fps: 2 }, cliProgress.Presets.shades_classic)
      : undefined;
    let lastLog = 0;
    const t0 = Date.now();
    const results = await runEval(tasks, model, {
      dataDir: data,
      shots: o.shots,
      style: o.style,
      limit: o.limit,
      itemsPath,
      resume: o.resume,
      overwrite: o.overwrite,
      maxGenTokens: o.maxGenTokens,
      judge,
      sandbox: { timeoutS: o.codeTimeout, memoryMiB: o.codeMemory, python: o.python },
      onProgress: (done, total, task) => {
        if (bar) {
          if (done === 0) bar.start(total, 0, { task });
          else bar.update(done, { task });
        } else if (Date.now() - lastLog > 30_000 || done === total) {
          lastLog = Date.now();
          const s = (Date.now() - t0) / 1000;
          const eta = done > 0 ? ((total - done) * s) / done : NaN;
          console.error(`eval: ${done}/${total} items (${task}), ${s.toFixed(0)} s elapsed${Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)} s` : ''}`);
        }
      },
    }).finally(() => bar?.stop());
    writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(toMarkdown(buildTable([results])));
    const cpu = process.cpuUsage();
    console.error(`wrote ${o.out} and ${itemsPath} (${results.wallSeconds.toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, ${model.tokensEvaluated} tokens evaluated)`);
  });
  return cmd;
}
