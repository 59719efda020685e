// Web search providers. Each asks its engine's real API for results, then (like Hugging Face Chat-UI's
// web search) fetches the top pages, cuts their text into passages and keeps the passages that match
// the query best (BM25); a page that cannot be fetched contributes its result snippet instead.
//   SearXNG: GET {base}/search?q=…&format=json → {results: [{url, title, content}]}
//            (the instance must allow the json format: search.formats in settings.yml)
//   Brave:   GET {base}/res/v1/web/search?q=…&count=N, header X-Subscription-Token
//            → {web: {results: [{url, title, description}]}}
import { Bm25 } from './bm25.js';
import { chunkText } from './chunk.js';
import { htmlToText } from './extract.js';
import { bodyText, fetchBounded } from './fetch.js';
import type { Passage, SearchProvider } from './provider.js';

export interface WebResult {
  url: string;
  title: string;
  snippet: string;
}

export interface WebOptions {
  /** How many result pages to fetch and read (default 3; 0 = use the engines' snippets only). */
  pages?: number;
  /** Fetch pages on loopback / private addresses too (default false). */
  allowPrivatePages?: boolean;
  timeoutMs?: number;
}

export abstract class WebSearch implements SearchProvider {
  readonly kind = 'web';
  constructor(
    readonly name: string,
    protected readonly opts: WebOptions = {},
  ) {}

  protected abstract results(query: string, signal?: AbortSignal): Promise<WebResult[]>;

  async search(query: string, k: number, signal?: AbortSignal): Promise<Passage[]> {
    const results = (await this.results(query, signal)).filter((r) => /^https?:\/\//i.test(r.url));
    return readPages(results, query, k, this.opts, signal);
  }
}

/** Fetches the first pages of the results and returns the k passages that match the query best. */
export async function readPages(results: WebResult[], query: string, k: number, opts: WebOptions, signal?: AbortSignal): Promise<Passage[]> {
  const pages = opts.pages ?? 3;
  const texts = await Promise.all(
    results.slice(0, pages).map(async (r) => {
      try {
        const res = await fetchBounded(r.url, { timeoutMs: opts.timeoutMs ?? 6000, maxBytes: 1024 * 1024, allowPrivate: opts.allowPrivatePages, signal, headers: { Accept: 'text/html,text/plain;q=0.9' } });
        const type = String(res.headers['content-type'] ?? '');
        if (res.status !== 200 || !/text\/(html|plain)|application\/xhtml/i.test(type)) return undefined;
        const body = bodyText(res);
        const doc = /html/i.test(type) ? htmlToText(body) : { title: '', text: body };
        return { title: r.title || doc.title, text: doc.text };
      } catch {
        return undefined;
      }
    }),
  );
  const candidates: Passage[] = [];
  results.forEach((r, i) => {
    const page = texts[i];
    const title = page?.title || r.title || r.url;
    if (page?.text) for (const text of chunkText(page.text, { words: 100 })) candidates.push({ text, title, source: r.url, score: 0 });
    else if (r.snippet) candidates.push({ text: r.snippet, title, source: r.url, score: 0 });
  });
  const bm25 = new Bm25();
  for (const c of candidates) bm25.add(`${c.title}\n${c.text}`);
  const hits = bm25.search(query, k);
  if (hits.length > 0) return hits.map((h) => ({ ...candidates[h.id], score: h.score }));
  // Nothing shares a word with the query (another language, say): trust the engine's order.
  return candidates.slice(0, k);
}

async function getJson(url: string, what: string, init: { headers?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number }): Promise<unknown> {
  const res = await fetchBounded(url, { headers: { Accept: 'application/json', ...init.headers }, allowPrivate: true, signal: init.signal, timeoutMs: init.timeoutMs ?? 10_000, maxBytes: 4 * 1024 * 1024 });
  if (res.status !== 200) {
    const hint = res.status === 403 && what === 'SearXNG' ? ' (enable the json format: search.formats in its settings.yml)' : res.status === 401 || res.status === 422 ? ' (check the API key)' : '';
    throw new Error(`${what} answered HTTP ${res.status}${hint}`);
  }
  try {
    return JSON.parse(bodyText(res));
  } catch {
    throw new Error(`${what} did not answer with JSON`);
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export class SearxngSearch extends WebSearch {
  constructor(
    private readonly base: string,
    opts: WebOptions = {},
    name = 'searxng',
  ) {
    super(name, opts);
  }

  protected async results(query: string, signal?: AbortSignal): Promise<WebResult[]> {
    const url = new URL('search', this.base.endsWith('/') ? this.base : `${this.base}/`);
    url.searchParams.set('q', query);
    url.searchParams.set('format', 'json');
    const j = (await getJson(url.href, 'SearXNG', { signal, timeoutMs: this.opts.timeoutMs })) as { results?: unknown };
    if (!Array.isArray(j.results)) throw new Error('SearXNG answered without a results list');
    return (j.results as Record<string, unknown>[]).map((r) => ({ url: str(r.url), title: str(r.title), snippet: str(r.content) }));
  }
}

export class BraveSearch extends WebSearch {
  constructor(
    private readonly key: string,
    private readonly base = 'https://api.search.brave.com',
    opts: WebOptions = {},
    name = 'brave',
  ) {
    super(name, opts);
  }

  protected async results(query: string, signal?: AbortSignal): Promise<WebResult[]> {
    const url = new URL('res/v1/web/search', this.base.endsWith('/') ? this.base : `${this.base}/`);
    url.searchParams.set('q', query);
    url.searchParams.set('count', '10');
    const j = (await getJson(url.href, 'Brave Search', { headers: { 'X-Subscription-Token': this.key }, signal, timeoutMs: this.opts.timeoutMs })) as { web?: { results?: unknown } };
    const list = j.web?.results;
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new Error('Brave Search answered without a web.results list');
    return (list as Record<string, unknown>[]).map((r) => ({ url: str(r.url), title: str(r.title), snippet: stripTags(str(r.description)) }));
  }
}

/** Brave marks query words with <strong>; snippets are plain text to us. */
function stripTags(s: string): string {
  return htmlToText(s).text;
}
