// The WASM backend through the command line: `generate` (default backend wasm, and --backend ref) gives
// llama.cpp's greedy tokens for the reference models at 1 and 2 threads, and `phi3 bench --json` prints
// its documented object with sane figures. Bad --backend/--threads values fail with a clear message.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REFERENCE, REPO, readJson } from './helpers.js';

const MAIN = join(REPO, 'src/cli/main.ts');
function phi3(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
}

interface Expected {
  runs: { main: { prompts: { name: string; ids: number[]; greedy: number[]; 'n_leading_steps_margin_ge_0.02': number }[] } };
}

describe('wasm backend on the command line', () => {
  const model = join(REFERENCE, 'tiny-gqa/model.gguf');
  const p = readJson<Expected>(join(REFERENCE, 'tiny-gqa/expected.json')).runs.main.prompts[0];
  const n = Math.min(12, p['n_leading_steps_margin_ge_0.02']);
  for (const extra of [[], ['--threads', '1'], ['--threads', '2'], ['--backend', 'ref']]) {
    it(`generate ${extra.join(' ') || '(defaults)'} gives llama.cpp's ${n} greedy tokens`, () => {
      const r = phi3(['generate', '--model', model, '--prompt-ids', p.ids.join(','), '--max-tokens', String(n), '--temperature', '0', '--no-stop', '--json', ...extra]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { tokens: number[] }).tokens, p.greedy.slice(0, n));
    });
  }

  it('bench --json prints prefill/decode tok/s, peak RSS and load time', () => {
    const r = phi3(['bench', '--model', model, '--prompt-tokens', '8', '--gen-tokens', '4', '--repeats', '1', '--threads', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['prefill_tok_s', 'decode_tok_s', 'peak_rss_mb', 'load_s']) assert.ok(typeof j[k] === 'number' && (j[k] as number) > 0, `${k}: ${j[k]}`);
    assert.equal(j.threads, 2);
    assert.match(String(j.backend), /^wasm-(relaxed|simd128)/);
  });

  it('rejects an unknown backend and a bad thread count by name', () => {
    const a = phi3(['generate', '--model', model, '--prompt-ids', '1,2', '--backend', 'gpu']);
    assert.notEqual(a.status, 0);
    assert.match(a.stderr, /unknown backend "gpu"/);
    const b = phi3(['generate', '--model', model, '--prompt-ids', '1,2', '--threads', '0']);
    assert.notEqual(b.status, 0);
    assert.match(b.stderr, /--threads/);
  });

  it('bench refuses a prompt longer than the context', () => {
    const r = phi3(['bench', '--model', model, '--context', '16', '--prompt-tokens', '20', '--gen-tokens', '4', '--json']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /exceeds the context size 16/);
  });
});
