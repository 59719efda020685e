#!/usr/bin/env node
// `phi3`: the command line. Each subcommand is a thin layer over the library API (src/phi3.ts).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { Phi3Error } from '../errors.js';
import { runChat } from './chat.js';
import { addModelOptions, addSamplingOptions, generateOptions, openModel, parseIds, type ModelCliOptions, type SamplingCliOptions } from './common.js';
import { printInfo } from './info.js';
import { indexCommand } from './index-cmd.js';
import { serveCommand } from './serve.js';
import { initCommand } from './init.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { quantizeCommand } from './quantize.js';
import { perplexityCommand } from './perplexity.js';
import { trainCommand } from './train.js';
import { exportCommand } from './export.js';
import { plotCommand } from './plot.js';
import { tokenizerCommand } from './tokenizer.js';
import { dataCommand } from './data.js';
import { evalCommand } from './eval.js';

const program = new Command();
program
  .name('phi3')
  .description('Run Phi-3 language models locally: GGUF files or Hugging Face folders, no Python.')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)');

/** The version in package.json (two folders up from src/cli/ and from dist/cli/ alike). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

addSamplingOptions(
  addModelOptions(
    program
      .command('generate')
      .description('continue a prompt and stream the text')
      .option('-p, --prompt <text>', 'prompt text (special tokens like <|user|> are recognised)')
      .option('--prompt-ids <ids>', 'prompt as comma-separated token ids, used as they are', parseIds)
      .option('--json', 'print one JSON object {"tokens":[...],"text":"..."} with only the generated tokens'),
  ),
).action(async (o: ModelCliOptions & SamplingCliOptions & { prompt?: string; promptIds?: number[]; json?: boolean }) => {
  if ((o.prompt === undefined) === (o.promptIds === undefined)) throw new Phi3Error('give exactly one of --prompt or --prompt-ids');
  const model = await openModel(o);
  const gen = model.generate(o.promptIds ?? o.prompt!, generateOptions(o));
  let result;
  for (;;) {
    const step = await gen.next();
    if (step.done) {
      result = step.value;
      break;
    }
    if (!o.json) process.stdout.write(step.value.text);
  }
  if (o.json) process.stdout.write(JSON.stringify({ tokens: result.tokens, text: result.text }) + '\n');
  else process.stdout.write('\n');
});

addSamplingOptions(
  addModelOptions(
    program
      .command('chat')
      .description('interactive multi-turn chat (/reset, /system TEXT, /exit; Ctrl-C stops an answer)')
      .option('-s, --system <text>', 'system message'),
  ),
).action(async (o: ModelCliOptions & SamplingCliOptions & { system?: string }) => {
  await runChat(await openModel(o), generateOptions(o), o.system);
});

addModelOptions(
  program
    .command('tokenize')
    .description('print the token ids of a text')
    .argument('<text>', 'text to tokenize')
    .option('--json', 'print the ids as a JSON array')
    .option('--no-special', 'treat special-token text like <|user|> as plain text'),
).action(async (text: string, o: ModelCliOptions & { json?: boolean; special: boolean }) => {
  const model = await openModel(o);
  const ids = model.tokenizer.encode(text, { parseSpecial: o.special });
  if (o.json) console.log(JSON.stringify(ids));
  else for (const id of ids) console.log(`${String(id).padStart(6)}  ${JSON.stringify(model.tokenizer.idToPiece(id))}`);
});

addModelOptions(
  program.command('info').description('architecture, parameters, tensor types, context, rope scaling, chat template, memory').option('--json', 'machine-readable output'),
).action(async (o: ModelCliOptions & { json?: boolean }) => {
  printInfo(await openModel(o), o.json === true);
});

program.addCommand(initCommand());
program.addCommand(benchCommand());
program.addCommand(trainCommand());
program.addCommand(exportCommand());
program.addCommand(plotCommand());
program.addCommand(tokenizerCommand());
program.addCommand(convertCommand());
program.addCommand(quantizeCommand());
program.addCommand(perplexityCommand());

program.addCommand(serveCommand());
program.addCommand(indexCommand());
program.addCommand(dataCommand());
program.addCommand(evalCommand());

program.parseAsync(process.argv).catch((e: unknown) => {
  // Expected failures (bad files, bad requests) print one clear line; anything else keeps its stack.
  if (e instanceof Phi3Error) console.error(`phi3: ${e.message}`);
  else if (e instanceof Error) console.error(`phi3: ${e.stack ?? e.message}`);
  else console.error(`phi3: ${String(e)}`);
  process.exitCode = 1;
});
