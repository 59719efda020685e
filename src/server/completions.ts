// POST /v1/completions (OpenAI's legacy text completions): prompt text (special tokens such as <|user|>
// are recognised) or token ids, used as they are; several prompts and/or n give several choices,
// indexed prompt·n + i. Legacy logprobs: {tokens, token_logprobs, top_logprobs, text_offset}.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';
import { usage } from './chat.js';
import { allChoices, checkCapacity, checkContext, checkModel, choiceSeed, finishReason, runChoice, type ServerContext } from './context.js';
import { Fields } from './fields.js';
import { SseStream, clientGone, sendJson } from './http.js';
import { adjustLogits, logprobOf, tokenBytesTable, tokenText } from './logits.js';
import { parseCompletion } from './request.js';
import type { SequencePiece } from './sequence.js';

interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export async function handleCompletions(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  const f = new Fields(body);
  checkModel(ctx, f);
  const p = parseCompletion(f, ctx.defaults, ctx.phi3.config.vocabSize);
  const tok = ctx.phi3.tokenizer;
  const prompts = p.prompts.map((x) => (typeof x === 'string' ? tok.encode(x) : x));
  prompts.forEach((ids, i) => {
    const name = prompts.length === 1 ? 'prompt' : `prompt[${i}]`;
    if (ids.length === 0) throw new ApiError(400, `${name}: the prompt has no tokens`, 'invalid_request_error', name, 'invalid_value');
    checkContext(ctx, ids.length, p.maxTokens, name);
  });
  const total = prompts.length * p.n;
  checkCapacity(ctx, total);
  const signal = clientGone(req, res);

  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: 'text_completion', created, model: ctx.modelId, system_fingerprint: ctx.fingerprint };
  const promptOf = (index: number) => Math.floor(index / p.n);
  const echoText = (index: number) => {
    if (!p.echo) return '';
    const src = p.prompts[promptOf(index)];
    return typeof src === 'string' ? src : tok.decode(src);
  };
  const bytes = p.logprobs !== undefined ? tokenBytesTable(tok) : undefined;
  const logprobs: LegacyLogprobs[] = Array.from({ length: total }, () => ({ tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] }));
  const offsets = Array.from({ length: total }, (_, i) => echoText(i).length);
  /** Appends the piece's logprob to its choice's record; returns the entry range added. */
  const record = (index: number, piece: SequencePiece) => {
    if (bytes && piece.logits && piece.token !== null) {
      const lp = logprobOf(piece.logits, piece.token, p.logprobs!);
      const rec = logprobs[index];
      rec.tokens.push(tokenText(tok, bytes, lp.token));
      rec.token_logprobs.push(lp.logprob);
      const top: Record<string, number> = {};
      for (const t of lp.top) {
        const key = tokenText(tok, bytes, t.token);
        if (!(key in top)) top[key] = t.logprob;
      }
      rec.top_logprobs.push(top);
      rec.text_offset.push(offsets[index]);
    }
    offsets[index] += piece.text.length;
  };
  const options = (index: number) => ({ ...p.options, seed: choiceSeed(p.seed, index), processLogits: adjustLogits(ctx.phi3, p.adjustments) });
  const promptTokens = prompts.reduce((n, x) => n + x.length, 0);

  if (!p.stream) {
    const results = await allChoices(signal, total, (i, sig) => runChoice(ctx, i, prompts[promptOf(i)], options(i), sig, (piece) => record(i, piece)));
    if (signal.aborted) return;
    sendJson(res, 200, {
      ...head,
      choices: results.map((r) => ({
        text: echoText(r.index) + r.text,
        index: r.index,
        logprobs: bytes ? logprobs[r.index] : null,
        finish_reason: finishReason(r.finishReason),
      })),
      usage: usage(results, promptTokens),
      timings: results[0].timings,
    });
    return;
  }

  const sse = new SseStream(res);
  const chunk = (choice: Record<string, unknown>) => sse.send({ ...head, choices: [choice], ...(p.includeUsage ? { usage: null } : {}) });
  const slice = (i: number, from: number): LegacyLogprobs => {
    const r = logprobs[i];
    return { tokens: r.tokens.slice(from), token_logprobs: r.token_logprobs.slice(from), top_logprobs: r.top_logprobs.slice(from), text_offset: r.text_offset.slice(from) };
  };
  try {
    const results = await allChoices(signal, total, async (i, sig) => {
      if (p.echo) await chunk({ text: echoText(i), index: i, logprobs: null, finish_reason: null });
      let sent = 0;
      const r = await runChoice(ctx, i, prompts[promptOf(i)], options(i), sig, async (piece) => {
        record(i, piece);
        if (piece.text === '') return;
        await chunk({ text: piece.text, index: i, logprobs: bytes ? slice(i, sent) : null, finish_reason: null });
        sent = logprobs[i].tokens.length;
      });
      if (!signal.aborted) await chunk({ text: '', index: i, logprobs: bytes && logprobs[i].tokens.length > sent ? slice(i, sent) : null, finish_reason: finishReason(r.finishReason) });
      return r;
    });
    if (signal.aborted) return;
    if (p.includeUsage) await sse.send({ ...head, choices: [], usage: usage(results, promptTokens), timings: results[0].timings });
    await sse.send('[DONE]');
  } catch (e) {
    if (signal.aborted) return;
    await sse.send({ error: e instanceof ApiError ? e.body().error : { message: (e as Error).message, type: 'server_error', param: null, code: null } });
  } finally {
    sse.end();
  }
}
