// ARC-Challenge and ARC-Easy (AI2 Reasoning Challenge): science questions, choices are the answer texts,
// "Question: …\nAnswer:" then " <answer text>"; headline acc_norm. Data: llm-foundry's export of the
// test splits (query already "Question: …"). No train split is stored: the 10 shots are drawn once
// (seed 1234) from the test items and left out of the evaluation.
import { dataFile, field, isNum, isStr, isStrArr, readJsonl } from '../data.js';
import { mcInstances, splitShots, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';

const SOURCE = 'https://huggingface.co/datasets/allenai/ai2_arc (ARC-Challenge/ARC-Easy test); here arc_*/arc_*.jsonl (llm-foundry format)';

export function readQueryChoicesGold(path: string, prefix: string): McDoc[] {
  return readJsonl(path).map((r, i) => {
    const query = field(r, 'query', path, isStr);
    const choices = field(r, 'choices', path, isStrArr);
    const gold = field(r, 'gold', path, isNum);
    const question = query.startsWith(prefix) ? query.slice(prefix.length) : query;
    return { id: String(i), text: query, question, choices, gold };
  });
}

function arcTask(name: 'arc_challenge' | 'arc_easy'): Task {
  return {
    name,
    benchmark: name,
    defaultShots: 10,
    headline: 'acc_norm',
    source: SOURCE,
    styles: ['lm-eval', 'phi3'],
    load(o: LoadOptions) {
      const path = dataFile(o.dataDir, `${name}/${name}.jsonl`, SOURCE);
      const all = readQueryChoicesGold(path, 'Question: ').map((d) => ({ ...d, text: `Question: ${d.question}\nAnswer:` }));
      const { shots, rest } = splitShots(all, o.shots);
      return mcInstances(rest, shots, { style: o.style });
    },
  };
}

export const arcChallenge = arcTask('arc_challenge');
export const arcEasy = arcTask('arc_easy');
