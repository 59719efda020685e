// Phi3Config: every number the forward pass needs, read from a Hugging Face config.json, from GGUF
// metadata, or from a preset. One type for all three so the model code never asks where it came from.
import { FormatError } from '../errors.js';
import { smallParameterCount, type Phi3SmallConfig } from './config-small.js';
import { PRESETS } from './presets.js';
import { factorList, num, optionalId, positiveInt, type Json } from './config-json.js';

export interface RopeScaling {
  /** 'longrope' (HF's name; older configs say 'su'): per-dimension frequency divisors. */
  type: 'longrope';
  /** Divisors used while the sequence fits in the original context (length rotaryDim / 2). */
  shortFactor: number[];
  /** Divisors used beyond it (length rotaryDim / 2). */
  longFactor: number[];
  /** cos/sin multiplier ("mscale"), applied with both factor sets: sqrt(1 + ln(s)/ln(orig)). */
  attentionFactor: number;
}

export interface Phi3Config {
  /** Always 'phi3' here (Phi-3-mini, Phi-3-medium, Phi-3.5-mini share it). */
  architecture: 'phi3';
  vocabSize: number;
  /** Residual stream width (3072 mini, 5120 medium). */
  hiddenSize: number;
  /** MLP width I; the fused gate_up weight has 2·I rows. */
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** < numHeads means grouped-query attention (medium: 40 q heads over 10 kv heads). */
  numKvHeads: number;
  headDim: number;
  /** Dimensions rotated by RoPE (= headDim for Phi-3). */
  rotaryDim: number;
  /** max_position_embeddings: the longest sequence the model supports. */
  contextLength: number;
  /** original_max_position_embeddings: where LongRoPE switches from short to long factors. */
  originalContextLength: number;
  ropeTheta: number;
  rmsNormEps: number;
  ropeScaling: RopeScaling | null;
  /** Config's sliding window (informational: llama.cpp ignores it for phi3, and so do we by default). */
  slidingWindow: number | null;
  bosTokenId: number | null;
  /** Every id the config calls end-of-sequence. */
  eosTokenIds: number[];
  padTokenId: number | null;
  tieWordEmbeddings: boolean;
}

/** HF rule: attention factor = sqrt(1 + ln(scale) / ln(original)) when the context was extended. */
export function longRopeAttentionFactor(contextLength: number, originalContextLength: number): number {
  const scale = contextLength / originalContextLength;
  return scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(originalContextLength));
}

/** Builds the config from a Hugging Face `config.json` object (Phi3ForCausalLM). */
export function configFromHF(json: Json, source = 'config.json'): Phi3Config {
  const archs = json.architectures;
  if (Array.isArray(archs) && archs.length > 0 && !archs.includes('Phi3ForCausalLM'))
    throw new FormatError(source, `architecture ${JSON.stringify(archs)} is not supported (expected Phi3ForCausalLM)`);
  const hiddenSize = positiveInt(json, 'hidden_size', source);
  const numHeads = positiveInt(json, 'num_attention_heads', source);
  const numKvHeads = positiveInt(json, 'num_key_value_heads', source, numHeads);
  if (hiddenSize % numHeads !== 0) throw new FormatError(source, `hidden_size ${hiddenSize} is not divisible by ${numHeads} heads`);
  if (numHeads % numKvHeads !== 0)
    throw new FormatError(source, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const headDim = hiddenSize / numHeads;
  const partial = num(json, 'partial_rotary_factor', source, 1);
  const rotaryDim = Math.floor(headDim * partial);
  const contextLength = positiveInt(json, 'max_position_embeddings', source, 4096);
  const originalContextLength = positiveInt(json, 'original_max_position_embeddings', source, contextLength);
  const rs = json.rope_scaling as Json | null | undefined;
  let ropeScaling: RopeScaling | null = null;
  if (rs && typeof rs === 'object') {
    const type = (rs.rope_type ?? rs.type) as string;
    if (type !== 'su' && type !== 'longrope')
      throw new FormatError(source, `rope_scaling type "${type}" is not supported (Phi-3 uses "su"/"longrope")`);
    const half = rotaryDim / 2;
    const attentionFactor =
      typeof rs.attention_factor === 'number'
        ? rs.attention_factor
        : longRopeAttentionFactor(contextLength, originalContextLength);
    ropeScaling = {
      type: 'longrope',
      shortFactor: factorList(rs.short_factor, half, 'short_factor', source),
      longFactor: factorList(rs.long_factor, half, 'long_factor', source),
      attentionFactor,
    };
  }
  const eos = json.eos_token_id;
  return {
    architecture: 'phi3',
    vocabSize: positiveInt(json, 'vocab_size', source),
    hiddenSize,
    intermediateSize: positiveInt(json, 'intermediate_size', source),
    numLayers: positiveInt(json, 'num_hidden_layers', source),
    numHeads,
    numKvHeads,
    headDim,
    rotaryDim,
    contextLength,
    originalContextLength,
    ropeTheta: num(json, 'rope_theta', source, 10000),
    rmsNormEps: num(json, 'rms_norm_eps', source, 1e-5),
    ropeScaling,
    slidingWindow: optionalId(json.sliding_window),
    bosTokenId: optionalId(json.bos_token_id),
    eosTokenIds: Array.isArray(eos) ? eos.filter((x) => typeof x === 'number') : typeof eos === 'number' ? [eos] : [],
    padTokenId: optionalId(json.pad_token_id),
    tieWordEmbeddings: json.tie_word_embeddings === true,
  };
}

/** A preset by name (see presets.ts), e.g. 'phi-3-mini-4k'. */
export function presetConfig(name: string): Phi3Config {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset "${name}"; known: ${Object.keys(PRESETS).join(', ')}`);
  return configFromHF({ architectures: ['Phi3ForCausalLM'], ...p.config }, `preset ${name}`);
}

/** Minimal view of GGUF metadata: key → value (numbers, strings, arrays). */
export type MetaGetter = (key: string) => unknown;

function metaNum(get: MetaGetter, key: string, source: string, fallback?: number): number {
  const v = get(key);
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n === 'number' && Number.isFinite(n)) return n;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new FormatError(source, v === undefined ? `metadata is missing "${key}"` : `metadata "${key}" is not a number`);
}

/**
 * Builds the config from GGUF metadata (llama.cpp's phi3 converter keys, FACTS.md §5). LongRoPE factors
 * live in tensors (rope_factors_long/short.weight), so the caller passes them when present.
 */
export function configFromGGUF(
  get: MetaGetter,
  source: string,
  ropeFactors?: { short: number[]; long: number[] },
): Phi3Config {
  const arch = get('general.architecture');
  if (arch !== 'phi3')
    throw new FormatError(source, `architecture "${String(arch)}" is not supported (this engine runs "phi3")`);
  const k = (s: string) => `phi3.${s}`;
  const hiddenSize = metaNum(get, k('embedding_length'), source);
  const numHeads = metaNum(get, k('attention.head_count'), source);
  const numKvHeads = metaNum(get, k('attention.head_count_kv'), source, numHeads);
  const contextLength = metaNum(get, k('context_length'), source);
  const json: Json = {
    hidden_size: hiddenSize,
    intermediate_size: metaNum(get, k('feed_forward_length'), source),
    num_hidden_layers: metaNum(get, k('block_count'), source),
    num_attention_heads: numHeads,
    num_key_value_heads: numKvHeads,
    max_position_embeddings: contextLength,
    original_max_position_embeddings: metaNum(get, k('rope.scaling.original_context_length'), source, contextLength),
    rope_theta: metaNum(get, k('rope.freq_base'), source, 10000),
    rms_norm_eps: metaNum(get, k('attention.layer_norm_rms_epsilon'), source, 1e-5),
    sliding_window: get(k('attention.sliding_window')) || null,
    bos_token_id: get('tokenizer.ggml.bos_token_id'),
    eos_token_id: get('tokenizer.ggml.eos_token_id'),
    pad_token_id: get('tokenizer.ggml.padding_token_id'),
  };
  const tokens = get('tokenizer.ggml.tokens');
  json.vocab_size = Array.isArray(tokens) ? tokens.length : metaNum(get, k('vocab_size'), source);
  const ropeDim = get(k('rope.dimension_count'));
  if (typeof ropeDim === 'number') json.partial_rotary_factor = ropeDim / (hiddenSize / numHeads);
  if (ropeFactors) {
    const attn = get(k('rope.scaling.attn_factor'));
    json.rope_scaling = {
      type: 'longrope',
      short_factor: ropeFactors.short,
      long_factor: ropeFactors.long,
      ...(typeof attn === 'number' ? { attention_factor: attn } : {}),
    };
  }
  for (const key of Object.keys(json)) if (typeof json[key] === 'bigint') json[key] = Number(json[key]);
  return configFromHF(json, source);
}

/** Parameter count (weights only): embeddings, per-layer matrices and norms, output head. */
export function parameterCount(c: Phi3Config | Phi3SmallConfig): number {
  if (c.architecture === 'phi3small') return smallParameterCount(c);
  const kvDim = c.numKvHeads * c.headDim;
  const perLayer =
    c.hiddenSize * (c.hiddenSize + 2 * kvDim) + // qkv
    c.hiddenSize * c.hiddenSize + // o
    2 * c.intermediateSize * c.hiddenSize + // gate_up
    c.intermediateSize * c.hiddenSize + // down
    2 * c.hiddenSize; // two norms
  const head = c.tieWordEmbeddings ? 0 : c.vocabSize * c.hiddenSize;
  return c.vocabSize * c.hiddenSize + c.numLayers * perLayer + c.hiddenSize + head;
}
