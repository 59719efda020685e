// BIG-Bench Hard, 3-shot chain of thought (lm-eval `bbh_cot_fewshot_*`): the task's published CoT
// prompt file (description + three worked exemplars), then "\n\nQ: {input}\nA: Let's think step by
// step.\n", greedy until "</s>", "Q" or "\n\n" (1,024 tokens), the answer taken after "the answer is "
// (without the final character), exact match case-sensitive. One task per subtask; the benchmark is the
// micro-average. With fewer shots the first k exemplars are kept.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, Phi3Error } from '../../errors.js';
import { dataFile, readJson, readText } from '../data.js';
import { exactMatch, regexExtract } from '../metrics.js';
import type { GenInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/suzgunmirac/BIG-Bench-Hard (bbh/<task>.json, cot-prompts/<task>.txt)';

export function bbhSubtasks(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'bbh/bbh')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

/** Splits a cot-prompts file into its description and exemplars ("Q: …\nA: …" blocks). */
export function parseCotPrompt(text: string, path: string): { description: string; shots: string[] } {
  const k = text.indexOf('-----\n');
  if (k < 0) throw new FormatError(path, 'no "-----" line after the canary');
  const body = text.slice(k + 6).trim();
  const blocks = body.split(/\n\n(?=Q: )/);
  if (blocks.length < 2 || blocks[0].startsWith('Q: ')) throw new FormatError(path, 'expected a description, then "Q: …" exemplars');
  return { description: blocks[0], shots: blocks.slice(1) };
}

export function bbhExtract(output: string): string {
  return regexExtract(output, '(?<=the answer is )(.*)(?=.)', 0);
}

export function bbhTask(sub: string): Task {
  return {
    name: `bbh_cot_${sub}`,
    benchmark: 'bbh',
    defaultShots: 3,
    headline: 'exact_match',
    source: SOURCE,
    styles: ['lm-eval'],
    load(o: LoadOptions) {
      const ppath = dataFile(o.dataDir, `bbh/cot-prompts/${sub}.txt`, SOURCE);
      const { description, shots } = parseCotPrompt(readText(ppath), ppath);
      if (o.shots > shots.length) throw new Phi3Error(`bbh ${sub}: ${o.shots} shots asked, the prompt file has ${shots.length}`);
      const prefix = [description, ...shots.slice(0, o.shots)].join('\n\n') + '\n\n';
      const path = dataFile(o.dataDir, `bbh/bbh/${sub}.json`, SOURCE);
      const data = readJson<{ examples?: { input: string; target: string }[] }>(path);
      if (!Array.isArray(data.examples)) throw new FormatError(path, 'no "examples" array');
      return data.examples.map(
        (e, i): GenInstance => ({
          kind: 'gen',
          id: String(i),
          prompt: `${prefix}Q: ${e.input}\nA: Let's think step by step.\n`,
          until: ['</s>', 'Q', '\n\n'],
          maxTokens: 1024,
          score(output) {
            const answer = bbhExtract(output);
            return { metrics: { exact_match: exactMatch(answer, e.target) }, extracted: { answer } };
          },
        }),
      );
    },
  };
}
