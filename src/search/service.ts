// The search side of the server: the configured providers (`--search local:INDEX`, `searxng:URL`,
// `brave:URL`), and augment(), which a chat request with `search` on goes through: query → passages →
// numbered sources fitted into the prompt. Off unless configured; only web providers use the network.
import type { ChatMessage } from '../chat/template.js';
import { ApiError, invalid } from '../server/api-error.js';
import { fitPassages, searchQuery, type Budget, type Source } from './augment.js';
import { LocalSearch } from './local.js';
import type { SearchProvider } from './provider.js';
import { BraveSearch, SearxngSearch, type WebOptions } from './web.js';

export interface Augmented {
  messages: ChatMessage[];
  query: string;
  provider: string;
  sources: Source[];
}

export interface SpecOptions extends WebOptions {
  /** API key for providers that need one (Brave). */
  key?: string;
}

/**
 * A provider from a command-line spec:
 *   local:PATH        an index from `phi3 index` (the file or its folder)
 *   searxng:URL       a SearXNG instance
 *   brave[:URL]       Brave Search API (key from --search-key or BRAVE_SEARCH_API_KEY)
 */
export function providerFromSpec(spec: string, opts: SpecOptions = {}): SearchProvider {
  const i = spec.indexOf(':');
  const kind = (i < 0 ? spec : spec.slice(0, i)).toLowerCase();
  const arg = i < 0 ? '' : spec.slice(i + 1);
  switch (kind) {
    case 'local':
      if (!arg) throw new Error('--search local:PATH needs the index file or the indexed folder');
      return new LocalSearch(arg);
    case 'searxng':
      if (!/^https?:\/\//i.test(arg)) throw new Error(`--search searxng:URL needs the instance's http(s) URL, got ${JSON.stringify(arg)}`);
      return new SearxngSearch(arg, opts);
    case 'brave': {
      const key = opts.key ?? process.env.BRAVE_SEARCH_API_KEY;
      if (!key) throw new Error('--search brave needs an API key: --search-key KEY or BRAVE_SEARCH_API_KEY');
      if (arg && !/^https?:\/\//i.test(arg)) throw new Error(`--search brave:URL needs an http(s) URL, got ${JSON.stringify(arg)}`);
      return new BraveSearch(key, arg || undefined, opts);
    }
    default:
      throw new Error(`unknown search provider ${JSON.stringify(kind)}: use local:PATH, searxng:URL or brave[:URL]`);
  }
}

export class SearchService {
  private readonly byName = new Map<string, SearchProvider>();
  readonly defaultProvider: string;

  constructor(
    providers: SearchProvider[],
    /** Passages retrieved per question (default 6). */
    private readonly maxResults = 6,
  ) {
    if (providers.length === 0) throw new Error('a search service needs at least one provider');
    for (const p of providers) {
      let name = p.name;
      for (let n = 2; this.byName.has(name); n++) name = `${p.name}${n}`;
      this.byName.set(name, p);
    }
    this.defaultProvider = this.byName.keys().next().value as string;
  }

  providers(): { name: string; kind: string }[] {
    return [...this.byName].map(([name, p]) => ({ name, kind: p.kind }));
  }

  async augment(req: { provider?: string; maxResults?: number }, messages: ChatMessage[], budget: Budget & { signal?: AbortSignal }): Promise<Augmented> {
    const name = req.provider ?? this.defaultProvider;
    const provider = this.byName.get(name);
    if (!provider) throw invalid('search.provider', `no search provider ${JSON.stringify(name)}; this server has ${[...this.byName.keys()].map((n) => JSON.stringify(n)).join(', ')}`);
    const query = searchQuery(messages);
    if (!query) return { messages, query, provider: name, sources: [] };
    let passages;
    try {
      passages = await provider.search(query, req.maxResults ?? this.maxResults, budget.signal);
    } catch (e) {
      throw new ApiError(502, `search with ${name} failed: ${(e as Error).message}`, 'server_error', 'search', 'search_failed');
    }
    const fitted = fitPassages(messages, passages, budget);
    return { messages: fitted.messages, query, provider: name, sources: fitted.sources };
  }
}
