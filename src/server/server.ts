// The HTTP server: an OpenAI-compatible API (chat completions, completions, models), /health, /props
// (what the chat page needs to know), /metrics (Prometheus text), and the chat page itself at `/`.
// node:http, no framework: a small route table, API-key check, optional CORS, and errors always in
// OpenAI's shape. The model may still be loading when the server starts listening: until it is ready
// /health and the API answer 503 with Retry-After, as llama.cpp's server does.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { Phi3Error } from '../errors.js';
import type { Phi3 } from '../phi3.js';
import type { SearchService } from '../search/service.js';
import { ApiError } from './api-error.js';
import { handleChat } from './chat.js';
import { handleCompletions } from './completions.js';
import { newMetrics, type ServerContext } from './context.js';
import { readJsonBody, sendError, sendJson } from './http.js';
import { metricsText } from './metrics.js';
import type { SamplingDefaults } from './request.js';
import { Scheduler } from './scheduler.js';
import { StaticFiles } from './static.js';

export interface ServerOptions {
  /** The model, or its loading promise (the server listens meanwhile and answers 503). */
  model: Phi3 | Promise<Phi3>;
  /** The id clients pass as `model` (default: the file name without extension). */
  modelId?: string;
  /** Default 127.0.0.1: nothing outside this machine can connect unless asked. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Require `Authorization: Bearer <apiKey>` on the API. */
  apiKey?: string;
  parallel?: number;
  /** Requests allowed to wait for a slot (default 32); more get 503. */
  maxQueue?: number;
  /** KV caches kept for prefix reuse (default: parallel). */
  cacheSlots?: number;
  /** Largest request body accepted (default 4 MiB). */
  maxBodyBytes?: number;
  /** Origins allowed to call the API from a browser (CORS); '*' for any. Default none. */
  corsOrigins?: string[];
  sampling?: Partial<SamplingDefaults>;
  search?: SearchService;
  /** Serve the chat page at / (default true). */
  webPage?: boolean;
  /** One line per request (default: none). */
  log?: (line: string) => void;
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Resolves once the model is loaded. */
  ready: Promise<ServerContext>;
  context(): ServerContext | undefined;
  /** Stops accepting, aborts running generations, closes every connection. */
  close(): Promise<void>;
}

const API_PREFIXES = ['/v1/', '/props', '/metrics'];

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const files = opts.webPage === false ? undefined : new StaticFiles();
  const keyHash = opts.apiKey ? sha256(opts.apiKey) : undefined;
  const cors = new Set(opts.corsOrigins ?? []);
  const log = opts.log;
  let ctx: ServerContext | undefined;
  let loadError: Error | undefined;
  const ready = Promise.resolve(opts.model).then((phi3) => {
    const parallel = opts.parallel ?? 1;
    ctx = {
      phi3,
      modelId: opts.modelId ?? defaultModelId(phi3),
      created: Math.floor(Date.now() / 1000),
      fingerprint: `phi3-${phi3.config.architecture}-${(phi3.model as { backend?: { name?: string } }).backend?.name ?? 'default'}`,
      scheduler: new Scheduler(() => phi3.model.newCache(), { parallel, maxQueue: opts.maxQueue ?? 32, cacheSlots: opts.cacheSlots }),
      defaults: { temperature: 1, ...opts.sampling },
      metrics: newMetrics(),
      search: opts.search,
    };
    return ctx;
  });
  ready.catch((e: Error) => (loadError = e));

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const method = req.method ?? 'GET';
    if (files && (method === 'GET' || method === 'HEAD') && files.has(path)) return files.serve(req, res, path);
    if (path === '/health') {
      if (ctx) return sendJson(res, 200, { status: 'ok', model: ctx.modelId, running: ctx.scheduler.running, queued: ctx.scheduler.queued });
      if (loadError) return sendJson(res, 500, { status: 'error', error: loadError.message });
      return sendJson(res, 503, { status: 'loading model' }, { 'Retry-After': '5' });
    }
    const isApi = API_PREFIXES.some((p) => path === p || path.startsWith(p));
    if (!isApi) throw new ApiError(404, `no such route: ${method} ${path}`, 'invalid_request_error', null, 'not_found');
    checkKey(req, keyHash);
    if (loadError) throw new ApiError(500, `the model failed to load: ${loadError.message}`);
    if (!ctx) throw new ApiError(503, 'the model is still loading; retry shortly', 'server_error', null, 'model_loading', 5);
    const c = ctx;

    const route = `${method} ${path}`;
    switch (route) {
      case 'POST /v1/chat/completions':
        return handleChat(c, req, res, await readJsonBody(req, maxBody));
      case 'POST /v1/completions':
        return handleCompletions(c, req, res, await readJsonBody(req, maxBody));
      case 'GET /v1/models':
        return sendJson(res, 200, { object: 'list', data: [modelObject(c)] });
      case 'GET /props':
        return sendJson(res, 200, props(c, !!keyHash));
      case 'GET /metrics':
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(metricsText(c));
        return;
    }
    if (path.startsWith('/v1/models/') && method === 'GET') {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (id !== c.modelId) throw new ApiError(404, `The model ${JSON.stringify(id)} does not exist; this server serves ${JSON.stringify(c.modelId)}`, 'invalid_request_error', 'model', 'model_not_found');
      return sendJson(res, 200, modelObject(c));
    }
    const allowed = ['/v1/chat/completions', '/v1/completions'].includes(path) ? 'POST' : ['/v1/models', '/props', '/metrics'].includes(path) ? 'GET' : undefined;
    if (allowed) {
      res.setHeader('Allow', allowed);
      throw new ApiError(405, `${method} is not allowed on ${path}; use ${allowed}`, 'invalid_request_error', null, 'method_not_allowed');
    }
    throw new ApiError(404, `no such route: ${method} ${path}`, 'invalid_request_error', null, 'not_found');
  };

  const server = createServer({ noDelay: true, requestTimeout: 120_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const t0 = performance.now();
    let path = '/';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // a malformed target is answered as a 404 below
    }
    const origin = req.headers.origin;
    if (origin && (cors.has('*') || cors.has(origin))) {
      res.setHeader('Access-Control-Allow-Origin', cors.has('*') ? '*' : origin);
      res.setHeader('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
          'Access-Control-Max-Age': '600',
        });
        res.end();
        return;
      }
    }
    res.once('finish', () => {
      if (ctx) {
        ctx.metrics.requests++;
        ctx.metrics.statuses.set(res.statusCode, (ctx.metrics.statuses.get(res.statusCode) ?? 0) + 1);
      }
      log?.(`${req.method} ${path} ${res.statusCode} ${(performance.now() - t0).toFixed(0)}ms`);
    });
    handle(req, res, path).catch((e: unknown) => {
      if (res.destroyed || (e instanceof Error && e.name === 'AbortError')) return;
      let err: ApiError;
      if (e instanceof ApiError) err = e;
      else if (e instanceof Phi3Error) err = new ApiError(400, e.message);
      else {
        log?.(`internal error on ${req.method} ${path}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        err = new ApiError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (res.headersSent) res.end();
      else sendError(req, res, err);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    ready,
    context: () => ctx,
    close: () =>
      new Promise<void>((resolve) => {
        ctx?.scheduler.close();
        server.close(() => resolve());
        // Closing the sockets fires every running request's abort signal.
        server.closeAllConnections();
      }),
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function checkKey(req: IncomingMessage, keyHash: Buffer | undefined): void {
  if (!keyHash) return;
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  if (!m) throw new ApiError(401, 'missing API key: send the header "Authorization: Bearer <key>"', 'invalid_request_error', null, 'invalid_api_key');
  // Compare digests so the comparison takes the same time whatever the key's length.
  if (!timingSafeEqual(sha256(m[1]), keyHash)) throw new ApiError(401, 'invalid API key', 'invalid_request_error', null, 'invalid_api_key');
}

export function defaultModelId(phi3: Phi3): string {
  return basename(phi3.files.path).replace(/\.gguf$/i, '') || 'phi3';
}

function modelObject(c: ServerContext) {
  return {
    id: c.modelId,
    object: 'model',
    created: c.created,
    owned_by: 'phi3',
    meta: { context_size: c.phi3.model.contextSize, parameters: c.phi3.info().parameters, architecture: c.phi3.config.architecture },
  };
}

function props(c: ServerContext, keyRequired: boolean) {
  return {
    model: c.modelId,
    context_size: c.phi3.model.contextSize,
    parallel: c.scheduler.parallel,
    api_key_required: keyRequired,
    defaults: c.defaults,
    search: c.search ? { providers: c.search.providers(), default: c.search.defaultProvider } : null,
  };
}
