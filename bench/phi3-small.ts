// Phi-3-small measurements. No other engine runs Phi-3-small (llama.cpp has no such architecture, see
// FACTS.md §5), so the peer is our own dense attention, measured in the same run:
//  1. attention cost at long context: one decode step at the last position of the 8k model's context
//     (32 query / 8 kv heads, head dim 128) through the blocksparse kernel vs dense causal attention, on
//     the reference and the WASM backend — the ratio is what the layout saves (it should approach the
//     inverse of the fraction of blocks visited);
//  2. the real 7B shape: `phi3 bench --json` in a fresh process on bench/models/phi-3-small-8k-q4_0.gguf
//     (built with `phi3 init --preset phi-3-small-8k --random --type q4_0` if absent, ~4.2 GB, a few
//     minutes) or --model FILE: load time, peak RSS, prefill and decode tokens/s.
// Writes bench/results/phi3-small-<UTC stamp>.json with the figures, the command, the machine and the
// load average before and after (other processes sharing the cores lower every figure).
//
//   node --import tsx bench/phi3-small.ts [--model FILE] [--threads 2] [--prompt-tokens 128]
//        [--gen-tokens 16] [--repeats 2] [--backend wasm|ref] [--profile] [--attention-only]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { refBackend } from '../src/backend/ref/index.js';
import { WasmBackend } from '../src/backend/wasm/index.js';
import type { Backend } from '../src/backend/backend.js';
import { buildLayout, keyBlocks } from '../src/model/blocksparse.js';
import { smallPresetConfig } from '../src/model/random-small.js';
import { NormalRng } from '../src/model/random.js';
import type { BenchResult } from '../src/cli/bench.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '2' },
    'prompt-tokens': { type: 'string', default: '128' },
    'gen-tokens': { type: 'string', default: '16' },
    repeats: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    'attention-only': { type: 'boolean', default: false },
  },
});
const threads = Number(a.threads);
const load0 = loadavg();

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

// --- 1. attention at position 8191 ---
const c = smallPresetConfig('phi-3-small-8k');
const layout = buildLayout(c, c.contextLength);
const n = c.contextLength;
const kvDim = c.numKvHeads * c.headDim;
const rng = new NormalRng(1);
const fill = (len: number) => Float32Array.from({ length: len }, () => rng.next());
const kv = { k: fill(n * kvDim), v: fill(n * kvDim) };
const q = fill(c.numHeads * c.headDim);
const out = new Float32Array(c.numHeads * c.headDim);
const shape = { nTokens: 1, startPos: n - 1, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, scale: 1 / c.headDim, window: 0 };
const time = (f: () => void) => {
  const ts: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
};
let visited = 0;
for (let h = 0; h < c.numHeads; h++) visited += keyBlocks(layout, h, layout.numBlocks - 1).length;
const frac = visited / (c.numHeads * layout.numBlocks);
const wasm = new WasmBackend({ threads });
// the cache in WASM memory, as the model allocates it, so neither kernel pays for copying it in
const inWasm = (src: Float32Array) => {
  const u = wasm.allocate!(src.byteLength);
  const f = new Float32Array(u.buffer, u.byteOffset, src.length);
  f.set(src);
  return f;
};
const wkv = { k: inWasm(kv.k), v: inWasm(kv.v) };
const attention: Record<string, { dense_ms: number; blocksparse_ms: number; ratio: number }> = {};
for (const [name, be, cache] of [['ref', refBackend, kv], [wasm.name, wasm, wkv]] as [string, Backend, typeof kv][]) {
  const dense = time(() => be.attention(out, q, q.length, cache, shape));
  const sparse = time(() => be.blocksparseAttention!(out, q, q.length, cache, shape, layout));
  attention[name] = { dense_ms: dense, blocksparse_ms: sparse, ratio: dense / sparse };
}
wasm.dispose();
console.log(`attention, one decode step at position ${n - 1} (phi-3-small-8k shape, median of 7); blocks visited ${(100 * frac).toFixed(1)}% → ideal ${(1 / frac).toFixed(2)}×:`);
for (const [name, r] of Object.entries(attention))
  console.log(`  ${name}: dense ${r.dense_ms.toFixed(2)} ms, blocksparse ${r.blocksparse_ms.toFixed(2)} ms: ratio ${r.ratio.toFixed(2)}×`);

// --- 2. the 7B model, in a fresh process ---
function ensureModel(): string {
  const path = join(ROOT, 'bench/models/phi-3-small-8k-q4_0.gguf');
  const writing = () => existsSync(dirname(path)) && readdirSync(dirname(path)).some((f) => f.startsWith('phi-3-small-8k-q4_0.gguf.partial-'));
  if (!existsSync(path) && writing()) {
    console.error(`waiting for ${path} (being written by another phi3 init)…`);
    while (!existsSync(path) && writing()) execFileSync('sleep', ['5']);
  }
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    console.error(`building ${path} (phi3 init, a few minutes)…`);
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'init', '--preset', 'phi-3-small-8k', '--random', '--seed', '1', '--type', 'q4_0', path], { cwd: ROOT, stdio: 'inherit' });
  }
  return path;
}

let model: { file: string; bytes: number; result: BenchResult } | undefined;
if (!a['attention-only']) {
  const file = a.model ? resolve(a.model) : ensureModel();
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'bench', '--model', file, '--backend', a.backend!, '--threads', a.threads!, '--prompt-tokens', a['prompt-tokens']!, '--gen-tokens', a['gen-tokens']!, '--repeats', a.repeats!, '--json'];
  if (a.profile) args.push('--profile');
  console.error(`node ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`phi3 bench failed (${r.status}):\n${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchResult;
  model = { file: relative(ROOT, file), bytes: statSync(file).size, result };
  console.log(`${file} (${(model.bytes / 1e9).toFixed(2)} GB) on ${result.backend}, ${result.threads} threads:`);
  console.log(`  load ${result.load_s.toFixed(1)} s, peak RSS ${(result.peak_rss_mb / 1024).toFixed(2)} GiB`);
  console.log(`  prefill ${result.prompt_tokens} tokens: ${result.prefill_tok_s.toFixed(2)} tok/s; decode ${result.gen_tokens} tokens: ${result.decode_tok_s.toFixed(3)} tok/s (medians of ${result.repeats})`);
}

const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*/, '');
const report = {
  command: `node --import tsx bench/phi3-small.ts ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: totalmem() / 2 ** 30, node: process.version },
  load_average: { before: load0, after: loadavg() },
  attention: { position: n - 1, blocks_visited_fraction: frac, ideal_ratio: 1 / frac, backends: attention },
  ...(model ? { model } : {}),
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const outFile = join(ROOT, 'bench/results', `phi3-small-${stamp}.json`);
writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
console.log(`wrote ${outFile}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${loadavg().map((x) => x.toFixed(2)).join(' ')} after`);
