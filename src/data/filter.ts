// `phi3 data filter`: stream a corpus through the classifier (and the contamination check), write the
// documents scoring ≥ minScore, and report what happened: kept fraction, score histogram, throughput,
// seeded samples of kept and dropped documents. Memory stays flat whatever the corpus size.
// Tested in test/data-classifier.test.ts (filter on the labelled fixture) and measured in bench/.
import { Rng } from '../generate/sampler.js';
import type { EduClassifier } from './classifier.js';
import { ContaminationTally, type ContaminationIndex } from './contamination.js';
import { readDocs, type DocWriter, type ReadOptions } from './docs.js';

export interface FilterOptions extends ReadOptions {
  minScore: number;
  kept: DocWriter;
  dropped?: DocWriter;
  contamination?: ContaminationIndex;
  /** n-gram hits that flag a document as contaminated (default 1). */
  minHits?: number;
  examples?: number;
  seed?: number;
  onDoc?: (docs: number) => void;
}

export interface Example {
  id: string;
  score: number;
  text: string;
}

export interface FilterReport {
  docs: number;
  kept: number;
  keptFraction: number;
  bytesIn: number;
  bytesKept: number;
  seconds: number;
  mbPerSecond: number;
  minScore: number;
  /** The classifier score a document needed (the learned cut for label ≥ minScore). */
  cut: number;
  /** Documents per predicted-score bucket: "<0", "0", … "5", ">5" (floor of the prediction). */
  histogram: Record<string, number>;
  contamination?: ReturnType<ContaminationTally['toJSON']>;
  examplesKept: Example[];
  examplesDropped: Example[];
}

class Reservoir {
  readonly items: Example[] = [];
  private seen = 0;
  constructor(
    private readonly n: number,
    private readonly rng: Rng,
  ) {}
  add(e: Example): void {
    this.seen++;
    if (this.items.length < this.n) this.items.push(e);
    else {
      const j = Math.floor(this.rng.next() * this.seen);
      if (j < this.n) this.items[j] = e;
    }
  }
}

function bucket(s: number): string {
  return s < 0 ? '<0' : s >= 6 ? '>5' : String(Math.floor(s));
}

export async function filterCorpus(corpus: string | string[], clf: EduClassifier, o: FilterOptions): Promise<FilterReport> {
  const t0 = performance.now();
  const rng = new Rng(o.seed ?? 1);
  const keptEx = new Reservoir(o.examples ?? 5, rng), dropEx = new Reservoir(o.examples ?? 5, rng);
  const tally = o.contamination ? new ContaminationTally() : undefined;
  const hist: Record<string, number> = {};
  const r = { docs: 0, kept: 0, bytesIn: 0, bytesKept: 0 };
  const cut = clf.cutFor(o.minScore); // the learned cut for "label ≥ minScore" (minScore itself if none)
  for await (const d of readDocs(corpus, o)) {
    const bytes = Buffer.byteLength(d.text);
    r.docs++;
    r.bytesIn += bytes;
    const score = clf.score(d.text);
    hist[bucket(score)] = (hist[bucket(score)] ?? 0) + 1;
    const contaminated = o.contamination ? tally!.add(d.id, o.contamination.check(d.text), o.minHits ?? 1) : false;
    const ex = { id: d.id, score: Math.round(score * 100) / 100, text: d.text.length > 600 ? d.text.slice(0, 600) + ' […]' : d.text };
    if (score >= cut && !contaminated) {
      r.kept++;
      r.bytesKept += bytes;
      await o.kept.write({ ...d, meta: { ...d.meta, edu_score: ex.score } });
      keptEx.add(ex);
    } else {
      await o.dropped?.write({ ...d, meta: { ...d.meta, edu_score: ex.score, ...(contaminated ? { contaminated: true } : {}) } });
      dropEx.add(ex);
    }
    o.onDoc?.(r.docs);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    ...r, keptFraction: r.docs ? r.kept / r.docs : 0, seconds, mbPerSecond: r.bytesIn / 1e6 / Math.max(seconds, 1e-9), minScore: o.minScore, cut,
    histogram: hist, contamination: tally?.toJSON(), examplesKept: keptEx.items, examplesDropped: dropEx.items,
  };
}

/** The report as Markdown (for docs/ or data/reports/). */
export function filterReportMarkdown(r: FilterReport, title: string): string {
  const ex = (xs: Example[]) => xs.map((e) => `- **${e.id}** (score ${e.score}):\n\n  > ${e.text.replace(/\n+/g, ' ').slice(0, 400)}\n`).join('\n');
  const lines = [
    `# ${title}`,
    '',
    `| documents | kept | kept fraction | MB in | MB kept | seconds | MB/s | min score (score cut) |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    `| ${r.docs} | ${r.kept} | ${(r.keptFraction * 100).toFixed(1)}% | ${(r.bytesIn / 1e6).toFixed(2)} | ${(r.bytesKept / 1e6).toFixed(2)} | ${r.seconds.toFixed(2)} | ${r.mbPerSecond.toFixed(2)} | ${r.minScore} (${r.cut.toFixed(3)}) |`,
    '',
    `Predicted-score histogram: ${['<0', '0', '1', '2', '3', '4', '5', '>5'].map((b) => `${b}: ${r.histogram[b] ?? 0}`).join(', ')}`,
    '',
  ];
  if (r.contamination) lines.push(`Contamination (benchmark n-gram overlap): ${r.contamination.flagged} of ${r.contamination.docs} documents flagged and dropped ${JSON.stringify(r.contamination.byBenchmark)}`, '');
  lines.push('## Examples kept', '', ex(r.examplesKept), '## Examples dropped', '', ex(r.examplesDropped));
  return lines.join('\n');
}
