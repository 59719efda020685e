// LLM-written synthetic data ("Textbooks Are All You Need"): prompts built from a seed list of topics ×
// a template (textbook section, exercises with worked solutions, or a user's own template file with
// {{topic}}, {{audience}}, {{style}}) and diversity controls (audience and style drawn per item, a
// per-item seed and temperature), sent through the OpenAI-compatible client; replies that duplicate an
// earlier one (dedup.ts, MinHash) are dropped. Item i depends only on (seed, i), and items already in
// the output file are skipped, so runs are reproducible and resumable. Tested in test/data-judge.test.ts.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { Phi3Error } from '../../errors.js';
import { Deduper } from '../dedup.js';
import type { ChatClient } from '../llm-client.js';
import { pick, recordRng } from './types.js';

export const LLM_TEMPLATES: Record<string, string> = {
  textbook:
    'Write a section of a textbook for {{audience}} on "{{topic}}". Explain the key idea clearly, {{style}}, ' +
    'with one worked example and no filler. Use plain text; start with a short title line.',
  exercises:
    'Write three exercises on "{{topic}}" for {{audience}}, each followed by a step-by-step worked solution ' +
    'and the final answer on its own line as "Answer: ...". Make them {{style}}.',
};

export const AUDIENCES = ['a curious 10-year-old', 'a middle-school student', 'a high-school student', 'a first-year university student', 'an adult learning on their own'];
export const STYLES = ['using an everyday analogy', 'in a precise, formal tone', 'through a short story', 'building from a simple case to a general rule', 'with a common mistake and its correction'];

export interface LlmSynthOptions {
  template: string;
  count: number;
  seed?: number;
  temperature?: number;
  maxTokens?: number;
  concurrency?: number;
  dedupThreshold?: number;
  onDone?: (done: number, total: number) => void;
}

export interface LlmSynthReport {
  requested: number;
  written: number;
  alreadyDone: number;
  duplicates: number;
  failed: { id: string; error: string }[];
}

export function loadTemplate(nameOrPath: string): string {
  if (LLM_TEMPLATES[nameOrPath]) return LLM_TEMPLATES[nameOrPath];
  if (!existsSync(nameOrPath)) throw new Phi3Error(`--template "${nameOrPath}" is neither ${Object.keys(LLM_TEMPLATES).join(' nor ')} nor a file`);
  const t = readFileSync(nameOrPath, 'utf8');
  if (!t.includes('{{topic}}')) throw new Phi3Error(`template ${nameOrPath} has no {{topic}} placeholder`);
  return t;
}

/** The prompt and its diversity draws for item `i`. */
export function llmItem(topics: string[], template: string, seed: number, i: number) {
  const rng = recordRng(seed, 'llm', i);
  const topic = pick(rng, topics), audience = pick(rng, AUDIENCES), style = pick(rng, STYLES);
  const prompt = template.replaceAll('{{topic}}', topic).replaceAll('{{audience}}', audience).replaceAll('{{style}}', style);
  return { id: `llm-${seed}-${i}`, topic, audience, style, prompt, seed: Math.floor(rng.next() * 2 ** 31) };
}

export async function llmSynth(topics: string[], client: ChatClient, out: string, o: LlmSynthOptions): Promise<LlmSynthReport> {
  if (topics.length === 0) throw new Phi3Error('the topic list is empty');
  const template = loadTemplate(o.template);
  const done = new Set<string>();
  const dedup = new Deduper({ threshold: o.dedupThreshold ?? 0.6 });
  if (existsSync(out))
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as { id: string; text: string };
        done.add(r.id);
        dedup.check(r.id, r.text);
      } catch {
        // a line cut by a killed run: its item is simply redone
      }
    }
  const report: LlmSynthReport = { requested: o.count, written: 0, alreadyDone: 0, duplicates: 0, failed: [] };
  const items = Array.from({ length: o.count }, (_, i) => llmItem(topics, template, o.seed ?? 1, i)).filter((it) => {
    if (done.has(it.id)) report.alreadyDone++;
    return !done.has(it.id);
  });
  let next = 0, finished = 0;
  const worker = async () => {
    while (next < items.length) {
      const it = items[next++];
      try {
        const text = (await client.complete({ messages: [{ role: 'user', content: it.prompt }], temperature: o.temperature ?? 0.8, maxTokens: o.maxTokens ?? 1024, seed: it.seed })).trim();
        if (!text) throw new Phi3Error('empty reply');
        if (!dedup.check(it.id, text).keep) report.duplicates++;
        else if (!done.has(it.id)) {
          done.add(it.id);
          appendFileSync(out, JSON.stringify({ id: it.id, text, topic: it.topic, audience: it.audience, style: it.style, template: o.template }) + '\n');
          report.written++;
        }
      } catch (e) {
        report.failed.push({ id: it.id, error: (e as Error).message });
      }
      o.onDone?.(++finished, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
  return report;
}
