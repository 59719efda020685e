// Few-shot prompt assembly as lm-evaluation-harness does it, and the Phi-3 report's Appendix A layout.
//
//   context = description + Σ_shots (text(shot) + targetDelim + target(shot) + "\n\n") + text(doc)
//   continuation_i = targetDelim + choice_i
//
// Appendix A style renders every multiple-choice item as "Question:\n…\nOptions:\nA. …\nAnswer:" and
// scores the letters. Shots are fixed per task (drawn once with seed 1234 when the only pool is the
// evaluated split; those docs are then left out of the evaluation), so the shot prefix is identical for
// every item and its KV cache is computed once. Tested against hand-written prompts in
// test/eval-tasks.test.ts.
import { sampleIndices } from './data.js';
import type { GenInstance, McInstance, PromptStyle } from './types.js';

/** lm-eval's default few-shot seed (DEFAULT_OTHER_SEED). */
export const FEWSHOT_SEED = 1234;
export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface McDoc {
  id: string;
  /** lm-eval's doc_to_text (ends e.g. with "Answer:"). */
  text: string;
  /** The bare question, for the Appendix A layout. */
  question: string;
  /** lm-eval's doc_to_choice. */
  choices: string[];
  /** Option texts shown in the Appendix A layout (defaults to `choices`). */
  options?: string[];
  gold: number | number[];
}

export interface McRender {
  style: PromptStyle;
  description?: string;
  /** Between text and target (lm-eval default " "). */
  targetDelimiter?: string;
  /** Between examples (lm-eval default "\n\n"). */
  fewshotDelimiter?: string;
}

function goldIndex(g: number | number[]): number {
  return Array.isArray(g) ? g[0] : g;
}

/** Appendix A layout of one item (without the answer). */
export function phi3Text(d: McDoc): string {
  const opts = d.options ?? d.choices;
  return `Question:\n${d.question}\nOptions:\n${opts.map((o, i) => `${LETTERS[i]}. ${o}`).join('\n')}\nAnswer:`;
}

/** The shared few-shot prefix (description + solved shots, ending with the few-shot delimiter). */
export function mcPrefix(shots: McDoc[], r: McRender): string {
  const td = r.targetDelimiter ?? ' ';
  const fd = r.fewshotDelimiter ?? '\n\n';
  const parts = shots.map((s) =>
    r.style === 'phi3' ? phi3Text(s) + td + LETTERS[goldIndex(s.gold)] : s.text + td + s.choices[goldIndex(s.gold)],
  );
  return (r.description ?? '') + parts.map((p) => p + fd).join('');
}

export function mcInstance(doc: McDoc, prefix: string, r: McRender): McInstance {
  const td = r.targetDelimiter ?? ' ';
  const context = prefix + (r.style === 'phi3' ? phi3Text(doc) : doc.text);
  const choices = r.style === 'phi3' ? doc.choices.map((_, i) => LETTERS[i]) : doc.choices;
  return {
    kind: 'mc',
    id: doc.id,
    requests: choices.map((c) => ({ context, continuation: td + c })),
    gold: doc.gold,
    choiceTexts: choices,
  };
}

export function mcInstances(docs: McDoc[], shots: McDoc[], r: McRender): McInstance[] {
  const prefix = mcPrefix(shots, r);
  return docs.map((d) => mcInstance(d, prefix, r));
}

/**
 * Fixed shots for a task whose only split is the evaluated one: k docs drawn with `seed`, removed from
 * the evaluated docs (lm-eval instead draws k+1 per doc and drops the doc itself; a fixed set keeps the
 * prefix shared). Returns the shots in draw order and the remaining docs in file order.
 */
export function splitShots<T>(docs: T[], k: number, seed = FEWSHOT_SEED): { shots: T[]; rest: T[] } {
  if (k <= 0) return { shots: [], rest: docs };
  const idx = sampleIndices(docs.length, k, seed);
  const taken = new Set(idx);
  return { shots: idx.map((i) => docs[i]), rest: docs.filter((_, i) => !taken.has(i)) };
}

export interface GenDoc {
  id: string;
  text: string;
  /** The solved answer shown after a shot's text. */
  target: string;
}

/** Generative prompt: description + shots (text + delim + target + "\n\n") + text(doc). */
export function genPrompt(doc: GenDoc, shots: GenDoc[], o: { description?: string; targetDelimiter?: string; fewshotDelimiter?: string } = {}): string {
  const td = o.targetDelimiter ?? ' ';
  const fd = o.fewshotDelimiter ?? '\n\n';
  return (o.description ?? '') + shots.map((s) => s.text + td + s.target + fd).join('') + doc.text;
}

export type { GenInstance };
