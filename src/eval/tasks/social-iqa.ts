// Social IQa (dev = lm-eval's validation): "Q: {context} {question}\nA:" then " {answerA|B|C}"; acc.
// Data: the authors' dev.jsonl + dev-labels.lst (labels 1-based). 5 shots drawn once (seed 1234) from
// the dev items (the train split is not stored).
import { dataFile, field, isStr, readJsonl } from '../data.js';
import { mcInstances, splitShots, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';
import { readLabels } from './piqa.js';

const SOURCE = 'https://leaderboard.allenai.org/socialiqa (socialiqa-train-dev.zip: dev.jsonl, dev-labels.lst)';

export const socialIqa: Task = {
  name: 'social_iqa',
  benchmark: 'social_iqa',
  defaultShots: 5,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'social_iqa/dev.jsonl', SOURCE);
    const rows = readJsonl(path);
    const labels = readLabels(dataFile(o.dataDir, 'social_iqa/dev-labels.lst', SOURCE), rows.length, 1, 3);
    const docs: McDoc[] = rows.map((r, i) => {
      const q = `${field(r, 'context', path, isStr)} ${field(r, 'question', path, isStr)}`;
      return {
        id: String(i),
        text: `Q: ${q}\nA:`,
        question: q,
        choices: ['answerA', 'answerB', 'answerC'].map((k) => field(r, k, path, isStr)),
        gold: labels[i] - 1,
      };
    });
    const { shots, rest } = splitShots(docs, o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
