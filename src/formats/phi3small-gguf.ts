// Our GGUF form of Phi-3-small. llama.cpp has no Phi-3-small architecture (FACTS.md §5), so there is no
// convention to follow; this file defines one, in llama.cpp's naming style, and is its only writer/reader
// of metadata (`phi3 init`, convert and quantize use phi3SmallMetadata; load.ts uses configFromSmallGGUF).
//
// Metadata (A = "phi3small"):
//   general.architecture                     str   "phi3small"
//   A.context_length                         u32   max_position_embeddings
//   A.rope.scaling.original_context_length   u32   original_max_position_embeddings
//   A.embedding_length                       u32   hidden_size
//   A.feed_forward_length                    u32   ff_intermediate_size (ffn_up has 2× rows)
//   A.block_count                            u32   num_hidden_layers
//   A.attention.head_count / head_count_kv   u32   query / key-value heads (head dim = embedding/heads)
//   A.attention.layer_norm_epsilon           f32   LayerNorm eps
//   A.rope.freq_base                         f32   rope_embedding_base
//   A.rope.position_scale                    f32   rope_position_scale (multiplies positions)
//   A.rope.scaling.short_mscale / long_mscale f32  LongRoPE mscales (only with the rope_factors tensors)
//   A.blocksparse.block_size                 u32   blocksparse_block_size
//   A.blocksparse.local_blocks               u32   blocksparse_num_local_blocks
//   A.blocksparse.vert_stride                u32   blocksparse_vert_stride
//   A.blocksparse.homo_head                  bool  blocksparse_homo_head_pattern
//   A.attention.dense_every_n_layers         u32   dense_attention_every_n_layers (0 = all blocksparse)
//   A.gegelu_limit                           f32   GeGeLU clamp
//   A.mup.embedding_multiplier / width_multiplier / attn_multiplier  f32
//   A.mup.use_scaling                        bool
//   A.tie_word_embeddings                    bool  (true: no output.weight)
//   tokenizer.ggml.model "tiktoken", tokenizer.ggml.pre "cl100k_base" (the pre-tokenizer regex),
//   tokenizer.ggml.tokens (GPT-2 byte-level strings for ranks = ids 0..n−1, then special-token texts),
//   tokenizer.ggml.token_type (1 normal, 3 control, 5 unused), bos/eos ids, add_bos/add_eos false,
//   tokenizer.chat_template.
// Tensors (dims in ggml order [cols, rows]); layouts exactly as Microsoft's checkpoint:
//   token_embd.weight [h, vocab]   output.weight [h, vocab] (only if untied)   output_norm.{weight,bias} [h]
//   rope_factors_short.weight / rope_factors_long.weight [head_dim/2] F32 (LongRoPE models only)
//   blk.N.attn_norm.{weight,bias} [h]
//   blk.N.attn_qkv.weight [h, (H+2·Hkv)·d], .bias — rows grouped per kv head g: [q_{gG}..q_{gG+G−1}, k_g, v_g]
//   blk.N.attn_output.weight [H·d, h], .bias      (HF self_attn.dense)
//   blk.N.ffn_norm.{weight,bias} [h]              (HF post_attention_layernorm)
//   blk.N.ffn_up.weight [h, 2·ff], .bias          rows interleaved: even = gelu input, odd = linear input
//   blk.N.ffn_down.weight [ff, h], .bias
// Tested by test/phi3-small.test.ts (tiny-small → GGUF → same logits; random Q4_0 model runs).
import { FormatError } from '../errors.js';
import { configFromHFSmall, type Phi3SmallConfig } from '../model/config-small.js';
import type { TiktokenTokenizer } from '../tokenizer/tiktoken.js';
import { GGUFValueType as V, ggufArray, type GGUFMetaEntry } from './gguf.js';
import type { FileType } from './phi3-gguf.js';

export const PHI3SMALL_ARCH = 'phi3small';

export interface Phi3SmallMetadataInput {
  config: Phi3SmallConfig;
  tokenizer: TiktokenTokenizer;
  name: string;
  fileType: FileType;
  chatTemplate?: string;
}

const u32 = (value: number): GGUFMetaEntry => ({ type: V.UINT32, value });
const f32 = (value: number): GGUFMetaEntry => ({ type: V.FLOAT32, value });
const str = (value: string): GGUFMetaEntry => ({ type: V.STRING, value });
const bool = (value: boolean): GGUFMetaEntry => ({ type: V.BOOL, value });

export function phi3SmallMetadata(m: Phi3SmallMetadataInput): Array<[string, GGUFMetaEntry]> {
  const c = m.config;
  const A = (k: string) => `${PHI3SMALL_ARCH}.${k}`;
  const out: Array<[string, GGUFMetaEntry]> = [
    ['general.architecture', str(PHI3SMALL_ARCH)],
    ['general.name', str(m.name)],
    [A('context_length'), u32(c.contextLength)],
    [A('rope.scaling.original_context_length'), u32(c.originalContextLength)],
    [A('embedding_length'), u32(c.hiddenSize)],
    [A('feed_forward_length'), u32(c.intermediateSize)],
    [A('block_count'), u32(c.numLayers)],
    [A('attention.head_count'), u32(c.numHeads)],
    [A('attention.head_count_kv'), u32(c.numKvHeads)],
    [A('attention.layer_norm_epsilon'), f32(c.layerNormEps)],
    [A('rope.freq_base'), f32(c.ropeTheta)],
    [A('rope.position_scale'), f32(c.ropePositionScale)],
    [A('blocksparse.block_size'), u32(c.blockSize)],
    [A('blocksparse.local_blocks'), u32(c.localBlocks)],
    [A('blocksparse.vert_stride'), u32(c.vertStride)],
    [A('blocksparse.homo_head'), bool(c.homoHeadPattern)],
    [A('attention.dense_every_n_layers'), u32(c.denseEveryN)],
    [A('gegelu_limit'), f32(c.gegeluLimit)],
    [A('mup.embedding_multiplier'), f32(c.mupEmbeddingMultiplier)],
    [A('mup.width_multiplier'), f32(c.mupWidthMultiplier)],
    [A('mup.attn_multiplier'), f32(c.mupAttnMultiplier)],
    [A('mup.use_scaling'), bool(c.mupUseScaling)],
    [A('tie_word_embeddings'), bool(c.tieWordEmbeddings)],
    ['general.file_type', u32(m.fileType)],
    ['general.quantization_version', u32(2)],
  ];
  if (c.ropeScaling)
    out.push([A('rope.scaling.short_mscale'), f32(c.ropeScaling.shortMscale)], [A('rope.scaling.long_mscale'), f32(c.ropeScaling.longMscale)]);
  const v = m.tokenizer.ggufVocab();
  if (v.tokens.length !== c.vocabSize)
    throw new FormatError('phi3small metadata', `tokenizer has ${v.tokens.length} ids but the model's vocab_size is ${c.vocabSize}`);
  out.push(
    ['tokenizer.ggml.model', str('tiktoken')],
    ['tokenizer.ggml.pre', str('cl100k_base')],
    ['tokenizer.ggml.tokens', { type: V.ARRAY, arrayType: V.STRING, value: ggufArray(V.STRING, v.tokens) }],
    ['tokenizer.ggml.token_type', { type: V.ARRAY, arrayType: V.INT32, value: ggufArray(V.INT32, v.types) }],
  );
  if (m.tokenizer.bosId !== undefined) out.push(['tokenizer.ggml.bos_token_id', u32(m.tokenizer.bosId)]);
  if (m.tokenizer.eosId !== undefined) out.push(['tokenizer.ggml.eos_token_id', u32(m.tokenizer.eosId)]);
  out.push(['tokenizer.ggml.add_bos_token', bool(false)], ['tokenizer.ggml.add_eos_token', bool(false)]);
  if (m.chatTemplate) out.push(['tokenizer.chat_template', str(m.chatTemplate)]);
  return out;
}

type Get = (key: string) => unknown;

function metaNum(get: Get, key: string, source: string, fallback?: number): number {
  const v = get(key);
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n === 'number' && Number.isFinite(n)) return n;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new FormatError(source, v === undefined ? `metadata is missing "${key}"` : `metadata "${key}" is not a number`);
}

/** The config from phi3small GGUF metadata (LongRoPE factors come from tensors, passed by the caller). */
export function configFromSmallGGUF(get: Get, source: string, ropeFactors?: { short: number[]; long: number[] }): Phi3SmallConfig {
  if (get('general.architecture') !== PHI3SMALL_ARCH) throw new FormatError(source, `general.architecture is not "${PHI3SMALL_ARCH}"`);
  const A = (k: string) => `${PHI3SMALL_ARCH}.${k}`;
  const n = (k: string, fallback?: number) => metaNum(get, A(k), source, fallback);
  const b = (k: string, fallback: boolean) => {
    const v = get(A(k));
    return typeof v === 'boolean' ? v : fallback;
  };
  const tokens = get('tokenizer.ggml.tokens');
  const ctx = n('context_length');
  const json: Record<string, unknown> = {
    architectures: ['Phi3SmallForCausalLM'],
    vocab_size: Array.isArray(tokens) ? tokens.length : undefined,
    hidden_size: n('embedding_length'),
    ff_intermediate_size: n('feed_forward_length'),
    num_hidden_layers: n('block_count'),
    num_attention_heads: n('attention.head_count'),
    num_key_value_heads: n('attention.head_count_kv'),
    max_position_embeddings: ctx,
    original_max_position_embeddings: n('rope.scaling.original_context_length', ctx),
    layer_norm_epsilon: n('attention.layer_norm_epsilon', 1e-5),
    rope_embedding_base: n('rope.freq_base', 1e6),
    rope_position_scale: n('rope.position_scale', 1),
    blocksparse_block_size: n('blocksparse.block_size'),
    blocksparse_num_local_blocks: n('blocksparse.local_blocks'),
    blocksparse_vert_stride: n('blocksparse.vert_stride'),
    blocksparse_homo_head_pattern: b('blocksparse.homo_head', false),
    dense_attention_every_n_layers: n('attention.dense_every_n_layers', 0),
    gegelu_limit: n('gegelu_limit', 0),
    mup_embedding_multiplier: n('mup.embedding_multiplier', 0),
    mup_width_multiplier: n('mup.width_multiplier', 1),
    mup_attn_multiplier: n('mup.attn_multiplier', 1),
    mup_use_scaling: b('mup.use_scaling', true),
    tie_word_embeddings: b('tie_word_embeddings', true),
    bos_token_id: metaNum(get, 'tokenizer.ggml.bos_token_id', source, -1),
    eos_token_id: metaNum(get, 'tokenizer.ggml.eos_token_id', source, -1),
  };
  if (ropeFactors)
    json.rope_scaling = {
      type: 'longrope',
      short_factor: ropeFactors.short,
      long_factor: ropeFactors.long,
      short_mscale: n('rope.scaling.short_mscale', 0),
      long_mscale: n('rope.scaling.long_mscale', 0),
    };
  if (json.vocab_size === undefined) throw new FormatError(source, 'no tokenizer.ggml.tokens: the vocabulary size is unknown');
  return configFromHFSmall(json, source);
}
