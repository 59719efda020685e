// `phi3 plot LOG.jsonl... OUT.svg`: loss curves of training logs (src/train/plot.ts).
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { Phi3Error } from '../errors.js';
import { plotSvg, type LogRecord } from '../train/plot.js';

export function plotCommand(): Command {
  return new Command('plot')
    .description('plot training logs (JSON lines from phi3 train) as an SVG; several logs are laid end to end')
    .argument('<files...>', 'LOG.jsonl [LOG2.jsonl …] OUT.svg')
    .option('--fields <names>', 'comma-separated fields (default: loss and the evaluations present)')
    .option('--title <text>', 'title', 'training')
    .action((files: string[], o: { fields?: string; title: string }) => {
      const out = files.pop();
      if (!out || files.length === 0) throw new Phi3Error('usage: phi3 plot LOG.jsonl [more logs] OUT.svg');
      if (!out.endsWith('.svg')) throw new Phi3Error(`${out}: only SVG output is supported (name it .svg)`);
      const records: LogRecord[] = [];
      for (const f of files)
        readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
          if (!line.trim()) return;
          let r: LogRecord;
          try {
            r = JSON.parse(line) as LogRecord;
          } catch {
            throw new Phi3Error(`${f}:${i + 1}: not JSON`);
          }
          if (typeof r.step !== 'number') throw new Phi3Error(`${f}:${i + 1}: no numeric "step"`);
          records.push(r);
        });
      writeFileSync(out, plotSvg(records, o.fields?.split(','), o.title));
      console.error(`wrote ${out}`);
    });
}
