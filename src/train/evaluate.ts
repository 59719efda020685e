// Held-out evaluation of a trained model on synthetic problems it never saw (data.ts isHeldOut):
//  - accuracy: greedy chat answers through the real engine (loadModel + chat, the path `phi3 chat`
//    takes), scored by the number after the last "Answer:";
//  - stopped: the answer ended by itself with an end-of-turn token (not by the token limit);
//  - format: the reply ends in an "Answer: <number>" line;
//  - answerLoss: teacher-forced loss of the reference answers (assistant tokens only);
//  - textLoss: loss of whole held-out documents in the pretraining ("Question/Solution/Answer") layout;
//  - preference accuracy: how often the model's likelihood prefers the right answer of a held-out pair.
// A checkpoint is evaluated by exporting it to a temporary f32 GGUF first. Used by `phi3 train eval`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage } from '../chat/template.js';
import { isGGUF } from '../formats/gguf.js';
import { loadModel } from '../phi3.js';
import { toChat } from '../data/synth/index.js';
import { chatBatch, heldOutRecords, openTokenizer } from './data.js';
import { exportGGUF } from './export.js';
import { loadStart } from './init.js';
import { TrainModel } from './model.js';
import { evalLoss, heldOutPairs, heldOutTextBatches, preferenceAccuracy } from './stages.js';

export interface EvalReport {
  model: string;
  skill: string;
  n: number;
  accuracy: number;
  stopped: number;
  format: number;
  answerLoss: number;
  /** Loss of every token of held-out "Question/Solution/Answer" documents (the pretraining view). */
  textLoss: number;
  preferenceAccuracy: number;
  examples: Array<{ question: string; expected: string; reply: string; correct: boolean }>;
}

export async function evaluate(path: string, skill: string, n: number, seed = 1, maxTokens = 48, onDone?: (i: number) => void): Promise<EvalReport> {
  const start = loadStart(path);
  const tok = openTokenizer(start.tokenizer);
  const recs = heldOutRecords(skill, seed, n);
  const model = new TrainModel(start.params);
  const convs = recs.map((r) => toChat(r) as ChatMessage[]);
  const batches = [];
  for (let i = 0; i < convs.length; i += 16) batches.push(chatBatch(convs.slice(i, i + 16), tok, 96));
  const answerLoss = evalLoss(model, batches);
  const textLoss = evalLoss(model, heldOutTextBatches([skill], tok, seed, 96, Math.min(n, 64)));
  const pref = preferenceAccuracy(model, heldOutPairs([skill], seed, Math.min(n, 64)), tok, 96);

  let gguf = path;
  let tmp: string | undefined;
  if (!isGGUF(path)) {
    tmp = mkdtempSync(join(tmpdir(), 'phi3-eval-'));
    gguf = join(tmp, 'model.gguf');
    exportGGUF(start.params, start.tokenizer, gguf, { type: 'f32' });
  }
  try {
    const engine = await loadModel(gguf);
    let correct = 0, stopped = 0, format = 0;
    const examples: EvalReport['examples'] = [];
    for (const [i, r] of recs.entries()) {
      const gen = engine.chat([{ role: 'user', content: r.question }], { maxTokens, temperature: 0 });
      let step = await gen.next();
      while (!step.done) step = await gen.next();
      const reply = step.value.text;
      const m = /Answer:\s*(-?[\d.]+)\s*$/.exec(reply.trim());
      const ok = m !== null && m[1] === r.answer;
      if (ok) correct++;
      if (m) format++;
      if (step.value.finishReason === 'stop') stopped++;
      if (examples.length < 5) examples.push({ question: r.question, expected: r.answer, reply, correct: ok });
      onDone?.(i + 1);
    }
    return { model: path, skill, n, accuracy: correct / n, stopped: stopped / n, format: format / n, answerLoss, textLoss, preferenceAccuracy: pref.accuracy, examples };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
