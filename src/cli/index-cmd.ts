// `phi3 index DIR`: builds (or refreshes) the local search index over a folder of documents — text,
// Markdown, HTML, PDF — for `phi3 serve --search local:DIR`. `--query` tries the index right away.
import { Command } from 'commander';
import { Phi3Error } from '../errors.js';
import { LocalSearch, buildIndex } from '../search/local.js';
import { intArg } from './common.js';

interface IndexOptions {
  out?: string;
  chunkWords: number;
  maxFileMb: number;
  query?: string;
  json?: boolean;
  verbose?: boolean;
}

export function indexCommand(): Command {
  return new Command('index')
    .description('build a local search index (BM25) over a folder of .txt/.md/.html/.pdf documents, for serve --search local:DIR')
    .argument('<dir>', 'folder of documents (searched recursively; hidden files and node_modules are skipped)')
    .option('-o, --out <file>', 'where to write the index (default DIR/.phi3-index.json)')
    .option('--chunk-words <n>', 'words per passage', intArg(16, 2000), 120)
    .option('--max-file-mb <n>', 'skip files larger than this', intArg(1), 32)
    .option('--query <text>', 'then search the index and print the best passages')
    .option('--json', 'print the report (and query hits) as JSON')
    .option('-v, --verbose', 'print every file as it is read')
    .action(async (dir: string, o: IndexOptions) => {
      const t0 = performance.now();
      const report = await buildIndex(dir, {
        out: o.out,
        chunkWords: o.chunkWords,
        maxFileBytes: o.maxFileMb * 1024 * 1024,
        onFile: (path, status, detail) => {
          if (o.verbose || status === 'skipped') console.error(`${status.padEnd(9)} ${path}${detail ? `: ${detail}` : ''}`);
        },
      }).catch((e: Error) => {
        throw new Phi3Error(e.message);
      });
      const hits = o.query ? await new LocalSearch(report.out).search(o.query, 5) : undefined;
      if (o.json) {
        console.log(JSON.stringify({ ...report, hits }));
        return;
      }
      console.error(
        `indexed ${report.docs} documents (${report.reused} unchanged) into ${report.passages} passages in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${report.out}` +
          (report.skipped.length ? `; skipped ${report.skipped.length}` : ''),
      );
      for (const [i, h] of (hits ?? []).entries()) console.log(`\n[${i + 1}] ${h.title} (${h.source}) score ${h.score.toFixed(2)}\n${h.text}`);
    });
}
