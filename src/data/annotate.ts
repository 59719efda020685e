// `phi3 data annotate`: score a reproducible sample of a corpus with an LLM judge.
// Sample: seeded reservoir sampling over the streamed corpus (same corpus + seed → same sample).
// Output: JSON lines {id, text, score, reason, judge, rubric}, one line appended per finished document.
// Resume and cache: ids (and normalised-text hashes under the same rubric) already in the output are
// never sent again and never written twice, so an interrupted run picks up where it stopped and counts
// each document once. A document whose judge keeps failing is reported in `failed` and simply absent
// from the output; the next run retries it. Tested in test/data-judge.test.ts.
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { Rng } from '../generate/sampler.js';
import { FormatError } from '../errors.js';
import { readDocs, type Doc, type ReadOptions } from './docs.js';
import type { ChatClient } from './llm-client.js';
import { judgePrompt, parseScore, type Rubric } from './rubric.js';
import { hashString, normalize } from './text.js';

export interface Annotation {
  id: string;
  text: string;
  score: number;
  reason?: string;
  judge: string;
  rubric: string;
}

export interface AnnotateOptions extends ReadOptions {
  sample: number;
  seed?: number;
  concurrency?: number;
  maxChars?: number;
  /** Request JSON mode from the endpoint (the rubric asks for a JSON reply). */
  jsonMode?: boolean;
  onDone?: (done: number, total: number) => void;
}

export interface AnnotateReport {
  sampled: number;
  annotated: number;
  alreadyDone: number;
  cachedByText: number;
  failed: { id: string; error: string }[];
  requests: number;
  retries: number;
  failures: Record<string, number>;
}

/** Seeded reservoir sample (Algorithm R) of `n` documents, in corpus order. */
export async function sampleDocs(docs: AsyncIterable<Doc>, n: number, seed: number): Promise<Doc[]> {
  const rng = new Rng(seed);
  const keep: { i: number; d: Doc }[] = [];
  let i = 0;
  for await (const d of docs) {
    if (keep.length < n) keep.push({ i, d });
    else {
      const j = Math.floor(rng.next() * (i + 1));
      if (j < n) keep[j] = { i, d };
    }
    i++;
  }
  return keep.sort((a, b) => a.i - b.i).map((k) => k.d);
}

function textKey(rubric: string, text: string): string {
  const n = normalize(text);
  return `${rubric}:${hashString(n, 7)}:${hashString(n, 8)}`;
}

/** Reads an annotation file; a broken last line (a killed run) is ignored, any other bad line is an error. */
export function readAnnotations(path: string): Annotation[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Annotation[] = [];
  lines.forEach((line, k) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as Annotation);
    } catch {
      if (k < lines.length - 1 && lines.slice(k + 1).some((l) => l.trim())) throw new FormatError(path, `line ${k + 1} is not valid JSON`);
    }
  });
  return out;
}

export async function annotate(corpus: string | string[], out: string, client: ChatClient, rubric: Rubric, o: AnnotateOptions): Promise<AnnotateReport> {
  const existing = readAnnotations(out);
  // A line cut by a kill has no newline: drop it (its document is simply redone).
  if (existsSync(out)) {
    const raw = readFileSync(out, 'utf8');
    if (raw.length && !raw.endsWith('\n')) truncateSync(out, Buffer.byteLength(raw.slice(0, raw.lastIndexOf('\n') + 1)));
  }
  const doneIds = new Set(existing.map((a) => a.id));
  const byText = new Map(existing.filter((a) => a.rubric === rubric.id).map((a) => [textKey(a.rubric, a.text), a]));
  const sample = await sampleDocs(readDocs(corpus, o), o.sample, o.seed ?? 1);
  const report: AnnotateReport = { sampled: sample.length, annotated: 0, alreadyDone: 0, cachedByText: 0, failed: [], requests: 0, retries: 0, failures: {} };
  const todo: Doc[] = [];
  for (const d of sample) {
    if (doneIds.has(d.id)) report.alreadyDone++;
    else todo.push(d);
  }
  const write = (a: Annotation) => {
    if (doneIds.has(a.id)) return; // never twice, even if two workers raced on one id
    doneIds.add(a.id);
    byText.set(textKey(a.rubric, a.text), a);
    appendFileSync(out, JSON.stringify(a) + '\n');
    report.annotated++;
  };
  let next = 0, finished = 0;
  const worker = async () => {
    while (next < todo.length) {
      const d = todo[next++];
      const cached = byText.get(textKey(rubric.id, d.text));
      if (cached) {
        report.cachedByText++;
        write({ ...cached, id: d.id, text: d.text });
      } else {
        try {
          const { score, reason } = await client.complete(
            { messages: [{ role: 'user', content: judgePrompt(rubric, d.text, o.maxChars) }], temperature: 0, maxTokens: 200, json: o.jsonMode },
            parseScore,
          );
          write({ id: d.id, text: d.text, score, reason, judge: client.o.model ?? 'default', rubric: rubric.id });
        } catch (e) {
          report.failed.push({ id: d.id, error: (e as Error).message });
        }
      }
      o.onDone?.(++finished, todo.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
  Object.assign(report, { requests: client.stats.requests, retries: client.stats.retries, failures: { ...client.stats.failures } });
  return report;
}
