// GSM8K with 8-shot chain of thought (lm-eval `gsm8k_cot`, the report's setting): the eight fixed
// exemplars of Wei et al. (2022), "Q: {question}\nA:", greedy until "Q:" (or 256 tokens), then
// exact match on the number after "The answer is" (strict) or the last number (flexible), ignoring
// commas, "$", anything up to "#### " and a trailing period. Data: openai/grade-school-math test.jsonl.
import { FormatError } from '../../errors.js';
import { dataFile, field, isStr, readJsonl } from '../data.js';
import { genPrompt, type GenDoc } from '../fewshot.js';
import { exactMatch, regexExtract } from '../metrics.js';
import type { GenInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/openai/grade-school-math (grade_school_math/data/test.jsonl)';

/** Wei et al.'s chain-of-thought exemplars, as lm-eval's gsm8k-cot.yaml carries them. */
export const GSM8K_COT_SHOTS: [string, string][] = [
  ['There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?',
    'There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.'],
  ['If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?',
    'There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.'],
  ['Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?',
    'Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.'],
  ['Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?',
    'Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The answer is 8.'],
  ['Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?',
    'Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The answer is 9.'],
  ['There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?',
    'There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.'],
  ['Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?',
    'Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.'],
  ['Olivia has $23. She bought five bagels for $3 each. How much money does she have left?',
    'Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.'],
];

const IGNORE = { ignoreCase: true, regexesToIgnore: [',', '\\$', '[\\s\\S]*#### ', '\\.$'] };

/** The two lm-eval filters on a generation: strict ("The answer is N.") and flexible (last number). */
export function gsm8kExtract(output: string): { strict: string; flexible: string } {
  return {
    strict: regexExtract(output, 'The answer is (\\-?[0-9\\.\\,]+).', 0),
    flexible: regexExtract(output, '(-?[$0-9.,]{2,})|(-?[0-9]+)', -1),
  };
}

export const gsm8kCot: Task = {
  name: 'gsm8k_cot',
  benchmark: 'gsm8k',
  defaultShots: 8,
  headline: 'exact_match,strict',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'gsm8k/test.jsonl', SOURCE);
    if (o.shots > GSM8K_COT_SHOTS.length) throw new FormatError(path, `gsm8k_cot has ${GSM8K_COT_SHOTS.length} fixed exemplars; ${o.shots} shots asked`);
    const shots: GenDoc[] = GSM8K_COT_SHOTS.slice(0, o.shots).map(([q, a], i) => ({ id: `shot${i}`, text: `Q: ${q}\nA:`, target: a }));
    return readJsonl(path).map((r, i): GenInstance => {
      const answer = field(r, 'answer', path, isStr);
      const k = answer.lastIndexOf('#### ');
      if (k < 0) throw new FormatError(path, `line ${i + 1}: the answer has no "#### " final answer`);
      const target = answer.slice(k + 5).trim();
      const doc: GenDoc = { id: String(i), text: `Q: ${field(r, 'question', path, isStr)}\nA:`, target };
      return {
        kind: 'gen',
        id: doc.id,
        prompt: genPrompt(doc, shots),
        until: ['Q:', '</s>', '<|im_end|>'],
        maxTokens: 256,
        score(output) {
          const ex = gsm8kExtract(output);
          return {
            metrics: { 'exact_match,strict': exactMatch(ex.strict, target, IGNORE), 'exact_match,flexible': exactMatch(ex.flexible, target, IGNORE) },
            extracted: ex,
          };
        },
      };
    });
  },
};
