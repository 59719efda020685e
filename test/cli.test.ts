// The `phi3` command line, run as a user runs it (a child process), against llama.cpp's recorded
// outputs for the reference models: the `generate --json` contract, tokenize, info, chat, and errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readGGUF } from '../src/formats/gguf.js';
import { REFERENCE, REPO, readJson, tempDir } from './helpers.js';

const MAIN = join(REPO, 'src/cli/main.ts');
const GGUF = join(REFERENCE, 'tiny-4k/model.gguf');

function phi3(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Prompt {
  name: string;
  text?: string;
  ids: number[];
  greedy: number[];
  'n_leading_steps_margin_ge_0.02': number;
}
const prompts = readJson<{ runs: { main: { prompts: Prompt[] } } }>(join(REFERENCE, 'tiny-4k/expected.json')).runs.main.prompts;
const cases = readJson<{ cases: Array<{ text: string; ids: number[]; ids_no_parse_special: number[] }> }>(join(REFERENCE, 'tokenizer_cases.json')).cases;

describe('phi3 CLI', () => {
  it('generate --json from a text prompt gives llama.cpp\'s greedy tokens', () => {
    const p = prompts[0];
    const n = p['n_leading_steps_margin_ge_0.02'];
    const r = phi3(['generate', '--model', GGUF, '--prompt', p.text!, '--max-tokens', String(n), '--temperature', '0', '--no-stop', '--json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { tokens: number[]; text: string };
    assert.deepEqual(Object.keys(out), ['tokens', 'text']);
    assert.deepEqual(out.tokens, p.greedy.slice(0, n));
  });

  it('generate --prompt-ids uses the ids as they are (BOS and control tokens included)', () => {
    const p = prompts.find((x) => x.name === 'raw_ids')!;
    const n = p['n_leading_steps_margin_ge_0.02'];
    const r = phi3(['generate', '-m', GGUF, '--prompt-ids', p.ids.join(','), '-n', String(n), '--no-stop', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).tokens, p.greedy.slice(0, n));
  });

  it('tokenize --json, with and without special-token parsing', () => {
    const c = cases.find((x) => x.ids.length !== x.ids_no_parse_special.length)!;
    const a = phi3(['tokenize', '-m', GGUF, '--json', c.text]);
    assert.equal(a.code, 0, a.err);
    assert.deepEqual(JSON.parse(a.out), c.ids);
    const b = phi3(['tokenize', '-m', GGUF, '--json', '--no-special', c.text]);
    assert.deepEqual(JSON.parse(b.out), c.ids_no_parse_special);
  });

  it('info --json reports the shape, and a parameter count equal to the file\'s tensor elements', () => {
    const r = phi3(['info', '-m', GGUF, '--json']);
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(r.out);
    const elements = readGGUF(GGUF).tensors.reduce((n, t) => n + t.nElements, 0);
    assert.equal(info.parameters, elements);
    assert.equal(info.config.numLayers, 2);
    assert.equal(info.config.hiddenSize, 64);
    assert.deepEqual(info.tensorTypes, { F32: 15 });
    assert.equal(info.ropeScaling, 'none');
    assert.match(info.chatTemplate, /<\|assistant\|>/);
    // f32 KV cache at 4096 tokens: 2 (k, v) × 2 layers × 4096 × 64 × 4 bytes
    assert.equal(info.kvCacheBytes, 2 * 2 * 4096 * 64 * 4);
  });

  it('chat answers each line, keeps going after /reset and /system, and leaves on /exit', () => {
    const r = phi3(['chat', '-m', GGUF, '-n', '3'], 'Hello\n/reset\n/system Be brief.\nWhat is 2+2?\n/exit\n');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /conversation cleared/);
    assert.match(r.out, /system message set/);
    assert.ok((r.out.match(/> /g) ?? []).length >= 5);
  });

  it('the default model is the embedded one', () => {
    const r = phi3(['generate', '--prompt', 'Hi', '-n', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).tokens.length <= 2, true);
  });

  it('bad input: one clear line on stderr, exit code 1, no stack trace', () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.gguf');
    writeFileSync(bad, 'GGUF\x03\x00\x00\x00');
    for (const [args, re] of [
      [['generate', '-m', GGUF], /exactly one of --prompt or --prompt-ids/],
      [['generate', '-m', GGUF, '--prompt', 'x', '--temperature', '-1'], /temperature/],
      [['generate', '-m', GGUF, '--prompt-ids', '1,x'], /comma-separated token ids/],
      [['generate', '-m', bad, '--prompt', 'x'], new RegExp(`${bad.replace(/[/.]/g, '\\$&')}: .*`)],
      [['info', '-m', join(dir, 'missing.gguf')], /no such file or folder/],
      [['generate', '-m', GGUF, '-c', '3', '--prompt', 'Hello, my name is'], /prompt has 5 tokens but the context holds only 3/],
    ] as const) {
      const r = phi3([...args]);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
  });
});
