// `phi3 chat`: a terminal conversation. The session keeps its KV cache, so each turn only computes
// the new tokens. Ctrl-C stops the answer being written; Ctrl-C twice at the prompt (or /exit, Ctrl-D)
// leaves.
import { createInterface } from 'node:readline';
import type { ChatMessage } from '../chat/template.js';
import { Phi3Error } from '../errors.js';
import type { GenerateOptions } from '../generate/generate.js';
import type { Phi3 } from '../phi3.js';

const HELP = 'commands: /reset (forget the conversation), /system TEXT (set the system message), /exit';

export async function runChat(model: Phi3, opts: GenerateOptions, system?: string): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  const session = model.newSession();
  let history: ChatMessage[] = [];
  let answering: AbortController | undefined;
  let interrupts = 0;
  const out = (s: string) => process.stdout.write(s);

  rl.on('SIGINT', () => {
    if (answering) {
      answering.abort();
      return;
    }
    if (++interrupts >= 2) rl.close();
    else out('\n(press Ctrl-C again or type /exit to quit)\n> ');
  });

  out(`phi3 chat — ${model.info().name ?? model.files.path}\n${HELP}\n`);
  const lines = rl[Symbol.asyncIterator]();
  for (;;) {
    out('> ');
    const next = await lines.next();
    if (next.done) break;
    interrupts = 0;
    const line = next.value.trim();
    if (!line) continue;
    if (line === '/exit' || line === '/quit') break;
    if (line === '/reset') {
      history = [];
      session.reset();
      out('(conversation cleared)\n');
      continue;
    }
    if (line.startsWith('/system')) {
      system = line.slice('/system'.length).trim() || undefined;
      history = [];
      out(system ? '(system message set; conversation cleared)\n' : '(system message removed; conversation cleared)\n');
      continue;
    }
    if (line.startsWith('/')) {
      out(`unknown command. ${HELP}\n`);
      continue;
    }
    history.push({ role: 'user', content: line });
    const messages: ChatMessage[] = system ? [{ role: 'system', content: system }, ...history] : history;
    answering = new AbortController();
    try {
      const gen = session.chat(messages, { ...opts, signal: answering.signal });
      let answer = '';
      for (;;) {
        const step = await gen.next();
        if (step.done) {
          answer = step.value.text;
          if (step.value.finishReason === 'abort') out(' [stopped]');
          if (step.value.finishReason === 'context') out(' [context full: /reset to continue]');
          break;
        }
        out(step.value.text);
      }
      history.push({ role: 'assistant', content: answer });
      out('\n');
    } catch (e) {
      history.pop();
      if (!(e instanceof Phi3Error)) throw e;
      out(`\nerror: ${e.message}\n`);
    } finally {
      answering = undefined;
    }
  }
  rl.close();
}
