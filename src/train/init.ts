// Where a training stage starts from: a training checkpoint (weights + the tokenizer path it recorded),
// a Phi-3 GGUF (weights dequantized to f32, its own vocabulary), or a fresh random model of a config.
// Tested by test/train.test.ts and test/train-export.test.ts.
import { resolve } from 'node:path';
import { Phi3Error } from '../errors.js';
import { isGGUF, readGGUF } from '../formats/gguf.js';
import { configFromGGUF, configFromHF, presetConfig, type Phi3Config } from '../model/config.js';
import { readCheckpoint } from './checkpoint.js';
import { Phi3Params } from './params.js';

export interface Start {
  params: Phi3Params;
  /** Tokenizer source (GGUF, tokenizer.json or folder), absolute. */
  tokenizer: string;
}

/** Weights from a checkpoint (.ckpt) or a GGUF file. */
export function loadStart(path: string, tokenizer?: string): Start {
  if (isGGUF(path)) {
    const f = readGGUF(path);
    const config = configFromGGUF((k) => f.get(k), path);
    return { params: new Phi3Params(config).loadGGUF(path), tokenizer: resolve(tokenizer ?? path) };
  }
  const ck = readCheckpoint(path);
  const params = new Phi3Params(ck.header.config);
  const w = ck.buffers.get('params');
  if (!w || w.length !== params.count) throw new Phi3Error(`${path}: checkpoint weights do not match its config`);
  params.data.set(w);
  const tok = tokenizer ?? (ck.header.state.tokenizer as string | undefined);
  if (!tok) throw new Phi3Error(`${path}: the checkpoint records no tokenizer; pass --tokenizer`);
  return { params, tokenizer: resolve(tok) };
}

/** A model config from run.json's "model": {"preset": NAME, ...overrides} or Hugging Face config fields. */
export function modelConfig(spec: Record<string, unknown>, ids: { vocabSize: number; bos?: number; eos: number; pad?: number }): Phi3Config {
  const { preset, ...rest } = spec;
  return configFromHF({
    architectures: ['Phi3ForCausalLM'],
    rope_theta: 10000,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    ...(preset !== undefined ? presetJson(String(preset)) : {}),
    ...rest,
    bos_token_id: ids.bos ?? null,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad ?? ids.eos,
    vocab_size: ids.vocabSize,
  }, 'run.json "model"');
}

function presetJson(name: string): Record<string, unknown> {
  const c = presetConfig(name);
  return {
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    max_position_embeddings: c.contextLength,
    original_max_position_embeddings: c.originalContextLength,
  };
}
