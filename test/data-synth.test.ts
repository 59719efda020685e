// Programmatic synthetic data: every answer is recomputed by an independent route (each generator's
// solve(params), plus an arithmetic parser over every equation written in the solution); a seed always
// gives the same records; the checker itself catches planted mistakes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENERATORS, equations, evalArith, generateSynth, generator, synthRecord, toChat, toText, verifyRecord } from '../src/data/synth/index.js';

const SKILLS = Object.keys(GENERATORS);

test('synth: 2,000 records per skill pass recomputation (answer, every step, final line)', () => {
  for (const skill of SKILLS) {
    const g = generator(skill);
    let steps = 0;
    for (let i = 0; i < 2000; i++) {
      const r = synthRecord(skill, 42, i);
      assert.deepEqual(verifyRecord(r, g), [], `${r.id}: ${r.question}\n${r.solution}`);
      steps += equations(r.solution).length;
    }
    if (skill !== 'logic') assert.ok(steps >= 2000, `${skill}: only ${steps} checked equations`);
  }
});

test('synth: hand-checked arithmetic of the step checker', () => {
  assert.equal(evalArith('2 × (3 + 4)'), 14);
  assert.equal(evalArith('77 ÷ 7'), 11);
  assert.equal(evalArith('20 − 18'), 2);
  assert.equal(evalArith('17 % 5'), 2);
  assert.equal(evalArith('2 +'), undefined);
  assert.deepEqual(
    equations('The cost is 3 × 6 = 18 dollars.\ni = 4: p = 1 × (4 + 4) = 8').map((q) => [q.expr, q.stated, q.actual]),
    [['3 × 6', 18, 18], ['1 × (4 + 4)', 8, 8]],
  );
});

test('synth: planted mistakes are caught (wrong step, wrong answer, unreached answer)', () => {
  const r = synthRecord('arithmetic', 1, 0);
  const g = generator('arithmetic');
  const eq = equations(r.solution)[0];
  const badStep = { ...r, solution: r.solution.replace(`= ${eq.stated}`, `= ${eq.stated + 1}`) };
  assert.ok(verifyRecord(badStep, g).some((e) => e.includes('is wrong')));
  const badAnswer = { ...r, answer: String(Number(r.answer) + 1) };
  assert.ok(verifyRecord(badAnswer, g).some((e) => e.includes('recomputed')));
  const code = synthRecord('code', 1, 3);
  const truncated = { ...code, solution: code.solution.split('\n').slice(0, -1).join('\n') + '\nSo it prints a number.' };
  assert.ok(verifyRecord(truncated, generator('code')).some((e) => e.includes('does not reach')));
});

test('synth: a seed gives the same data; another seed different data; more records keep the prefix', () => {
  const a = [...generateSynth(SKILLS, 200, 9)];
  const b = [...generateSynth(SKILLS, 200, 9)];
  assert.deepEqual(a, b);
  const c = [...generateSynth(SKILLS, 200, 10)];
  assert.ok(a.filter((r, i) => r.question === c[i].question).length < 10);
  const longer = [...generateSynth(SKILLS, 400, 9)];
  assert.deepEqual(longer.slice(0, 200), a);
  assert.equal(new Set(a.map((r) => r.id)).size, 200);
  assert.deepEqual(new Set(a.map((r) => r.skill)), new Set(SKILLS));
});

test('synth: chat and text renderings carry the question, the worked solution and the answer', () => {
  const r = synthRecord('units', 3, 0);
  const [user, assistant] = toChat(r);
  assert.equal(user.role, 'user');
  assert.equal(user.content, r.question);
  assert.ok(assistant.content.startsWith(r.solution) && assistant.content.endsWith(`Answer: ${r.answer}`));
  assert.match(toText(r), /^Question: [\s\S]+\nSolution:\n[\s\S]+\nAnswer: \S+$/);
  assert.throws(() => generator('poetry'), /unknown skill "poetry"/);
});
