// A careful HTTP(S) client for search: a time limit on the whole exchange, a cap on the bytes read
// (decompressed bytes, for gzip/deflate/br), at most a few redirects, and — for pages that search
// results point at — no connections to loopback, private or link-local addresses (checked on the
// address actually connected to, so DNS tricks don't get around it) unless explicitly allowed.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

export interface FetchOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  /** Allow loopback / private / link-local targets (a self-hosted SearXNG; tests). Default false. */
  allowPrivate?: boolean;
  signal?: AbortSignal;
}

export interface FetchResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The final URL, after redirects. */
  url: string;
  /** The body was cut at maxBytes. */
  truncated: boolean;
}

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) blocked.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const v = isIP(ip);
  if (v === 0) return true;
  return blocked.check(ip, v === 4 ? 'ipv4' : 'ipv6');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that refuses private answers. */
function publicLookup(hostname: string, options: LookupOptions, cb: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '');
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return cb(Object.assign(new Error(`${hostname} resolves to the non-public address ${bad.address}; not fetched`), { code: 'EPRIVATE' }), '');
    if (options.all) cb(null, list);
    else cb(null, list[0].address, list[0].family);
  });
}

export async function fetchBounded(url: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const maxRedirects = opts.maxRedirects ?? 3;
  let current = url;
  let method = opts.method ?? 'GET';
  let body = opts.body;
  for (let hop = 0; ; hop++) {
    const r = await fetchOnce(current, { ...opts, method, body });
    const loc = r.headers.location;
    if (r.status >= 300 && r.status < 400 && loc) {
      if (hop >= maxRedirects) throw new Error(`${url}: more than ${maxRedirects} redirects`);
      current = new URL(loc, current).href;
      if (r.status === 303 || ((r.status === 301 || r.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    return r;
  }
}

function fetchOnce(url: string, opts: FetchOptions): Promise<FetchResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new Error(`not a URL: ${url}`));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(new Error(`${url}: only http and https URLs are fetched`));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivate && (isIP(host) ? isPrivateAddress(host) : host === 'localhost' || host.endsWith('.localhost')))
    return Promise.reject(new Error(`${url}: a non-public address; not fetched`));
  const maxBytes = opts.maxBytes ?? 2 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 10_000;

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (e: Error | null, r?: FetchResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (e) reject(e);
      else resolve(r!);
    };
    const onAbort = () => finish(new Error(`${url}: aborted`));
    const timer = setTimeout(() => finish(new Error(`${url}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const headers: Record<string, string> = { 'User-Agent': 'phi3-search/1', 'Accept-Encoding': 'gzip, deflate, br', ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: opts.method ?? 'GET', headers, lookup: opts.allowPrivate ? undefined : (publicLookup as never) },
      (res: IncomingMessage) => {
        const enc = (res.headers['content-encoding'] ?? '').toLowerCase();
        let stream: Readable = res;
        if (enc === 'gzip' || enc === 'x-gzip') stream = res.pipe(createGunzip());
        else if (enc === 'deflate') stream = res.pipe(createInflate());
        else if (enc === 'br') stream = res.pipe(createBrotliDecompress());
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (truncated: boolean) =>
          finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: u.href, truncated });
        stream.on('data', (c: Buffer) => {
          const room = maxBytes - size;
          if (c.length >= room) {
            chunks.push(c.subarray(0, room));
            size = maxBytes;
            return done(true);
          }
          chunks.push(c);
          size += c.length;
        });
        stream.on('end', () => done(false));
        stream.on('error', (e) => finish(new Error(`${url}: ${e.message}`)));
      },
    );
    req.on('error', (e) => finish(new Error(`${url}: ${e.message}`)));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    req.end(opts.body);
  });
}

/** The body as text, in the charset the Content-Type names (UTF-8 when none or unknown). */
export function bodyText(r: FetchResult): string {
  const charset = /charset=([^;]+)/i.exec(String(r.headers['content-type'] ?? ''))?.[1]?.trim().replace(/"/g, '');
  try {
    return new TextDecoder(charset || 'utf-8').decode(r.body);
  } catch {
    return new TextDecoder('utf-8').decode(r.body);
  }
}
