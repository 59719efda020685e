// HumanEval (164 Python problems), 0-shot: the raw prompt (signature + docstring), greedy completion
// up to 1,024 tokens stopping at "\nclass", "\ndef", "\n#", "\nif", "\nprint"; the program
// prompt + completion + test + check(entry_point) runs in the sandbox; pass@1.
import { FormatError } from '../../errors.js';
import { dataFile, readJsonl } from '../data.js';
import type { CodeInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/openai/human-eval (data/HumanEval.jsonl.gz)';

interface HeRow {
  task_id: string;
  prompt: string;
  test: string;
  entry_point: string;
}

export const humaneval: Task = {
  name: 'humaneval',
  benchmark: 'humaneval',
  defaultShots: 0,
  headline: 'pass@1',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'humaneval/HumanEval.jsonl.gz', SOURCE);
    if (o.shots !== 0) throw new FormatError(path, 'HumanEval is 0-shot (the prompt is the function to complete)');
    return readJsonl<HeRow>(path).map((r, i): CodeInstance => {
      for (const k of ['task_id', 'prompt', 'test', 'entry_point'] as const)
        if (typeof r[k] !== 'string') throw new FormatError(path, `line ${i + 1}: "${k}" missing`);
      return {
        kind: 'code',
        id: r.task_id,
        prompt: r.prompt,
        until: ['\nclass', '\ndef', '\n#', '\nif', '\nprint'],
        maxTokens: 1024,
        program: (completion) => `${r.prompt}${completion}\n\n${r.test}\n\ncheck(${r.entry_point})\n`,
      };
    });
  },
};
