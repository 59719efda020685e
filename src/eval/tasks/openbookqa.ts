// OpenBookQA (main, test): the bare question stem, then " <answer text>"; headline acc_norm. Data:
// llm-foundry's export. No train split is stored: 10 shots drawn once (seed 1234) from the test items.
import { dataFile } from '../data.js';
import { mcInstances, splitShots } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';
import { readQueryChoicesGold } from './arc.js';

const SOURCE = 'https://huggingface.co/datasets/allenai/openbookqa (main, test); here openbookqa/openbook_qa.jsonl (llm-foundry format)';

export const openbookqa: Task = {
  name: 'openbookqa',
  benchmark: 'openbookqa',
  defaultShots: 10,
  headline: 'acc_norm',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const { shots, rest } = splitShots(readQueryChoicesGold(dataFile(o.dataDir, 'openbookqa/openbook_qa.jsonl', SOURCE), ''), o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
