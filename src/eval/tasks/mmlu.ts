// MMLU (Hendrycks et al.): 57 subjects, 4 options, 5-shot from each subject's dev split in order
// (lm-eval `first_n`), scored by the log-likelihood of " A".." D" after "Answer:". One task per subject
// (`mmlu_<subject>`); the benchmark is the micro-average over all 14,042 test items.
// Data: the header-row CSV export of HF cais/mmlu in ../shared/datasets/mmlu/{dev,test}/.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dataFile, readCsvObjects } from '../data.js';
import { LETTERS, mcInstances, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';
import { FormatError, Phi3Error } from '../../errors.js';

const SOURCE = 'https://huggingface.co/datasets/cais/mmlu (or https://people.eecs.berkeley.edu/~hendrycks/data.tar); files mmlu/{dev,test}/<subject>_{dev,test}.csv';

function docs(path: string, subject: string): McDoc[] {
  return readCsvObjects(path).map((r, i) => {
    const choices = [r.choice0, r.choice1, r.choice2, r.choice3];
    const gold = Number(r.answer);
    if (!Number.isInteger(gold) || gold < 0 || gold > 3) throw new FormatError(path, `row ${i + 2}: answer "${r.answer}" is not 0..3`);
    const q = r.question.trim();
    return {
      id: `${subject}/${i}`,
      text: `${q}\n${choices.map((c, j) => `${LETTERS[j]}. ${c}`).join('\n')}\nAnswer:`,
      question: q,
      choices: ['A', 'B', 'C', 'D'],
      options: choices,
      gold,
    };
  });
}

/** Subjects present in the data folder (falls back to none, with a clear error at load). */
export function mmluSubjects(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'mmlu/test'))
      .filter((f) => f.endsWith('_test.csv'))
      .map((f) => f.slice(0, -'_test.csv'.length))
      .sort();
  } catch {
    return [];
  }
}

export function mmluTask(subject: string): Task {
  return {
    name: `mmlu_${subject}`,
    benchmark: 'mmlu',
    defaultShots: 5,
    headline: 'acc',
    source: SOURCE,
    styles: ['lm-eval', 'phi3'],
    load(o: LoadOptions) {
      const test = docs(dataFile(o.dataDir, `mmlu/test/${subject}_test.csv`, SOURCE), subject);
      const dev = docs(dataFile(o.dataDir, `mmlu/dev/${subject}_dev.csv`, SOURCE), subject);
      if (o.shots > dev.length) throw new Phi3Error(`mmlu: ${o.shots} shots asked but the ${subject} dev split has ${dev.length}`);
      const description = `The following are multiple choice questions (with answers) about ${subject.replace(/_/g, ' ')}.\n\n`;
      return mcInstances(test, dev.slice(0, o.shots), { style: o.style, description });
    },
  };
}
