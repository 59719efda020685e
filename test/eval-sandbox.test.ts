// The code sandbox: programs that loop forever, allocate without bound, open a socket, write outside
// their temp folder or spawn a process are stopped and scored as failed, and the next program still
// runs; a HumanEval run on the tiny model completes with every (word-salad) program failed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runEval } from '../src/eval/harness.js';
import { Phi3EvalModel } from '../src/eval/lm.js';
import { probeSandbox, runPython } from '../src/eval/sandbox.js';
import { humaneval } from '../src/eval/tasks/humaneval.js';
import { loadModel } from '../src/phi3.js';
import { REPO, SHARED, tempDir } from './helpers.js';

const PASSING = 'def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\n';

test('python3 is available for the code tasks', () => {
  assert.doesNotThrow(() => probeSandbox());
  assert.throws(() => probeSandbox('/nonexistent/python3'), /was not found or is not Python 3: HumanEval and MBPP/);
});

test('a correct program passes and a failing assert fails', async () => {
  assert.equal((await runPython(PASSING)).status, 'passed');
  const r = await runPython('assert 1 + 1 == 3\n');
  assert.equal(r.status, 'failed');
  assert.match(r.detail, /AssertionError/);
});

test('hostile programs are stopped and scored as failed; the sandbox keeps working after each', async () => {
  const outside = join(tempDir('phi3-outside-'), 'escaped.txt');
  const cases: [string, string, RegExp, 'failed' | 'timeout'][] = [
    ['infinite loop', 'while True:\n    pass\n', /timed out/, 'timeout'],
    ['unbounded allocation', 'xs = []\nwhile True:\n    xs.append(bytearray(20_000_000))\n', /MemoryError/, 'failed'],
    ['socket', 'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.connect(("127.0.0.1", 9))\n', /socket/, 'failed'],
    ['write outside the temp folder', `open(${JSON.stringify(outside)}, "w").write("x")\n`, /outside the temp folder/, 'failed'],
    ['low-level write outside', `import os\nos.open(${JSON.stringify(outside)}, os.O_WRONLY | os.O_CREAT)\n`, /outside the temp folder/, 'failed'],
    ['subprocess', 'import subprocess\nsubprocess.run(["touch", "/tmp/x"])\n', /subprocess/, 'failed'],
  ];
  for (const [name, prog, why, status] of cases) {
    const t = performance.now();
    // The loop gets 2 s; the others a generous 8 s so that only the memory limit / the hook can stop them.
    const r = await runPython(prog, { timeoutS: status === 'timeout' ? 2 : 8, memoryMiB: 256 });
    assert.equal(r.status, status, `${name}: ${r.status} ${r.detail}`);
    assert.match(r.detail, why, name);
    assert.ok(performance.now() - t < 15_000, `${name} took too long`);
    assert.equal((await runPython(PASSING, { timeoutS: 5 })).status, 'passed', `sandbox still works after ${name}`);
  }
  assert.equal(existsSync(outside), false, 'nothing was written outside the temp folder');
  // Writing inside its own folder is allowed.
  assert.equal((await runPython('open("scratch.txt", "w").write("ok")\nassert open("scratch.txt").read() == "ok"\n')).status, 'passed');
});

test('a HumanEval run on the tiny model finishes, every word-salad program scored as failed', async () => {
  const model = new Phi3EvalModel(await loadModel(join(REPO, 'models/phi3-tiny.gguf')));
  const itemsPath = join(tempDir(), 'he.jsonl');
  const r = await runEval([humaneval], model, { dataDir: join(SHARED, 'datasets'), limit: 2, maxGenTokens: 8, itemsPath, sandbox: { timeoutS: 5 } });
  assert.equal(r.tasks[0].n, 2);
  assert.equal(r.tasks[0].metrics['pass@1'], 0);
  const lines = readFileSync(itemsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { detail?: { status: string } });
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.slice(1).map((l) => l.detail?.status), ['failed', 'failed']);
});
