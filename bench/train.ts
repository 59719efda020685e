// Training throughput (tokens/s of a full optimizer step: forward + backward + AdamW) of src/train on
// the embedded chat model's shape, next to llama.cpp's forward-only prefill throughput on the same shape
// measured in the same run (node-llama-cpp 3.21.1, CPU). A training step costs about three forwards,
// so train/llama ≈ 0.33 would mean our kernels match llama.cpp's; the ratio is the figure to improve.
// Medians of --reps steps. Usage: node --import tsx bench/train.ts [--reps 5] [--batch 8] [--seq 128]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromHF } from '../src/model/config.js';
import { openTokenizer } from '../src/train/data.js';
import { exportGGUF } from '../src/train/export.js';
import { crossEntropy } from '../src/train/losses.js';
import { TrainModel } from '../src/train/model.js';
import { AdamW, DEFAULT_OPTIM } from '../src/train/optim.js';
import { Phi3Params } from '../src/train/params.js';

const args = process.argv.slice(2);
const opt = (k: string, d: number) => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : d);
const reps = opt('--reps', 5), B = opt('--batch', 8), T = opt('--seq', 128);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tokDir = join(import.meta.dirname, '../runs/phi3-chat/tokenizer');
const tok = openTokenizer(tokDir);
const config = configFromHF({
  hidden_size: 128, intermediate_size: 256, num_hidden_layers: 3, num_attention_heads: 4, max_position_embeddings: 512,
  vocab_size: tok.vocab.pieces.length, eos_token_id: tok.eos,
});
const params = new Phi3Params(config).initRandom(1);
const model = new TrainModel(params);
const opt2 = new AdamW(params.views, params.count);
const grads = new Float32Array(params.count);
const tokens = Int32Array.from({ length: B * T }, (_, i) => 300 + ((i * 7919) % 600));
const batch = { batch: B, seqLen: T, tokens, targets: Int32Array.from(tokens, (x) => (x + 1) % config.vocabSize) };
const o = { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 100 };
const times: number[] = [];
for (let r = 0; r <= reps; r++) {
  const t0 = performance.now();
  grads.fill(0);
  const ce = crossEntropy(model.forward(batch), batch.targets);
  model.backward(ce.dlogp, grads);
  opt2.step(params.data, grads, 1e-3, o);
  if (r > 0) times.push(performance.now() - t0); // the first step warms the JIT
}
const trainTps = (B * T) / (median(times) / 1000);
console.log(`shape: hidden 128, 3 layers, 4 heads, ff 256, vocab ${config.vocabSize} (${params.count} parameters); batch ${B} × ${T}`);
console.log(`phi3 train step (fwd+bwd+AdamW): ${trainTps.toFixed(0)} tokens/s (median of ${reps})`);

const gguf = join(mkdtempSync(join(tmpdir(), 'phi3-bench-')), 'm.gguf');
exportGGUF(params, tokDir, gguf, { type: 'f32' });
try {
  const mod = await import('node-llama-cpp');
  const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: mod.LlamaLogLevel.error });
  const m = await llama.loadModel({ modelPath: gguf });
  const lt: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const ctx = await m.createContext({ contextSize: T, batchSize: T, threads: 1 });
    const seq = ctx.getSequence();
    const t0 = performance.now();
    for (let b = 0; b < B; b++) {
      await seq.evaluateWithoutGeneratingNewTokens(Array.from(tokens.subarray(b * T, b * T + T - 1)) as never);
      await seq.clearHistory();
    }
    if (r > 0) lt.push(performance.now() - t0);
    await ctx.dispose();
  }
  const llamaTps = (B * (T - 1)) / (median(lt) / 1000);
  console.log(`llama.cpp prefill (forward only, 1 thread): ${llamaTps.toFixed(0)} tokens/s`);
  console.log(`ratio train/llama-forward: ${(trainTps / llamaTps).toFixed(3)} (≈0.33 = parity per FLOP)`);
} catch (e) {
  console.log(`llama.cpp peer not measured: ${(e as Error).message.split('\n')[0]}`);
}
