// `phi3 export`: a trained model out of a checkpoint, as
//  - gguf: llama.cpp's Phi-3 layout and metadata (formats/phi3-gguf.ts), any file type (f32, f16, q8_0,
//    q4_k_m …, the same per-tensor mixes as llama.cpp's quantizer), vocabulary and chat template inside;
//  - hf: a Hugging Face folder Phi3ForCausalLM loads: config.json, generation_config.json,
//    model.safetensors (HF names, [out, in] shapes, F32 or BF16), tokenizer.json, tokenizer_config.json.
// Tested by test/train-export.test.ts: both load in this engine with the checkpoint's logits, and the
// GGUF decodes the same greedy tokens in llama.cpp (node-llama-cpp).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Phi3Error } from '../errors.js';
import { writeGGUF } from '../formats/gguf.js';
import { phi3Metadata } from '../formats/phi3-gguf.js';
import { writeSafetensors } from '../formats/safetensors.js';
import { f32ToBf16, quantizeRow } from '../quant/index.js';
import { FILE_TYPES, tensorTypeFor } from '../quant/mix.js';
import type { Phi3Config } from '../model/config.js';
import { openTokenizer } from './data.js';
import { ggufToHFName, type Phi3Params } from './params.js';
import { writeTokenizerFiles } from './tokenizer-json.js';

export interface ExportOptions {
  /** GGUF file type (f32, f16, bf16, q8_0, q4_0, q4_k_m, …) or HF dtype (f32, bf16). */
  type?: string;
  name?: string;
  onTensor?: (done: number, total: number) => void;
}

export function exportGGUF(params: Phi3Params, tokenizerPath: string, out: string, o: ExportOptions = {}): void {
  const ft = FILE_TYPES[o.type ?? 'q8_0'];
  if (!ft) throw new Phi3Error(`unknown GGUF type "${o.type}"; one of ${Object.keys(FILE_TYPES).join(', ')}`);
  const tok = openTokenizer(tokenizerPath);
  const c = params.config;
  if (tok.vocab.pieces.length !== c.vocabSize)
    throw new Phi3Error(`tokenizer ${tokenizerPath} has ${tok.vocab.pieces.length} tokens but the model ${c.vocabSize}`);
  const metadata = phi3Metadata({ config: c, vocab: tok.vocab, name: o.name ?? 'phi3 (trained)', fileType: ft.fileType, chatTemplate: tok.templateSource });
  const tensors = params.views.map((v) => {
    const type = tensorTypeFor(ft, v.name, v.dims, c.numLayers);
    return { name: v.name, type, dims: v.dims, data: () => quantizeRow(type, params.slice(params.data, v), v.size) };
  });
  writeGGUF(out, metadata, tensors, { onTensor: o.onTensor });
}

export function hfConfigJson(c: Phi3Config): Record<string, unknown> {
  return {
    architectures: ['Phi3ForCausalLM'],
    model_type: 'phi3',
    attention_bias: false,
    attention_dropout: 0,
    embd_pdrop: 0,
    resid_pdrop: 0,
    hidden_act: 'silu',
    initializer_range: 0.02,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    max_position_embeddings: c.contextLength,
    original_max_position_embeddings: c.originalContextLength,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: c.ropeScaling
      ? { type: 'longrope', short_factor: c.ropeScaling.shortFactor, long_factor: c.ropeScaling.longFactor }
      : null,
    sliding_window: c.slidingWindow,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    pad_token_id: c.padTokenId,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: c.vocabSize,
  };
}

export function exportHF(params: Phi3Params, tokenizerPath: string, dir: string, o: ExportOptions = {}): void {
  const dtype = (o.type ?? 'f32').toLowerCase();
  if (dtype !== 'f32' && dtype !== 'bf16') throw new Phi3Error(`--type for hf must be f32 or bf16, got "${o.type}"`);
  const tok = openTokenizer(tokenizerPath);
  const c = params.config;
  mkdirSync(dir, { recursive: true });
  const cfg = hfConfigJson(c);
  cfg.torch_dtype = dtype === 'bf16' ? 'bfloat16' : 'float32';
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  const endIds = [c.eosTokenIds, tok.endTurn].flat();
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: c.bosTokenId, eos_token_id: [...new Set(endIds)], pad_token_id: c.padTokenId }, null, 2));
  const tensors = params.views.map((v, i) => {
    const src = params.slice(params.data, v);
    let data: Uint8Array;
    if (dtype === 'bf16') {
      const u = new Uint16Array(src.length);
      for (let k = 0; k < src.length; k++) u[k] = f32ToBf16(src[k]);
      data = new Uint8Array(u.buffer);
    } else data = new Uint8Array(src.slice().buffer);
    o.onTensor?.(i + 1, params.views.length);
    return { name: ggufToHFName(v.name), dtype: (dtype === 'bf16' ? 'BF16' : 'F32') as 'BF16' | 'F32', shape: [...v.dims].reverse(), data };
  });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeTokenizerFiles(dir, tok.vocab, tok.templateSource, c.contextLength);
}
