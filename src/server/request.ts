// Turning the body of /v1/chat/completions and /v1/completions into what the engine runs: sampling
// options, limits, penalties and the prompt (messages or text / token ids). Everything wrong is a 400
// naming its field; parameters we cannot honour (tools, n > 8, json_schema, suffix…) are refused
// rather than silently ignored.
import type { ChatMessage } from '../chat/template.js';
import type { GenerateOptions } from '../generate/generate.js';
import { invalid, missing, unsupported } from './api-error.js';
import { Fields, show } from './fields.js';
import type { Adjustments } from './logits.js';

/** Sampling settings the server uses when a request leaves them out (`phi3 serve --temperature …`). */
export interface SamplingDefaults {
  /** OpenAI's default is 1. */
  temperature: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
}

export const MAX_N = 8;
export const MAX_STOP = 16;
export const MAX_TOP_LOGPROBS = 20;

export interface SearchRequest {
  provider?: string;
  maxResults?: number;
}

export interface CommonParams {
  n: number;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  /** Generation options shared by every choice (the seed is per choice). */
  options: GenerateOptions;
  /** The seed of choice 0, if the request gave one; choice i uses seed + i. */
  seed?: number;
  adjustments: Adjustments;
  search?: SearchRequest;
}

export function parseCommon(f: Fields, defaults: SamplingDefaults, vocabSize: number): CommonParams {
  const n = f.number('n', { int: true, min: 1, max: MAX_N }) ?? 1;
  const stream = f.boolean('stream') ?? false;
  const so = f.object('stream_options');
  if (so && !stream) throw invalid('stream_options', 'only allowed when stream is true');
  const includeUsage = so?.boolean('include_usage') ?? false;

  const mct = f.number('max_completion_tokens', { int: true, min: 1 });
  const mt = f.number('max_tokens', { int: true, min: 1 });
  if (mct !== undefined && mt !== undefined && mct !== mt) throw invalid('max_tokens', `conflicts with max_completion_tokens (${mt} vs ${mct}); give one`);
  const maxTokens = mct ?? mt;

  const rp = f.number('repetition_penalty', { above: 0 }) ?? f.number('repeat_penalty', { above: 0 });
  const options: GenerateOptions = {
    temperature: f.number('temperature', { min: 0, max: 2 }) ?? defaults.temperature,
    topP: f.number('top_p', { above: 0, max: 1 }) ?? defaults.topP,
    topK: f.number('top_k', { int: true, min: 0 }) ?? defaults.topK,
    minP: f.number('min_p', { min: 0, max: 1 }) ?? defaults.minP,
    repetitionPenalty: rp ?? defaults.repetitionPenalty,
    stop: f.strings('stop', MAX_STOP)?.filter((s) => s.length > 0),
    maxTokens,
  };
  const seed = f.number('seed', { int: true });

  const adjustments: Adjustments = {
    presencePenalty: f.number('presence_penalty', { min: -2, max: 2 }),
    frequencyPenalty: f.number('frequency_penalty', { min: -2, max: 2 }),
    logitBias: parseLogitBias(f, vocabSize),
  };

  const search = parseSearch(f);
  return { n, stream, includeUsage, maxTokens, options, seed, adjustments, search };
}

function parseLogitBias(f: Fields, vocabSize: number): Map<number, number> | undefined {
  const o = f.object('logit_bias');
  if (!o) return undefined;
  const bias = new Map<number, number>();
  for (const [k, v] of Object.entries(o.raw)) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || id >= vocabSize) throw invalid('logit_bias', `keys must be token ids in 0..${vocabSize - 1}, got ${show(k)}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < -100 || v > 100) throw invalid(`logit_bias.${k}`, `expected a number in [-100, 100], got ${show(v)}`);
    bias.set(id, v);
  }
  return bias;
}

/** `search: true` or `{provider, max_results}` (this server's extension; off unless asked). */
function parseSearch(f: Fields): SearchRequest | undefined {
  const v = f.get('search');
  if (v === undefined || v === false) return undefined;
  if (v === true) return {};
  const o = f.object('search');
  if (!o) return undefined;
  if (o.boolean('enabled') === false) return undefined;
  return { provider: o.string('provider', { nonEmpty: true }), maxResults: o.number('max_results', { int: true, min: 1, max: 20 }) };
}

export function rejectTools(f: Fields): void {
  for (const key of ['tools', 'functions']) {
    const v = f.get(key);
    if (Array.isArray(v) ? v.length > 0 : v !== undefined) throw unsupported(key, 'tool and function calling are not supported by this server');
  }
}

export interface ChatParams extends CommonParams {
  messages: ChatMessage[];
  logprobs: boolean;
  topLogprobs: number;
  json: boolean;
}

export function parseChat(f: Fields, defaults: SamplingDefaults, vocabSize: number): ChatParams {
  rejectTools(f);
  const messages = parseMessages(f);
  const common = parseCommon(f, defaults, vocabSize);
  const logprobs = f.boolean('logprobs') ?? false;
  const topLogprobs = f.number('top_logprobs', { int: true, min: 0, max: MAX_TOP_LOGPROBS }) ?? 0;
  if (f.has('top_logprobs') && !logprobs) throw invalid('top_logprobs', 'needs logprobs: true');
  const rf = f.object('response_format');
  const type = rf ? (rf.string('type', { oneOf: ['text', 'json_object', 'json_schema'] }) ?? 'text') : 'text';
  if (type === 'json_schema') throw unsupported('response_format.type', 'json_schema is not supported; use {"type": "json_object"}');
  return { ...common, messages, logprobs, topLogprobs, json: type === 'json_object', adjustments: { ...common.adjustments, json: type === 'json_object' } };
}

function parseMessages(f: Fields): ChatMessage[] {
  const raw = f.get('messages');
  if (raw === undefined) throw missing('messages');
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('messages', `expected a non-empty array of messages, got ${show(raw)}`);
  return raw.map((m, i) => {
    const name = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid(name, `expected an object with role and content, got ${show(m)}`);
    const o = new Fields(m as Record<string, unknown>, `${name}.`);
    const role = o.get('role');
    if (role === undefined) throw missing(`${name}.role`);
    if (role === 'tool' || role === 'function') throw unsupported(`${name}.role`, `"${role}" messages are not supported (no tool calling)`);
    if (role !== 'system' && role !== 'developer' && role !== 'user' && role !== 'assistant')
      throw invalid(`${name}.role`, `expected "system", "developer", "user" or "assistant", got ${show(role)}`);
    return { role: role === 'developer' ? 'system' : role, content: messageText(o, name) };
  });
}

/** content: a string, or an array of {type: "text", text} parts (joined); images are refused. */
function messageText(o: Fields, name: string): string {
  const c = o.get('content');
  if (c === undefined) throw missing(`${name}.content`);
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) throw invalid(`${name}.content`, `expected a string or an array of text parts, got ${show(c)}`);
  return c
    .map((part, j) => {
      const pn = `${name}.content[${j}]`;
      if (typeof part !== 'object' || part === null) throw invalid(pn, `expected {"type": "text", "text": ...}, got ${show(part)}`);
      const p = new Fields(part as Record<string, unknown>, `${pn}.`);
      const type = p.get('type');
      if (type !== 'text') throw unsupported(`${pn}.type`, `only text parts are supported, got ${show(type)}`);
      const text = p.string('text');
      if (text === undefined) throw missing(`${pn}.text`);
      return text;
    })
    .join('\n');
}

export interface CompletionParams extends CommonParams {
  /** Each prompt as text or token ids. */
  prompts: (string | number[])[];
  echo: boolean;
  logprobs?: number;
}

export function parseCompletion(f: Fields, defaults: SamplingDefaults, vocabSize: number): CompletionParams {
  const prompts = parsePrompts(f, vocabSize);
  const common = parseCommon(f, defaults, vocabSize);
  if (common.search) throw unsupported('search', 'search augmentation works with /v1/chat/completions only');
  if (f.has('suffix') && f.get('suffix') !== '') throw unsupported('suffix', 'fill-in-the-middle is not supported');
  const bestOf = f.number('best_of', { int: true, min: 1 });
  if (bestOf !== undefined && bestOf !== common.n) throw unsupported('best_of', 'best_of other than n is not supported');
  const logprobs = f.number('logprobs', { int: true, min: 0, max: MAX_TOP_LOGPROBS });
  const echo = f.boolean('echo') ?? false;
  if (echo && logprobs !== undefined) throw unsupported('echo', 'echo together with logprobs (prompt log-probabilities) is not supported');
  if (prompts.length * common.n > MAX_N) throw invalid('prompt', `at most ${MAX_N} choices per request (prompts × n), got ${prompts.length * common.n}`);
  return { ...common, prompts, echo, logprobs };
}

const isTokenArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');

function parsePrompts(f: Fields, vocabSize: number): (string | number[])[] {
  const p = f.get('prompt');
  if (p === undefined) throw missing('prompt');
  let list: unknown[];
  if (typeof p === 'string' || isTokenArray(p)) list = [p];
  else if (Array.isArray(p) && p.length > 0) list = p;
  else throw invalid('prompt', `expected a string, an array of strings, an array of token ids or an array of such arrays, got ${show(p)}`);
  return list.map((item, i) => {
    const name = list.length === 1 && item === p ? 'prompt' : `prompt[${i}]`;
    if (typeof item === 'string') {
      if (item.length === 0) throw invalid(name, 'must not be empty');
      return item;
    }
    if (!isTokenArray(item)) throw invalid(name, `expected a string or a non-empty array of token ids, got ${show(item)}`);
    const bad = item.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad !== undefined) throw invalid(name, `token ids must be integers in 0..${vocabSize - 1}, got ${bad}`);
    return item;
  });
}
