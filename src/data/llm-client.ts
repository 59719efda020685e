// A minimal OpenAI-compatible chat client for the data pipeline (judge and LLM synthesis): works with
// `phi3 serve`, llama.cpp's server, Ollama, vLLM or a hosted API. Failures that can pass — timeout,
// network error, 429 (honouring Retry-After), 5xx, a body that is not the expected JSON — are retried with
// exponential backoff and jitter (an unusable reply to a greedy request is retried at temperature 0.7, since
// greedy decoding would repeat it); other 4xx fail at once with the server's message. Requests are spaced
// to at most `rps` per second. Tested against a local stand-in server in test/data-judge.test.ts.
import { Phi3Error } from '../errors.js';

export interface ChatClientOptions {
  /** Base URL (`http://host:port/v1`) or the full `/chat/completions` endpoint. */
  url: string;
  model?: string;
  apiKey?: string;
  timeoutMs?: number;
  /** Retries after the first attempt. */
  retries?: number;
  /** First backoff delay; doubles each retry (with ±50% jitter), capped at 30 s. */
  backoffMs?: number;
  /** Most requests started per second (0 = unlimited). */
  rps?: number;
}

export interface ChatRequest {
  messages: { role: string; content: string }[];
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  /** Ask for a JSON object (`response_format: {"type": "json_object"}`): phi3 serve, llama.cpp, Ollama, OpenAI. */
  json?: boolean;
}

export interface ClientStats {
  requests: number;
  retries: number;
  failures: Record<string, number>;
}

export class RetryableError extends Error {}

export class ChatClient {
  readonly endpoint: string;
  readonly stats: ClientStats = { requests: 0, retries: 0, failures: {} };
  private nextSlot = 0;

  constructor(readonly o: ChatClientOptions) {
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new Phi3Error(`--judge/--llm URL "${o.url}" is not a URL (e.g. http://127.0.0.1:8080/v1)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Phi3Error(`URL "${o.url}" must be http or https`);
    this.endpoint = /\/chat\/completions\/?$/.test(u.pathname) ? u.href : u.href.replace(/\/?$/, '/chat/completions');
  }

  private async rateLimit(): Promise<void> {
    const rps = this.o.rps ?? 0;
    if (rps <= 0) return;
    const now = Date.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + 1000 / rps;
    if (at > now) await sleep(at - now);
  }

  /**
   * The assistant's text. `check` may throw RetryableError to reject a reply (e.g. no score in it);
   * that counts as a failure of kind "malformed" and is retried like one.
   */
  async complete<T = string>(req: ChatRequest, check?: (text: string) => T): Promise<T> {
    const retries = this.o.retries ?? 5;
    let delay = this.o.backoffMs ?? 500;
    let temperature = req.temperature ?? 0;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | undefined;
      let kind: string;
      let detail: string;
      try {
        await this.rateLimit();
        this.stats.requests++;
        const text = await this.once({ ...req, temperature });
        return check ? check(text) : (text as T);
      } catch (e) {
        if (!(e instanceof RetryableError || e instanceof HttpRetry)) throw e;
        if (e instanceof HttpRetry) retryAfterMs = e.retryAfterMs;
        kind = e instanceof HttpRetry ? e.kind : 'malformed';
        detail = e.message;
      }
      this.stats.failures[kind] = (this.stats.failures[kind] ?? 0) + 1;
      // A greedy reply that was unusable would come back identical: retry it with some sampling.
      if (kind === 'malformed' && temperature === 0) temperature = 0.7;
      if (attempt >= retries) throw new Phi3Error(`${this.endpoint}: gave up after ${attempt + 1} attempts; last failure: ${detail}`);
      this.stats.retries++;
      const jittered = delay * (0.5 + Math.random());
      await sleep(Math.min(30_000, Math.max(retryAfterMs ?? 0, jittered)));
      delay *= 2;
    }
  }

  private async once(req: ChatRequest): Promise<string> {
    const body = {
      model: this.o.model ?? 'default',
      messages: req.messages,
      temperature: req.temperature ?? 0,
      max_tokens: req.maxTokens ?? 256,
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      ...(req.json ? { response_format: { type: 'json_object' } } : {}),
    };
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 60_000),
      });
    } catch (e) {
      const err = e as Error;
      const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
      throw new HttpRetry(timeout ? 'timeout' : 'network', timeout ? `no answer within ${this.o.timeoutMs ?? 60_000} ms` : `request failed: ${err.message}`);
    }
    let raw: string;
    try {
      raw = await res.text();
    } catch (e) {
      throw new HttpRetry('timeout', `reading the body failed: ${(e as Error).message}`);
    }
    if (res.status === 429) throw new HttpRetry('429', 'rate limited (429)', retryAfter(res.headers.get('retry-after')));
    if (res.status >= 500) throw new HttpRetry(String(res.status), `server error ${res.status}: ${raw.slice(0, 200)}`);
    if (!res.ok) throw new Phi3Error(`${this.endpoint}: HTTP ${res.status}: ${raw.slice(0, 300)}`);
    let json: { choices?: { message?: { content?: unknown } }[] };
    try {
      json = JSON.parse(raw) as typeof json;
    } catch {
      throw new HttpRetry('malformed', `the reply is not JSON: ${raw.slice(0, 120)}`);
    }
    const content = json?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new HttpRetry('malformed', 'the reply has no choices[0].message.content');
    return content;
  }
}

class HttpRetry extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function retryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.min(60_000, s * 1000);
  const t = Date.parse(h);
  return Number.isFinite(t) ? Math.min(60_000, Math.max(0, t - Date.now())) : undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
