// `phi3 tokenizer train`: learns a small SentencePiece-BPE vocabulary (src/train/tokenizer-train.ts) from
// text files or synthetic data and writes tokenizer.json + tokenizer_config.json, which `phi3 train`,
// `phi3 export` and the engine read.
import { Command } from 'commander';
import { PHI3_TEMPLATE } from '../chat/template.js';
import { readDocs } from '../data/docs.js';
import { toChat, toText } from '../data/synth/index.js';
import { record } from '../train/data.js';
import { trainTokenizer } from '../train/tokenizer-train.js';
import { writeTokenizerFiles } from '../train/tokenizer-json.js';
import { intArg } from './common.js';

export function tokenizerCommand(): Command {
  const cmd = new Command('tokenizer').description('tokenizer tools');
  cmd
    .command('train')
    .description('train a SentencePiece-BPE vocabulary (bytes + Phi-3 special tokens included) and write tokenizer.json')
    .requiredOption('--out <dir>', 'output folder (tokenizer.json, tokenizer_config.json)')
    .option('--input <paths...>', 'text / JSON-lines files or folders (src/data/docs.ts formats)')
    .option('--synth <skills>', 'also learn from N synthetic records of these skills, e.g. basic,arithmetic')
    .option('--synth-count <n>', 'synthetic records per skill', intArg(1), 4000)
    .option('--vocab-size <n>', 'total ids (rounded up to a multiple of 64)', intArg(300), 512)
    .option('--seed <n>', 'synthetic data seed', intArg(0), 1)
    .action(async (o: { out: string; input?: string[]; synth?: string; synthCount: number; vocabSize: number; seed: number }) => {
      const docs: string[] = [];
      for (const p of o.input ?? []) for await (const d of readDocs(p)) docs.push(d.text);
      for (const skill of o.synth?.split(',').filter(Boolean) ?? [])
        for (let i = 0; i < o.synthCount; i++) {
          const r = record(skill, o.seed, i);
          docs.push(toText(r), toChat(r).map((m) => m.content).join('\n'));
        }
      if (docs.length === 0) throw new Error('give --input files or --synth skills');
      const v = trainTokenizer(docs, { vocabSize: o.vocabSize });
      writeTokenizerFiles(o.out, v, PHI3_TEMPLATE);
      console.error(`wrote ${o.out}/tokenizer.json: ${v.pieces.length} ids from ${docs.length} documents`);
    });
  return cmd;
}
