// `phi3 data …`: the data recipe on the command line — annotate (LLM judge), classifier train/eval,
// filter, synth (programmatic or LLM), dedup, mix. Each subcommand is a thin layer over src/data/;
// long work shows a progress bar on a terminal and ends with a one-screen summary (JSON with --json).
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Phi3Error } from '../errors.js';
import { annotate } from '../data/annotate.js';
import { EduClassifier, agreement, auc, crossValidate } from '../data/classifier.js';
import { ContaminationIndex } from '../data/contamination.js';
import { Deduper } from '../data/dedup.js';
import { DocWriter, listFiles, readDocs, totalBytes } from '../data/docs.js';
import { filterCorpus, filterReportMarkdown } from '../data/filter.js';
import { ChatClient } from '../data/llm-client.js';
import { RECIPE_HELP, loadRecipe, mixPhase } from '../data/mix.js';
import { DEFAULT_RUBRIC, loadRubric } from '../data/rubric.js';
import { Rng } from '../generate/sampler.js';
import { GENERATORS, generateSynth, toChat, toText } from '../data/synth/index.js';
import { LLM_TEMPLATES, llmSynth } from '../data/synth/llm.js';
import { defaultBenchmarks, loadDataTokenizer } from '../data/tokenizer.js';
import { floatArg, intArg } from './common.js';

function bar(label: string, unit: string): { start(total: number): void; update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
  const b = new cliProgress.SingleBar({ format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`, stream: process.stderr }, cliProgress.Presets.shades_classic);
  let on = false;
  return { start: (t) => (b.start(t, 0), (on = true)), update: (n) => on && b.update(n), stop: () => on && b.stop() };
}

const inputOptions = (c: Command) =>
  c
    .addOption(new Option('--format <fmt>', 'input format (auto: .jsonl/.ndjson are JSON lines, .parquet Parquet, anything else text)').choices(['auto', 'jsonl', 'text', 'parquet']).default('auto'))
    .option('--field <name>', 'JSON lines / Parquet: the field or column holding the text', 'text')
    .option('--split <how>', "plain text: 'file' (a file is a document), 'blank' (paragraphs), 'line', or a delimiter line such as '%'", 'file');

interface InputOpts {
  format: 'auto' | 'jsonl' | 'text' | 'parquet';
  field: string;
  split: string;
}

const clientOptions = (c: Command) =>
  c
    .option('--model <name>', 'model name sent to the endpoint', 'default')
    .option('--api-key <key>', 'bearer token (default: $PHI3_API_KEY or $OPENAI_API_KEY)')
    .option('--concurrency <n>', 'requests in flight', intArg(1, 256), 4)
    .option('--rps <n>', 'most requests started per second (0 = unlimited)', floatArg(0), 0)
    .option('--timeout <ms>', 'per-request timeout', intArg(1), 60000)
    .option('--retries <n>', 'retries per document after timeouts, 429, 5xx or malformed replies', intArg(0, 100), 6);

interface ClientOpts {
  model: string;
  apiKey?: string;
  concurrency: number;
  rps: number;
  timeout: number;
  retries: number;
}

function client(url: string, o: ClientOpts): ChatClient {
  return new ChatClient({ url, model: o.model, apiKey: o.apiKey ?? process.env.PHI3_API_KEY ?? process.env.OPENAI_API_KEY, rps: o.rps, timeoutMs: o.timeout, retries: o.retries });
}

function print(o: unknown, json: boolean | undefined, text: string): void {
  console.log(json ? JSON.stringify(o, null, 2) : text);
}

function contaminationIndex(o: { benchmarks?: string | false; ngram: number }): { index?: ContaminationIndex; skipped?: string } {
  if (o.benchmarks === false) return { skipped: '--no-benchmarks given' };
  const dir = o.benchmarks ?? defaultBenchmarks();
  if (!dir) {
    console.error('phi3: warning: no benchmark folder found (../shared/datasets); contamination check skipped — pass --benchmarks DIR');
    return { skipped: 'no benchmark folder found' };
  }
  if (!existsSync(dir)) throw new Phi3Error(`--benchmarks ${dir}: no such folder`);
  process.stderr.write(`indexing benchmark ${o.ngram}-grams in ${dir} … `);
  const index = ContaminationIndex.build(dir, o.ngram);
  process.stderr.write(`${index.info.ngrams} n-grams from ${index.info.files} files\n`);
  return { index };
}

const contaminationOptions = (c: Command) =>
  c
    .option('--benchmarks <dir>', 'evaluation sets that must not be trained on (default: ../shared/datasets)')
    .option('--no-benchmarks', 'skip the contamination check')
    .option('--ngram <n>', 'n-gram size of the contamination check', intArg(4, 50), 13);

function annotateCommand(): Command {
  return clientOptions(
    inputOptions(
      new Command('annotate')
        .description('score a reproducible sample of a corpus 0–5 for educational value with an LLM judge (resumable)')
        .argument('[corpus...]', 'files or folders (JSON lines or text)')
        .option('--judge <url>', 'OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (phi3 serve, llama.cpp, Ollama …)')
        .option('--sample <n>', 'documents to sample (seeded reservoir sample)', intArg(1), 1000)
        .option('--seed <n>', 'sampling seed', intArg(0), 1)
        .option('-o, --out <file>', 'annotations (JSON lines; existing lines are kept and not redone)', 'annotations.jsonl')
        .option('--rubric <file>', 'judge prompt with a {{text}} placeholder (default: the built-in 0–5 rubric)')
        .option('--write-rubric <file>', 'write the built-in rubric to a file to edit, and exit')
        .option('--max-chars <n>', 'cut documents to this many characters in the prompt', intArg(100), 6000)
        .option('--json-mode', 'ask the endpoint for a JSON object reply (response_format json_object)')
        .option('--json', 'print the report as JSON'),
    ),
  ).action(async (corpus: string[], o: InputOpts & ClientOpts & { judge?: string; sample: number; seed: number; out: string; rubric?: string; writeRubric?: string; maxChars: number; jsonMode?: boolean; json?: boolean }) => {
    if (o.writeRubric) {
      if (existsSync(o.writeRubric)) throw new Phi3Error(`${o.writeRubric} exists; not overwriting it`);
      writeFileSync(o.writeRubric, DEFAULT_RUBRIC + '\n');
      console.error(`wrote ${o.writeRubric}; edit it and pass --rubric ${o.writeRubric}`);
      return;
    }
    if (!o.judge) throw new Phi3Error('--judge URL is required (an OpenAI-compatible endpoint)');
    if (corpus.length === 0) throw new Phi3Error('give a corpus to annotate');
    const b = bar('annotating', 'docs');
    const r = await annotate(corpus, o.out, client(o.judge, o), loadRubric(o.rubric), { ...o, onDone: (d, t) => (d === 1 && b.start(t), b.update(d)) });
    b.stop();
    print(r, o.json, `sampled ${r.sampled}: ${r.annotated} annotated now, ${r.alreadyDone} already in ${o.out}, ${r.cachedByText} from the text cache, ${r.failed.length} failed` +
      ` (${r.requests} requests, ${r.retries} retries ${JSON.stringify(r.failures)})${r.failed.length ? `\nfirst failure: ${r.failed[0].id}: ${r.failed[0].error}\nrun again to retry the failed documents` : ''}`);
  });
}

function classifierCommand(): Command {
  const c = new Command('classifier').description('train or evaluate the fast educational-value classifier');
  c.command('train')
    .description('learn judge scores from annotations (hashed n-grams + linear regression, calibrated); reports agreement on unseen documents')
    .argument('<labels...>', 'annotation files (JSON lines with text and a 0–5 score)')
    .option('-o, --out <file>', 'classifier file', 'edu-classifier.json')
    .option('--label-field <name>', 'field holding the score', 'score')
    .option('--cv <k>', 'report k-fold cross-validated agreement, then train on everything', intArg(2, 100), 5)
    .option('--holdout <f>', 'instead of --cv: hold out this fraction (seeded split) and train on the rest', floatArg(0.01, 0.9))
    .option('--threshold <s>', 'label counted as "educational" for precision/recall', floatArg(0, 5), 3)
    .option('--bits <n>', 'feature hash size, 2^bits', intArg(8, 24), 18)
    .option('--ngrams <n>', 'word n-gram orders 1..n', intArg(1, 4), 2)
    .option('--epochs <n>', 'training passes', intArg(1), 20)
    .option('--seed <n>', 'split and shuffle seed', intArg(0), 1)
    .option('--json', 'print metrics as JSON')
    .action(async (files: string[], o: { out: string; labelField: string; cv: number; holdout?: number; threshold: number; bits: number; ngrams: number; epochs: number; seed: number; json?: boolean }) => {
      const data = await labelled(files, o.labelField);
      const opts = { bits: o.bits, ngrams: o.ngrams, epochs: o.epochs, seed: o.seed };
      let m, how;
      const { train, test } = o.holdout !== undefined ? split(data, o.holdout, o.seed) : { train: data, test: [] };
      const clf = EduClassifier.empty(o.bits, o.ngrams);
      const mse = clf.train(train, opts);
      if (o.holdout !== undefined) {
        m = agreement(test.map((d) => clf.score(d.text)), test.map((d) => d.score), o.threshold, clf.cutFor(o.threshold));
        how = `held out ${test.length}`;
      } else {
        const { scores, cuts } = crossValidate(data, Math.min(o.cv, data.length), opts);
        m = { ...agreement(scores, data.map((d) => d.score), o.threshold, cuts.map((c) => c(o.threshold))), auc: auc(scores, data.map((d) => d.score), o.threshold) };
        how = `${o.cv}-fold cross-validation over ${data.length}`;
      }
      clf.meta = { trainedOn: files, train: train.length, trainMse: mse, evaluation: how, metrics: m };
      clf.save(o.out);
      print(clf.meta, o.json, `trained on ${train.length} documents; wrote ${o.out}\n` +
        `score cuts learned out of fold (label ≥ t → score ≥ cut): ${JSON.stringify(Object.fromEntries(Object.entries(clf.cuts).map(([k, v]) => [k, +v.toFixed(3)])))}\n` +
        `${how}: precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}, F1 ${m.f1.toFixed(3)} for label ≥ ${o.threshold}; MAE ${m.mae.toFixed(3)}, exact ${(m.exactAccuracy * 100).toFixed(1)}%`);
    });
  c.command('eval')
    .description('agreement of a classifier with labelled documents')
    .argument('<labels...>', 'annotation files')
    .requiredOption('--classifier <file>', 'classifier file')
    .option('--label-field <name>', 'field holding the score', 'score')
    .option('--threshold <s>', 'score counted as "educational"', floatArg(0, 5), 3)
    .action(async (files: string[], o: { classifier: string; labelField: string; threshold: number }) => {
      const clf = EduClassifier.load(o.classifier);
      const data = await labelled(files, o.labelField);
      console.log(JSON.stringify(agreement(data.map((d) => clf.score(d.text)), data.map((d) => d.score), o.threshold, clf.cutFor(o.threshold)), null, 2));
    });
  return c;
}

async function labelled(files: string[], field: string) {
  const out: { text: string; score: number }[] = [];
  for await (const d of readDocs(files, { format: 'jsonl' })) {
    const s = Number(d.meta?.[field]);
    if (!Number.isFinite(s) || s < 0 || s > 5) throw new Phi3Error(`${d.id}: "${field}" is ${JSON.stringify(d.meta?.[field])}, not a score in 0..5`);
    out.push({ text: d.text, score: s });
  }
  if (out.length === 0) throw new Phi3Error('no labelled documents');
  return out;
}

/** Seeded train/held-out split. */
export function split<T>(data: T[], holdout: number, seed: number): { train: T[]; test: T[] } {
  const rng = new Rng(seed);
  const order = data.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nTest = Math.round(data.length * holdout);
  return { test: order.slice(0, nTest).map((i) => data[i]), train: order.slice(nTest).map((i) => data[i]) };
}

function filterCommand(): Command {
  return contaminationOptions(
    inputOptions(
      new Command('filter')
        .description('score every document with the classifier and keep those ≥ --min-score (streaming, any size)')
        .argument('<corpus...>', 'files or folders')
        .requiredOption('--classifier <file>', 'from `phi3 data classifier train`')
        .option('--min-score <s>', 'keep documents predicted to have label ≥ this (the classifier\'s learned cut for it)', floatArg(-10, 10), 3)
        .option('-o, --out <file>', 'kept documents (.jsonl, or text with % delimiters)', 'filtered.jsonl')
        .option('--dropped <file>', 'also write the dropped documents here')
        .option('--report <file>', 'write a Markdown report (kept fraction, examples, throughput)')
        .option('--json', 'print the report as JSON'),
    ),
  ).action(async (corpus: string[], o: InputOpts & { classifier: string; minScore: number; out: string; dropped?: string; report?: string; benchmarks?: string | false; ngram: number; json?: boolean }) => {
    const clf = EduClassifier.load(o.classifier);
    const { index } = contaminationIndex(o);
    const files = corpus.flatMap(listFiles);
    const b = bar('filtering', 'bytes');
    b.start(totalBytes(files));
    const kept = new DocWriter(o.out), dropped = o.dropped ? new DocWriter(o.dropped) : undefined;
    const r = await filterCorpus(files, clf, { ...o, kept, dropped, contamination: index, onBytes: (n) => b.update(n) });
    b.stop();
    await kept.close();
    await dropped?.close();
    if (o.report) writeFileSync(o.report, filterReportMarkdown(r, `Filter report: ${corpus.join(', ')}`));
    const { examplesKept: _k, examplesDropped: _d, ...short } = r;
    print(o.json ? r : short, o.json, `kept ${r.kept} of ${r.docs} documents (${(r.keptFraction * 100).toFixed(1)}%), ${(r.bytesIn / 1e6).toFixed(2)} MB at ${r.mbPerSecond.toFixed(2)} MB/s → ${o.out}` +
      (r.contamination ? `; ${r.contamination.flagged} contaminated documents dropped` : ''));
  });
}

function synthCommand(): Command {
  return clientOptions(
    new Command('synth')
      .description('synthetic data: programmatic generators with verified answers (default), or an LLM from seed topics (--llm)')
      .option('--skills <list>', `comma-separated: ${Object.keys(GENERATORS).join(', ')}`, Object.keys(GENERATORS).join(','))
      .option('--count <n>', 'records to write', intArg(1), 1000)
      .option('--seed <n>', 'seed (same seed → same data)', intArg(0), 1)
      .option('-o, --out <file>', 'output JSON lines', 'synth.jsonl')
      .addOption(new Option('--as <layout>', 'record layout: records ({question, answer, solution, …}), chat ({messages}), text ({text})').choices(['records', 'chat', 'text']).default('records'))
      .option('--llm <url>', 'generate with an LLM at this OpenAI-compatible endpoint instead')
      .option('--topics <file>', 'LLM: seed topics, one per line')
      .option('--template <name|file>', `LLM: ${Object.keys(LLM_TEMPLATES).join(', ')}, or a file with {{topic}} {{audience}} {{style}}`, 'textbook')
      .option('--temperature <t>', 'LLM sampling temperature', floatArg(0, 2), 0.8)
      .option('--max-tokens <n>', 'LLM: most tokens per reply', intArg(1), 1024),
  ).action(async (o: ClientOpts & { skills: string; count: number; seed: number; out: string; as: string; llm?: string; topics?: string; template: string; temperature: number; maxTokens: number }) => {
    if (o.llm) {
      if (!o.topics) throw new Phi3Error('--llm needs --topics FILE (one topic per line)');
      const topics = readFileSync(o.topics, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
      const b = bar('generating', 'items');
      const r = await llmSynth(topics, client(o.llm, o), o.out, { ...o, concurrency: o.concurrency, onDone: (d, t) => (d === 1 && b.start(t), b.update(d)) });
      b.stop();
      console.log(`wrote ${r.written} (${r.alreadyDone} already there, ${r.duplicates} duplicates dropped, ${r.failed.length} failed) → ${o.out}`);
      return;
    }
    const skills = o.skills.split(',').map((s) => s.trim()).filter(Boolean);
    const w = new DocWriter(o.out, { format: 'jsonl' });
    let n = 0;
    for (const r of generateSynth(skills, o.count, o.seed)) {
      const line = o.as === 'chat' ? { id: r.id, text: toText(r), messages: toChat(r) } : o.as === 'text' ? { id: r.id, text: toText(r) } : { id: r.id, text: toText(r), skill: r.skill, question: r.question, answer: r.answer, solution: r.solution, params: r.params };
      const { id, text, ...meta } = line;
      await w.write({ id, text, meta });
      n++;
    }
    await w.close();
    console.log(`wrote ${n} verified records (${skills.join(', ')}, seed ${o.seed}) → ${o.out}`);
  });
}

function dedupCommand(): Command {
  return inputOptions(
    new Command('dedup')
      .description('remove exact and near duplicates (MinHash/LSH), first occurrence kept, with a report')
      .argument('<corpus...>', 'files or folders')
      .option('-o, --out <file>', 'deduplicated documents', 'dedup.jsonl')
      .option('--report <file>', 'JSON report of every removed document and what it duplicates')
      .option('--threshold <j>', 'estimated Jaccard similarity that makes a near duplicate', floatArg(0.01, 1), 0.6)
      .option('--shingle <n>', 'words per shingle', intArg(1, 50), 5)
      .option('--perms <n>', 'MinHash functions', intArg(1, 4096), 128)
      .option('--bands <n>', 'LSH bands (perms must be a multiple)', intArg(1, 4096), 32)
      .option('--no-near', 'exact duplicates only')
      .option('--no-exact', 'near duplicates only')
      .option('--json', 'print the summary as JSON'),
  ).action(async (corpus: string[], o: InputOpts & { out: string; report?: string; threshold: number; shingle: number; perms: number; bands: number; near: boolean; exact: boolean; json?: boolean }) => {
    const d = new Deduper(o);
    const files = corpus.flatMap(listFiles);
    const b = bar('dedup', 'bytes');
    b.start(totalBytes(files));
    const w = new DocWriter(o.out);
    const t0 = performance.now();
    for await (const doc of readDocs(files, { ...o, onBytes: (n) => b.update(n) })) if (d.check(doc.id, doc.text).keep) await w.write(doc);
    await w.close();
    b.stop();
    const s = d.stats, secs = (performance.now() - t0) / 1000;
    const summary = { docs: s.docs, kept: s.kept, exact: s.exact, near: s.near, mbIn: s.bytesIn / 1e6, seconds: secs, mbPerSecond: s.bytesIn / 1e6 / secs };
    if (o.report) writeFileSync(o.report, JSON.stringify({ ...summary, options: { threshold: d.threshold, shingle: d.shingle, perms: d.perms, bands: d.bands }, removed: s.removed }, null, 2) + '\n');
    print(summary, o.json, `kept ${s.kept} of ${s.docs} documents: ${s.exact} exact and ${s.near} near duplicates removed; ${summary.mbIn.toFixed(2)} MB at ${summary.mbPerSecond.toFixed(2)} MB/s → ${o.out}`);
  });
}

function mixCommand(): Command {
  return contaminationOptions(
    new Command('mix')
      .description('tokenize, shuffle and pack one phase of a recipe into training shards, with a per-source token report')
      .requiredOption('--recipe <file>', 'recipe.json (see --help)')
      .requiredOption('--phase <name>', 'phase of the recipe (1 = broad web, 2 = filtered + synthetic, or any name it defines)')
      .option('-o, --out <dir>', 'shard folder (default: shards/phase-<phase>)')
      .option('--tokenizer <path>', 'GGUF file or tokenizer.json (default: the embedded model\'s Phi-3 vocabulary)')
      .addHelpText('after', '\n' + RECIPE_HELP),
  ).action(async (o: { recipe: string; phase: string; out?: string; tokenizer?: string; benchmarks?: string | false; ngram: number }) => {
    const recipe = loadRecipe(o.recipe);
    const tokenizer = loadDataTokenizer(o.tokenizer);
    const { index, skipped } = contaminationIndex(o);
    const out = o.out ?? `shards/phase-${o.phase}`;
    let last = '';
    const r = await mixPhase(recipe, o.phase, out, {
      tokenizer, contamination: index, contaminationSkipped: skipped,
      onProgress: (stage, src, n) => {
        if (process.stderr.isTTY && n % 500 === 0) process.stderr.write(`\r${stage} ${src}: ${n} documents   `);
        last = stage;
      },
    });
    if (process.stderr.isTTY && last) process.stderr.write('\n');
    console.log(readFileSync(`${out}/report.md`, 'utf8'));
    console.log(`wrote ${r.index.shards.length} shard(s), ${r.index.totalTokens} tokens → ${out}`);
  });
}

export function dataCommand(): Command {
  return new Command('data')
    .description('the data recipe: annotate with an LLM judge, train the classifier, filter, synthesize, dedup, mix into shards')
    .addCommand(annotateCommand())
    .addCommand(classifierCommand())
    .addCommand(filterCommand())
    .addCommand(synthCommand())
    .addCommand(dedupCommand())
    .addCommand(mixCommand());
}
