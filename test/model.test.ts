// The forward pass against llama.cpp: for every reference model (GGUF, and the same weights as a
// Hugging Face folder) and every prompt, batched-prefill logits at every prompt position, teacher-forced
// decode logits at every greedy step (full rows where ../shared/reference has them), free-running greedy
// tokens over the leading steps, and token-by-token prefill. Tolerance 1e-4 absolute (reference README).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadModel, type Phi3 } from '../src/index.js';
import { REFERENCE, TOKENIZER_DIR, readJson, readNpyF32 } from './helpers.js';

const TOL = 1e-4;

interface Step {
  top5_ids: number[];
  top5_logits: number[];
  logsumexp?: number;
}
interface PromptRecord {
  name: string;
  ids: number[];
  greedy: number[];
  steps: Step[];
  prompt_positions_top5: Step[];
  'n_leading_steps_margin_ge_0.02': number;
}
interface Expected {
  runs: { main: { prompts: PromptRecord[] } };
}

function logsumexp(row: Float32Array): number {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let s = 0;
  for (const v of row) s += Math.exp(v - max);
  return max + Math.log(s);
}

function argmax(row: Float32Array): number {
  let b = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[b]) b = i;
  return b;
}

/** Our row vs a reference top-5 (ids' logits, and the logsumexp when given). */
function checkTop5(row: Float32Array, ref: Step, what: string): void {
  ref.top5_ids.forEach((id, j) => {
    const d = Math.abs(row[id] - ref.top5_logits[j]);
    assert.ok(d <= TOL, `${what}: logit of ${id} is ${row[id]}, llama.cpp ${ref.top5_logits[j]} (diff ${d})`);
  });
  assert.equal(argmax(row), ref.top5_ids[0], `${what}: argmax`);
  if (ref.logsumexp !== undefined) {
    const d = Math.abs(logsumexp(row) - ref.logsumexp);
    assert.ok(d <= TOL, `${what}: logsumexp ${logsumexp(row)} vs ${ref.logsumexp}`);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function suite(label: string, dir: string, open: () => Promise<Phi3>): void {
  const expected = readJson<Expected>(join(dir, 'expected.json'));
  describe(label, () => {
    let model: Phi3;
    const get = async () => (model ??= await open());

    for (const [k, p] of expected.runs.main.prompts.entries()) {
      const vocab = 32064;
      const npy = join(dir, `logits/main/p${k}.npy`);
      const fullRows = existsSync(npy) ? readNpyF32(npy) : undefined;

      it(`prompt ${k} (${p.name}): batched prefill matches at every prompt position`, async () => {
        const m = await get();
        const logits = m.forward(p.ids, { allLogits: true });
        assert.equal(logits.length, p.ids.length * vocab);
        p.prompt_positions_top5.forEach((ref, i) => checkTop5(logits.subarray(i * vocab, (i + 1) * vocab), ref, `position ${i}`));
        if (fullRows) {
          const d = maxAbsDiff(logits.subarray((p.ids.length - 1) * vocab), fullRows.data.subarray(0, vocab));
          assert.ok(d <= TOL, `last prompt row differs from p${k}.npy by ${d}`);
        }
      });

      it(`prompt ${k} (${p.name}): teacher-forced decode matches every greedy step`, async () => {
        const m = await get();
        const cache = m.model.newCache();
        let row = m.model.forward(p.ids, cache);
        for (let s = 0; s < p.greedy.length; s++) {
          checkTop5(row, p.steps[s], `step ${s}`);
          if (fullRows) {
            const d = maxAbsDiff(row, fullRows.data.subarray(s * vocab, (s + 1) * vocab));
            assert.ok(d <= TOL, `step ${s}: full row differs from p${k}.npy by ${d}`);
          }
          row = m.model.forward([p.greedy[s]], cache);
        }
      });

      it(`prompt ${k} (${p.name}): free-running greedy tokens over the leading steps`, async () => {
        const m = await get();
        const n = p['n_leading_steps_margin_ge_0.02'];
        const gen = m.generate(p.ids, { temperature: 0, maxTokens: n, noStop: true });
        let result;
        for (;;) {
          const r = await gen.next();
          if (r.done) {
            result = r.value;
            break;
          }
        }
        assert.deepEqual(result.tokens, p.greedy.slice(0, n));
      });
    }

    it('token-by-token prefill equals batched prefill', async () => {
      const m = await get();
      const p = expected.runs.main.prompts[3];
      const batched = m.forward(p.ids);
      const cache = m.model.newCache();
      let row: Float32Array = new Float32Array(0);
      for (const id of p.ids) row = m.model.forward([id], cache);
      assert.ok(maxAbsDiff(row, batched) <= TOL);
      checkTop5(row, p.steps[0], 'token-by-token last row');
    });
  });
}

suite('tiny-4k GGUF', join(REFERENCE, 'tiny-4k'), () => loadModel(join(REFERENCE, 'tiny-4k/model.gguf')));
suite('tiny-4k Hugging Face folder', join(REFERENCE, 'tiny-4k'), () =>
  loadModel(join(REFERENCE, 'tiny-4k/hf'), { tokenizer: join(TOKENIZER_DIR, 'phi-3-mini') }),
);
suite('tiny-gqa GGUF', join(REFERENCE, 'tiny-gqa'), () => loadModel(join(REFERENCE, 'tiny-gqa/model.gguf')));

describe('text prompts tokenize to the ids llama.cpp fed the model', () => {
  const expected = readJson<Expected & { runs: { main: { prompts: Array<PromptRecord & { text?: string }> } } }>(
    join(REFERENCE, 'tiny-4k/expected.json'),
  );
  for (const [label, open] of [
    ['GGUF vocab', () => loadModel(join(REFERENCE, 'tiny-4k/model.gguf'))],
    ['tokenizer.json', () => loadModel(join(REFERENCE, 'tiny-4k/hf'), { tokenizer: join(TOKENIZER_DIR, 'phi-3-mini') })],
  ] as const) {
    it(label, async () => {
      const m = await open();
      for (const p of expected.runs.main.prompts) if (p.text !== undefined) assert.deepEqual(m.tokenizer.encode(p.text), p.ids, p.name);
    });
  }
});
