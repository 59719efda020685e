// MT-bench (FastChat llm_judge): 80 two-turn questions in 8 categories. The model answers turn 1, then
// turn 2 with turn 1 in its chat context, at FastChat's per-category temperatures; an LLM judge grades
// each turn 1–10 with the published single-answer prompts (single-v1, single-v1-multi-turn, and the
// -math- variants with GPT-4's reference answer for math, reasoning and coding). MT-bench = the mean of
// all judged turns. Data: lm-sys/FastChat question.jsonl, reference_answer/gpt-4.jsonl, judge_prompts.jsonl.
import { FormatError } from '../../errors.js';
import { dataFile, readJsonl } from '../data.js';
import { fillTemplate, parseRating } from '../judge.js';
import type { JudgedInstance, LoadOptions, Task } from '../types.js';

const SOURCE = 'https://github.com/lm-sys/FastChat (fastchat/llm_judge/data/mt_bench/question.jsonl, reference_answer/gpt-4.jsonl, data/judge_prompts.jsonl)';
/** FastChat's temperature_config. */
export const MT_BENCH_TEMPERATURE: Record<string, number> = {
  writing: 0.7, roleplay: 0.7, extraction: 0, math: 0, coding: 0, reasoning: 0, stem: 0.1, humanities: 0.1,
};
const NEED_REF = new Set(['math', 'reasoning', 'coding']);

interface JudgePrompt {
  name: string;
  system_prompt: string;
  prompt_template: string;
}

export const mtBench: Task = {
  name: 'mt_bench',
  benchmark: 'mt_bench',
  defaultShots: 0,
  headline: 'score',
  source: SOURCE,
  styles: ['lm-eval'],
  load(o: LoadOptions) {
    const qpath = dataFile(o.dataDir, 'mt_bench/question.jsonl', SOURCE);
    const questions = readJsonl<{ question_id: number; category: string; turns: string[] }>(qpath);
    const refs = new Map(
      readJsonl<{ question_id: number; choices: { turns: string[] }[] }>(dataFile(o.dataDir, 'mt_bench/reference_answer/gpt-4.jsonl', SOURCE)).map((r) => [r.question_id, r.choices?.[0]?.turns ?? []]),
    );
    const ppath = dataFile(o.dataDir, 'mt_bench/judge_prompts.jsonl', SOURCE);
    const prompts = new Map(readJsonl<JudgePrompt>(ppath).map((p) => [p.name, p]));
    const need = (name: string) => {
      const p = prompts.get(name);
      if (!p) throw new FormatError(ppath, `judge prompt "${name}" missing`);
      return p;
    };
    return questions.map((q, i): JudgedInstance => {
      if (!Array.isArray(q.turns) || q.turns.length !== 2 || typeof q.category !== 'string') throw new FormatError(qpath, `line ${i + 1}: expected 2 turns and a category`);
      const ref = NEED_REF.has(q.category) ? refs.get(q.question_id) : undefined;
      if (NEED_REF.has(q.category) && !ref) throw new FormatError(qpath, `question ${q.question_id} (${q.category}) has no reference answer`);
      return {
        kind: 'judged',
        id: String(q.question_id),
        category: q.category,
        turns: q.turns,
        temperature: MT_BENCH_TEMPERATURE[q.category] ?? 0.7,
        maxTokens: 1024,
        metricNames: ['turn1', 'turn2'],
        judgeMessages(answers, turn) {
          const v: Record<string, string> = { question: q.turns[0], answer: answers[0], question_1: q.turns[0], answer_1: answers[0], question_2: q.turns[1], answer_2: answers[1] ?? '' };
          if (ref) Object.assign(v, { ref_answer_1: ref[0] ?? '', ref_answer_2: ref[1] ?? '' });
          const p = need(`single-${ref ? 'math-' : ''}v1${turn === 1 ? '-multi-turn' : ''}`);
          return { system: p.system_prompt, user: fillTemplate(p.prompt_template, v) };
        },
        parseVerdict: (v) => parseRating(v, 1, 10),
      };
    });
  },
};
