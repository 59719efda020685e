// CommonsenseQA (dev, random split): "Question: {stem}\nA. …\nE. …\nAnswer:" then " A".." E"; acc.
// Data: the authors' dev_rand_split.jsonl. The train split (the report's 10-shot pool) is not stored:
// 10 shots drawn once (seed 1234) from the dev items and left out of the evaluation.
import { FormatError } from '../../errors.js';
import { dataFile, readJsonl } from '../data.js';
import { LETTERS, mcInstances, splitShots, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';

const SOURCE = 'https://www.tau-nlp.org/commonsenseqa (dev_rand_split.jsonl)';

interface CsqaRow {
  id: string;
  answerKey: string;
  question: { stem: string; choices: { label: string; text: string }[] };
}

export const commonsenseQa: Task = {
  name: 'commonsense_qa',
  benchmark: 'commonsense_qa',
  defaultShots: 10,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'commonsense_qa/dev_rand_split.jsonl', SOURCE);
    const docs: McDoc[] = readJsonl<CsqaRow>(path).map((r, i) => {
      const opts = r.question?.choices;
      if (!Array.isArray(opts) || typeof r.question.stem !== 'string') throw new FormatError(path, `line ${i + 1}: no question.stem / question.choices`);
      const gold = opts.findIndex((c) => c.label === r.answerKey);
      if (gold < 0) throw new FormatError(path, `line ${i + 1}: answerKey ${r.answerKey} is not among the labels`);
      const texts = opts.map((c) => c.text);
      return {
        id: r.id ?? String(i),
        text: `Question: ${r.question.stem}\n${texts.map((t, j) => `${LETTERS[j]}. ${t}`).join('\n')}\nAnswer:`,
        question: r.question.stem,
        choices: texts.map((_, j) => LETTERS[j]),
        options: texts,
        gold,
      };
    });
    const { shots, rest } = splitShots(docs, o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
