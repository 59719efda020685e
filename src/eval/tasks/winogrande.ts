// WinoGrande (xl, validation) with lm-eval's partial scoring: each option fills the blank, the sentence
// up to the blank is the context, and the SAME continuation (the text after the blank) is scored after
// each context; acc. A shot shows its gold context + " " + continuation. Data: llm-foundry's export,
// already split into context_options / continuation. 5 shots drawn once (seed 1234) from the items.
import { dataFile, field, isNum, isStr, isStrArr, readJsonl } from '../data.js';
import { splitShots } from '../fewshot.js';
import type { LoadOptions, McInstance, Task } from '../types.js';

const SOURCE = 'https://huggingface.co/datasets/allenai/winogrande (winogrande_xl, validation); here winogrande/winogrande.jsonl (llm-foundry format)';

interface WinoDoc {
  id: string;
  contexts: string[];
  continuation: string;
  gold: number;
}

export const winogrande: Task = {
  name: 'winogrande',
  benchmark: 'winogrande',
  defaultShots: 5,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'winogrande/winogrande.jsonl', SOURCE);
    const docs: WinoDoc[] = readJsonl(path).map((r, i) => ({
      id: String(i),
      contexts: field(r, 'context_options', path, isStrArr),
      continuation: field(r, 'continuation', path, isStr).trim(),
      gold: field(r, 'gold', path, isNum),
    }));
    const { shots, rest } = splitShots(docs, o.shots);
    const prefix = shots.map((s) => `${s.contexts[s.gold]} ${s.continuation}\n\n`).join('');
    return rest.map(
      (d): McInstance => ({
        kind: 'mc',
        id: d.id,
        requests: d.contexts.map((c) => ({ context: prefix + c, continuation: ' ' + d.continuation })),
        gold: d.gold,
        choiceTexts: d.contexts.map(() => d.continuation),
      }),
    );
  },
};
