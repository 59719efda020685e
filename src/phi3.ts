// The public object: a loaded Phi-3 model with its tokenizer and chat template, and the calls every
// part of the project uses — forward, generate, chat — over the one generation loop.
import type { Backend } from './backend/backend.js';
import { refBackend } from './backend/ref/index.js';
import { ChatTemplate, PHI3_SMALL_TEMPLATE, PHI3_TEMPLATE, validateMessages, type ChatMessage } from './chat/template.js';
import { RequestError } from './errors.js';
import { generate, type GeneratedPiece, type GenerateOptions, type GenerationResult } from './generate/generate.js';
import { openModelFiles, type ModelFiles, type OpenOptions } from './load.js';
import type { ByteSource } from './formats/io.js';
import { parameterCount } from './model/config.js';
import type { CausalLM, ModelConfig } from './model/causal-lm.js';
import { smallParameterCount } from './model/config-small.js';
import type { KVCache } from './model/kv-cache.js';
import { Phi3Model, type ModelOptions } from './model/phi3.js';
import { Phi3SmallModel } from './model/phi3-small.js';
import { loadWeights } from './model/weights.js';
import { loadSmallWeights } from './model/weights-small.js';
import type { Tokenizer } from './tokenizer/tokenizer.js';

export interface LoadOptions extends OpenOptions, ModelOptions {
  /** Compute backend (default: the reference backend). */
  backend?: Backend;
  /** Called as layers are read, for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

export interface ModelInfo {
  path: string;
  format: 'gguf' | 'hf';
  name?: string;
  architecture: string;
  parameters: number;
  config: ModelConfig;
  tensorTypes: Record<string, number>;
  contextSize: number;
  ropeScaling: string;
  chatTemplate: string;
  chatTemplateSource: 'model' | 'built-in Phi-3' | 'built-in Phi-3-small';
  weightBytes: number;
  /** f32 KV cache bytes at the full context size. */
  kvCacheBytes: number;
}

/** A conversation or document that keeps its KV cache between calls, so follow-ups reuse the prefix. */
export class Session {
  readonly cache: KVCache;
  constructor(private readonly phi3: Phi3) {
    this.cache = phi3.model.newCache();
  }

  generate(input: string | number[], opts: GenerateOptions = {}): AsyncGenerator<GeneratedPiece, GenerationResult, void> {
    const ids = typeof input === 'string' ? this.phi3.tokenizer.encode(input) : input;
    const model = this.phi3.model;
    return generate((t, c) => model.forwardAsync(t, c), this.phi3.tokenizer, this.cache, ids, this.phi3.stopTokens, opts);
  }

  chat(messages: ChatMessage[], opts: GenerateOptions = {}): AsyncGenerator<GeneratedPiece, GenerationResult, void> {
    return this.generate(this.phi3.chatPromptIds(messages), opts);
  }

  reset(): void {
    this.cache.truncate(0);
  }
}

export class Phi3 {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate;
  /** End-of-generation ids: the config's eos plus Phi-3's <|end|>, <|endoftext|>, <|assistant|>. */
  readonly stopTokens: number[];

  constructor(
    readonly files: ModelFiles,
    readonly model: CausalLM,
  ) {
    this.config = files.config;
    this.tokenizer = files.tokenizer;
    const small = files.config.architecture === 'phi3small';
    this.template = new ChatTemplate(files.chatTemplate ?? (small ? PHI3_SMALL_TEMPLATE : PHI3_TEMPLATE), { bosToken: files.bosToken, eosToken: files.eosToken });
    // Phi-3-small stops on <|end|> and <|endoftext|> only (FACTS §4.6).
    const ids = (small ? ['<|end|>', '<|endoftext|>'] : ['<|end|>', '<|endoftext|>', '<|assistant|>']).map((t) => this.tokenizer.tokenId(t));
    this.stopTokens = [...new Set([...files.config.eosTokenIds, ...ids.filter((x): x is number => x !== undefined)])];
  }

  /** Logits of the last token of `ids` (or of every position), from a fresh cache. */
  forward(ids: number[], opts: { allLogits?: boolean } = {}): Float32Array {
    return this.model.forward(ids, this.model.newCache(), opts);
  }

  /** forward() on every backend, the asynchronous WebGPU one included. */
  forwardAsync(ids: number[], opts: { allLogits?: boolean } = {}): Promise<Float32Array> {
    return this.model.forwardAsync(ids, this.model.newCache(), opts);
  }

  newSession(): Session {
    return new Session(this);
  }

  /** Generates after a text (tokenized with special tokens parsed) or token ids, from a fresh cache. */
  generate(input: string | number[], opts: GenerateOptions = {}): AsyncGenerator<GeneratedPiece, GenerationResult, void> {
    return this.newSession().generate(input, opts);
  }

  /** Answers the last message of a conversation, rendered with the model's chat template. */
  chat(messages: ChatMessage[], opts: GenerateOptions = {}): AsyncGenerator<GeneratedPiece, GenerationResult, void> {
    return this.newSession().chat(messages, opts);
  }

  chatPromptIds(messages: ChatMessage[]): number[] {
    validateMessages(messages);
    const ids = this.tokenizer.encode(this.template.render(messages, true));
    if (ids.length === 0) throw new RequestError('the rendered chat prompt is empty');
    return ids;
  }

  info(): ModelInfo {
    const c = this.config;
    const types: Record<string, number> = {};
    for (const t of this.files.tensorTypes.values()) types[t] = (types[t] ?? 0) + 1;
    const rs = c.ropeScaling;
    return {
      path: this.files.path,
      format: this.files.format,
      name: this.files.name,
      architecture: c.architecture,
      parameters: c.architecture === 'phi3small' ? smallParameterCount(c) : parameterCount(c),
      config: c,
      tensorTypes: types,
      contextSize: this.model.contextSize,
      ropeScaling: !rs
        ? 'none'
        : 'attentionFactor' in rs
          ? `LongRoPE (original context ${c.originalContextLength}, attention factor ${rs.attentionFactor.toFixed(6)}, factor choice: ${this.model.ropeMode})`
          : `LongRoPE (original context ${c.originalContextLength}, Phi-3-small mscales, factor choice: ${this.model.ropeMode})`,
      chatTemplate: this.template.source,
      chatTemplateSource: this.files.chatTemplate ? 'model' : c.architecture === 'phi3small' ? 'built-in Phi-3-small' : 'built-in Phi-3',
      weightBytes: this.files.weightBytes,
      kvCacheBytes: 2 * c.numLayers * this.model.contextSize * c.numKvHeads * c.headDim * 4,
    };
  }
}

/** Loads a GGUF file or a Hugging Face folder (or a GGUF ByteSource: see src/browser/ for File/Blob/URL). */
export async function loadModel(path: string | ByteSource, opts: LoadOptions = {}): Promise<Phi3> {
  const files = openModelFiles(path, opts);
  const backend = opts.backend ?? refBackend;
  // Tensor bytes go straight from the file into the backend's memory (WASM), never held twice.
  if (backend.allocate) files.tensors.allocate = backend.allocate;
  const c = files.config;
  if (c.architecture === 'phi3small')
    return new Phi3(files, new Phi3SmallModel(c, loadSmallWeights(files.tensors, c, opts.onProgress), backend, opts));
  return new Phi3(files, new Phi3Model(c, loadWeights(files.tensors, c, opts.onProgress), backend, opts));
}
