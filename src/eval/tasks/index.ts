// The task registry: every benchmark of the Phi-3 report that has data, in the report's table order,
// and name resolution for `--tasks` (a task name like `arc_easy`, or a benchmark name like `mmlu`,
// `bbh`, `agieval` that expands to its subtasks; `all` = every task with data, `all-judged` adds the
// LLM-judged ones). Subtask lists (MMLU subjects, BBH tasks) come from the data folder.
import { Phi3Error } from '../../errors.js';
import type { Task } from '../types.js';
import { agievalTasks } from './agieval.js';
import { arcChallenge, arcEasy } from './arc.js';
import { bbhSubtasks, bbhTask } from './bbh.js';
import { boolq } from './boolq.js';
import { commonsenseQa } from './commonsense-qa.js';
import { gpqaDiamondCot, gpqaDiamondMc } from './gpqa.js';
import { gsm8kCot } from './gsm8k.js';
import { hellaswag } from './hellaswag.js';
import { humaneval } from './humaneval.js';
import { mbpp } from './mbpp.js';
import { medqa } from './medqa.js';
import { mmluSubjects, mmluTask } from './mmlu.js';
import { mtBench } from './mt-bench.js';
import { openbookqa } from './openbookqa.js';
import { piqa } from './piqa.js';
import { safetyHarm, safetyUngroundedness } from './safety.js';
import { socialIqa } from './social-iqa.js';
import { triviaqa } from './triviaqa.js';
import { truthfulqaMc1, truthfulqaMc2 } from './truthfulqa.js';
import { winogrande } from './winogrande.js';

/** Report rows in the order of the Phi-3 report's table, with the label it prints. */
export const BENCHMARKS: { id: string; label: string }[] = [
  { id: 'mmlu', label: 'MMLU' },
  { id: 'hellaswag', label: 'HellaSwag' },
  { id: 'anli', label: 'ANLI' },
  { id: 'gsm8k', label: 'GSM-8K' },
  { id: 'medqa', label: 'MedQA' },
  { id: 'agieval', label: 'AGIEval' },
  { id: 'triviaqa', label: 'TriviaQA' },
  { id: 'arc_challenge', label: 'Arc-C' },
  { id: 'arc_easy', label: 'Arc-E' },
  { id: 'piqa', label: 'PIQA' },
  { id: 'social_iqa', label: 'SociQA' },
  { id: 'bbh', label: 'BigBench-Hard' },
  { id: 'winogrande', label: 'WinoGrande' },
  { id: 'openbookqa', label: 'OpenBookQA' },
  { id: 'boolq', label: 'BoolQ' },
  { id: 'commonsense_qa', label: 'CommonSenseQA' },
  { id: 'truthfulqa', label: 'TruthfulQA (MC2)' },
  { id: 'truthfulqa_mc1', label: 'TruthfulQA (MC1)' },
  { id: 'humaneval', label: 'HumanEval' },
  { id: 'mbpp', label: 'MBPP' },
  { id: 'gpqa', label: 'GPQA' },
  { id: 'gpqa_mc', label: 'GPQA (log-likelihood)' },
  { id: 'mt_bench', label: 'MT Bench' },
  { id: 'safety', label: 'Safety DR-3' },
  { id: 'ungroundedness', label: 'Ungroundedness' },
];

/** Every task, given the data folder (for subtask lists). */
export function allTasks(dataDir: string): Task[] {
  return [
    ...mmluSubjects(dataDir).map(mmluTask),
    hellaswag,
    gsm8kCot,
    medqa,
    ...agievalTasks,
    triviaqa,
    arcChallenge,
    arcEasy,
    piqa,
    socialIqa,
    ...bbhSubtasks(dataDir).map(bbhTask),
    winogrande,
    openbookqa,
    boolq,
    commonsenseQa,
    truthfulqaMc2,
    truthfulqaMc1,
    humaneval,
    mbpp,
    gpqaDiamondCot,
    gpqaDiamondMc,
    mtBench,
    safetyHarm,
    safetyUngroundedness,
  ];
}

const JUDGED = new Set(['mt_bench', 'safety', 'ungroundedness']);

/** Resolves a comma list of task / benchmark names; unknown names are an error listing what exists. */
export function resolveTasks(spec: string, dataDir: string): Task[] {
  const all = allTasks(dataDir);
  const out: Task[] = [];
  const add = (t: Task) => {
    if (!out.includes(t)) out.push(t);
  };
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const name = raw.toLowerCase().replace(/-/g, '_');
    if (name === 'all' || name === 'all_judged') {
      all.filter((t) => name === 'all_judged' || !JUDGED.has(t.benchmark)).forEach(add);
      continue;
    }
    if (name === 'anli') throw new Phi3Error('anli: no ANLI data is available (see ../shared/datasets/SOURCES.md); it is skipped');
    if (name === 'mmlu' && mmluSubjects(dataDir).length === 0)
      throw new Phi3Error(`mmlu: no ${dataDir}/mmlu/test/<subject>_test.csv files (published at https://huggingface.co/datasets/cais/mmlu)`);
    if (name === 'bbh' && bbhSubtasks(dataDir).length === 0)
      throw new Phi3Error(`bbh: no ${dataDir}/bbh/bbh/<task>.json files (published at https://github.com/suzgunmirac/BIG-Bench-Hard)`);
    const matches = all.filter((t) => t.name === name || t.benchmark === name || (name === 'truthfulqa_mc2' && t.name === name));
    if (matches.length === 0) {
      const names = [...new Set(all.map((t) => t.benchmark))].join(', ');
      throw new Phi3Error(`unknown task "${raw}": benchmarks are ${names} (or a subtask such as mmlu_anatomy, bbh_cot_navigate, agieval_lsat_ar), or all / all-judged`);
    }
    matches.forEach(add);
  }
  if (out.length === 0) throw new Phi3Error('no tasks given');
  return out;
}
