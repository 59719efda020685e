// `phi3 serve --static`: the chat page with no model on the server. The page (src/web) runs the engine
// itself in a Web Worker (dist/browser/, built by `npm run build:browser`, served under /engine/),
// with models picked from disk or a URL and cached in the browser's Origin Private File System.
// Cross-origin isolation headers (COOP same-origin + COEP require-corp) make SharedArrayBuffer
// available, so the engine runs on several threads; `isolate: false` leaves them off (one thread).
// Files are read once at startup and served from memory; only these names are reachable.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Phi3Error } from '../errors.js';
import { webDir } from './static.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

// The engine compiles WebAssembly ('wasm-unsafe-eval'), starts its pool threads from Blob URLs, and may
// download a model from any URL the user gives.
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
  "worker-src 'self' blob:; connect-src 'self' https: http:; frame-ancestors 'none'";

export interface StaticSiteOptions {
  host?: string;
  port?: number;
  /** The browser build (default: dist/browser beside src/). */
  engineDir?: string;
  /** Send COOP/COEP so the page is cross-origin isolated (threads). Default true. */
  isolate?: boolean;
}

export interface RunningStaticSite {
  url: string;
  close(): Promise<void>;
}

/** dist/browser, whether this module runs from src/ (tsx) or dist/ (built). */
export function defaultEngineDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '../../dist/browser');
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function loadAssets(engineDir: string): Map<string, Asset> {
  if (!existsSync(join(engineDir, 'worker.js')))
    throw new Phi3Error(`the browser build is missing (${engineDir}/worker.js): run npm run build:browser`);
  const assets = new Map<string, Asset>();
  const add = (path: string, file: string) => {
    const type = TYPES[extname(file)];
    if (!type || !statSync(file).isFile()) return;
    const body = readFileSync(file);
    assets.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  };
  const web = webDir();
  for (const name of readdirSync(web)) add(`/${name}`, join(web, name));
  for (const name of readdirSync(engineDir)) add(`/engine/${name}`, join(engineDir, name));
  add('/vendor/marked.esm.js', createRequire(import.meta.url).resolve('marked'));
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  return assets;
}

export async function startStaticSite(opts: StaticSiteOptions = {}): Promise<RunningStaticSite> {
  const assets = loadAssets(opts.engineDir ?? defaultEngineDir());
  const isolate = opts.isolate ?? true;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const a = assets.get(path);
    if (!a || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(a ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(a ? 'method not allowed\n' : 'not found\n');
      return;
    }
    const headers: Record<string, string> = {
      ETag: a.etag,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': CSP,
      'Referrer-Policy': 'no-referrer',
    };
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': a.type, 'Content-Length': String(a.body.length) });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
