// The engine in this browser: a module Web Worker (engine/worker.js, the browser build of src/browser/
// worker.ts) behind the same two calls api.js makes to a server — getProps() and a streaming
// streamChat() that hands OpenAI-shaped chunks to onChunk — so app.js drives both the same way.
// Used when the page is served without a model (`phi3 serve --static` or any static host).
/* global Worker, URL, performance */
import { ApiError } from './api.js';

export class LocalEngine {
  constructor(url = new URL('./engine/worker.js', import.meta.url)) {
    this.worker = new Worker(url, { type: 'module', name: 'phi3-engine' });
    this.nextId = 1;
    this.calls = new Map();
    this.worker.onmessage = (e) => {
      const { id, result, error, ...event } = e.data;
      const call = this.calls.get(id);
      if (!call) return;
      if (error) {
        this.calls.delete(id);
        call.reject(new ApiError(error.name === 'RequestError' ? 400 : 500, error.message));
      } else if ('result' in e.data) {
        this.calls.delete(id);
        call.resolve(result);
      } else call.onEvent?.(event);
    };
    this.worker.onerror = (e) => {
      for (const c of this.calls.values()) c.reject(new ApiError(500, `the engine worker failed: ${e.message}`));
      this.calls.clear();
    };
  }

  /** One request to the worker (protocol in src/browser/worker.ts); onEvent gets {progress} / {piece}. */
  call(op, args = {}, onEvent, signal) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, onEvent });
      this.worker.postMessage({ id, op, ...args });
      signal?.addEventListener('abort', () => void this.call('abort', { target: id }), { once: true });
    });
  }

  async getProps() {
    const info = await this.call('info');
    if (!info) throw new ApiError(503, 'no model loaded');
    return { model: info.model, context_size: info.context_size, backend: info.backend, threads: info.threads, local: true };
  }

  /** The OpenAI request body → the engine's generate options; pieces → chat.completion.chunk objects. */
  async streamChat(body, { signal, onChunk }) {
    const options = { temperature: body.temperature ?? 1 };
    if (body.top_p !== undefined) options.topP = body.top_p;
    if (body.max_tokens !== undefined) options.maxTokens = body.max_tokens;
    if (body.seed !== undefined) options.seed = body.seed;
    if (body.stop !== undefined) options.stop = Array.isArray(body.stop) ? body.stop : [body.stop];
    let first = 0;
    const r = await this.call(
      'generate',
      { messages: body.messages, options },
      ({ piece }) => {
        if (!piece?.text) return;
        first ||= performance.now();
        onChunk({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece.text }, finish_reason: null }] });
      },
      signal,
    );
    if (signal?.aborted) throw new ApiError(499, 'stopped');
    const secs = first ? (performance.now() - first) / 1000 : 0;
    onChunk({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: {}, finish_reason: r.finishReason === 'context' ? 'length' : r.finishReason }],
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.tokens.length, total_tokens: r.promptTokens + r.tokens.length },
      timings: { predicted_per_second: secs > 0 && r.tokens.length > 1 ? (r.tokens.length - 1) / secs : 0 },
    });
  }
}
