// `phi3 perplexity --model PATH --file TEXT [--ctx 512]`: llama-perplexity's measure (eval/perplexity.ts),
// printed the same way ("[1]x,[2]y,…" then "Final estimate: PPL = …"), or as JSON.
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { readFileSync } from 'node:fs';
import { Phi3Error } from '../errors.js';
import { perplexity } from '../eval/perplexity.js';
import { intArg, openModel } from './common.js';

interface PerplexityCliOptions {
  model?: string;
  tokenizer?: string;
  file: string;
  ctx: number;
  chunks?: number;
  json?: boolean;
}

export function perplexityCommand(): Command {
  return new Command('perplexity')
    .description("perplexity of a model on a text, computed like llama.cpp's llama-perplexity (non-overlapping chunks, second half of each scored)")
    .option('-m, --model <path>', 'GGUF file or Hugging Face folder (default: the embedded tiny model)')
    .option('--tokenizer <path>', 'tokenizer.json (or its folder) for a Hugging Face folder that lacks one')
    .requiredOption('-f, --file <text-file>', 'UTF-8 text to score (at least 2 × ctx tokens)')
    .option('-c, --ctx <n>', 'tokens per chunk (llama.cpp -c)', intArg(4), 512)
    .option('--chunks <n>', 'score at most this many chunks', intArg(1))
    .option('--json', 'print one JSON object {ppl, error, nll, count, chunks, ctx, tokens, running}')
    .action(async (o: PerplexityCliOptions) => {
      let text: string;
      try {
        text = readFileSync(o.file, 'utf8');
      } catch (e) {
        throw new Phi3Error(`${o.file}: cannot read: ${(e as Error).message}`);
      }
      const model = await openModel({ model: o.model, tokenizer: o.tokenizer, context: o.ctx, ropeFactors: 'context' });
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'scoring {bar} {value}/{total} chunks | ppl {ppl} | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : undefined;
      let started = false;
      try {
        const r = perplexity(model, text, {
          ctx: o.ctx,
          maxChunks: o.chunks,
          onChunk: (done, total, ppl) => {
            if (!bar) return;
            if (!started) bar.start(total, 0, { ppl: '-' });
            started = true;
            bar.update(done, { ppl: ppl.toFixed(4) });
          },
        });
        if (started) bar?.stop();
        if (o.json) console.log(JSON.stringify(r));
        else {
          console.log(r.running.map((p, i) => `[${i + 1}]${p.toFixed(4)}`).join(','));
          console.log(`Final estimate: PPL = ${r.ppl.toFixed(4)} +/- ${r.error.toFixed(5)}  (${r.chunks} chunks of ${r.ctx}, ${r.count} tokens scored)`);
        }
      } finally {
        if (started) bar?.stop();
      }
    });
}
