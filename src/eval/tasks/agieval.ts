// AGIEval, the English tasks of lm-eval's `agieval_en` group, 0-shot (the report's mini table). The
// multiple-choice tasks use the AGIEval / hails query: "[passage ]Q: {question} Answer Choices: (A)…
// (B)…\nA: Among A through {last}, the answer is" scored over the option strings " (A)…"; `math` is
// generative: greedy up to 32 tokens (stop "Q:"), the answer taken from the last \boxed{}, else the last
// number, compared after light normalisation (spaces, $, trailing period) — a simplification of
// lm-eval's MATH normaliser, stated in the report notes. Shots > 0 draw from the evaluated split.
import { FormatError } from '../../errors.js';
import { dataFile, readJsonl } from '../data.js';
import { LETTERS, mcInstances, splitShots, type McDoc } from '../fewshot.js';
import { exactMatch, INVALID, regexExtract } from '../metrics.js';
import type { GenInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/ruixiangcui/AGIEval (data/v1/<task>.jsonl)';
export const AGIEVAL_MC = ['aqua-rat', 'gaokao-english', 'logiqa-en', 'lsat-ar', 'lsat-lr', 'lsat-rc', 'sat-en', 'sat-en-without-passage', 'sat-math'];

interface AgiRow {
  passage?: string | null;
  question: string;
  options?: string[] | null;
  label?: string | string[] | null;
  answer?: string | null;
}

export function agievalMcDocs(path: string): McDoc[] {
  return readJsonl<AgiRow>(path).map((r, i) => {
    if (typeof r.question !== 'string' || !Array.isArray(r.options) || r.options.length < 2) throw new FormatError(path, `line ${i + 1}: needs question and options`);
    const labels = Array.isArray(r.label) ? r.label : typeof r.label === 'string' ? r.label.split('') : [];
    const gold = labels.map((l) => LETTERS.indexOf(l));
    if (gold.length === 0 || gold.some((g) => g < 0 || g >= r.options!.length)) throw new FormatError(path, `line ${i + 1}: label ${JSON.stringify(r.label)} is not an option letter`);
    const passage = r.passage ? `${r.passage} ` : '';
    const last = LETTERS[r.options.length - 1];
    return {
      id: String(i),
      text: `${passage}Q: ${r.question} Answer Choices: ${r.options.join(' ')}\nA: Among A through ${last}, the answer is`,
      question: passage + r.question,
      choices: r.options,
      options: r.options.map((o) => o.replace(/^\([A-Z]\)\s*/, '')),
      gold: gold.length === 1 ? gold[0] : gold,
    };
  });
}

function agiMcTask(name: string): Task {
  return {
    name: `agieval_${name.replace(/-/g, '_')}`,
    benchmark: 'agieval',
    defaultShots: 0,
    headline: 'acc',
    source: SOURCE,
    styles: ['lm-eval', 'phi3'],
    load(o: LoadOptions) {
      const { shots, rest } = splitShots(agievalMcDocs(dataFile(o.dataDir, `agieval/v1/${name}.jsonl`, SOURCE)), o.shots);
      return mcInstances(rest, shots, { style: o.style });
    },
  };
}

/** The final answer of a MATH-style solution: last \boxed{…} (balanced braces), else the last number. */
export function extractMathAnswer(text: string): string {
  const i = text.lastIndexOf('\\boxed{');
  if (i >= 0) {
    let depth = 0;
    for (let j = i + 6; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) return text.slice(i + 7, j);
    }
  }
  return regexExtract(text, '(-?[0-9][0-9.,/]*)', -1);
}

export function normaliseMath(s: string): string {
  return s.replace(/\s+/g, '').replace(/\$/g, '').replace(/\\left|\\right/g, '').replace(/\\!/g, '').replace(/\.$/, '').replace(/^\\text\{(.*)\}$/, '$1');
}

const agievalMath: Task = {
  name: 'agieval_math',
  benchmark: 'agieval',
  defaultShots: 0,
  headline: 'acc',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const path = dataFile(o.dataDir, 'agieval/v1/math.jsonl', SOURCE);
    const docs = readJsonl<AgiRow>(path).map((r, i) => {
      if (typeof r.question !== 'string' || typeof r.answer !== 'string') throw new FormatError(path, `line ${i + 1}: needs question and answer`);
      return { id: String(i), question: r.question, answer: r.answer };
    });
    const { shots, rest } = splitShots(docs, o.shots);
    const prefix = shots.map((s) => `Q: ${s.question}\nA: The answer is ${s.answer}\n\n`).join('');
    return rest.map(
      (d): GenInstance => ({
        kind: 'gen',
        id: d.id,
        prompt: `${prefix}Q: ${d.question}\nA: The answer is`,
        until: ['Q:'],
        maxTokens: 32,
        score(output) {
          const got = extractMathAnswer(output);
          const ok = got !== INVALID && exactMatch(normaliseMath(got), normaliseMath(d.answer)) === 1;
          return { metrics: { acc: ok ? 1 : 0 }, extracted: { answer: got } };
        },
      }),
    );
  },
};

export const agievalTasks: Task[] = [...AGIEVAL_MC.map(agiMcTask), agievalMath];
