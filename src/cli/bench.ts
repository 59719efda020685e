// `phi3 bench`: load time, prefill and decode speed and peak memory of one model on this machine, as
// llama-bench measures them: a prompt of --prompt-tokens random ids is evaluated in one batch (prefill
// tok/s), then --gen-tokens tokens are decoded one at a time, greedily (decode tok/s). Each repeat uses
// a fresh KV cache; the printed figures are medians over repeats. bench/run.ts runs this beside
// node-llama-cpp on the same file (npm run bench).
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { Rng } from '../generate/sampler.js';
import { Phi3Error } from '../errors.js';
import { addModelOptions, intArg, openModel, type ModelCliOptions } from './common.js';

export interface BenchResult {
  prefill_tok_s: number;
  decode_tok_s: number;
  peak_rss_mb: number;
  load_s: number;
  backend: string;
  threads: number;
  prompt_tokens: number;
  gen_tokens: number;
  repeats: number;
  prefill_runs_tok_s: number[];
  decode_runs_tok_s: number[];
  /** wasm backend: how many WebAssembly memories (≤ 4 GiB each) hold the weights and caches. */
  wasm_memories?: number;
  /** With --profile (wasm backend): per-op milliseconds of the last repeat, prefill and decode apart. */
  profile?: { prefill: ProfileRow[]; decode: ProfileRow[] };
}

export interface ProfileRow {
  op: string;
  calls: number;
  ms: number;
  /** Share of the phase's wall time. */
  share: number;
  /** Weight bytes read per second (matmul rows only). */
  gb_s?: number;
}

type Profiled = { profile?: Map<string, { calls: number; ms: number; bytes: number }> };

function profileRows(p: Map<string, { calls: number; ms: number; bytes: number }>, wallMs: number): ProfileRow[] {
  const rows: ProfileRow[] = [...p].map(([op, v]) => ({
    op,
    calls: v.calls,
    ms: v.ms,
    share: v.ms / wallMs,
    ...(v.bytes ? { gb_s: v.bytes / v.ms / 1e6 } : {}),
  }));
  const inOps = rows.reduce((a, r) => a + r.ms, 0);
  rows.push({ op: 'other (embedding, residual adds, KV copies, JS)', calls: 0, ms: wallMs - inOps, share: (wallMs - inOps) / wallMs });
  return rows.sort((a, b) => b.ms - a.ms);
}

interface BenchOptions extends ModelCliOptions {
  promptTokens: number;
  genTokens: number;
  repeats: number;
  json?: boolean;
  profile?: boolean;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function argmax(row: Float32Array): number {
  let b = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[b]) b = i;
  return b;
}

export async function runBench(o: BenchOptions, onStep?: (done: number, total: number) => void): Promise<BenchResult> {
  const t0 = performance.now();
  const model = await openModel(o);
  const loadS = (performance.now() - t0) / 1000;
  const vocab = model.config.vocabSize;
  if (o.promptTokens + o.genTokens > model.model.contextSize)
    throw new Phi3Error(`--prompt-tokens + --gen-tokens = ${o.promptTokens + o.genTokens} exceeds the context size ${model.model.contextSize}`);
  const rng = new Rng(42);
  // ids from the ordinary-word range of the vocabulary (not control tokens), fixed across runs
  const prompt = Array.from({ length: o.promptTokens }, () => 100 + Math.floor(rng.next() * Math.min(vocab - 100, 30000)));
  const prefill: number[] = [];
  const decode: number[] = [];
  const total = o.repeats + 1;
  const be = (model.model as unknown as { backend: Profiled }).backend;
  if (o.profile && !('profile' in be)) throw new Phi3Error('--profile needs the wasm backend');
  let profile: BenchResult['profile'];
  for (let r = 0; r < total; r++) {
    const cache = model.model.newCache();
    if (o.profile) be.profile = new Map();
    const a = performance.now();
    // forwardAsync: on the WebGPU backend each call runs its recorded work and reads the logits back
    let logits = await model.model.forwardAsync(prompt, cache);
    const b = performance.now();
    const pre = be.profile;
    if (o.profile) be.profile = new Map();
    for (let i = 0; i < o.genTokens; i++) logits = await model.model.forwardAsync([argmax(logits)], cache);
    const c = performance.now();
    if (o.profile) {
      profile = { prefill: profileRows(pre!, b - a), decode: profileRows(be.profile!, c - b) };
      be.profile = undefined;
    }
    // the first run warms caches and kernels up; it is not counted (llama-bench does the same)
    if (r > 0) {
      prefill.push((o.promptTokens * 1000) / (b - a));
      decode.push((o.genTokens * 1000) / (c - b));
    }
    onStep?.(r + 1, total);
  }
  const backend = (model.model as unknown as { backend: { name: string; threads?: number; shards?: unknown[] } }).backend;
  return {
    prefill_tok_s: median(prefill),
    decode_tok_s: median(decode),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    load_s: loadS,
    backend: backend.name,
    threads: backend.threads ?? 1,
    prompt_tokens: o.promptTokens,
    gen_tokens: o.genTokens,
    repeats: o.repeats,
    prefill_runs_tok_s: prefill,
    decode_runs_tok_s: decode,
    ...(backend.shards ? { wasm_memories: backend.shards.length } : {}),
    ...(profile ? { profile } : {}),
  };
}

export function benchCommand(): Command {
  return addModelOptions(
    new Command('bench')
      .description('measure load time, prefill and decode tokens/s and peak memory (medians over repeats)')
      .option('--prompt-tokens <n>', 'prompt length evaluated in one batch', intArg(1), 128)
      .option('--gen-tokens <n>', 'tokens decoded one by one after the prompt', intArg(1), 64)
      .option('-r, --repeats <n>', 'measured repeats (after one warm-up run)', intArg(1), 3)
      .option('--json', 'print {"prefill_tok_s","decode_tok_s","peak_rss_mb","load_s",...} only')
      .option('--profile', 'time every kernel (wasm backend) and print where prefill and decode spend their time'),
  ).action(async (o: BenchOptions) => {
    const bar = process.stderr.isTTY && !o.json
      ? new cliProgress.SingleBar({ format: 'bench {bar} {value}/{total} runs', clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
    bar?.start(o.repeats + 1, 0);
    const r = await runBench(o, (d) => bar?.update(d));
    bar?.stop();
    if (o.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    console.log(`backend      ${r.backend} (${r.threads} threads)`);
    console.log(`load         ${r.load_s.toFixed(2)} s`);
    console.log(`prefill      ${r.prefill_tok_s.toFixed(2)} tok/s  (${r.prompt_tokens} tokens, median of ${r.repeats})`);
    console.log(`decode       ${r.decode_tok_s.toFixed(2)} tok/s  (${r.gen_tokens} tokens, median of ${r.repeats})`);
    console.log(`peak RSS     ${r.peak_rss_mb.toFixed(0)} MiB`);
    if (r.wasm_memories) console.log(`memories     ${r.wasm_memories} WebAssembly memories`);
    for (const phase of ['prefill', 'decode'] as const) {
      if (!r.profile) break;
      console.log(`\n${phase} profile (last repeat)`);
      for (const p of r.profile[phase])
        console.log(`  ${p.op.padEnd(48)} ${p.ms.toFixed(1).padStart(9)} ms ${(100 * p.share).toFixed(1).padStart(5)} %${p.calls ? `  ${String(p.calls).padStart(6)} calls` : ''}${p.gb_s ? `  ${p.gb_s.toFixed(2)} GB/s` : ''}`);
    }
  });
}
