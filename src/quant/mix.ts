// Which ggml type each tensor gets for a llama.cpp "file type" (Q4_K_M, Q4_0, …): the per-tensor mixes of
// llama.cpp's llama_tensor_get_type (src/llama-quant.cpp), reduced to the tensors a Phi-3 model has,
// so that our files have the sizes and the quality users know from llama.cpp.
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

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between. */
export function useMoreBits(layer: number, nLayers: number): boolean {
  return layer < nLayers / 8 || layer >= (7 * nLayers) / 8 || (layer - Math.floor(nLayers / 8)) % 3 === 2;
}

/** When a row length does not fit a K-quant's 256-element blocks, llama.cpp falls back to a 32-block type. */
function fallback(type: GGMLType, rowLength: number): GGMLType {
  const info = typeInfo(type)!;
  if (rowLength % info.blockSize === 0) return type;
  // llama.cpp uses Q5_0/Q5_1 for Q4_K/Q5_K; this engine has no Q5_0/Q5_1, so the next type up is used.
  return type === GGMLType.Q4_K ? GGMLType.Q4_0 : GGMLType.Q8_0;
}

/**
 * The type of tensor `name` (GGUF naming) with `dims` in a file of type `ft`. 1-D tensors (norms, rope
 * factors) stay F32, as in every llama.cpp file.
 */
export function tensorTypeFor(ft: FileTypeInfo, name: string, dims: number[], nLayers: number): GGMLType {
  if (dims.length < 2) return GGMLType.F32;
  const base = ft.base;
  if (base === GGMLType.F32 || base === GGMLType.F16 || base === GGMLType.BF16) return base;
  const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
  let type = base;
  if (name === 'output.weight') {
    type = base === GGMLType.Q8_0 ? GGMLType.Q8_0 : GGMLType.Q6_K;
  } else if (name.endsWith('attn_qkv.weight')) {
    if (ft.fileType === FileType.MOSTLY_Q4_K_M) type = GGMLType.Q5_K;
    else if (ft.fileType === FileType.MOSTLY_Q5_K_M) type = GGMLType.Q6_K;
  } else if (name.endsWith('ffn_down.weight')) {
    const more = useMoreBits(layer, nLayers);
    if (ft.fileType === FileType.MOSTLY_Q4_K_M || ft.fileType === FileType.MOSTLY_Q5_K_M) {
      if (more) type = GGMLType.Q6_K;
    } else if (ft.fileType === FileType.MOSTLY_Q4_K_S && layer < nLayers / 8) {
      type = GGMLType.Q5_K;
    }
  }
  return fallback(type, dims[0]);
}
