// Search augmentation of a chat (the Phi-3 report's remedy for a small model's small memory, as in
// Hugging Face Chat-UI's web search): the conversation becomes a query, passages are grouped by source
// and numbered [1], [2]…, and as many as fit the context budget go into the last user message, with
// the instruction to cite them by number. The results go into the user turn rather than a system
// message because some Phi-3 chat templates drop system messages.
import type { ChatMessage } from '../chat/template.js';
import type { Passage } from './provider.js';
import { terms } from './text.js';

export interface Source {
  /** The number the answer cites, from 1. */
  index: number;
  title: string;
  /** URL or path inside the indexed folder. */
  source: string;
  /** The passages of this source put into the prompt. */
  passages: string[];
}

/**
 * The query for a conversation: the last user message, preceded by the previous user message when the
 * last one is a short follow-up ("and its population?"). At most 300 characters.
 */
export function searchQuery(messages: ChatMessage[]): string {
  const users = messages.filter((m) => m.role === 'user').map((m) => m.content.replace(/\s+/g, ' ').trim());
  let q = users[users.length - 1] ?? '';
  if (users.length > 1 && terms(q).length < 4) q = `${users[users.length - 2]} ${q}`;
  return q.length > 300 ? q.slice(0, 300).replace(/\s+\S*$/, '') : q;
}

/** The user turn that carries the numbered sources. */
export function augmentedQuestion(question: string, sources: Source[]): string {
  const blocks = sources.map((s) => `[${s.index}] ${s.title}${s.source && s.source !== s.title ? ` (${s.source})` : ''}\n${s.passages.join('\n…\n')}`);
  return (
    `Search results:\n\n${blocks.join('\n\n')}\n\n` +
    'Answer the question below. Use the search results above where they help, and cite each fact you take from them ' +
    'with its number in square brackets, like [1]. If they do not contain the answer, say so.\n\n' +
    `Question: ${question}`
  );
}

/** Groups passages (best first) into numbered sources, in order of first appearance. */
export function numberSources(passages: Passage[]): Source[] {
  const bySource = new Map<string, Source>();
  for (const p of passages) {
    const key = p.source || p.title;
    let s = bySource.get(key);
    if (!s) bySource.set(key, (s = { index: bySource.size + 1, title: p.title, source: p.source, passages: [] }));
    s.passages.push(p.text);
  }
  return [...bySource.values()];
}

export interface Budget {
  /** Prompt tokens of a conversation once rendered with the chat template. */
  countTokens: (messages: ChatMessage[]) => number;
  contextSize: number;
  /** Tokens to leave for the answer (default: min(512, a quarter of the context)). */
  answerTokens?: number;
}

/**
 * Puts as many passages (best first) as the budget allows into the last user message. Returns the new
 * messages and the sources actually used (possibly none).
 */
export function fitPassages(messages: ChatMessage[], passages: Passage[], budget: Budget): { messages: ChatMessage[]; sources: Source[] } {
  const last = messages.length - 1;
  if (last < 0 || messages[last].role !== 'user' || passages.length === 0) return { messages, sources: [] };
  const limit = budget.contextSize - (budget.answerTokens ?? Math.min(512, Math.floor(budget.contextSize / 4)));
  const withPassages = (ps: Passage[]) => {
    const sources = numberSources(ps);
    const out = messages.slice();
    out[last] = { role: 'user', content: augmentedQuestion(messages[last].content, sources) };
    return { messages: out, sources };
  };
  const kept: Passage[] = [];
  for (const p of passages) {
    const trial = withPassages([...kept, p]);
    if (budget.countTokens(trial.messages) <= limit) kept.push(p);
  }
  return kept.length > 0 ? withPassages(kept) : { messages, sources: [] };
}
