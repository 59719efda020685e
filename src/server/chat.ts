// POST /v1/chat/completions: messages → (optional search augmentation) → the model's chat template →
// one sequence per choice → a chat.completion object, or chat.completion.chunk events over SSE ending
// in `data: [DONE]`. Extensions beyond OpenAI's shape: `sources` (search results the answer may cite)
// and `timings` (prefill / decode speed), both ignored by clients that don't know them.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatMessage } from '../chat/template.js';
import type { Augmented } from '../search/service.js';
import { ApiError, invalid } from './api-error.js';
import { allChoices, checkCapacity, checkContext, checkModel, choiceSeed, finishReason, runChoice, type ChoiceResult, type ServerContext } from './context.js';
import { Fields } from './fields.js';
import { SseStream, clientGone, sendJson } from './http.js';
import { adjustLogits, logprobOf, tokenBytesTable, tokenText, tokenUtf8 } from './logits.js';
import { parseChat, type ChatParams } from './request.js';
import type { SequencePiece } from './sequence.js';

interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export async function handleChat(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  const f = new Fields(body);
  checkModel(ctx, f);
  const p = parseChat(f, ctx.defaults, ctx.phi3.config.vocabSize);
  const signal = clientGone(req, res);

  let messages = p.messages;
  let search: Augmented | undefined;
  if (p.search) {
    if (!ctx.search) throw invalid('search', 'this server was started without a search provider (phi3 serve --search ...)');
    search = await ctx.search.augment(p.search, messages, {
      countTokens: (m: ChatMessage[]) => ctx.phi3.chatPromptIds(m).length,
      contextSize: ctx.phi3.model.contextSize,
      answerTokens: p.maxTokens,
      signal,
    });
    messages = search.messages;
  }
  const prompt = ctx.phi3.chatPromptIds(messages);
  checkContext(ctx, prompt.length, p.maxTokens, 'messages');
  checkCapacity(ctx, p.n);

  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, created, model: ctx.modelId, system_fingerprint: ctx.fingerprint };
  const sources = search ? { sources: search.sources, search_query: search.query } : {};
  const formatLogprob = logprobFormatter(ctx, p);
  const options = (i: number) => ({ ...p.options, seed: choiceSeed(p.seed, i), processLogits: adjustLogits(ctx.phi3, p.adjustments) });
  const choices = Array.from({ length: p.n }, (_, i) => i);

  if (!p.stream) {
    const logprobs: ChatLogprob[][] = choices.map(() => []);
    const results = await allChoices(signal, p.n, (i, sig) =>
      runChoice(ctx, i, prompt, options(i), sig, (piece) => void (formatLogprob && piece.logits && logprobs[i].push(formatLogprob(piece)))),
    );
    if (signal.aborted) return;
    sendJson(res, 200, {
      ...head,
      object: 'chat.completion',
      choices: results.map((r) => ({
        index: r.index,
        message: { role: 'assistant', content: r.text, refusal: null },
        logprobs: formatLogprob ? { content: logprobs[r.index], refusal: null } : null,
        finish_reason: finishReason(r.finishReason),
      })),
      usage: usage(results, prompt.length),
      timings: results[0].timings,
      ...sources,
    });
    return;
  }

  const sse = new SseStream(res);
  const chunk = (choice: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
    sse.send({ ...head, object: 'chat.completion.chunk', choices: choice, ...(p.includeUsage ? { usage: null } : {}), ...extra });
  await chunk(
    choices.map((i) => ({ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null })),
    sources,
  );
  // Comments keep proxies from timing out while the request waits for a slot.
  const keepAlive = setInterval(() => void sse.comment('waiting'), 10_000).unref();
  try {
    const results = await allChoices(signal, p.n, async (i, sig) => {
      let pending: ChatLogprob[] = [];
      const r = await runChoice(ctx, i, prompt, options(i), sig, async (piece) => {
        clearInterval(keepAlive);
        if (formatLogprob && piece.logits) pending.push(formatLogprob(piece));
        if (piece.text === '') return;
        await chunk([{ index: i, delta: { content: piece.text }, logprobs: formatLogprob ? { content: pending, refusal: null } : null, finish_reason: null }]);
        pending = [];
      });
      if (!signal.aborted)
        await chunk([{ index: i, delta: {}, logprobs: formatLogprob && pending.length ? { content: pending, refusal: null } : null, finish_reason: finishReason(r.finishReason) }]);
      return r;
    });
    if (signal.aborted) return;
    if (p.includeUsage) await sse.send({ ...head, object: 'chat.completion.chunk', choices: [], usage: usage(results, prompt.length), timings: results[0].timings });
    await sse.send('[DONE]');
  } catch (e) {
    if (signal.aborted) return;
    await sse.send({ error: e instanceof ApiError ? e.body().error : { message: (e as Error).message, type: 'server_error', param: null, code: null } });
  } finally {
    clearInterval(keepAlive);
    sse.end();
  }
}

export function usage(results: ChoiceResult[], promptTokens: number) {
  const completion = results.reduce((n, r) => n + r.tokens.length, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: results[0]?.cachedTokens ?? 0 },
  };
}

function logprobFormatter(ctx: ServerContext, p: ChatParams): ((piece: SequencePiece) => ChatLogprob) | undefined {
  if (!p.logprobs) return undefined;
  const tok = ctx.phi3.tokenizer;
  const bytes = tokenBytesTable(tok);
  const entry = (id: number, logprob: number) => ({ token: tokenText(tok, bytes, id), logprob, bytes: tokenUtf8(tok, bytes, id) });
  return (piece) => {
    const lp = logprobOf(piece.logits!, piece.token!, p.topLogprobs);
    return { ...entry(lp.token, lp.logprob), top_logprobs: lp.top.map((t) => entry(t.token, t.logprob)) };
  };
}
