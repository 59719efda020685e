// Perplexity as llama-perplexity computes it: scoreTokens against llama.cpp's own log-probabilities
// (reference logsumexp and top-1 logits of every greedy step), the chunking rules (non-overlapping
// chunks, second half scored, remainder dropped, ≥ 2·ctx tokens), and the quality bar of the issue:
// q8_0 within 0.5 % of F32 on both tiny reference models, on text from ../shared/datasets.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { convertModel } from '../src/convert/convert.js';
import { openConvertInput } from '../src/convert/source.js';
import { RequestError } from '../src/errors.js';
import { perplexity, perplexityOfTokens, scoreTokens } from '../src/eval/perplexity.js';
import { loadModel } from '../src/phi3.js';
import { REFERENCE, SHARED, readJson, tempDir } from './helpers.js';

interface Step {
  top5_logits: number[];
  logsumexp: number;
}
interface RefPrompt {
  ids: number[];
  n_prompt: number;
  greedy: number[];
  steps: Step[];
}

const TMP = tempDir('phi3-ppl-');
after(() => rmSync(TMP, { recursive: true, force: true }));

/** About `chars` characters of English prose: BoolQ passages from the shared datasets. */
function prose(chars: number): string {
  const lines = readFileSync(join(SHARED, 'datasets/boolq/boolq.jsonl'), 'utf8').split('\n');
  let text = '';
  for (const l of lines) {
    if (!l.trim()) continue;
    const q = (JSON.parse(l) as { query: string }).query;
    text += q.replace(/^Passage: /, '').split('\nQuestion:')[0] + '\n\n';
    if (text.length >= chars) break;
  }
  return text;
}

describe('scoreTokens and the chunking rules', async () => {
  const model = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'), { ropeFactors: 'context' });

  test("scoreTokens = −Σ log P from llama.cpp's logits (logsumexp and top-1 of each greedy step)", () => {
    const prompts = readJson<{ runs: { main: { prompts: RefPrompt[] } } }>(join(REFERENCE, 'tiny-4k/expected.json')).runs.main.prompts;
    for (const p of prompts) {
      const ids = [...p.ids, ...p.greedy];
      const s = scoreTokens(model, ids, p.n_prompt - 1);
      const want = p.steps.reduce((n, st) => n + (st.logsumexp - st.top5_logits[0]), 0);
      assert.equal(s.count, p.greedy.length);
      assert.ok(Math.abs(s.nll - want) < 2e-3, `nll ${s.nll} vs llama.cpp ${want}`);
    }
  });

  test('non-overlapping chunks, second half scored (n_ctx − n_ctx/2 − 1 per chunk), remainder dropped', () => {
    const tokens = model.tokenizer.encode(prose(3000), { parseSpecial: false });
    const ctx = 64;
    const r = perplexityOfTokens(model, tokens, { ctx });
    const chunks = Math.floor(tokens.length / ctx);
    assert.equal(r.chunks, chunks);
    assert.equal(r.count, chunks * (ctx - 32 - 1));
    let nll = 0;
    for (let c = 0; c < chunks; c++) nll += scoreTokens(model, tokens.slice(c * ctx, (c + 1) * ctx), 32).nll;
    assert.ok(Math.abs(r.ppl - Math.exp(nll / r.count)) < 1e-9 * r.ppl);
    assert.equal(r.running.length, chunks);
    assert.ok(r.error > 0 && r.error < r.ppl);
    assert.equal(perplexityOfTokens(model, tokens, { ctx, maxChunks: 2 }).chunks, 2);
  });

  test('too few tokens or a context beyond the model: RequestError naming the numbers', () => {
    assert.throws(() => perplexity(model, 'Hello world', { ctx: 64 }), (e: unknown) => e instanceof RequestError && /has \d+ tokens.*at least 128/.test(e.message));
    assert.throws(() => perplexityOfTokens(model, new Array(20000).fill(100), { ctx: 8192 }), /exceeds the model's context size 4096/);
  });
});

describe('q8_0 within 0.5 % of F32 on the tiny reference models', () => {
  const text = prose(6000);
  for (const name of ['tiny-4k', 'tiny-gqa']) {
    test(name, async () => {
      const f32 = join(REFERENCE, name, 'model.gguf');
      const q8 = join(TMP, `${name}-q8_0.gguf`);
      convertModel(openConvertInput(f32), q8, { type: 'q8_0' });
      const ppl = async (p: string) => perplexity(await loadModel(p, { ropeFactors: 'context' }), text, { ctx: 128, maxChunks: 8 });
      const a = await ppl(f32);
      const b = await ppl(q8);
      assert.ok(a.chunks >= 4, `${a.chunks} chunks`);
      const delta = Math.abs(b.ppl / a.ppl - 1);
      assert.ok(delta < 0.005, `F32 ${a.ppl}, Q8_0 ${b.ppl}: ${(100 * delta).toFixed(3)} %`);
      assert.ok(delta > 0, 'the quantized file really differs');
    });
  }
});
