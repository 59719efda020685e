// Evaluation throughput against the peer: the multiple-choice log-likelihoods of an MMLU subject
// (5-shot, lm-eval prompts) computed by our harness (one KV cache, shared prefix, cached context
// logits) and by node-llama-cpp (llama.cpp's CPU build) with the same token ids and the same reuse
// (erase the sequence back to the common prefix, evaluate the rest, read the next-token probabilities).
// Reports items/s for both, their ratio (medians of repeats), and the largest |ΔLL| as a cross-check.
// Threads default to 1: our reference backend is single-threaded, and llama.cpp's spinning workers
// collapse on an oversubscribed machine.
// Usage: node --import tsx bench/eval-loglik.ts [--model PATH] [--subject anatomy] [--limit 20] [--repeats 3] [--threads 1]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, type Token } from 'node-llama-cpp';
import { median } from '../src/cli/bench.js';
import { Phi3EvalModel } from '../src/eval/lm.js';
import { mmluTask } from '../src/eval/tasks/mmlu.js';
import type { McInstance } from '../src/eval/types.js';
import { loadModel } from '../src/phi3.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(import.meta.dirname, '../models/phi3-tiny.gguf') },
    data: { type: 'string', default: join(import.meta.dirname, '../../shared/datasets') },
    subject: { type: 'string', default: 'anatomy' },
    limit: { type: 'string', default: '20' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
  },
});
const limit = Number(values.limit);
const repeats = Number(values.repeats);
const threads = Number(values.threads);

const phi3 = await loadModel(values.model);
const items = mmluTask(values.subject).load({ dataDir: values.data, shots: 5, style: 'lm-eval' }).slice(0, limit) as McInstance[];
// The same token ids for both engines: lm-eval's context/continuation split, by our tokenizer.
const pairs = items.map((it) => it.requests.map((r) => new Phi3EvalModel(phi3).encodePair(r.context, r.continuation)));
const nReq = pairs.reduce((a, p) => a + p.length, 0);

function ours(): { s: number; lls: number[] } {
  const m = new Phi3EvalModel(phi3);
  const t = performance.now();
  const lls = pairs.flatMap((p) => p.map(({ ctx, cont }) => m.loglikelihoodTokens(ctx, cont).ll));
  return { s: (performance.now() - t) / 1000, lls };
}

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads });
const lmodel = await llama.loadModel({ modelPath: values.model });
const maxLen = Math.max(...pairs.flat().map((p) => p.ctx.length + p.cont.length));

let peerTokens = 0;
async function peer(): Promise<{ s: number; lls: number[] }> {
  const ctx = await lmodel.createContext({ contextSize: 512 * Math.ceil((maxLen + 1) / 512), threads, batchSize: 512 });
  const seq = ctx.getSequence();
  const lls: number[] = [];
  const t = performance.now();
  for (const p of pairs)
    for (const { ctx: c, cont } of p) {
      const full = [...c, ...cont.slice(0, -1)];
      const have = seq.contextTokens;
      let common = 0;
      while (common < have.length && common < full.length && have[common] === full[common]) common++;
      // At least the last context token is evaluated again, to get its next-token distribution.
      common = Math.min(common, c.length - 1);
      if (common < have.length) await seq.eraseContextTokenRanges([{ start: common, end: have.length }]);
      const input = full.slice(common).map((tok, i) => (common + i >= c.length - 1 ? ([tok as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] as const) : (tok as Token)));
      peerTokens += input.length;
      const out = await seq.controlledEvaluate(input as never);
      let ll = 0;
      for (let k = 0; k < cont.length; k++) {
        const o = out[c.length - 1 + k - common];
        const pr = o?.next.probabilities?.get(cont[k] as Token);
        ll += Math.log(pr ?? 0);
      }
      lls.push(ll);
    }
  const s = (performance.now() - t) / 1000;
  await ctx.dispose();
  return { s, lls };
}

const oursS: number[] = [];
const peerS: number[] = [];
let maxDiff = 0;
for (let r = 0; r <= repeats; r++) {
  const a = ours();
  const b = await peer();
  for (let i = 0; i < a.lls.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.lls[i] - b.lls[i]));
  if (r > 0) {
    oursS.push(a.s);
    peerS.push(b.s);
  }
}
const o = median(oursS);
const p = median(peerS);
process.stdout.write(
  JSON.stringify({
    model: values.model,
    subject: values.subject,
    items: items.length,
    requests: nReq,
    ours_items_s: +(items.length / o).toFixed(2),
    llama_cpp_items_s: +(items.length / p).toFixed(2),
    ratio_ours_over_llama_cpp: +(p / o).toFixed(3),
    max_abs_ll_diff: +maxDiff.toExponential(2),
    llama_cpp_tokens_per_pass: peerTokens / (repeats + 1),
  }) + '\n',
);
