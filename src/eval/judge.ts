// The LLM judge: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp's server, a
// later `phi3 serve`). A verdict that fails — network error, HTTP error, malformed body, or text the
// task cannot parse a score from — is retried with exponential backoff, and after the last attempt it
// is recorded as missing (score null with the reason), never as a score. Tested against a stand-in
// server on 127.0.0.1 in test/eval-judge.test.ts.
import { Phi3Error } from '../errors.js';

export interface JudgeOptions {
  /** Base URL, e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1 ("/chat/completions" is added). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Attempts in all (default 4). */
  attempts?: number;
  /** First backoff in ms, doubled each retry (default 1000). */
  backoffMs?: number;
  /** Per-request timeout in ms (default 120 000). */
  timeoutMs?: number;
  /** Judge answer length (default 2048, FastChat's). */
  maxTokens?: number;
}

export interface Verdict {
  score: number | null;
  /** The judge's text of the last attempt (if any). */
  verdict?: string;
  /** Why the score is missing. */
  error?: string;
  attempts: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class JudgeClient {
  readonly url: string;
  constructor(readonly o: JudgeOptions) {
    let u: URL;
    try {
      u = new URL(o.baseUrl);
    } catch {
      throw new Phi3Error(`judge URL "${o.baseUrl}" is not a URL (expected e.g. http://127.0.0.1:8080/v1)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Phi3Error(`judge URL "${o.baseUrl}" must be http(s)`);
    this.url = o.baseUrl.replace(/\/+$/, '') + '/chat/completions';
  }

  /** One completion at temperature 0; throws on any failure (the caller retries). */
  async complete(system: string, user: string): Promise<string> {
    const messages = system ? [{ role: 'system', content: system }, { role: 'user', content: user }] : [{ role: 'user', content: user }];
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
      body: JSON.stringify({ model: this.o.model, messages, temperature: 0, max_tokens: this.o.maxTokens ?? 2048 }),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 120_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`response is not JSON: ${text.slice(0, 200)}`);
    }
    const content = (body as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new Error(`response has no choices[0].message.content: ${text.slice(0, 200)}`);
    return content;
  }

  /** Asks until `parse` finds a score, up to `attempts` times with backoff; else score null. */
  async verdict(system: string, user: string, parse: (v: string) => number | null): Promise<Verdict> {
    const attempts = this.o.attempts ?? 4;
    let last: string | undefined;
    let error = '';
    for (let a = 1; a <= attempts; a++) {
      try {
        last = await this.complete(system, user);
        const score = parse(last);
        if (score !== null && Number.isFinite(score)) return { score, verdict: last, attempts: a };
        error = 'unparseable verdict';
      } catch (e) {
        error = (e as Error).message;
      }
      if (a < attempts) await sleep((this.o.backoffMs ?? 1000) * 2 ** (a - 1));
    }
    return { score: null, verdict: last, error: `${error} (after ${attempts} attempts)`, attempts };
  }
}

/** FastChat's rating parse: "[[x]]", else "[x]"; must lie in [lo, hi]. */
export function parseRating(verdict: string, lo: number, hi: number): number | null {
  const m = /\[\[(\d+\.?\d*)\]\]/.exec(verdict) ?? /\[(\d+\.?\d*)\]/.exec(verdict);
  if (!m) return null;
  const x = Number(m[1]);
  return Number.isFinite(x) && x >= lo && x <= hi ? x : null;
}

/** Fills "{name}" fields of a judge prompt template (Python str.format style, names only). */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? values[k] : m));
}
