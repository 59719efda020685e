// Phi3SmallConfig: every number the Phi-3-small forward pass (phi3-small.ts) needs, from a Hugging Face
// config.json (Phi3SmallForCausalLM, ../shared/phi3/FACTS.md §4) or from our own `phi3small` GGUF
// metadata (formats/phi3small-gguf.ts). Field names shared with Phi3Config mean the same thing, so code
// that only needs sizes (info, generation, the server) takes either config.
// Tested by test/phi3-small.test.ts (tiny-small config.json, the 8k preset, malformed configs).
import { FormatError } from '../errors.js';
import { factorList, num, optionalId, positiveInt, type Json } from './config-json.js';

/** Phi-3-small's LongRoPE (128K model): positional_embedding.py semantics, see smallRopeAngles. */
export interface SmallRopeScaling {
  type: 'longrope';
  shortFactor: number[];
  longFactor: number[];
  /** short_mscale (0 = none → 1.0). */
  shortMscale: number;
  /** long_mscale (0 = none → sqrt(1 + ln(max/orig)/ln(orig))). */
  longMscale: number;
}

export interface Phi3SmallConfig {
  architecture: 'phi3small';
  vocabSize: number;
  hiddenSize: number;
  /** ff_intermediate_size: up_proj has 2·I rows (gelu and linear halves interleaved), down_proj I columns. */
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** RoPE covers the whole head. */
  rotaryDim: number;
  contextLength: number;
  originalContextLength: number;
  /** rope_embedding_base (1e6). */
  ropeTheta: number;
  /** rope_position_scale: MULTIPLIES positions (t = p · scale), unlike a "linear" scaling. */
  ropePositionScale: number;
  ropeScaling: SmallRopeScaling | null;
  layerNormEps: number;
  /** Always null: Phi-3-small has no sliding window (kept so size-only code can read either config). */
  slidingWindow: null;
  /** Blocksparse attention (FACTS §4.4): block size in tokens, local blocks, vertical stride, homo-head. */
  blockSize: number;
  localBlocks: number;
  vertStride: number;
  homoHeadPattern: boolean;
  /** Layer i is dense iff denseEveryN > 0 and (i + 1) % denseEveryN == 0; 0 = every layer blocksparse. */
  denseEveryN: number;
  /** GeGeLU clamp (0 = none). */
  gegeluLimit: number;
  mupEmbeddingMultiplier: number;
  mupWidthMultiplier: number;
  mupAttnMultiplier: number;
  mupUseScaling: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  /** Phi-3-small ties lm_head to embed_tokens (HF default, no key in the real config). */
  tieWordEmbeddings: boolean;
  /** Ids whose logits are forced to −inf: the padding "dummy" tokens of tokenization_phi3_small.py. */
  dummyTokenIds: number[];
}


/**
 * The masked ids of tokenization_phi3_small.py (FACTS §4.6): dummy_id_* plus fim_prefix/middle/suffix and
 * endofprompt = [100256, 100258, 100259, 100260, 100264, 100265] ∪ [100267, 100352), within the vocab.
 */
export function phi3SmallDummyTokenIds(vocabSize: number): number[] {
  const ids = [100256, 100258, 100259, 100260, 100264, 100265];
  for (let i = 100267; i < 100352; i++) ids.push(i);
  return ids.filter((i) => i < vocabSize);
}

/** Whether a config.json object describes Phi-3-small. */
export function isPhi3SmallJson(json: Json): boolean {
  const archs = json.architectures;
  return (Array.isArray(archs) && archs.includes('Phi3SmallForCausalLM')) || json.model_type === 'phi3small';
}

/** Builds the config from a Hugging Face `config.json` object (Phi3SmallForCausalLM). */
export function configFromHFSmall(json: Json, source = 'config.json'): Phi3SmallConfig {
  if (!isPhi3SmallJson(json)) throw new FormatError(source, 'not a Phi3SmallForCausalLM config');
  const hiddenSize = positiveInt(json, 'hidden_size', source);
  const numHeads = positiveInt(json, 'num_attention_heads', source);
  const numKvHeads = positiveInt(json, 'num_key_value_heads', source, numHeads);
  if (hiddenSize % numHeads !== 0) throw new FormatError(source, `hidden_size ${hiddenSize} is not divisible by ${numHeads} heads`);
  if (numHeads % numKvHeads !== 0)
    throw new FormatError(source, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const headDim = hiddenSize / numHeads;
  if (headDim % 2 !== 0) throw new FormatError(source, `head dim ${headDim} must be even for RoPE`);
  if (json.ff_intermediate_size === undefined || json.ff_intermediate_size === null)
    throw new FormatError(source, 'config has no "ff_intermediate_size" (deriving it from ff_dim_multiplier is not supported)');
  const contextLength = positiveInt(json, 'max_position_embeddings', source);
  const originalContextLength = positiveInt(json, 'original_max_position_embeddings', source, contextLength);
  const rs = json.rope_scaling as Json | null | undefined;
  let ropeScaling: SmallRopeScaling | null = null;
  if (rs && typeof rs === 'object') {
    const type = (rs.type ?? rs.rope_type) as string;
    if (type !== 'longrope' && type !== 'su')
      throw new FormatError(source, `rope_scaling type "${type}" is not supported (Phi-3-small uses "longrope")`);
    ropeScaling = {
      type: 'longrope',
      shortFactor: factorList(rs.short_factor, headDim / 2, 'short_factor', source),
      longFactor: factorList(rs.long_factor, headDim / 2, 'long_factor', source),
      shortMscale: typeof rs.short_mscale === 'number' ? rs.short_mscale : 0,
      longMscale: typeof rs.long_mscale === 'number' ? rs.long_mscale : 0,
    };
  }
  const blockSize = positiveInt(json, 'blocksparse_block_size', source, 64);
  const kernelBlock = positiveInt(json, 'blocksparse_triton_kernel_block_size', source, blockSize);
  // The original kernel expands the layout with kron to its own block size, which is only exact when
  // the sparse block is a multiple of it (it asserts the same); then the block rule is what it computes.
  if (blockSize % kernelBlock !== 0)
    throw new FormatError(source, `blocksparse_block_size ${blockSize} is not a multiple of the kernel block ${kernelBlock}`);
  const dense = json.dense_attention_every_n_layers;
  const eos = json.eos_token_id;
  const vocabSize = positiveInt(json, 'vocab_size', source);
  return {
    architecture: 'phi3small',
    vocabSize,
    hiddenSize,
    intermediateSize: positiveInt(json, 'ff_intermediate_size', source),
    numLayers: positiveInt(json, 'num_hidden_layers', source),
    numHeads,
    numKvHeads,
    headDim,
    rotaryDim: headDim,
    contextLength,
    originalContextLength,
    ropeTheta: num(json, 'rope_embedding_base', source, 1e6),
    ropePositionScale: num(json, 'rope_position_scale', source, 1),
    ropeScaling,
    layerNormEps: num(json, 'layer_norm_epsilon', source, 1e-5),
    slidingWindow: null,
    blockSize,
    localBlocks: positiveInt(json, 'blocksparse_num_local_blocks', source, 16),
    vertStride: positiveInt(json, 'blocksparse_vert_stride', source, 8),
    homoHeadPattern: json.blocksparse_homo_head_pattern === true,
    denseEveryN: dense === null || dense === undefined ? 0 : num(json, 'dense_attention_every_n_layers', source),
    gegeluLimit: num(json, 'gegelu_limit', source, 0),
    mupEmbeddingMultiplier: num(json, 'mup_embedding_multiplier', source, 0),
    mupWidthMultiplier: num(json, 'mup_width_multiplier', source, 1),
    mupAttnMultiplier: num(json, 'mup_attn_multiplier', source, 1),
    mupUseScaling: json.mup_use_scaling !== false,
    bosTokenId: optionalId(json.bos_token_id),
    eosTokenIds: Array.isArray(eos) ? eos.filter((x) => typeof x === 'number') : typeof eos === 'number' ? [eos] : [],
    padTokenId: optionalId(json.pad_token_id),
    tieWordEmbeddings: json.tie_word_embeddings !== false,
    dummyTokenIds: phi3SmallDummyTokenIds(vocabSize),
  };
}

/** The config.json object of a Phi3SmallConfig (inverse of configFromHFSmall; used by GGUF and presets). */
export function smallConfigToHF(c: Phi3SmallConfig): Json {
  return {
    architectures: ['Phi3SmallForCausalLM'],
    model_type: 'phi3small',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    ff_intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    max_position_embeddings: c.contextLength,
    original_max_position_embeddings: c.originalContextLength,
    rope_embedding_base: c.ropeTheta,
    rope_position_scale: c.ropePositionScale,
    rope_scaling: c.ropeScaling
      ? { type: 'longrope', short_factor: c.ropeScaling.shortFactor, long_factor: c.ropeScaling.longFactor, short_mscale: c.ropeScaling.shortMscale, long_mscale: c.ropeScaling.longMscale }
      : null,
    layer_norm_epsilon: c.layerNormEps,
    blocksparse_block_size: c.blockSize,
    blocksparse_triton_kernel_block_size: c.blockSize,
    blocksparse_num_local_blocks: c.localBlocks,
    blocksparse_vert_stride: c.vertStride,
    blocksparse_homo_head_pattern: c.homoHeadPattern,
    dense_attention_every_n_layers: c.denseEveryN,
    gegelu_limit: c.gegeluLimit,
    mup_embedding_multiplier: c.mupEmbeddingMultiplier,
    mup_width_multiplier: c.mupWidthMultiplier,
    mup_attn_multiplier: c.mupAttnMultiplier,
    mup_use_scaling: c.mupUseScaling,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    pad_token_id: c.padTokenId,
    tie_word_embeddings: c.tieWordEmbeddings,
  };
}

/** Layer i uses dense attention (else blocksparse). FACTS §4.3. */
export function isDenseLayer(c: Phi3SmallConfig, layer: number): boolean {
  return c.denseEveryN > 0 && (layer + 1) % c.denseEveryN === 0;
}

/** Parameter count: embeddings, per-layer matrices with their biases, norms (weight + bias), head if untied. */
export function smallParameterCount(c: Phi3SmallConfig): number {
  const h = c.hiddenSize;
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const ff = c.intermediateSize;
  const perLayer = h * qkv + qkv + h * h + h + h * 2 * ff + 2 * ff + ff * h + h + 4 * h;
  return c.vocabSize * h + c.numLayers * perLayer + 2 * h + (c.tieWordEmbeddings ? 0 : c.vocabSize * h);
}
