// `phi3 train pretrain|sft|dpo`: the training stages of src/train/stages.ts on the command line.
// Each writes <out>/<stage>.ckpt (atomic, every --ckpt-every steps) and <out>/<stage>.jsonl (one JSON
// line per step: loss, lr, grad norm, tokens/s, evaluations) and shows a progress bar; --resume
// continues an interrupted run bit for bit.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { dpo, pretrain, readRunSpec, sft, type FinetuneOptions } from '../train/stages.js';
import { evaluate } from '../train/evaluate.js';
import { floatArg, intArg } from './common.js';

/** What commander parses for sft/dpo: the stage's options, with the defaults it always fills in. */
type FtCli = FinetuneOptions & { weightDecay: number };

function finetuneCommand(name: 'sft' | 'dpo'): Command {
  const cmd = new Command(name)
    .description(
      name === 'sft'
        ? 'supervised fine-tuning on chat data (loss on assistant tokens only, through the chat template)'
        : 'direct preference optimisation against a frozen copy of the starting model',
    )
    .requiredOption('--init <path>', 'starting weights: a training checkpoint (.ckpt) or a Phi-3 GGUF')
    .requiredOption('--out <dir>', `output folder (${name}.ckpt, ${name}.jsonl)`)
    .option(
      '--data <src>',
      name === 'sft'
        ? 'synth:SKILL[,SKILL] (basic, arithmetic, units, logic, code) or a JSON-lines file of {"messages":[...]}'
        : 'synth:SKILL[,SKILL] (correct vs wrong-answer pairs) or a JSON-lines file of {"prompt","chosen","rejected"}',
      'synth:basic',
    )
    .option('--tokenizer <path>', 'tokenizer (default: the one the checkpoint recorded, or the GGUF itself)')
    .option('--steps <n>', 'optimizer steps', intArg(1), 200)
    .option('--batch <n>', name === 'sft' ? 'conversations per micro-batch' : 'preference pairs per micro-batch', intArg(1), 8)
    .option('--seq-len <n>', 'tokens per row (longer conversations are cut)', intArg(2), 96)
    .option('--accum <n>', 'micro-batches per optimizer step (gradient accumulation)', intArg(1), 1)
    .option('--lr <x>', 'peak learning rate', floatArg(0), name === 'sft' ? 1e-3 : 5e-5)
    .option('--warmup <n>', 'linear warmup steps', intArg(0), 10)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (matrices only)', floatArg(0), 0)
    .option('--seed <n>', 'data seed', intArg(0), 1)
    .option('--ckpt-every <n>', 'checkpoint every n steps', intArg(1), 50)
    .option('--resume', 'continue from <out>/' + name + '.ckpt if present');
  if (name === 'dpo') cmd.option('--beta <x>', 'DPO β (strength of the pull towards the reference)', floatArg(Number.MIN_VALUE), 0.1);
  return cmd.action((o: FtCli) => {
    const opts: FinetuneOptions = { ...o, init: resolve(o.init), out: resolve(o.out), resume: o.resume === true };
    if (name === 'sft') {
      const r = sft(opts);
      if (r.step === r.resumedFrom) return console.error(`sft: ${opts.out}/sft.ckpt already holds all ${r.step} steps`);
      console.error(`sft: ${r.step} steps, last loss ${r.lastLoss.toFixed(4)}, held-out answer loss ${r.heldOutLoss.toFixed(4)}, ${r.tokensPerSec.toFixed(0)} tokens/s → ${opts.out}/sft.ckpt`);
    } else {
      const r = dpo(opts);
      if (r.step === r.resumedFrom) return console.error(`dpo: ${opts.out}/dpo.ckpt already holds all ${r.step} steps`);
      console.error(
        `dpo: ${r.step} steps, last loss ${r.lastLoss.toFixed(4)}; held-out preference accuracy ${(100 * r.before.accuracy).toFixed(1)}% → ${(100 * r.after.accuracy).toFixed(1)}% ` +
          `(mean log-prob margin ${r.before.margin.toFixed(3)} → ${r.after.margin.toFixed(3)}) → ${opts.out}/dpo.ckpt`,
      );
    }
  });
}

export function trainCommand(): Command {
  const train = new Command('train').description('train Phi-3 models: pretraining phases, SFT, DPO (CPU, plain TypeScript)');
  train
    .command('pretrain')
    .description('pretraining phases from a run.json: {out, tokenizer, model, seed, batch, seqLen, accum, ckptEvery, optim, phases: [{name, steps, lr, warmup, minLr, mixture: [{synth|file, format, weight}]}]}')
    .requiredOption('--config <run.json>', 'the run description (paths in it are relative to its folder)')
    .option('--resume', 'continue each phase from its checkpoint; finished phases are skipped')
    .action(async (o: { config: string; resume?: boolean }) => {
      const results = await pretrain(readRunSpec(o.config), { resume: o.resume === true });
      for (const r of results)
        console.error(`${r.phase}: ${r.step} steps, last loss ${r.lastLoss.toFixed(4)}, held-out loss ${r.heldOutLoss.toFixed(4)}, ${r.tokensPerSec.toFixed(0)} tokens/s`);
    });
  train.addCommand(finetuneCommand('sft'));
  train.addCommand(finetuneCommand('dpo'));
  train
    .command('eval')
    .description('held-out evaluation on synthetic problems never trained on: greedy chat accuracy, stops by itself, answer format, answer loss, preference accuracy')
    .requiredOption('--model <path>', 'a training checkpoint (.ckpt) or a GGUF')
    .option('--skill <name>', 'synthetic skill (basic, arithmetic, units, logic, code)', 'basic')
    .option('-n, --count <n>', 'held-out problems', intArg(1), 100)
    .option('--seed <n>', 'data seed the model was trained with', intArg(0), 1)
    .option('--max-tokens <n>', 'longest answer', intArg(1), 48)
    .action(async (o: { model: string; skill: string; count: number; seed: number; maxTokens: number }) => {
      const r = await evaluate(resolve(o.model), o.skill, o.count, o.seed, o.maxTokens);
      console.log(JSON.stringify(r, null, 2));
    });
  return train;
}
