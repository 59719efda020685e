// `npm run bench`: our engine against llama.cpp (node-llama-cpp) on the same phi-3-mini-shaped random
// models, same threads, same prompt. Builds bench/models/phi-3-mini-{q4_0,q4_k_m}.gguf with `phi3 init`
// if absent. Each round launches one fresh process per engine (`phi3 bench --json`, bench/llama.ts),
// alternating which goes first so that drift in machine load hits both alike; figures are medians over
// rounds (each itself a median over --repeats). Prints ours/llama.cpp ratios for prefill, decode and
// peak memory, and writes bench/results/<stamp>.json (figures, runs, machine, command) and .svg (chart).
//
//   npm run bench -- [--threads 2] [--prompt-tokens 128] [--gen-tokens 64] [--repeats 3] [--rounds 3]
//                    [--models q4_0,q4_k_m]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, totalmem, release, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, type BenchResult } from '../src/cli/bench.js';
import { chart } from './chart.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    'prompt-tokens': { type: 'string', default: '128' },
    'gen-tokens': { type: 'string', default: '64' },
    repeats: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    models: { type: 'string', default: 'q4_0,q4_k_m' },
  },
});
const common = ['--threads', values.threads!, '--prompt-tokens', values['prompt-tokens']!, '--gen-tokens', values['gen-tokens']!, '--repeats', values.repeats!];
const tsx = ['--import', 'tsx'];

function node(args: string[]): BenchResult {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as BenchResult;
}

function ensureModel(type: string): string {
  const path = join(ROOT, 'bench/models', `phi-3-mini-${type}.gguf`);
  // another `phi3 init` writing this file right now (it renames <path>.partial-<pid> at the end): wait
  const writing = () => readdirSync(dirname(path)).some((f) => f.startsWith(`phi-3-mini-${type}.gguf.partial-`));
  if (!existsSync(path) && existsSync(dirname(path)) && writing()) {
    console.error(`waiting for ${path} (being written by another phi3 init)…`);
    while (!existsSync(path) && writing()) execFileSync('sleep', ['5']);
  }
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    console.error(`building ${path} (phi3 init, a few minutes)…`);
    execFileSync(process.execPath, [...tsx, 'src/cli/main.ts', 'init', '--preset', 'phi-3-mini-4k', '--random', '--seed', '1', '--type', type, path], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
  return path;
}

interface ModelReport {
  model: string;
  file: string;
  ours: Summary;
  llama: Summary;
  ratio: { prefill: number; decode: number; peak_rss: number; load: number };
  rounds: { ours: BenchResult[]; llama: BenchResult[] };
}
interface Summary {
  prefill_tok_s: number;
  decode_tok_s: number;
  peak_rss_mb: number;
  load_s: number;
  backend: string;
}

function summarize(rs: BenchResult[]): Summary {
  return {
    prefill_tok_s: median(rs.map((r) => r.prefill_tok_s)),
    decode_tok_s: median(rs.map((r) => r.decode_tok_s)),
    peak_rss_mb: median(rs.map((r) => r.peak_rss_mb)),
    load_s: median(rs.map((r) => r.load_s)),
    backend: rs[0].backend,
  };
}

const started = new Date();
const loadBefore = loadavg();
const reports: ModelReport[] = [];
for (const type of values.models!.split(',')) {
  const file = ensureModel(type);
  const ours: BenchResult[] = [];
  const llama: BenchResult[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    const runOurs = () => ours.push(node([...tsx, 'src/cli/main.ts', 'bench', '--model', file, ...common, '--json']));
    const runLlama = () => llama.push(node([...tsx, 'bench/llama.ts', '--model', file, ...common]));
    if (round % 2 === 0) {
      runOurs();
      runLlama();
    } else {
      runLlama();
      runOurs();
    }
    const o = ours[ours.length - 1];
    const l = llama[llama.length - 1];
    console.error(
      `${type} round ${round + 1}: ours prefill ${o.prefill_tok_s.toFixed(2)} decode ${o.decode_tok_s.toFixed(2)} | llama.cpp prefill ${l.prefill_tok_s.toFixed(2)} decode ${l.decode_tok_s.toFixed(2)} tok/s`,
    );
  }
  const so = summarize(ours);
  const sl = summarize(llama);
  reports.push({
    model: `phi-3-mini-4k ${type.toUpperCase()} (random weights)`,
    file,
    ours: so,
    llama: sl,
    ratio: {
      prefill: so.prefill_tok_s / sl.prefill_tok_s,
      decode: so.decode_tok_s / sl.decode_tok_s,
      peak_rss: so.peak_rss_mb / sl.peak_rss_mb,
      load: so.load_s / sl.load_s,
    },
    rounds: { ours, llama },
  });
}

const machine = {
  hostname: hostname(),
  platform: `${platform()} ${release()}`,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memory_gib: +(totalmem() / 2 ** 30).toFixed(1),
  free_memory_gib_at_end: +(freemem() / 2 ** 30).toFixed(1),
  node: process.version,
  load_average_before: loadBefore,
  load_average_after: loadavg(),
};
const result = {
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  settings: values,
  started: started.toISOString(),
  finished: new Date().toISOString(),
  machine,
  peer: 'node-llama-cpp 3.21.1 (bundled llama.cpp CPU build)',
  models: reports,
};
const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
writeFileSync(join(dir, `${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
writeFileSync(join(dir, `${stamp}.svg`), chart(result));

console.log(`\n${'model'.padEnd(44)} ${'prefill tok/s (ours/llama)'.padEnd(30)} ${'decode tok/s (ours/llama)'.padEnd(30)} peak MiB (ours/llama)`);
for (const r of reports) {
  const f = (a: number, b: number, ratio: number) => `${a.toFixed(2)} / ${b.toFixed(2)} = ${ratio.toFixed(2)}×`.padEnd(30);
  console.log(
    `${r.model.padEnd(44)} ${f(r.ours.prefill_tok_s, r.llama.prefill_tok_s, r.ratio.prefill)} ${f(r.ours.decode_tok_s, r.llama.decode_tok_s, r.ratio.decode)} ${r.ours.peak_rss_mb.toFixed(0)} / ${r.llama.peak_rss_mb.toFixed(0)} = ${r.ratio.peak_rss.toFixed(2)}×`,
  );
}
console.log(`load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} → ${machine.load_average_after.map((x) => x.toFixed(1)).join(' ')} on ${machine.cores} cores`);
console.log(`wrote bench/results/${stamp}.json and .svg`);
