// Named Phi-3 weights, loaded from any tensor source (GGUF or Hugging Face safetensors) and checked
// against the config. Names follow llama.cpp's GGUF names (FACTS.md §5); HF names are mapped onto
// them. Fixes happen here, once, at load time: split q/k/v or gate/up are fused, norms become f32.
import { FormatError } from '../errors.js';
import { dequantizeRow } from '../quant/index.js';
import { typeName } from '../quant/types.js';
import type { Phi3Config } from './config.js';
import { numElements, type Tensor } from './tensor.js';

export interface LayerWeights {
  attnNorm: Float32Array; // [hidden]
  qkv: Tensor; // [hidden] -> [hidden + 2·kvDim], rows Q | K | V
  o: Tensor; // [hidden] -> [hidden]
  ffnNorm: Float32Array; // [hidden]
  gateUp: Tensor; // [hidden] -> [2·ff], rows gate | up
  down: Tensor; // [ff] -> [hidden]
}

export interface Phi3Weights {
  tokenEmbd: Tensor; // [hidden] x vocab rows
  outputNorm: Float32Array; // [hidden]
  output: Tensor; // [hidden] -> [vocab] (the embedding itself when tied)
  layers: LayerWeights[];
}

/** Where tensors come from: a loaded file, addressed by GGUF tensor name. */
export interface TensorSource {
  readonly path: string;
  has(name: string): boolean;
  /** Reads (once) and returns the tensor; throws FormatError if absent. */
  get(name: string): Tensor;
  /** Where get() puts tensor bytes (a backend's memory, e.g. WASM), instead of a fresh Uint8Array. */
  allocate?: (bytes: number) => Uint8Array;
}

/** Hugging Face Phi3ForCausalLM names → GGUF names (llama.cpp gguf-py tensor_mapping). */
export function hfToGGUFName(hf: string): string | undefined {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return undefined;
  const per: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'self_attn.qkv_proj.weight': 'attn_qkv.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_up_proj.weight': 'ffn_up.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up_only.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const tail = per[m[2]];
  return tail ? `blk.${m[1]}.${tail}` : undefined;
}

function expectDims(src: TensorSource, t: Tensor, dims: number[]): void {
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i]))
    throw new FormatError(src.path, `tensor ${t.name} has shape [${t.dims}] but the config implies [${dims}]`);
}

function toF32(src: TensorSource, t: Tensor, dims: number[]): Float32Array {
  expectDims(src, t, dims);
  const out = new Float32Array(numElements(t.dims));
  dequantizeRow(t.type, t.data, 0, out, 0, out.length);
  return out;
}

/** Stacks tensors along rows (dims[1]); rows are independent, so quantized blocks concatenate as bytes. */
function concatRows(src: TensorSource, name: string, parts: Tensor[]): Tensor {
  const type = parts[0].type;
  if (parts.some((p) => p.type !== type || p.dims[0] !== parts[0].dims[0]))
    throw new FormatError(src.path, `cannot fuse ${parts.map((p) => `${p.name} (${typeName(p.type)})`).join(', ')}: types or widths differ`);
  const data = new Uint8Array(parts.reduce((n, p) => n + p.data.length, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { name, type, dims: [parts[0].dims[0], parts.reduce((n, p) => n + p.dims[1], 0)], data };
}

function fused(src: TensorSource, name: string, parts: string[]): Tensor {
  if (src.has(name)) return src.get(name);
  if (parts.every((p) => src.has(p))) return concatRows(src, name, parts.map((p) => src.get(p)));
  throw new FormatError(src.path, `missing tensor ${name} (nor its parts ${parts.join(', ')})`);
}

export function loadWeights(src: TensorSource, c: Phi3Config, onLayer?: (done: number, total: number) => void): Phi3Weights {
  const h = c.hiddenSize;
  const kvDim = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  const tokenEmbd = src.get('token_embd.weight');
  expectDims(src, tokenEmbd, [h, c.vocabSize]);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `blk.${l}.`;
    const qkv = fused(src, p + 'attn_qkv.weight', [p + 'attn_q.weight', p + 'attn_k.weight', p + 'attn_v.weight']);
    // A GGUF's ffn_up holds gate|up fused; HF checkpoints with separate projections map up to ffn_up_only.
    const gateUp = src.has(p + 'ffn_gate.weight')
      ? concatRows(src, p + 'ffn_up.weight', [src.get(p + 'ffn_gate.weight'), src.get(p + (src.has(p + 'ffn_up_only.weight') ? 'ffn_up_only.weight' : 'ffn_up.weight'))])
      : src.get(p + 'ffn_up.weight');
    const layer: LayerWeights = {
      attnNorm: toF32(src, src.get(p + 'attn_norm.weight'), [h]),
      qkv,
      o: src.get(p + 'attn_output.weight'),
      ffnNorm: toF32(src, src.get(p + 'ffn_norm.weight'), [h]),
      gateUp,
      down: src.get(p + 'ffn_down.weight'),
    };
    expectDims(src, layer.qkv, [h, c.numHeads * c.headDim + 2 * kvDim]);
    expectDims(src, layer.o, [c.numHeads * c.headDim, h]);
    expectDims(src, layer.gateUp, [h, 2 * ff]);
    expectDims(src, layer.down, [ff, h]);
    layers.push(layer);
    onLayer?.(l + 1, c.numLayers);
  }
  const output = src.has('output.weight') ? src.get('output.weight') : tokenEmbd;
  expectDims(src, output, [h, c.vocabSize]);
  return { tokenEmbd, outputNorm: toF32(src, src.get('output_norm.weight'), [h]), output, layers };
}
