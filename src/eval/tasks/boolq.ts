// BoolQ (SuperGLUE validation): "{passage}\nQuestion: {question}?\nAnswer:" then " no" / " yes"; acc.
// Data: llm-foundry's export whose query is "Passage: {passage}\nQuestion: {question}?"; the "Passage: "
// label is dropped and "\nAnswer:" added, giving lm-eval's text. 2 shots drawn once (seed 1234) from
// the evaluated split (no train split stored).
import { dataFile } from '../data.js';
import { mcInstances, splitShots } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';
import { readQueryChoicesGold } from './arc.js';

const SOURCE = 'https://huggingface.co/datasets/super_glue (boolq, validation); here boolq/boolq.jsonl (llm-foundry format)';

export const boolq: Task = {
  name: 'boolq',
  benchmark: 'boolq',
  defaultShots: 2,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const docs = readQueryChoicesGold(dataFile(o.dataDir, 'boolq/boolq.jsonl', SOURCE), 'Passage: ').map((d) => ({ ...d, text: `${d.question}\nAnswer:` }));
    const { shots, rest } = splitShots(docs, o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
