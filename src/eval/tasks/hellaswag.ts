// HellaSwag: pick the ending of an activity description; 4 endings, scored by log-likelihood, headline
// acc_norm. Data: llama.cpp's text export of the validation split (6 lines per item: context, gold,
// 4 endings), which keeps `ctx` whole, so the query is preprocess(context) rather than lm-eval's
// ctx_a + " " + capitalize(ctx_b) (identical text in nearly all items). No train split is stored: the
// 5 shots are drawn once (seed 1234) from the validation items and left out of the evaluation.
import { FormatError } from '../../errors.js';
import { dataFile, readText } from '../data.js';
import { mcInstances, splitShots, type McDoc } from '../fewshot.js';
import type { LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/rowanz/hellaswag (data/hellaswag_val.jsonl); here hellaswag/hellaswag_val_full.txt.bz2 (llama.cpp format)';

/** lm-eval's hellaswag preprocess: strip, " [title]" → ". ", drop [tags], collapse double spaces. */
export function hellaswagPreprocess(text: string): string {
  return text.trim().replaceAll(' [title]', '. ').replace(/\[.*?\]/g, '').replaceAll('  ', ' ');
}

export function parseHellaswag(text: string, path: string): McDoc[] {
  const lines = text.split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length % 6 !== 0) throw new FormatError(path, `${lines.length} lines is not a multiple of 6 (context, gold, 4 endings)`);
  const out: McDoc[] = [];
  for (let i = 0; i < lines.length; i += 6) {
    const gold = Number(lines[i + 1]);
    if (!Number.isInteger(gold) || gold < 0 || gold > 3) throw new FormatError(path, `line ${i + 2}: gold "${lines[i + 1]}" is not 0..3`);
    const query = hellaswagPreprocess(lines[i]);
    out.push({ id: String(i / 6), text: query, question: query, choices: lines.slice(i + 2, i + 6).map(hellaswagPreprocess), gold });
  }
  return out;
}

export const hellaswag: Task = {
  name: 'hellaswag',
  benchmark: 'hellaswag',
  defaultShots: 5,
  headline: 'acc_norm',
  source: SOURCE,
  styles: ['lm-eval', 'phi3'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'hellaswag/hellaswag_val_full.txt.bz2', SOURCE);
    const { shots, rest } = splitShots(parseHellaswag(readText(path), path), o.shots);
    return mcInstances(rest, shots, { style: o.style });
  },
};
