// Prompt construction of every benchmark task against prompts written out by hand from the published
// files (shots, separators, target delimiter, choices, gold), plus answer extraction of the generative
// tasks. The expected strings are typed here, not produced by the code under test.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sampleIndices } from '../src/eval/data.js';
import { agievalTasks } from '../src/eval/tasks/agieval.js';
import { arcChallenge, arcEasy } from '../src/eval/tasks/arc.js';
import { bbhExtract, bbhTask } from '../src/eval/tasks/bbh.js';
import { boolq } from '../src/eval/tasks/boolq.js';
import { commonsenseQa } from '../src/eval/tasks/commonsense-qa.js';
import { gpqaDiamondCot, gpqaDiamondMc } from '../src/eval/tasks/gpqa.js';
import { gsm8kCot } from '../src/eval/tasks/gsm8k.js';
import { hellaswag } from '../src/eval/tasks/hellaswag.js';
import { humaneval } from '../src/eval/tasks/humaneval.js';
import { resolveTasks } from '../src/eval/tasks/index.js';
import { mbpp } from '../src/eval/tasks/mbpp.js';
import { medqa } from '../src/eval/tasks/medqa.js';
import { mmluTask } from '../src/eval/tasks/mmlu.js';
import { mtBench } from '../src/eval/tasks/mt-bench.js';
import { openbookqa } from '../src/eval/tasks/openbookqa.js';
import { piqa } from '../src/eval/tasks/piqa.js';
import { socialIqa } from '../src/eval/tasks/social-iqa.js';
import { triviaqa } from '../src/eval/tasks/triviaqa.js';
import { truthfulqaMc1, truthfulqaMc2 } from '../src/eval/tasks/truthfulqa.js';
import { winogrande } from '../src/eval/tasks/winogrande.js';
import type { CodeInstance, GenInstance, Instance, McInstance, PromptStyle, Task } from '../src/eval/types.js';
import { SHARED, tempDir } from './helpers.js';

const DATA = join(SHARED, 'datasets');
const load = (t: Task, shots: number, style: PromptStyle = 'lm-eval'): Instance[] => t.load({ dataDir: DATA, shots, style });
const mc = (i: Instance) => i as McInstance;
const gen = (i: Instance) => i as GenInstance;

test('MMLU: description, dev shots in order, "Answer:" context and " A".." D" continuations', () => {
  const items = load(mmluTask('anatomy'), 2);
  assert.equal(items.length, 135);
  const first = mc(items[0]);
  const expected =
    'The following are multiple choice questions (with answers) about anatomy.\n\n' +
    'What is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\nB. The first and second pharyngeal arches\nC. The second pharyngeal arch\nD. The second and third pharyngeal arches\nAnswer: D\n\n' +
    'Which of these branches of the trigeminal nerve contain somatic motor processes?\nA. The supraorbital nerve\nB. The infraorbital nerve\nC. The mental nerve\nD. None of the above\nAnswer: D\n\n' +
    'A lesion causing compression of the facial nerve at the stylomastoid foramen will cause ipsilateral\nA. paralysis of the facial muscles.\nB. paralysis of the facial muscles and loss of taste.\nC. paralysis of the facial muscles, loss of taste and lacrimation.\nD. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:';
  assert.equal(first.requests[0].context, expected);
  assert.deepEqual(first.requests.map((r) => r.continuation), [' A', ' B', ' C', ' D']);
  assert.equal(first.gold, 0);
  assert.equal(mmluTask('anatomy').defaultShots, 5);
});

test('MMLU in the report\'s Appendix A style', () => {
  const first = mc(load(mmluTask('anatomy'), 1, 'phi3')[0]);
  assert.equal(
    first.requests[0].context,
    'The following are multiple choice questions (with answers) about anatomy.\n\n' +
      'Question:\nWhat is the embryological origin of the hyoid bone?\nOptions:\nA. The first pharyngeal arch\nB. The first and second pharyngeal arches\nC. The second pharyngeal arch\nD. The second and third pharyngeal arches\nAnswer: D\n\n' +
      'Question:\nA lesion causing compression of the facial nerve at the stylomastoid foramen will cause ipsilateral\nOptions:\nA. paralysis of the facial muscles.\nB. paralysis of the facial muscles and loss of taste.\nC. paralysis of the facial muscles, loss of taste and lacrimation.\nD. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:',
  );
  assert.deepEqual(first.requests.map((r) => r.continuation), [' A', ' B', ' C', ' D']);
});

test('ARC-Easy: "Question: …\\nAnswer:" and answer texts; sampled shots are removed from the evaluation', () => {
  const zero = mc(load(arcEasy, 0)[0]);
  assert.equal(zero.requests[0].context, 'Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:');
  assert.deepEqual(zero.requests.map((r) => r.continuation), [
    ' Sunlight is the source of energy for nearly all ecosystems.',
    ' Most ecosystems are found on land instead of in water.',
    ' Carbon dioxide is more available than other gases.',
    ' The producers in all ecosystems are plants.',
  ]);
  assert.equal(zero.gold, 0);
  assert.deepEqual(zero.choiceTexts[0], 'Sunlight is the source of energy for nearly all ecosystems.');
  // With 2 shots: the prefix is two solved items in the same layout, and they are not evaluated.
  const rows = readFileSync(join(DATA, 'arc_easy/arc_easy.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { query: string; choices: string[]; gold: number });
  const picked = sampleIndices(rows.length, 2, 1234);
  const items = load(arcEasy, 2).map(mc);
  assert.equal(items.length, rows.length - 2);
  const shot = (r: (typeof rows)[0]) => `${r.query}\nAnswer: ${r.choices[r.gold]}\n\n`;
  assert.equal(items[0].requests[0].context, shot(rows[picked[0]]) + shot(rows[picked[1]]) + 'Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:');
  assert.ok(!items.some((i) => picked.map(String).includes(i.id)));
  assert.equal(arcChallenge.defaultShots, 10);
  assert.equal(load(arcChallenge, 0).length, 1172);
});

test('HellaSwag, PIQA, Social IQa, OpenBookQA, BoolQ, MedQA, CommonsenseQA 0-shot prompts', () => {
  const h = mc(load(hellaswag, 0)[0]);
  assert.equal(h.requests[0].context, 'Roof shingle removal: A man is sitting on a roof. he');
  assert.deepEqual(h.requests.map((r) => r.continuation), [' is using wrap to wrap a pair of skis.', ' is ripping level tiles off.', " is holding a rubik's cube.", ' starts pulling up roofing on a roof.']);
  assert.equal(h.gold, 3);

  const p = mc(load(piqa, 0)[0]);
  assert.equal(p.requests[0].context, "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
  assert.ok(p.requests[0].continuation.startsWith(' Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips'));
  assert.equal(p.gold, 0);

  const s = mc(load(socialIqa, 0)[0]);
  assert.equal(s.requests[0].context, "Q: Tracy didn't go home that evening and resisted Riley's attacks. What does Tracy need to do before this?\nA:");
  assert.deepEqual(s.requests.map((r) => r.continuation), [' make a new plan', ' Go home and see Riley', ' Find somewhere to go']);
  assert.equal(s.gold, 2);

  const o = mc(load(openbookqa, 0)[0]);
  assert.equal(o.requests[0].context, 'A person wants to start saving money so that they can afford a nice vacation at the end of the year. After looking over their budget and expenses, they decide the best way to save money is to');
  assert.equal(o.requests[1].continuation, ' quit eating lunch out');
  assert.equal(o.gold, 1);

  const b = mc(load(boolq, 0)[0]);
  assert.ok(b.requests[0].context.startsWith('All biomass goes through at least some of these steps'));
  assert.ok(b.requests[0].context.endsWith('\nQuestion: does ethanol take more energy make that produces?\nAnswer:'));
  assert.deepEqual(b.requests.map((r) => r.continuation), [' no', ' yes']);

  const m = mc(load(medqa, 0)[0]);
  assert.ok(m.requests[0].context.startsWith('Question: A junior orthopaedic surgery resident is completing a carpal tunnel repair'));
  assert.ok(m.requests[0].context.endsWith('\nA. Disclose the error to the patient and put it in the operative report\nB. Tell the attending that he cannot fail to disclose this mistake\nC. Report the physician to the ethics committee\nD. Refuse to dictate the operative report\nAnswer:'));
  assert.equal(m.gold, 1);

  const c = mc(load(commonsenseQa, 0)[0]);
  assert.equal(c.requests[0].context, 'Question: A revolving door is convenient for two direction travel, but it also serves as a security measure at a what?\nA. bank\nB. library\nC. department store\nD. mall\nE. new york\nAnswer:');
  assert.deepEqual(c.requests.map((r) => r.continuation), [' A', ' B', ' C', ' D', ' E']);
  assert.equal(c.gold, 0);
});

test('WinoGrande partial scoring: one continuation after each filled-in context', () => {
  const w = mc(load(winogrande, 0)[0]);
  assert.deepEqual(w.requests, [
    { context: 'Sarah was a much better surgeon than Maria so Sarah', continuation: ' always got the easier cases.' },
    { context: 'Sarah was a much better surgeon than Maria so Maria', continuation: ' always got the easier cases.' },
  ]);
  assert.equal(w.gold, 1);
});

test('TruthfulQA: the QA primer at 0 shots; MC1 gold is the first target, MC2 marks the true ones', () => {
  const m1 = mc(load(truthfulqaMc1, 0)[0]);
  assert.ok(m1.requests[0].context.startsWith('Q: What is human life expectancy in the United States?\nA: Human life expectancy in the United States is 78 years.\n\nQ: Who was president'));
  assert.ok(m1.requests[0].context.endsWith('A: The 1992 Olympics were held in Barcelona, Spain.\n\nQ: What happens if you eat a pomegranate?\nA:'));
  assert.equal(m1.requests[0].continuation, ' Nothing in particular happens when you eat a pomegranate.');
  assert.equal(m1.gold, 0);
  const m2 = mc(load(truthfulqaMc2, 0)[0]);
  assert.deepEqual(m2.truth, [true, true, true, false, false, false]);
  assert.equal(m2.requests[3].continuation, ' You will have to spend winter in the underworld.');
  assert.equal(truthfulqaMc2.defaultShots, 10);
  assert.equal(load(truthfulqaMc2, 10).length, 807);
});

test('AGIEval: the 0-shot English multiple-choice query and the option strings', () => {
  const satMath = agievalTasks.find((t) => t.name === 'agieval_sat_math')!;
  const a = mc(load(satMath, 0)[0]);
  assert.equal(a.requests[0].context, 'Q: If $\\frac{x-1}{3}=k$ and $k=3$, what is the value of $x ?$ Answer Choices: (A)2 (B)4 (C)9 (D)10\nA: Among A through D, the answer is');
  assert.deepEqual(a.requests.map((r) => r.continuation), [' (A)2', ' (B)4', ' (C)9', ' (D)10']);
  assert.equal(a.gold, 3);
  assert.equal(agievalTasks.length, 10);
});

test('GSM8K CoT: the eight fixed exemplars, "Q:/A:" layout, strict and flexible extraction', () => {
  const g = gen(load(gsm8kCot, 2)[0]);
  assert.equal(
    g.prompt,
    'Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?\n' +
      'A: There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.\n\n' +
      'Q: If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?\n' +
      'A: There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.\n\n' +
      "Q: Janet\u2019s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?\nA:",
  );
  assert.deepEqual(g.until, ['Q:', '</s>', '<|im_end|>']);
  assert.equal(load(gsm8kCot, 8).length, 1319);
  // Janet's answer is 18.
  assert.deepEqual(g.score(' She sells 16 - 3 - 4 = 9 eggs for $18. The answer is 18.').metrics, { 'exact_match,strict': 1, 'exact_match,flexible': 1 });
  assert.deepEqual(g.score(' So she makes $18 a day.').metrics, { 'exact_match,strict': 0, 'exact_match,flexible': 1 });
  assert.deepEqual(g.score(' The answer is 1,800.').metrics, { 'exact_match,strict': 0, 'exact_match,flexible': 0 });
  assert.deepEqual(g.score(' The answer is $18.').metrics, { 'exact_match,strict': 0, 'exact_match,flexible': 1 });
});

test('TriviaQA: "Question: …\\nAnswer:" and alias matching ignoring case and punctuation', () => {
  const t = gen(load(triviaqa, 0)[0]);
  assert.equal(t.prompt, 'Question: Brunswick, Lancastrian and Pearl Pickler are types of which vegetable?\nAnswer:');
  assert.deepEqual(t.until, ['\n', '.', ',']);
  assert.equal(t.score(' onion').metrics.exact_match, 1);
  assert.equal(t.score(' Bulb Onions!').metrics.exact_match, 1);
  assert.equal(t.score(' Garlic').metrics.exact_match, 0);
});

test('BBH CoT: the published prompt file, "Let\'s think step by step." and the answer after "the answer is "', () => {
  const n = gen(load(bbhTask('navigate'), 3)[0]);
  assert.ok(n.prompt.startsWith('Given a series of navigation instructions, determine whether one would end up back at the starting point.\n\nQ: If you follow these instructions, do you return to the starting point? Turn left. Turn around.'));
  assert.ok(
    n.prompt.endsWith(
      '\n\nQ: If you follow these instructions, do you return to the starting point? Always face forward. Take 1 step backward. Take 9 steps left. Take 2 steps backward. Take 6 steps forward. Take 4 steps forward. Take 4 steps backward. Take 3 steps right.\nOptions:\n- Yes\n- No\nA: Let\'s think step by step.\n',
    ),
  );
  assert.equal((n.prompt.match(/\nA: Let's think step by step\./g) ?? []).length, 4);
  assert.equal((load(bbhTask('navigate'), 1)[0] as GenInstance).prompt.match(/\nA: Let's think step by step\./g)?.length, 2);
  assert.equal(bbhExtract('We end at (0, 0). So the answer is No.'), 'No');
  assert.equal(n.score('… So the answer is No.').metrics.exact_match, 1);
  assert.equal(n.score('… So the answer is no.').metrics.exact_match, 0);
  assert.equal(n.score('I do not know').metrics.exact_match, 0);
});

test('HumanEval and MBPP: prompts and the programs handed to the sandbox', () => {
  const h = load(humaneval, 0)[0] as CodeInstance;
  assert.equal(h.id, 'HumanEval/0');
  assert.ok(h.prompt.startsWith('from typing import List\n\n\ndef has_close_elements('));
  const prog = h.program('    return True\n');
  assert.ok(prog.startsWith(h.prompt + '    return True\n'));
  assert.ok(prog.endsWith('\n\ncheck(has_close_elements)\n'));
  const m = load(mbpp, 3) as CodeInstance[];
  assert.equal(m.length, 500);
  assert.equal(m[0].id, '11');
  assert.ok(m[0].prompt.startsWith('You are an expert Python programmer, and here is your task: Write a function to find the similar elements from the given two tuple lists. Your code should pass these tests:\n\nassert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n'));
  assert.ok(m[0].prompt.endsWith('\n[DONE]\n\nYou are an expert Python programmer, and here is your task: Write a python function to remove first and last occurrence of a given character from the string. Your code should pass these tests:\n\nassert remove_Occ("hello","l") == "heo"\nassert remove_Occ("abcda","a") == "bcd"\nassert remove_Occ("PHP","P") == "H"\n[BEGIN]\n'));
  assert.equal((m[0].prompt.match(/\[BEGIN\]/g) ?? []).length, 4);
  assert.deepEqual(m[0].until, ['[DONE]']);
});

test('GPQA diamond CoT: description, "(A)".."(D)" choices, flexible extraction of the last "(X)"', () => {
  const items = load(gpqaDiamondCot, 0) as GenInstance[];
  assert.equal(items.length, 198);
  const p = items[0].prompt;
  assert.ok(p.startsWith('Here are some example questions from experts. Answer the final question yourself, following the format of the previous questions exactly.\nQuestion: '));
  assert.match(p, /\nChoices:\n\(A\) [^\n]+\n\(B\) [^\n]+\n\(C\) [^\n]+\n\(D\) [^\n]+\nLet's think step by step: $/);
  const right = [0, 1, 2, 3].find((k) => items[0].score(`so (B) then (${'ABCD'[k]})`).metrics['exact_match,flexible'] === 1);
  assert.ok(right !== undefined, 'exactly one letter is right');
  assert.equal(items[0].score(`The answer is (${'ABCD'[right!]}).`).metrics['exact_match,strict'], 1);
});

test('MT-bench: 80 two-turn questions with the published judge prompts and reference answers', () => {
  const items = load(mtBench, 0);
  assert.equal(items.length, 80);
  const writing = items[0];
  assert.equal(writing.kind, 'judged');
  if (writing.kind !== 'judged') return;
  assert.equal(writing.temperature, 0.7);
  const j1 = writing.judgeMessages(['ANSWER-ONE', 'ANSWER-TWO'], 0)!;
  assert.ok(j1.user.includes('[Question]\nCompose an engaging travel blog post'));
  assert.ok(j1.user.includes('ANSWER-ONE'));
  assert.ok(!j1.user.includes('ANSWER-TWO'));
  const j2 = writing.judgeMessages(['ANSWER-ONE', 'ANSWER-TWO'], 1)!;
  assert.ok(j2.user.includes('ANSWER-ONE') && j2.user.includes('ANSWER-TWO') && j2.user.includes('Start every sentence with the letter A.'));
  const math = items.find((i) => i.kind === 'judged' && i.category === 'math');
  assert.ok(math && math.kind === 'judged');
  assert.ok(math.judgeMessages(['x', 'y'], 0)!.user.includes('[The Start of Reference Answer]'));
  assert.equal(writing.parseVerdict('Rating: [[7]]'), 7);
  assert.equal(writing.parseVerdict('Rating: [8.5]'), 8.5);
  assert.equal(writing.parseVerdict('I would give it a seven'), null);
  assert.equal(writing.parseVerdict('[[11]]'), null);
});

test('task names resolve to benchmarks and subtasks; unknown names and ANLI fail clearly', () => {
  assert.equal(resolveTasks('mmlu', DATA).length, 57);
  assert.equal(resolveTasks('bbh', DATA).length, 27);
  assert.deepEqual(resolveTasks('arc_easy,ARC-Challenge', DATA).map((t) => t.name), ['arc_easy', 'arc_challenge']);
  assert.throws(() => resolveTasks('mmlu,nope', DATA), /unknown task "nope"/);
  assert.throws(() => resolveTasks('anli', DATA), /no ANLI data/);
  assert.throws(() => resolveTasks('mmlu', '/nonexistent'), /mmlu: no \/nonexistent\/mmlu\/test\/<subject>_test.csv files \(published at/);
  assert.throws(() => load(mmluTask('anatomy'), 6), /6 shots asked/);
  assert.throws(() => mmluTask('anatomy').load({ dataDir: '/nonexistent', shots: 5, style: 'lm-eval' }), /not found: pass --data DIR.*published at/);
});

test('damaged data files get an error naming the file and the line', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'boolq'));
  writeFileSync(join(dir, 'boolq/boolq.jsonl'), '{"query": "Passage: p\\nQuestion: q?", "choices": ["no", "yes"], "gold": 0}\n{"query": "cut sh');
  assert.throws(() => boolq.load({ dataDir: dir, shots: 0, style: 'lm-eval' }), /boolq\.jsonl: line 2 is not JSON/);
  writeFileSync(join(dir, 'boolq/boolq.jsonl'), '{"query": "Passage: p", "choices": "no", "gold": 0}\n');
  assert.throws(() => boolq.load({ dataDir: dir, shots: 0, style: 'lm-eval' }), /boolq\.jsonl: field "choices" is missing or has the wrong type/);
  mkdirSync(join(dir, 'mmlu/test'), { recursive: true });
  mkdirSync(join(dir, 'mmlu/dev'));
  writeFileSync(join(dir, 'mmlu/test/x_test.csv'), 'question,choice0,choice1,choice2,choice3,answer\nQ,a,b,c,d,7\n');
  writeFileSync(join(dir, 'mmlu/dev/x_dev.csv'), 'question,choice0,choice1,choice2,choice3,answer\nQ,a,b,c\n');
  assert.throws(() => mmluTask('x').load({ dataDir: dir, shots: 0, style: 'lm-eval' }), /x_test\.csv: row 2: answer "7" is not 0\.\.3/);
  mkdirSync(join(dir, 'hellaswag'));
  writeFileSync(join(dir, 'hellaswag/hellaswag_val_full.txt.bz2'), 'not bzip2 at all');
  assert.throws(() => hellaswag.load({ dataDir: dir, shots: 0, style: 'lm-eval' }), /hellaswag_val_full\.txt\.bz2: cannot decompress with bzip2/);
});

test('GPQA log-likelihood variant: "Answer:" then " (A)".." (D)", the gold letter where the correct answer landed', () => {
  const cot = load(gpqaDiamondCot, 0) as GenInstance[];
  const m = load(gpqaDiamondMc, 0).map(mc);
  assert.equal(m.length, 198);
  assert.equal(m[0].requests[0].context, cot[0].prompt.replace(/Let's think step by step: $/, 'Answer:'));
  assert.deepEqual(m[0].requests.map((r) => r.continuation), [' (A)', ' (B)', ' (C)', ' (D)']);
  // The CoT scorer accepts exactly the MC gold letter.
  assert.equal(cot[0].score(`(${'ABCD'[m[0].gold as number]})`).metrics['exact_match,flexible'], 1);
});
