// `phi3 serve`: the OpenAI-compatible HTTP server and chat page (src/server) over one loaded model,
// with optional search augmentation (src/search). Listens on loopback unless told otherwise; Ctrl-C
// (SIGINT) or SIGTERM stops running generations and closes every connection before exiting.
import { Command, InvalidArgumentError } from 'commander';
import { Phi3Error } from '../errors.js';
import { SearchService, providerFromSpec } from '../search/service.js';
import { startServer } from '../server/server.js';
import { startStaticSite } from '../server/static-site.js';
import { addModelOptions, floatArg, intArg, openModel, type ModelCliOptions } from './common.js';

interface ServeOptions extends ModelCliOptions {
  ctx?: number;
  host: string;
  port: number;
  apiKey?: string;
  alias?: string;
  parallel: number;
  queue: number;
  cacheSlots?: number;
  maxBody: number;
  cors: string[];
  temperature: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repeatPenalty?: number;
  search: string[];
  searchKey?: string;
  searchPages: number;
  searchResults: number;
  searchFetchPrivate?: boolean;
  web: boolean;
  quiet?: boolean;
  static?: boolean;
  isolate: boolean;
}

const collect = (v: string, list: string[]) => [...list, v];

function byteSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected a size like 4mb or 65536, got "${v}"`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const n = Math.floor(Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1));
  if (n < 1024) throw new InvalidArgumentError(`the body limit must be at least 1kb, got "${v}"`);
  return n;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function serveCommand(): Command {
  const cmd = addModelOptions(new Command('serve').description('OpenAI-compatible HTTP API and chat page (see docs/SERVER.md)'))
    .option('--ctx <n>', 'context size in tokens (same as --context)', intArg(1))
    .option('--host <addr>', 'address to listen on (127.0.0.1 = this machine only)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', intArg(0, 65535), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on the API (default: $PHI3_API_KEY)')
    .option('--alias <name>', 'model id clients use (default: the model file name)')
    .option('--parallel <n>', 'sequences generated at once, interleaved token by token', intArg(1, 256), 1)
    .option('--queue <n>', 'requests that may wait for a free sequence; more get 503', intArg(0), 32)
    .option('--cache-slots <n>', 'KV caches kept for reusing conversation prefixes (default: --parallel)', intArg(1, 1024))
    .option('--max-body <size>', 'largest request body, e.g. 4mb', byteSize, 4 * 1024 * 1024)
    .option('--cors <origin>', 'let a web page from this origin call the API (repeatable; * = any)', collect, [])
    .option('-t, --temperature <t>', 'default temperature for requests that give none', floatArg(0, 2), 1)
    .option('--top-p <p>', 'default nucleus sampling threshold', floatArg(Number.MIN_VALUE, 1))
    .option('--top-k <k>', 'default top-k (0 = off)', intArg(0))
    .option('--min-p <p>', 'default min-p (0 = off)', floatArg(0, 1))
    .option('--repeat-penalty <x>', 'default repetition penalty (1 = off)', floatArg(Number.MIN_VALUE))
    .option('--search <spec>', 'search provider: local:INDEX, searxng:URL or brave[:URL] (repeatable; the first is the default)', collect, [])
    .option('--search-key <key>', 'API key for the search provider (Brave; default $BRAVE_SEARCH_API_KEY)')
    .option('--search-pages <n>', 'web results whose pages are fetched and read (0 = snippets only)', intArg(0, 10), 3)
    .option('--search-results <n>', 'passages retrieved per question', intArg(1, 20), 6)
    .option('--search-fetch-private', 'also fetch result pages on loopback/private addresses')
    .option('--no-web', 'do not serve the chat page')
    .option('--static', 'serve only the chat page and the browser build (no model here: the engine runs in the browser)')
    .option('--no-isolate', 'with --static: no COOP/COEP headers (the browser engine then runs on one thread)')
    .option('-q, --quiet', 'no request log');

  return cmd.action(async (o: ServeOptions) => {
    if (o.static) return serveStatic(o);
    if (o.ctx !== undefined) o.context = o.ctx;
    const apiKey = o.apiKey ?? process.env.PHI3_API_KEY;
    const providers = o.search.map((s) => {
      try {
        return providerFromSpec(s, { key: o.searchKey, pages: o.searchPages, allowPrivatePages: o.searchFetchPrivate });
      } catch (e) {
        throw new Phi3Error((e as Error).message);
      }
    });
    const search = providers.length ? new SearchService(providers, o.searchResults) : undefined;
    if (!LOOPBACK.has(o.host) && !apiKey)
      console.error(`phi3: warning: listening on ${o.host} without --api-key: anyone who can reach this port can use the model`);

    const model = openModel(o);
    const running = await startServer({
      model,
      modelId: o.alias,
      host: o.host,
      port: o.port,
      apiKey,
      parallel: o.parallel,
      maxQueue: o.queue,
      cacheSlots: o.cacheSlots,
      maxBodyBytes: o.maxBody,
      corsOrigins: o.cors,
      sampling: { temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, repetitionPenalty: o.repeatPenalty },
      search,
      webPage: o.web,
      log: o.quiet ? undefined : (line) => console.error(`${new Date().toISOString()} ${line}`),
    });
    console.error(`phi3: listening on ${running.url} — loading the model…`);
    const ctx = await running.ready;
    const info = ctx.phi3.info();
    console.error(
      `phi3: serving ${ctx.modelId} (${(info.parameters / 1e6).toFixed(1)}M parameters, context ${info.contextSize}, ${o.parallel} parallel)` +
        (search ? `, search: ${search.providers().map((p) => p.name).join(', ')}` : '') +
        `\nphi3: API ${running.url}/v1${o.web ? `, chat page ${running.url}/` : ''}`,
    );

    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        console.error(`phi3: ${sig}: stopping`);
        void running.close().then(resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  });
}

/** `serve --static`: the page and dist/browser, until Ctrl-C. */
async function serveStatic(o: ServeOptions): Promise<void> {
  const site = await startStaticSite({ host: o.host, port: o.port, isolate: o.isolate });
  console.error(`phi3: chat page ${site.url}/ (the model runs in the browser${o.isolate ? ', cross-origin isolated: threads' : ', one thread'})`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      console.error(`phi3: ${sig}: stopping`);
      void site.close().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
