// MBPP (full; test = task_ids 11–510), 3-shot with the fixed prompt exemplars 2, 3, 4 (lm-eval `mbpp`):
// "You are an expert Python programmer, and here is your task: {text} Your code should pass these
// tests:\n\n{tests}\n[BEGIN]\n" + code + "\n[DONE]"; greedy until "[DONE]"; the completion, the setup
// code and the three asserts run in the sandbox; pass@1.
import { FormatError, Phi3Error } from '../../errors.js';
import { dataFile, readJsonl } from '../data.js';
import type { CodeInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/google-research/google-research/tree/master/mbpp (mbpp.jsonl)';

interface MbppRow {
  task_id: number;
  text: string;
  code: string;
  test_list: string[];
  test_setup_code?: string;
}

export function mbppText(r: MbppRow): string {
  return `You are an expert Python programmer, and here is your task: ${r.text} Your code should pass these tests:\n\n${r.test_list.join('\n')}\n[BEGIN]\n`;
}

export const mbpp: Task = {
  name: 'mbpp',
  benchmark: 'mbpp',
  defaultShots: 3,
  headline: 'pass@1',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'mbpp/mbpp.jsonl', SOURCE);
    const rows = readJsonl<MbppRow>(path);
    rows.forEach((r, i) => {
      if (typeof r.task_id !== 'number' || typeof r.text !== 'string' || typeof r.code !== 'string' || !Array.isArray(r.test_list))
        throw new FormatError(path, `line ${i + 1}: needs task_id, text, code, test_list`);
    });
    const byId = new Map(rows.map((r) => [r.task_id, r]));
    if (o.shots > 3) throw new Phi3Error('mbpp has 3 fixed prompt exemplars (task_ids 2, 3, 4)');
    const shots = [2, 3, 4].slice(0, o.shots).map((id) => {
      const r = byId.get(id);
      if (!r) throw new FormatError(path, `prompt exemplar task_id ${id} missing`);
      return `${mbppText(r)}${r.code}\n[DONE]`;
    });
    const prefix = shots.map((s) => s + '\n\n').join('');
    return rows
      .filter((r) => r.task_id >= 11 && r.task_id <= 510)
      .map(
        (r): CodeInstance => ({
          kind: 'code',
          id: String(r.task_id),
          prompt: prefix + mbppText(r),
          until: ['[DONE]'],
          maxTokens: 512,
          program: (completion) => `${r.test_setup_code ?? ''}\n${completion}\n\n${r.test_list.join('\n')}\n`,
        }),
      );
  },
};
