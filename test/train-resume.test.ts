// Resume after a kill: a child process training a two-phase run is SIGKILLed mid-phase-2 (checkpoints
// every step, so the kill often lands inside a checkpoint write), resumed with --resume in another
// child, and must end bit for bit where an uninterrupted run ends (same weights, same log). A truncated
// or altered checkpoint is refused with a clear error, never loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint } from '../src/train/checkpoint.js';
import { pretrain, readRunSpec } from '../src/train/stages.js';
import { REPO, tempDir } from './helpers.js';

const CLI = join(REPO, 'src/cli/main.ts');

function runJson(dir: string, out: string): string {
  const spec = {
    out,
    tokenizer: join(REPO, 'runs/phi3-chat/tokenizer'),
    model: { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 },
    seed: 3,
    batch: 2,
    seqLen: 24,
    ckptEvery: 1,
    phases: [
      { name: 'p1', steps: 20, lr: 0.003, warmup: 5, mixture: [{ synth: 'basic' }] },
      { name: 'p2', steps: 400, lr: 0.002, mixture: [{ synth: 'basic', weight: 2 }, { synth: 'basic', format: 'chat' }] },
    ],
  };
  const path = join(dir, `${out}.json`);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

const lines = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : []);
const withoutTiming = (l: string) => {
  const o = JSON.parse(l) as Record<string, unknown>;
  delete o.tokensPerSec;
  return JSON.stringify(o);
};

test('a run killed mid-phase (SIGKILL) and resumed ends bit for bit like an uninterrupted run', { timeout: 240_000 }, async () => {
  const dir = tempDir();
  // uninterrupted, in this process
  await pretrain(readRunSpec(runJson(dir, 'full')), { quiet: true });
  // killed child
  const cfg = runJson(dir, 'killed');
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'train', 'pretrain', '--config', cfg], { cwd: REPO, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const log2 = join(dir, 'killed/p2.jsonl');
  const killAt = 25 + Math.floor(Math.random() * 50);
  while (lines(log2).length < killAt) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  await exited;
  const done = lines(log2).length;
  assert.ok(done >= killAt && done < 400, `the child was killed mid-phase (at step ${done})`);
  // whatever the kill interrupted, the checkpoint on disk is complete and loads
  const ck = readCheckpoint(join(dir, 'killed/p2.ckpt'));
  assert.ok(ck.header.step >= killAt - 1 && ck.header.step <= done);
  // resume in a second child
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'train', 'pretrain', '--config', cfg, '--resume'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const phase of ['p1', 'p2']) {
    const a = readCheckpoint(join(dir, `full/${phase}.ckpt`));
    const b = readCheckpoint(join(dir, `killed/${phase}.ckpt`));
    assert.equal(b.header.step, a.header.step);
    for (const name of ['params', 'adam_m', 'adam_v'])
      assert.ok(Buffer.from(a.buffers.get(name)!.buffer).equals(Buffer.from(b.buffers.get(name)!.buffer)), `${phase} ${name} differ`);
    assert.deepEqual(lines(join(dir, `killed/${phase}.jsonl`)).map(withoutTiming), lines(join(dir, `full/${phase}.jsonl`)).map(withoutTiming));
  }
  // no temporary file was ever taken for a checkpoint
  assert.ok(readdirSync(join(dir, 'killed')).every((f) => !f.endsWith('.ckpt') || f === 'p1.ckpt' || f === 'p2.ckpt'));
});

test('a truncated, altered or foreign checkpoint is refused, and --resume does not start over from it', async () => {
  const dir = tempDir();
  const config = readCheckpointConfig();
  const path = join(dir, 'c.ckpt');
  writeCheckpoint(path, config, 7, { phase: 'x' }, { params: Float32Array.from([1, 2, 3]) });
  assert.equal(readCheckpoint(path).header.step, 7);
  const full = readFileSync(path);
  writeFileSync(join(dir, 't.ckpt'), full.subarray(0, full.length - 10));
  assert.throws(() => readCheckpoint(join(dir, 't.ckpt')), /checksum mismatch.*truncated or corrupt/);
  const bad = Buffer.from(full);
  bad[bad.length - 40] ^= 1;
  writeFileSync(join(dir, 'b.ckpt'), bad);
  assert.throws(() => readCheckpoint(join(dir, 'b.ckpt')), /checksum mismatch/);
  writeFileSync(join(dir, 'f.ckpt'), 'GGUF and more bytes than the minimum length of a checkpoint file....');
  assert.throws(() => readCheckpoint(join(dir, 'f.ckpt')), /not a phi3 training checkpoint/);
  assert.throws(() => readCheckpoint(join(dir, 'none.ckpt')), /no such checkpoint/);
  // a run whose phase checkpoint was cut short stops with the error instead of silently restarting
  const cfg = runJson(dir, 'run');
  await pretrain(readRunSpec(cfg), { quiet: true, stopAfter: 3 });
  const ck = join(dir, 'run/p1.ckpt');
  copyFileSync(ck, ck + '.bak');
  writeFileSync(ck, readFileSync(ck + '.bak').subarray(0, 100));
  await assert.rejects(pretrain(readRunSpec(cfg), { quiet: true, resume: true, stopAfter: 1 }), /checksum mismatch/);
});

function readCheckpointConfig() {
  return { architecture: 'phi3' as const, vocabSize: 8, hiddenSize: 4, intermediateSize: 4, numLayers: 1, numHeads: 1, numKvHeads: 1, headDim: 4, rotaryDim: 4, contextLength: 8, originalContextLength: 8, ropeTheta: 10000, rmsNormEps: 1e-5, ropeScaling: null, slidingWindow: null, bosTokenId: 1, eosTokenIds: [2], padTokenId: 2, tieWordEmbeddings: false };
}
