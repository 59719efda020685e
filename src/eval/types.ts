// The shapes every benchmark task produces and the harness consumes. A task turns its published data
// files into Instances (one per scored item); the harness runs them on a model and writes one ItemResult
// per instance (JSON lines), and aggregation turns those into TaskResults. Tested through each task's
// prompt tests (test/eval-tasks.test.ts) and the harness tests (test/eval-harness.test.ts).

/** One log-likelihood request: log P(continuation | context), summed over the continuation's tokens. */
export interface LoglikRequest {
  context: string;
  continuation: string;
}

/** Multiple choice scored by log-likelihood (lm-eval `output_type: multiple_choice`). */
export interface McInstance {
  kind: 'mc';
  id: string;
  /** One request per choice (for WinoGrande-style partial scoring, the contexts differ). */
  requests: LoglikRequest[];
  /** Index of the correct choice, or several correct indices (AGIEval). */
  gold: number | number[];
  /** The choice text whose character length normalises acc_norm (lm-eval: the choice without delimiter). */
  choiceTexts: string[];
  /** TruthfulQA MC2: which choices are true (score = normalised probability mass on them). */
  truth?: boolean[];
}

/** Free generation then extraction + exact match (lm-eval `output_type: generate_until`). */
export interface GenInstance {
  kind: 'gen';
  id: string;
  prompt: string;
  until: string[];
  maxTokens: number;
  /** Scores the generated text; returns metric → value (0/1) and what was extracted per filter. */
  score(output: string): { metrics: Record<string, number>; extracted: Record<string, string> };
}

/** Code generation scored by running the program in the sandbox (pass@1). */
export interface CodeInstance {
  kind: 'code';
  id: string;
  prompt: string;
  until: string[];
  maxTokens: number;
  /** The whole Python program (prompt + completion + tests) for a completion. */
  program(completion: string): string;
}

/** A chat (one or more user turns) whose answers an LLM judge grades (MT-bench, safety). */
export interface JudgedInstance {
  kind: 'judged';
  id: string;
  category: string;
  turns: string[];
  /** Sampling temperature for the answers (FastChat uses per-category temperatures for MT-bench). */
  temperature: number;
  maxTokens: number;
  /** Builds the judge conversation for turn t (0-based) given all answers so far; null = not judged. */
  judgeMessages(answers: string[], turn: number): { system: string; user: string } | null;
  /** Pulls the score out of a verdict; null when the verdict holds none (→ retry, then missing). */
  parseVerdict(verdict: string): number | null;
  /** Metric names per judged turn (e.g. ['turn1', 'turn2'] or ['severity']). */
  metricNames: string[];
  /** Further metrics from the turn scores (e.g. DR-x from a severity), only when none is missing. */
  derive?(scores: number[]): Record<string, number>;
}

export type Instance = McInstance | GenInstance | CodeInstance | JudgedInstance;

export type PromptStyle = 'lm-eval' | 'phi3';

export interface LoadOptions {
  /** The folder holding every benchmark in its published layout (../shared/datasets). */
  dataDir: string;
  /** Few-shot examples; each task has the report's default. */
  shots: number;
  /** 'lm-eval' (the harness's own templates) or 'phi3' (the report's Appendix A layout, MC tasks). */
  style: PromptStyle;
}

export interface Task {
  /** lm-eval-like task name, e.g. `mmlu_anatomy`, `arc_challenge`, `gsm8k_cot`. */
  name: string;
  /** Benchmark (report row) this task counts towards: `mmlu`, `bbh`… (micro-averaged over its tasks). */
  benchmark: string;
  /** The report's shot count for this benchmark. */
  defaultShots: number;
  /** The metric the report quotes, e.g. `acc`, `acc_norm`, `exact_match,strict`, `pass@1`, `mc2`. */
  headline: string;
  /** Where the data is published (for users fetching it themselves) and the files we read. */
  source: string;
  /** Styles this task can render; the first is the default. */
  styles: PromptStyle[];
  load(o: LoadOptions): Instance[];
}

/** One scored item, written as a JSON line as soon as it is done. */
export interface ItemResult {
  task: string;
  id: string;
  /** metric → value; a missing judge verdict is absent here and listed in `missing`. */
  metrics: Record<string, number>;
  missing?: string[];
  /** Extra detail: log-likelihoods, generated text, extraction, sandbox outcome, judge verdicts. */
  detail?: Record<string, unknown>;
}

export interface TaskResult {
  task: string;
  benchmark: string;
  shots: number;
  style: PromptStyle;
  n: number;
  headline: string;
  /** metric → mean over the items that have it. */
  metrics: Record<string, number>;
  /** metric → standard error of the mean. */
  stderr: Record<string, number>;
  /** Items whose judge verdict was missing, per metric. */
  missing?: Record<string, number>;
}
