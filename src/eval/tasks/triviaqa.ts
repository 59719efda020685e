// TriviaQA (rc.nocontext validation; here llm-foundry's 3,000-question subset with aliases):
// "Question: {question}?\nAnswer:" + " {answer}" shots, greedy until "\n", "." or ",", leading
// whitespace removed, exact match (ignoring case and punctuation) against any alias. 5 shots drawn once
// (seed 1234) from the subset and left out of the evaluation (the train split is not stored).
import { dataFile, field, isStr, isStrArr, readJsonl } from '../data.js';
import { genPrompt, splitShots, type GenDoc } from '../fewshot.js';
import { exactMatch } from '../metrics.js';
import type { GenInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://nlp.cs.washington.edu/triviaqa/ (rc.nocontext validation); here triviaqa/triviaqa_sm_sub.jsonl (llm-foundry subset)';

export const triviaqa: Task = {
  name: 'triviaqa',
  benchmark: 'triviaqa',
  defaultShots: 5,
  headline: 'exact_match',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'triviaqa/triviaqa_sm_sub.jsonl', SOURCE);
    const docs = readJsonl(path).map((r, i) => ({
      id: String(i),
      text: field(r, 'context', path, isStr),
      target: field(r, 'answer', path, isStr),
      aliases: field(r, 'aliases', path, isStrArr),
    }));
    const { shots, rest } = splitShots(docs, o.shots);
    return rest.map(
      (d): GenInstance => ({
        kind: 'gen',
        id: d.id,
        prompt: genPrompt(d as GenDoc, shots),
        until: ['\n', '.', ','],
        maxTokens: 256,
        score(output) {
          const pred = output.replace(/^\s+/, '');
          const refs = d.aliases.length ? d.aliases : [d.target];
          return { metrics: { exact_match: exactMatch(pred, refs, { ignoreCase: true, ignorePunctuation: true }) }, extracted: { answer: pred } };
        },
      }),
    );
  },
};
