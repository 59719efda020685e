// The chat page's files: src/web/* plus the Markdown renderer (marked's browser ES module) from
// node_modules, read once at startup and served from memory with an ETag, so a page reload costs
// a 304. Only these names are served: nothing else on disk is reachable through this route.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** src/web, whether this module runs from src/ (tsx) or dist/ (built). */
export function webDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [resolve(here, '../web'), resolve(here, '../../src/web')]) if (existsSync(join(dir, 'index.html'))) return dir;
  throw new Error(`the chat page's files were not found near ${here}`);
}

export class StaticFiles {
  private readonly assets = new Map<string, Asset>();

  constructor(dir = webDir()) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type) this.add(`/${name}`, readFileSync(join(dir, name)), type);
    }
    const index = this.assets.get('/index.html');
    if (index) this.assets.set('/', index);
    const marked = createRequire(import.meta.url).resolve('marked');
    this.add('/vendor/marked.esm.js', readFileSync(marked), TYPES['.js']);
  }

  private add(path: string, body: Buffer, type: string): void {
    this.assets.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }

  has(path: string): boolean {
    return this.assets.has(path);
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const a = this.assets.get(path)!;
    const headers = {
      ETag: a.etag,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      // The page only talks to this server; model output is rendered as sanitized Markdown.
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer',
    };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': a.type, 'Content-Length': a.body.length });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  }
}
