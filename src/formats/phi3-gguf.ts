// The GGUF metadata of a Phi-3 model, key for key and type for type as llama.cpp's converter writes it
// (convert_hf_to_gguf.py Phi3MiniModel; FACTS.md §5; the tiny reference GGUFs). Used by every writer of
// Phi-3 GGUF files (`phi3 init`, `phi3 convert`, `phi3 quantize`) so they all agree with llama.cpp.
import type { Phi3Config } from '../model/config.js';
import type { SpmVocab } from '../tokenizer/vocab.js';
import { GGUFValueType as V, ggufArray, type GGUFMetaEntry } from './gguf.js';

/** llama.cpp `enum llama_ftype` values for general.file_type. */
export enum FileType {
  ALL_F32 = 0,
  MOSTLY_F16 = 1,
  MOSTLY_Q4_0 = 2,
  MOSTLY_Q8_0 = 7,
  MOSTLY_Q4_K_S = 14,
  MOSTLY_Q4_K_M = 15,
  MOSTLY_Q5_K_S = 16,
  MOSTLY_Q5_K_M = 17,
  MOSTLY_Q6_K = 18,
  MOSTLY_BF16 = 32,
}

export interface Phi3MetadataInput {
  config: Phi3Config;
  vocab: SpmVocab;
  name: string;
  fileType: FileType;
  chatTemplate?: string;
}

const u32 = (value: number): GGUFMetaEntry => ({ type: V.UINT32, value });
const f32 = (value: number): GGUFMetaEntry => ({ type: V.FLOAT32, value });
const str = (value: string): GGUFMetaEntry => ({ type: V.STRING, value });
const bool = (value: boolean): GGUFMetaEntry => ({ type: V.BOOL, value });

export function phi3Metadata(m: Phi3MetadataInput): Array<[string, GGUFMetaEntry]> {
  const c = m.config;
  const v = m.vocab;
  const out: Array<[string, GGUFMetaEntry]> = [
    ['general.architecture', str('phi3')],
    ['general.name', str(m.name)],
    ['phi3.context_length', u32(c.contextLength)],
    ['phi3.rope.scaling.original_context_length', u32(c.originalContextLength)],
    ['phi3.embedding_length', u32(c.hiddenSize)],
    ['phi3.feed_forward_length', u32(c.intermediateSize)],
    ['phi3.block_count', u32(c.numLayers)],
    ['phi3.attention.head_count', u32(c.numHeads)],
    ['phi3.attention.head_count_kv', u32(c.numKvHeads)],
    ['phi3.attention.layer_norm_rms_epsilon', f32(c.rmsNormEps)],
    ['phi3.rope.dimension_count', u32(c.rotaryDim)],
    ['phi3.rope.freq_base', f32(c.ropeTheta)],
    ['general.file_type', u32(m.fileType)],
    // 0 when the config has none; llama.cpp reads it but does not apply it for phi3.
    ['phi3.attention.sliding_window', u32(c.slidingWindow ?? 0)],
  ];
  if (c.ropeScaling) out.push(['phi3.rope.scaling.attn_factor', f32(c.ropeScaling.attentionFactor)]);
  out.push(
    ['general.quantization_version', u32(2)],
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.pre', str('default')],
    ['tokenizer.ggml.tokens', { type: V.ARRAY, arrayType: V.STRING, value: ggufArray(V.STRING, v.pieces) }],
    ['tokenizer.ggml.scores', { type: V.ARRAY, arrayType: V.FLOAT32, value: ggufArray(V.FLOAT32, Array.from(v.scores)) }],
    ['tokenizer.ggml.token_type', { type: V.ARRAY, arrayType: V.INT32, value: ggufArray(V.INT32, Array.from(v.types)) }],
  );
  const ids: Array<[string, number | undefined]> = [
    ['tokenizer.ggml.bos_token_id', v.bosId],
    ['tokenizer.ggml.eos_token_id', v.eosId],
    ['tokenizer.ggml.unknown_token_id', v.unkId],
    ['tokenizer.ggml.padding_token_id', v.padId],
  ];
  for (const [key, id] of ids) if (id !== undefined) out.push([key, u32(id)]);
  out.push(['tokenizer.ggml.add_bos_token', bool(v.addBos)], ['tokenizer.ggml.add_eos_token', bool(v.addEos)]);
  if (m.chatTemplate) out.push(['tokenizer.chat_template', str(m.chatTemplate)]);
  return out;
}
