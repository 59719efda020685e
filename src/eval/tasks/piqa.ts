// PIQA (physical commonsense, validation): "Question: {goal}\nAnswer:" then " {sol1}" / " {sol2}";
// headline acc_norm. Data: the authors' valid.jsonl + valid-labels.lst (one 0/1 per line, aligned).
// 5 shots drawn once (seed 1234) from the validation items (the train split is not stored).
import { FormatError } from '../../errors.js';
import { dataFile, field, isStr, readJsonl, readText } from '../data.js';
import { mcInstances, splitShots, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';

const SOURCE = 'https://yonatanbisk.com/piqa/ (github ybisk/ybisk.github.io piqa/data/valid.jsonl, valid-labels.lst)';

/** Labels file: one integer per line, aligned with the JSONL rows. */
export function readLabels(path: string, n: number, min: number, max: number): number[] {
  const labels = readText(path).split('\n').map((s) => s.trim()).filter(Boolean).map(Number);
  if (labels.length !== n) throw new FormatError(path, `${labels.length} labels for ${n} items`);
  labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < min || l > max) throw new FormatError(path, `line ${i + 1}: label ${l} is not in ${min}..${max}`);
  });
  return labels;
}

export const piqa: Task = {
  name: 'piqa',
  benchmark: 'piqa',
  defaultShots: 5,
  headline: 'acc_norm',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'piqa/valid.jsonl', SOURCE);
    const rows = readJsonl(path);
    const labels = readLabels(dataFile(o.dataDir, 'piqa/valid-labels.lst', SOURCE), rows.length, 0, 1);
    const docs: McDoc[] = rows.map((r, i) => {
      const goal = field(r, 'goal', path, isStr);
      return { id: String(i), text: `Question: ${goal}\nAnswer:`, question: goal, choices: [field(r, 'sol1', path, isStr), field(r, 'sol2', path, isStr)], gold: labels[i] };
    });
    const { shots, rest } = splitShots(docs, o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
