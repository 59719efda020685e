// The peer in `npm run bench`: node-llama-cpp (llama.cpp's CPU build, prebuilt) measured exactly as
// `phi3 bench` measures our engine — same file, same threads, same random prompt ids, prompt in one
// batch, then greedy decode one token at a time, fresh context per repeat, medians after a warm-up.
// Usage: tsx bench/llama.ts --model PATH --threads N --prompt-tokens 128 --gen-tokens 64 --repeats 3
// Prints one JSON object shaped like `phi3 bench --json`.
import { parseArgs } from 'node:util';
import { getLlama } from 'node-llama-cpp';
import { Rng } from '../src/generate/sampler.js';
import { median } from '../src/cli/bench.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    'prompt-tokens': { type: 'string', default: '128' },
    'gen-tokens': { type: 'string', default: '64' },
    repeats: { type: 'string', default: '3' },
  },
});
if (!values.model) throw new Error('--model is required');
const threads = Number(values.threads);
const nPrompt = Number(values['prompt-tokens']);
const nGen = Number(values['gen-tokens']);
const repeats = Number(values.repeats);

const t0 = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads });
const model = await llama.loadModel({ modelPath: values.model });
const loadS = (performance.now() - t0) / 1000;
const vocab = 32064; // phi-3-mini; the ids drawn only depend on it through min(vocab − 100, 30000)
const rng = new Rng(42);
// the same prompt ids as src/cli/bench.ts
const prompt = Array.from({ length: nPrompt }, () => 100 + Math.floor(rng.next() * Math.min(vocab - 100, 30000)));

const prefill: number[] = [];
const decode: number[] = [];
for (let r = 0; r <= repeats; r++) {
  const ctx = await model.createContext({ contextSize: 512 * Math.ceil((nPrompt + nGen + 1) / 512), threads, batchSize: Math.max(512, nPrompt) });
  const seq = ctx.getSequence();
  const a = performance.now();
  // evaluate the prompt but the last token, then let the generator take the last one and decode: the
  // first generated token's logits come from the whole prompt, as in our bench
  await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1) as never);
  let b = 0;
  let n = 0;
  for await (const _ of seq.evaluate(prompt.slice(-1) as never, { temperature: 0 })) {
    void _;
    if (n === 0) b = performance.now();
    if (++n > nGen) break;
  }
  const c = performance.now();
  if (r > 0) {
    prefill.push((nPrompt * 1000) / (b - a));
    decode.push((nGen * 1000) / (c - b));
  }
  await ctx.dispose();
}
process.stdout.write(
  JSON.stringify({
    prefill_tok_s: median(prefill),
    decode_tok_s: median(decode),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    load_s: loadS,
    backend: 'node-llama-cpp',
    threads,
    prompt_tokens: nPrompt,
    gen_tokens: nGen,
    repeats,
    prefill_runs_tok_s: prefill,
    decode_runs_tok_s: decode,
  }) + '\n',
);
await model.dispose();
await llama.dispose();
