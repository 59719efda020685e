// MedQA (USMLE, 4 options, test): "Question: {q}\nA. …\nD. …\nAnswer:" then " A".." D"; acc.
// Data: jind11/MedQA's US 4-option test file. The train/dev splits are not stored: the 2 shots are drawn
// once (seed 1234) from the test items and left out of the evaluation.
import { FormatError } from '../../errors.js';
import { dataFile, field, isStr, readJsonl } from '../data.js';
import { LETTERS, mcInstances, splitShots, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/jind11/MedQA (data_clean/questions/US/4_options/phrases_no_exclude_test.jsonl)';

export const medqa: Task = {
  name: 'medqa_4options',
  benchmark: 'medqa',
  defaultShots: 2,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'medqa/US_4_options_phrases_no_exclude_test.jsonl', SOURCE);
    const docs: McDoc[] = readJsonl(path).map((r, i) => {
      const q = field(r, 'question', path, isStr);
      const options = r.options as Record<string, string> | undefined;
      if (!options || LETTERS.slice(0, 4).split('').some((l) => typeof options[l] !== 'string')) throw new FormatError(path, `line ${i + 1}: options A..D missing`);
      const texts = ['A', 'B', 'C', 'D'].map((l) => options[l]);
      const gold = LETTERS.indexOf(field(r, 'answer_idx', path, isStr));
      if (gold < 0 || gold > 3) throw new FormatError(path, `line ${i + 1}: answer_idx is not A..D`);
      return {
        id: String(i),
        text: `Question: ${q}\n${texts.map((t, j) => `${LETTERS[j]}. ${t}`).join('\n')}\nAnswer:`,
        question: q,
        choices: ['A', 'B', 'C', 'D'],
        options: texts,
        gold,
      };
    });
    const { shots, rest } = splitShots(docs, o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
