// GPQA diamond, 2-shot chain of thought (the report's setting; lm-eval `gpqa_diamond_cot_n_shot`): the
// experts' description, then "Question: …\nChoices:\n(A) …\n(D) …\nLet's think step by step: ", the
// correct answer shuffled among the four options with a seeded generator (seed 42; lm-eval uses
// Python's random, so the letters differ from theirs while the questions do not). Shots show the
// dataset's explanation and "The answer is (X)." Greedy until "</s>" (512 tokens), the answer after
// "The answer is " (strict) or the last "(X)" (flexible), exact match ignoring case and punctuation.
// Data: the authors' password-protected zip (password published by them), read via `unzip`.
// `gpqa_diamond_n_shot` is lm-eval's log-likelihood variant over " (A)".." (D)" (benchmark gpqa_mc).
import { FormatError } from '../../errors.js';
import { dataFile, parseCsv, readZipMember, shuffled } from '../data.js';
import { splitShots } from '../fewshot.js';
import { exactMatch, regexExtract } from '../metrics.js';
import type { GenInstance, LoadOptions, McInstance, Task } from '../types.js';

const SOURCE = 'https://github.com/idavidrein/gpqa (dataset.zip, password "deserted-untie-orchid"; gpqa_diamond.csv)';
export const GPQA_DESCRIPTION = 'Here are some example questions from experts. Answer the final question yourself, following the format of the previous questions exactly.\n';

interface GpqaDoc {
  id: string;
  question: string;
  options: string[];
  gold: number;
  explanation: string;
}

export function readGpqa(path: string): GpqaDoc[] {
  const rows = parseCsv(readZipMember(path, 'gpqa_diamond.csv', 'deserted-untie-orchid'), path);
  const header = rows[0] ?? [];
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new FormatError(path, `gpqa_diamond.csv has no "${name}" column`);
    return i;
  };
  const [q, c, w1, w2, w3, ex] = ['Question', 'Correct Answer', 'Incorrect Answer 1', 'Incorrect Answer 2', 'Incorrect Answer 3', 'Explanation'].map(col);
  return rows.slice(1).filter((r) => r.length === header.length).map((r, i) => {
    const opts = [r[c], r[w1], r[w2], r[w3]].map((s) => s.trim());
    const order = shuffled([0, 1, 2, 3], 42 + i);
    return { id: String(i), question: r[q].trim(), options: order.map((k) => opts[k]), gold: order.indexOf(0), explanation: r[ex].trim() };
  });
}

const letter = (i: number) => `(${'ABCD'[i]})`;
const body = (d: GpqaDoc) => `Question: ${d.question}\nChoices:\n${d.options.map((o, i) => `${letter(i)} ${o}`).join('\n')}\nLet's think step by step: `;

export const gpqaDiamondCot: Task = {
  name: 'gpqa_diamond_cot',
  benchmark: 'gpqa',
  defaultShots: 2,
  headline: 'exact_match,flexible',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const { shots, rest } = splitShots(readGpqa(dataFile(o.dataDir, 'gpqa/gpqa_diamond.zip', SOURCE)), o.shots);
    const prefix = GPQA_DESCRIPTION + shots.map((s) => `${body(s)}${s.explanation} The answer is ${letter(s.gold)}.\n\n`).join('');
    return rest.map(
      (d): GenInstance => ({
        kind: 'gen',
        id: d.id,
        prompt: prefix + body(d),
        until: ['</s>', '\n\nQuestion:'],
        maxTokens: 512,
        score(output) {
          const strict = regexExtract(output, '(?<=The answer is )(.*)(?=.)', 0);
          const flexible = regexExtract(output, '(\\([A-Z]\\))', -1);
          const em = (s: string) => exactMatch(s, letter(d.gold), { ignoreCase: true, ignorePunctuation: true });
          return { metrics: { 'exact_match,strict': em(strict), 'exact_match,flexible': em(flexible) }, extracted: { strict, flexible } };
        },
      }),
    );
  },
};

/** lm-eval `gpqa_diamond_n_shot`: the same layout ending "Answer:", scored over " (A)".." (D)". */
export const gpqaDiamondMc: Task = {
  name: 'gpqa_diamond_n_shot',
  benchmark: 'gpqa_mc',
  defaultShots: 2,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const { shots, rest } = splitShots(readGpqa(dataFile(o.dataDir, 'gpqa/gpqa_diamond.zip', SOURCE)), o.shots);
    const text = (d: GpqaDoc) => `Question: ${d.question}\nChoices:\n${d.options.map((op, i) => `${letter(i)} ${op}`).join('\n')}\nAnswer:`;
    const prefix = GPQA_DESCRIPTION + shots.map((s) => `${text(s)} ${letter(s.gold)}\n\n`).join('');
    return rest.map(
      (d): McInstance => ({
        kind: 'mc',
        id: d.id,
        requests: [0, 1, 2, 3].map((i) => ({ context: prefix + text(d), continuation: ' ' + letter(i) })),
        gold: d.gold,
        choiceTexts: [0, 1, 2, 3].map(letter),
      }),
    );
  },
};
