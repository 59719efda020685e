// Named Phi-3-small weights, loaded from any tensor source (our `phi3small` GGUF or HF safetensors) and
// checked against the config. GGUF names (documented in formats/phi3small-gguf.ts) follow llama.cpp's
// style; Hugging Face names are mapped onto them by hfSmallToGGUFName. Layouts are kept as Microsoft's
// checkpoint has them: attn_qkv rows grouped per kv head [q…q, k, v], ffn_up rows interleaved
// (gelu, linear). Norm weights/biases and linear biases become f32 at load time.
// Tested end to end by test/phi3-small.test.ts (tiny-small safetensors and its GGUF round trip).
import { FormatError } from '../errors.js';
import { dequantizeRow } from '../quant/index.js';
import type { Phi3SmallConfig } from './config-small.js';
import { numElements, type Tensor } from './tensor.js';
import type { TensorSource } from './weights.js';

export interface SmallLayerWeights {
  attnNormW: Float32Array;
  attnNormB: Float32Array;
  /** [hidden] → [(H + 2·Hkv)·d], grouped per kv head. */
  qkv: Tensor;
  qkvB: Float32Array;
  /** "dense": [H·d] → [hidden]. */
  o: Tensor;
  oB: Float32Array;
  ffnNormW: Float32Array;
  ffnNormB: Float32Array;
  /** [hidden] → [2·ff], even rows gelu, odd rows linear. */
  up: Tensor;
  upB: Float32Array;
  down: Tensor;
  downB: Float32Array;
}

export interface Phi3SmallWeights {
  tokenEmbd: Tensor;
  outputNormW: Float32Array;
  outputNormB: Float32Array;
  /** The embedding itself when tied (always, for the published models). */
  output: Tensor;
  layers: SmallLayerWeights[];
}

/** Hugging Face Phi3SmallForCausalLM names → our phi3small GGUF names (undefined: not a weight we use). */
export function hfSmallToGGUFName(hf: string): string | undefined {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.final_layernorm.weight': 'output_norm.weight',
    'model.final_layernorm.bias': 'output_norm.bias',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  if (!m) return undefined; // e.g. rotary_emb.inv_freq buffers
  const per: Record<string, string> = {
    input_layernorm: 'attn_norm',
    'self_attn.query_key_value': 'attn_qkv',
    'self_attn.dense': 'attn_output',
    post_attention_layernorm: 'ffn_norm',
    'mlp.up_proj': 'ffn_up',
    'mlp.down_proj': 'ffn_down',
  };
  const tail = per[m[2]];
  return tail ? `blk.${m[1]}.${tail}.${m[3]}` : undefined;
}

function expectDims(src: TensorSource, t: Tensor, dims: number[]): void {
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i]))
    throw new FormatError(src.path, `tensor ${t.name} has shape [${t.dims}] but the config implies [${dims}]`);
}

function f32(src: TensorSource, name: string, n: number): Float32Array {
  const t = src.get(name);
  expectDims(src, t, [n]);
  const out = new Float32Array(numElements(t.dims));
  dequantizeRow(t.type, t.data, 0, out, 0, out.length);
  return out;
}

function matrix(src: TensorSource, name: string, cols: number, rows: number): Tensor {
  const t = src.get(name);
  expectDims(src, t, [cols, rows]);
  return t;
}

export function loadSmallWeights(src: TensorSource, c: Phi3SmallConfig, onLayer?: (done: number, total: number) => void): Phi3SmallWeights {
  const h = c.hiddenSize;
  const qkvRows = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const ff = c.intermediateSize;
  const tokenEmbd = matrix(src, 'token_embd.weight', h, c.vocabSize);
  const layers: SmallLayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `blk.${l}.`;
    layers.push({
      attnNormW: f32(src, p + 'attn_norm.weight', h),
      attnNormB: f32(src, p + 'attn_norm.bias', h),
      qkv: matrix(src, p + 'attn_qkv.weight', h, qkvRows),
      qkvB: f32(src, p + 'attn_qkv.bias', qkvRows),
      o: matrix(src, p + 'attn_output.weight', c.numHeads * c.headDim, h),
      oB: f32(src, p + 'attn_output.bias', h),
      ffnNormW: f32(src, p + 'ffn_norm.weight', h),
      ffnNormB: f32(src, p + 'ffn_norm.bias', h),
      up: matrix(src, p + 'ffn_up.weight', h, 2 * ff),
      upB: f32(src, p + 'ffn_up.bias', 2 * ff),
      down: matrix(src, p + 'ffn_down.weight', ff, h),
      downB: f32(src, p + 'ffn_down.bias', h),
    });
    onLayer?.(l + 1, c.numLayers);
  }
  let output = tokenEmbd;
  if (!c.tieWordEmbeddings) {
    if (!src.has('output.weight')) throw new FormatError(src.path, 'tie_word_embeddings is false but there is no lm_head.weight / output.weight');
    output = matrix(src, 'output.weight', h, c.vocabSize);
  }
  return { tokenEmbd, outputNormW: f32(src, 'output_norm.weight', h), outputNormB: f32(src, 'output_norm.bias', h), output, layers };
}
