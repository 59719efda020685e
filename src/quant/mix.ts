// Which ggml type each tensor gets for a llama.cpp "file type" (Q4_K_M, Q4_0, …): the per-tensor mixes of
// llama.cpp's llama_tensor_get_type_impl + tensor_type_fallback (src/llama-quant.cpp, checked against
// ggml-org/llama.cpp in 2026), reduced to the tensors a Phi-3 model has, so that our files have the sizes
// and the quality users know from llama.cpp. Tested in test/quantize-mix.test.ts (whole-model type
// tables for phi-3-mini and the tiny reference shapes).
// Notes on the llama.cpp rules:
// - attn_qkv counts as "attention-v-like" (category_is_attn_v): Q4_K_M/Q5_K_M give it Q6_K on the
//   use_more_bits layers (else the base type), Q4_K_S gives Q5_K to the first 4. (llama.cpp before its
//   2025 tensor-category refactor gave fused qkv Q5_K in Q4_K_M and Q6_K in Q5_K_M instead.)
// - output.weight: Q8_0 when its rows do not fit the base type's blocks, else Q6_K unless the base is Q8_0.
// - Layer arithmetic is C integer arithmetic (n_layer/8 truncates).
// - A K-quant whose row length is not a multiple of 256 falls back: Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0
//   (and F16 if even 32 does not divide the row), so tiny models hold mostly 32-blocks.
import { Phi3Error } from '../errors.js';
import { FileType } from '../formats/phi3-gguf.js';
import { GGMLType, typeInfo } from './types.js';

export interface FileTypeInfo {
  name: string;
  fileType: FileType;
  /** The type most 2-D weights get. */
  base: GGMLType;
}

export const FILE_TYPES: Record<string, FileTypeInfo> = {
  f32: { name: 'F32', fileType: FileType.ALL_F32, base: GGMLType.F32 },
  f16: { name: 'F16', fileType: FileType.MOSTLY_F16, base: GGMLType.F16 },
  bf16: { name: 'BF16', fileType: FileType.MOSTLY_BF16, base: GGMLType.BF16 },
  q8_0: { name: 'Q8_0', fileType: FileType.MOSTLY_Q8_0, base: GGMLType.Q8_0 },
  q4_0: { name: 'Q4_0', fileType: FileType.MOSTLY_Q4_0, base: GGMLType.Q4_0 },
  q4_k_s: { name: 'Q4_K_S', fileType: FileType.MOSTLY_Q4_K_S, base: GGMLType.Q4_K },
  q4_k_m: { name: 'Q4_K_M', fileType: FileType.MOSTLY_Q4_K_M, base: GGMLType.Q4_K },
  q5_k_s: { name: 'Q5_K_S', fileType: FileType.MOSTLY_Q5_K_S, base: GGMLType.Q5_K },
  q5_k_m: { name: 'Q5_K_M', fileType: FileType.MOSTLY_Q5_K_M, base: GGMLType.Q5_K },
  q6_k: { name: 'Q6_K', fileType: FileType.MOSTLY_Q6_K, base: GGMLType.Q6_K },
};

/** llama.cpp's use_more_bits (C integer division): the first and last eighth of the layers, and every third in between. */
export function useMoreBits(layer: number, nLayers: number): boolean {
  const eighth = Math.trunc(nLayers / 8);
  return layer < eighth || layer >= Math.trunc((7 * nLayers) / 8) || (layer - eighth) % 3 === 2;
}

const QUANTIZED = new Set([GGMLType.Q4_0, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]);

/** llama.cpp tensor_type_fallback: the type used when a row length does not fit `type`'s blocks. */
export function fallbackType(type: GGMLType, rowLength: number): GGMLType {
  const info = typeInfo(type)!;
  if (rowLength % info.blockSize === 0) return type;
  const next: Partial<Record<GGMLType, GGMLType>> = {
    [GGMLType.Q4_K]: GGMLType.Q5_0,
    [GGMLType.Q5_K]: GGMLType.Q5_1,
    [GGMLType.Q6_K]: GGMLType.Q8_0,
  };
  const fb = next[type];
  if (fb === undefined)
    throw new Phi3Error(`row length ${rowLength} is not a multiple of the ${info.name} block size ${info.blockSize}, and llama.cpp defines no fallback for ${info.name}`);
  return rowLength % typeInfo(fb)!.blockSize === 0 ? fb : GGMLType.F16;
}

/** Whether llama.cpp quantizes this tensor at all: 2-D "*weight" tensors that are not norms. */
export function isQuantizable(name: string, dims: number[]): boolean {
  return dims.length >= 2 && name.endsWith('weight') && !name.includes('_norm.weight');
}

/**
 * The type of tensor `name` (GGUF naming) with `dims` in a file of type `ft`. Tensors llama.cpp does not
 * quantize (norms, rope factors: 1-D) stay F32. `tiedEmbeddings`: the model has no output.weight, so
 * token_embd is also the output head and gets the output's type (llama.cpp has_tied_embeddings).
 */
export function tensorTypeFor(ft: FileTypeInfo, name: string, dims: number[], nLayers: number, tiedEmbeddings = false): GGMLType {
  if (!isQuantizable(name, dims)) return GGMLType.F32;
  const base = ft.base;
  if (!QUANTIZED.has(base)) return base; // F32 / F16 / BF16 files: every 2-D weight in that type
  const f = ft.fileType;
  const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
  const kM = f === FileType.MOSTLY_Q4_K_M || f === FileType.MOSTLY_Q5_K_M;
  let type = base;
  if (name === 'output.weight' || (tiedEmbeddings && name === 'token_embd.weight')) {
    if (dims[0] % typeInfo(base)!.blockSize !== 0) type = GGMLType.Q8_0;
    else if (base !== GGMLType.Q8_0) type = GGMLType.Q6_K;
  } else if (name.includes('attn_qkv.weight') || name.includes('attn_v.weight')) {
    if (kM && useMoreBits(layer, nLayers)) type = GGMLType.Q6_K;
    else if (f === FileType.MOSTLY_Q4_K_S && layer < 4) type = GGMLType.Q5_K;
  } else if (name.includes('ffn_down')) {
    if (kM) {
      if (useMoreBits(layer, nLayers)) type = GGMLType.Q6_K;
    } else if (f === FileType.MOSTLY_Q4_K_S && layer < Math.trunc(nLayers / 8)) {
      type = GGMLType.Q5_K;
    }
  }
  return fallbackType(type, dims[0]);
}
