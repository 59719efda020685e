// Scoring rules against values derived by hand: acc / acc_norm by character length, TruthfulQA MC2,
// lm-eval's regex extraction (first / last match, groups, "[invalid]"), HF exact_match options, the
// unbiased pass@k estimator, mean ± standard error, and the CSV reader on quoting edge cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv, sampleIndices } from '../src/eval/data.js';
import { splitShots } from '../src/eval/fewshot.js';
import { exactMatch, INVALID, mc2, meanStderr, passAtK, regexExtract, scoreMultipleChoice } from '../src/eval/metrics.js';

test('acc takes the largest log-likelihood, acc_norm divides by the choice\'s characters', () => {
  // LL: −4 for "ab" (−2/char), −6 for "abcdef" (−1/char): acc picks 0, acc_norm picks 1.
  assert.deepEqual(scoreMultipleChoice([-4, -6], 1, ['ab', 'abcdef']), { acc: 0, acc_norm: 1 });
  assert.deepEqual(scoreMultipleChoice([-4, -6], 0, ['ab', 'abcdef']), { acc: 1, acc_norm: 0 });
  // Several gold answers (AGIEval): correct if the argmax is any of them; ties go to the first index.
  assert.deepEqual(scoreMultipleChoice([-1, -1, -3], [1, 2], ['x', 'x', 'x']), { acc: 0, acc_norm: 0 });
  assert.deepEqual(scoreMultipleChoice([-3, -1, -2], [1, 2], ['x', 'x', 'x']), { acc: 1, acc_norm: 1 });
});

test('MC2 is the normalised probability mass on true answers, without length normalisation', () => {
  // p ∝ e^0, e^−1, e^−2 → true mass (1 + e^−2) / (1 + e^−1 + e^−2)
  const want = (1 + Math.exp(-2)) / (1 + Math.exp(-1) + Math.exp(-2));
  assert.ok(Math.abs(mc2([0, -1, -2], [true, false, true]) - want) < 1e-12);
  // Invariant to a shift of all log-likelihoods (large negatives do not underflow to 0/0).
  assert.ok(Math.abs(mc2([-1000, -1001, -1002], [true, false, true]) - want) < 1e-12);
  assert.ok(Math.abs(scoreMultipleChoice([0, -1, -2], [0, 2], ['a', 'b', 'c'], [true, false, true]).mc2 - want) < 1e-12);
});

test('regex extraction: first or last match, first non-empty group, stripped, "[invalid]" when none', () => {
  // The greedy class takes the period too (as Python's re does); exact_match's "\\.$" ignore drops it.
  assert.equal(regexExtract('The answer is 42. The answer is 7.', 'The answer is (\\-?[0-9\\.\\,]+).', 0), '42.');
  assert.equal(regexExtract('I have 3 apples and 12 pears', '(-?[$0-9.,]{2,})|(-?[0-9]+)', -1), '12');
  assert.equal(regexExtract('cost $5 total 7', '(-?[$0-9.,]{2,})|(-?[0-9]+)', -1), '7');
  assert.equal(regexExtract('cost $5', '(-?[$0-9.,]{2,})|(-?[0-9]+)', -1), '$5');
  assert.equal(regexExtract('no numbers', '(-?[0-9]+)', 0), INVALID);
  assert.equal(regexExtract('so the answer is (B).', '(?<=the answer is )(.*)(?=.)', 0), '(B)');
});

test('exact match: ignore case, punctuation and regexes, any of several references', () => {
  assert.equal(exactMatch('Paris', 'paris'), 0);
  assert.equal(exactMatch('Paris', 'paris', { ignoreCase: true }), 1);
  assert.equal(exactMatch('U.S.A.', 'usa', { ignoreCase: true, ignorePunctuation: true }), 1);
  assert.equal(exactMatch('1,234.', '1234', { regexesToIgnore: [',', '\\.$'] }), 1);
  assert.equal(exactMatch('#### 18', '18', { regexesToIgnore: ['[\\s\\S]*#### '] }), 1);
  assert.equal(exactMatch('onion', ['garlic', 'Onion'], { ignoreCase: true }), 1);
  assert.equal(exactMatch('leek', ['garlic', 'Onion'], { ignoreCase: true }), 0);
});

test('pass@k: 1 − C(n−c,k)/C(n,k)', () => {
  assert.equal(passAtK(1, 1, 1), 1);
  assert.equal(passAtK(1, 0, 1), 0);
  assert.ok(Math.abs(passAtK(10, 3, 1) - 0.3) < 1e-12);
  // n=5, c=2, k=2: 1 − C(3,2)/C(5,2) = 1 − 3/10
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12);
  assert.equal(passAtK(5, 4, 2), 1);
});

test('mean and standard error of the mean', () => {
  const { mean, stderr } = meanStderr([1, 0, 1, 1]);
  assert.equal(mean, 0.75);
  // sample sd = sqrt(((.25)^2*3 + (.75)^2)/3) = sqrt(0.25) = 0.5 → se = 0.5/2
  assert.ok(Math.abs(stderr - 0.25) < 1e-12);
  assert.ok(Number.isNaN(meanStderr([]).mean));
});

test('CSV: quoted commas, doubled quotes, newlines inside quotes, CRLF', () => {
  assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",2\n'), [
    ['a', 'b'],
    ['x, y', 'say "hi"'],
    ['multi\nline', '2'],
  ]);
  assert.throws(() => parseCsv('a,"open\n', 'f.csv'), /f.csv: unterminated quoted field/);
});

test('few-shot draws are seeded, distinct, and removed from the evaluated docs', () => {
  const a = sampleIndices(100, 10, 1234);
  assert.deepEqual(a, sampleIndices(100, 10, 1234));
  assert.notDeepEqual(a, sampleIndices(100, 10, 42));
  assert.equal(new Set(a).size, 10);
  const docs = Array.from({ length: 20 }, (_, i) => i);
  const { shots, rest } = splitShots(docs, 5);
  assert.equal(rest.length, 15);
  assert.ok(shots.every((s) => !rest.includes(s)));
  assert.deepEqual(rest, [...rest].sort((x, y) => x - y), 'evaluated docs stay in file order');
});
