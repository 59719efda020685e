// Quality and size of each quantization type, measured: for the tiny reference models (F32, rows of
// 64/128, so llama.cpp's K-quant fallbacks apply: Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0) and a random model
// with 256-wide rows (where the K-quants themselves are used), quantize with `phi3 quantize`'s engine
// and compute llama-perplexity-style perplexity on BoolQ passages from ../shared/datasets.
// Prints the markdown table of the README ("Quantization").
//   node --import tsx bench/quantize-quality.ts [--ctx 128] [--chunks 8]
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { convertModel } from '../src/convert/convert.js';
import { openConvertInput } from '../src/convert/source.js';
import { perplexity, perplexityOfTokens } from '../src/eval/perplexity.js';
import { writeGGUF } from '../src/formats/gguf.js';
import { phi3Metadata } from '../src/formats/phi3-gguf.js';
import { configFromHF } from '../src/model/config.js';
import { randomPhi3Tensors } from '../src/model/random.js';
import { loadModel } from '../src/phi3.js';
import { FILE_TYPES } from '../src/quant/mix.js';
import { readGGUF } from '../src/formats/gguf.js';
import { loadVocab } from '../src/tokenizer/vocab-source.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const args = process.argv.slice(2);
const opt = (k: string, d: number) => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : d);
const ctx = opt('--ctx', 128);
const chunks = opt('--chunks', 8);
const SHARED = join(import.meta.dirname, '../../shared');
const TMP = mkdtempSync(join(tmpdir(), 'phi3-qq-'));

let text = '';
for (const l of readFileSync(join(SHARED, 'datasets/boolq/boolq.jsonl'), 'utf8').split('\n')) {
  if (!l.trim()) continue;
  text += (JSON.parse(l) as { query: string }).query.replace(/^Passage: /, '').split('\nQuestion:')[0] + '\n\n';
  if (text.length > ctx * chunks * 8) break;
}

// a random model whose rows are multiples of 256, so Q4_K/Q5_K/Q6_K are used as on phi-3-mini
const k256 = join(TMP, 'random-256.gguf');
{
  const config = configFromHF({ architectures: ['Phi3ForCausalLM'], hidden_size: 256, intermediate_size: 512, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, vocab_size: 32064, max_position_embeddings: 4096 });
  const { vocab, chatTemplate } = loadVocab(join(SHARED, 'reference/tiny-4k/model.gguf'), 32064);
  writeGGUF(k256, phi3Metadata({ config, vocab, name: 'phi3 random 256', fileType: FILE_TYPES.f32.fileType, chatTemplate }), randomPhi3Tensors(config, FILE_TYPES.f32, 7));
}

const models: Array<[string, string]> = [
  ['tiny-4k', join(SHARED, 'reference/tiny-4k/model.gguf')],
  ['tiny-gqa', join(SHARED, 'reference/tiny-gqa/model.gguf')],
  ['random-256 (8 layers, rows of 256)', k256],
];
const types = ['q8_0', 'q6_k', 'q5_k_m', 'q4_k_m', 'q4_k_s', 'q4_0'];
console.log(`perplexity: ctx ${ctx}, ${chunks} chunks of BoolQ passages; bits/weight over all tensors (embeddings included)\n`);
console.log('| model | type | tensor types | bits/weight | file size | PPL BoolQ | Δ | PPL own samples | Δ |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, f32] of models) {
  // Random models are hopeless on English (perplexity in the millions, noisy deltas), so each is also
  // scored on text it wrote itself: ctx·chunks tokens sampled from the F32 model at temperature 1.
  const ref = await loadModel(f32, { ropeFactors: 'context' });
  const own = (await (async () => {
    const gen = ref.generate([1], { temperature: 1, seed: 11, maxTokens: ctx * chunks, noStop: true });
    for (;;) {
      const s = await gen.next();
      if (s.done) return s.value.tokens;
    }
  })()) as number[];
  const ppl = async (p: string) => {
    const m = await loadModel(p, { ropeFactors: 'context' });
    return [perplexity(m, text, { ctx, maxChunks: chunks }).ppl, perplexityOfTokens(m, own, { ctx, maxChunks: chunks }).ppl];
  };
  const [base, baseOwn] = await ppl(f32);
  const describe = (p: string) => {
    const f = readGGUF(p);
    const elems = f.tensors.reduce((n, t) => n + t.nElements, 0);
    const bytes = f.tensors.reduce((n, t) => n + t.nbytes, 0);
    return { bpw: (8 * bytes) / elems, size: statSync(p).size, mix: f };
  };
  const d0 = describe(f32);
  console.log(`| ${name} | F32 | F32 | ${d0.bpw.toFixed(2)} | ${(d0.size / 2 ** 20).toFixed(2)} MiB | ${base.toFixed(0)} | — | ${baseOwn.toFixed(3)} | — |`);
  for (const type of types) {
    const out = join(TMP, `${name.split(' ')[0]}-${type}.gguf`);
    convertModel(openConvertInput(f32), out, { type });
    const d = describe(out);
    const mix: Record<string, number> = {};
    for (const t of d.mix.tensors) if (t.dims.length > 1) {
      const n = ['F32', 'F16', 'Q4_0', 'Q4_1', '', '', 'Q5_0', 'Q5_1', 'Q8_0', '', '', '', 'Q4_K', 'Q5_K', 'Q6_K'][t.type] ?? String(t.type);
      mix[n] = (mix[n] ?? 0) + 1;
    }
    const [p, pOwn] = await ppl(out);
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(100 * (a / b - 1)).toFixed(2)} %`;
    console.log(`| ${name} | ${type.toUpperCase()} | ${Object.entries(mix).map(([k, v]) => `${v}×${k}`).join(' ')} | ${d.bpw.toFixed(2)} | ${(d.size / 2 ** 20).toFixed(2)} MiB | ${p.toFixed(0)} | ${pct(p, base)} | ${pOwn.toFixed(3)} | ${pct(pOwn, baseOwn)} |`);
  }
}
