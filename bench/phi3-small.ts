// Phi-3-small measurements. No other engine runs Phi-3-small (llama.cpp has no such architecture, see
// FACTS.md §5), so the peer is our own dense attention, measured in the same run:
//  1. attention cost at long context: one decode step at the last position of the 8k model's context
//     (32 query / 8 kv heads, head dim 128) through the blocksparse kernel vs dense causal attention —
//     the ratio is what the layout saves (it should approach the fraction of blocks visited);
//  2. with --model FILE (e.g. `phi3 init --preset phi-3-small-8k --random --type q4_0`): load time, resident
//     memory, prefill and decode tokens/s on the chosen backend (--backend ref|wasm).
// Usage: node --import tsx bench/phi3-small.ts [--model FILE] [--backend wasm] [--tokens N] [--prompt N]
import { parseArgs } from 'node:util';
import { refBackend } from '../src/backend/ref/index.js';
import type { Backend } from '../src/backend/backend.js';
import { buildLayout, keyBlocks } from '../src/model/blocksparse.js';
import { smallPresetConfig } from '../src/model/random-small.js';
import { NormalRng } from '../src/model/random.js';
import { loadModel } from '../src/phi3.js';

const { values: a } = parseArgs({ options: { model: { type: 'string' }, backend: { type: 'string', default: 'ref' }, tokens: { type: 'string', default: '8' }, prompt: { type: 'string', default: '16' } } });

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
const dense = time(() => refBackend.attention(out, q, q.length, kv, shape));
const sparse = time(() => refBackend.blocksparseAttention!(out, q, q.length, kv, shape, layout));
let visited = 0;
for (let h = 0; h < c.numHeads; h++) visited += keyBlocks(layout, h, layout.numBlocks - 1).length;
const frac = visited / (c.numHeads * layout.numBlocks);
console.log(`attention, one decode step at position ${n - 1} (phi-3-small-8k shape, ref kernels, median of 7):`);
console.log(`  dense ${dense.toFixed(1)} ms, blocksparse ${sparse.toFixed(1)} ms: ratio ${(dense / sparse).toFixed(2)}× (blocks visited: ${(100 * frac).toFixed(1)}% → ideal ${(1 / frac).toFixed(2)}×)`);

// --- 2. a model file ---
if (a.model) {
  let backend: Backend = refBackend;
  if (a.backend === 'wasm') backend = (await import('../src/backend/wasm/index.js')).createWasmBackend();
  const rss0 = process.memoryUsage().rss;
  let t0 = performance.now();
  const m = await loadModel(a.model, { backend });
  const loadS = (performance.now() - t0) / 1000;
  const info = m.info();
  const prompt = Array.from({ length: Number(a.prompt) }, (_, i) => 1000 + 37 * i);
  const cache = m.model.newCache();
  t0 = performance.now();
  let row = m.model.forward(prompt, cache);
  const prefillS = (performance.now() - t0) / 1000;
  const steps: number[] = [];
  for (let s = 0; s < Number(a.tokens); s++) {
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    t0 = performance.now();
    row = m.model.forward([best], cache);
    steps.push(performance.now() - t0);
  }
  const rss = process.memoryUsage().rss;
  console.log(`${a.model}: ${info.architecture}, ${(info.parameters / 1e9).toFixed(3)} B parameters, ${Object.entries(info.tensorTypes).map(([t, k]) => `${t}×${k}`).join(' ')}`);
  console.log(`  backend ${backend.name}: load ${loadS.toFixed(1)} s, weights ${(info.weightBytes / 2 ** 30).toFixed(2)} GiB, RSS ${(rss / 2 ** 30).toFixed(2)} GiB (+${((rss - rss0) / 2 ** 30).toFixed(2)})`);
  console.log(`  prefill ${prompt.length} tokens: ${(prompt.length / prefillS).toFixed(2)} tok/s; decode: median ${(1000 / median(steps)).toFixed(3)} tok/s over ${steps.length} tokens`);
  process.exit(0);
}
