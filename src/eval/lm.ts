// The model side of the harness: log-likelihoods of continuations, greedy generation until stop strings,
// and chat answers, over a Phi-3 model with ONE KV cache that is reused across requests.
//
// Speed: requests arrive grouped (all choices of an item, items of a task in file order, every item of a
// task behind the same few-shot prefix). A context is evaluated once: its tokens stay in the cache, the
// next context only runs the tokens after the longest common prefix (generate.ts `prefill`), the
// context's last logits are kept for all its choices, and each continuation runs from the cache
// truncated back to the context. A one-token continuation (" A") costs no forward pass at all.
//
// Tokenisation follows lm-eval's `_encode_pair`: trailing spaces of the context move to the
// continuation, the continuation's tokens are encode(context + continuation) minus the first
// len(encode(context)) tokens. Tested against llama.cpp's logits in test/eval-loglik.test.ts.
import type { ChatMessage } from '../chat/template.js';
import { Phi3Error } from '../errors.js';
import { generate, prefill } from '../generate/generate.js';
import { parameterCount } from '../model/config.js';
import type { KVCache } from '../model/kv-cache.js';
import type { Phi3 } from '../phi3.js';
import { isArgmax, logSoftmaxAt } from './metrics.js';
import type { LoglikRequest } from './types.js';

export interface LoglikResult {
  /** Σ log P(continuation token | everything before it). */
  ll: number;
  /** Whether every continuation token was the argmax (lm-eval's is_greedy). */
  greedy: boolean;
  /** Number of continuation tokens. */
  tokens: number;
}

/** What the harness needs from a model; implemented over Phi3 here, and by fakes nowhere. */
export interface EvalModel {
  readonly name: string;
  readonly parameters: number;
  loglikelihood(reqs: LoglikRequest[]): LoglikResult[];
  generateUntil(prompt: string, until: string[], maxTokens: number): Promise<string>;
  chat(messages: ChatMessage[], o: { temperature: number; maxTokens: number; seed?: number }): Promise<string>;
}

export class Phi3EvalModel implements EvalModel {
  readonly name: string;
  readonly parameters: number;
  private readonly cache: KVCache;
  private lastCtxKey = '';
  private lastCtxLogits: Float32Array | null = null;
  /** Tokens actually run through the model (for throughput figures). */
  tokensEvaluated = 0;

  constructor(readonly phi3: Phi3, name?: string) {
    this.name = name ?? phi3.files.name ?? phi3.files.path;
    this.parameters = parameterCount(phi3.config);
    this.cache = phi3.model.newCache();
    // Line-wise tokenisation is only sound if no vocabulary piece spans a newline.
    for (let i = 0; i < phi3.tokenizer.vocabSize && this.fast; i++) if (phi3.tokenizer.idToPiece(i).includes('\n')) this.fast = false;
  }

  /**
   * encode(text), fast: SentencePiece merges never cross a newline when no vocab piece holds "\n"
   * (checked at construction; Phi-3's newline is the byte token <0x0A>), so a text's tokens are its
   * lines' tokens joined by the newline token, and the lines of a few-shot prompt repeat across
   * thousands of requests — memoise them. The first 64 fast encodings are also checked against the
   * plain encoder; any difference turns the fast path off for this model.
   */
  private encode(text: string): number[] {
    if (!this.fast) return this.phi3.tokenizer.encode(text, { parseSpecial: false });
    const fast = this.encodeByLines(text);
    if (this.checks < 64) {
      this.checks++;
      const plain = this.phi3.tokenizer.encode(text, { parseSpecial: false });
      if (plain.length !== fast.length || plain.some((t, i) => t !== fast[i])) {
        this.fast = false;
        return plain;
      }
    }
    return fast;
  }

  private fast = true;
  private checks = 0;
  /** Whether line-wise tokenisation is on (it turns itself off if it ever disagrees with the tokenizer). */
  get fastTokenization(): boolean {
    return this.fast;
  }
  private newline: number[] | null = null;

  private encodeByLines(text: string): number[] {
    const tok = this.phi3.tokenizer;
    // encode("\n" + s) = [dummy-prefix "▁", <0x0A>, …s without a dummy prefix]
    if (!this.newline) this.newline = tok.encode('\n', { parseSpecial: false });
    const skip = this.newline.length;
    const nl = this.newline[skip - 1];
    const line = (s: string, first: boolean): number[] => {
      const key = (first ? '1' : '0') + s;
      let ids = this.lineMemo.get(key);
      if (!ids) {
        ids = first ? tok.encode(s, { parseSpecial: false }) : tok.encode('\n' + s, { parseSpecial: false }).slice(skip);
        if (this.lineMemo.size > 50_000) this.lineMemo.clear();
        this.lineMemo.set(key, ids);
      }
      return ids;
    };
    const parts = text.split('\n');
    const out = [...line(parts[0], true)];
    for (let i = 1; i < parts.length; i++) {
      out.push(nl);
      for (const t of line(parts[i], false)) out.push(t);
    }
    return out;
  }

  private readonly lineMemo = new Map<string, number[]>();

  /** lm-eval `_encode_pair`: context ids and continuation ids. */
  encodePair(context: string, continuation: string): { ctx: number[]; cont: number[] } {
    const trimmed = context.replace(/\s+$/, '');
    if (trimmed.length < context.length) {
      continuation = context.slice(trimmed.length) + continuation;
      context = trimmed;
    }
    if (context === '') {
      // lm-eval scores an empty context after the end-of-text token.
      const eot = this.phi3.tokenizer.eosId ?? this.phi3.tokenizer.bosId;
      if (eot === undefined) throw new Phi3Error('empty context and the tokenizer has no EOS/BOS token to stand in for it');
      return { ctx: [eot], cont: this.phi3.tokenizer.encode(continuation, { parseSpecial: false }) };
    }
    const whole = this.encode(context + continuation);
    const ctx = this.encode(context);
    return { ctx, cont: whole.slice(ctx.length) };
  }

  private contextLogits(ctx: number[]): Float32Array {
    const key = ctx.length + ':' + ctx.join(',');
    if (key === this.lastCtxKey && this.lastCtxLogits) {
      this.cache.truncate(ctx.length);
      return this.lastCtxLogits;
    }
    const model = this.phi3.model;
    const { logits, reused } = prefill((t, c) => model.forward(t, c), this.cache, ctx);
    this.tokensEvaluated += ctx.length - reused;
    this.lastCtxKey = key;
    this.lastCtxLogits = logits;
    return logits;
  }

  loglikelihood(reqs: LoglikRequest[]): LoglikResult[] {
    return reqs.map(({ context, continuation }) => {
      const { ctx, cont } = this.encodePair(context, continuation);
      if (cont.length === 0) throw new Phi3Error(`the continuation ${JSON.stringify(continuation)} has no tokens after the context`);
      return this.loglikelihoodTokens(ctx, cont);
    });
  }

  /** log P(cont | ctx) over token ids, reusing the cache (the context's logits are kept for its next continuation). */
  loglikelihoodTokens(ctx: number[], cont: number[]): LoglikResult {
    const vocab = this.phi3.config.vocabSize;
    const maxLen = this.phi3.model.contextSize;
    if (ctx.length === 0 || cont.length === 0) throw new Phi3Error('log-likelihood needs a non-empty context and continuation');
    if (cont.length > maxLen) throw new Phi3Error(`a continuation of ${cont.length} tokens does not fit the ${maxLen}-token context`);
    // Left-truncate the context as lm-eval does when context + continuation exceed the model's length.
    if (ctx.length + cont.length - 1 > maxLen) ctx = ctx.slice(ctx.length + cont.length - 1 - maxLen);
    const first = this.contextLogits(ctx);
    let ll = logSoftmaxAt(first, 0, vocab, cont[0]);
    let greedy = isArgmax(first, 0, vocab, cont[0]);
    if (cont.length > 1) {
      this.cache.truncate(ctx.length);
      const rows = this.phi3.model.forward(cont.slice(0, -1), this.cache, { allLogits: true });
      this.tokensEvaluated += cont.length - 1;
      for (let i = 1; i < cont.length; i++) {
        ll += logSoftmaxAt(rows, (i - 1) * vocab, vocab, cont[i]);
        greedy &&= isArgmax(rows, (i - 1) * vocab, vocab, cont[i]);
      }
    }
    return { ll, greedy, tokens: cont.length };
  }

  async generateUntil(prompt: string, until: string[], maxTokens: number): Promise<string> {
    const ids = this.fit(this.encode(prompt), maxTokens);
    return this.run(ids, { temperature: 0, maxTokens, stop: until });
  }

  async chat(messages: ChatMessage[], o: { temperature: number; maxTokens: number; seed?: number }): Promise<string> {
    const ids = this.fit(this.phi3.chatPromptIds(messages), o.maxTokens);
    return this.run(ids, { temperature: o.temperature, maxTokens: o.maxTokens, seed: o.seed });
  }

  /** Keeps the last tokens so that prompt + generation fit the context (lm-eval truncates on the left). */
  private fit(ids: number[], maxTokens: number): number[] {
    const room = this.phi3.model.contextSize - Math.min(maxTokens, this.phi3.model.contextSize - 1);
    return ids.length > room ? ids.slice(ids.length - room) : ids;
  }

  private async run(ids: number[], o: { temperature: number; maxTokens: number; stop?: string[]; seed?: number }): Promise<string> {
    this.lastCtxKey = '';
    const model = this.phi3.model;
    const gen = generate((t, c) => model.forward(t, c), this.phi3.tokenizer, this.cache, ids, this.phi3.stopTokens, o);
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        this.tokensEvaluated += step.value.promptTokens - step.value.cachedTokens + step.value.tokens.length;
        return step.value.text;
      }
    }
  }
}
