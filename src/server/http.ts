// HTTP plumbing on node:http: a JSON body reader that never holds more than the size limit (it refuses
// from Content-Length before reading, and stops counting chunked bodies at the limit), JSON and error
// replies, Server-Sent Events with backpressure, and an AbortSignal that fires the moment the client
// goes away — the generation loop watches it, so a closed tab stops the model within one token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';

/** Reads and parses a JSON object body of at most `limit` bytes. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  // Requiring JSON also makes browsers preflight cross-site requests, which a server without CORS
  // headers refuses: another web page cannot make this machine run the model.
  if (type !== 'application/json')
    return Promise.reject(new ApiError(415, `Content-Type must be application/json, got ${JSON.stringify(type || '(none)')}`, 'invalid_request_error', null, 'unsupported_media_type'));
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(Number(declared), limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: ApiError) => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(tooLarge(size, limit, true));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', (e) => fail(new ApiError(400, `could not read the request body: ${e.message}`)));
    req.on('aborted', () => fail(new ApiError(400, 'the request body was cut off')));
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return reject(new ApiError(400, 'the request body is empty; expected a JSON object', 'invalid_request_error', null, 'invalid_json'));
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        return reject(new ApiError(400, `the request body is not valid JSON: ${(e as Error).message}`, 'invalid_request_error', null, 'invalid_json'));
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return reject(new ApiError(400, 'the request body must be a JSON object', 'invalid_request_error', null, 'invalid_json'));
      resolve(value as Record<string, unknown>);
    });
  });
}

function tooLarge(size: number, limit: number, atLeast = false): ApiError {
  return new ApiError(413, `the request body is ${atLeast ? 'over ' : ''}${size} bytes; the limit is ${limit}`, 'invalid_request_error', null, 'request_too_large');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Answers with an error. A request whose body was refused unread gets `Connection: close`, and its
 * socket is closed shortly after the reply, so a client cannot keep pushing bytes at us.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, e: ApiError): void {
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  if (e.status === 401) headers['WWW-Authenticate'] = 'Bearer';
  const unread = !req.complete;
  if (unread) headers['Connection'] = 'close';
  sendJson(res, e.status, e.body(), headers);
  if (unread) {
    // Read no further: the client's sends stall once the socket buffers fill. After the reply, close
    // our side, and the whole connection shortly after whatever the client does.
    req.pause();
    const socket = req.socket;
    res.once('finish', () => {
      socket.end();
      setTimeout(() => socket.destroy(), 500).unref();
    });
  }
}

/** Fires when the client has gone (connection closed before the reply was complete). */
export function clientGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) ac.abort(new Error('client disconnected'));
  };
  res.once('close', onClose);
  req.once('close', () => {
    // A request's 'close' also fires once its body has been read; only a dead socket counts.
    if (req.socket.destroyed && !res.writableFinished) ac.abort(new Error('client disconnected'));
  });
  return ac.signal;
}

/** A Server-Sent Events reply: `data: JSON` events, comments as keep-alives, and `[DONE]`. */
export class SseStream {
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string> = {},
  ) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...this.headers,
    });
    this.res.flushHeaders();
  }

  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** Writes one event; resolves once the socket can take more (backpressure), or at once if it is closed. */
  send(data: unknown): Promise<void> {
    return this.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  comment(text: string): Promise<void> {
    return this.write(`: ${text}\n\n`);
  }

  private write(text: string): Promise<void> {
    this.start();
    if (!this.open) return Promise.resolve();
    if (this.res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  end(): void {
    this.start();
    if (this.open) this.res.end();
  }
}
