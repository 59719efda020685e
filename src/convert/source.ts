// The input of `phi3 convert` / `phi3 quantize`: a Hugging Face folder (config.json + safetensors, single
// or sharded, + tokenizer) or a GGUF file, opened as a list of tensors in llama.cpp's GGUF names and
// order, each readable a few rows at a time, so the writer never holds more than one output tensor.
//
// Contract: openConvertInput validates everything before any output exists: the folder has a config and
// weights, the architecture is Phi3ForCausalLM / phi3, every tensor the config implies is present with
// the shape the config implies (split q/k/v or gate/up projections are fused by row ranges), no tensor
// is left unmapped, and every dtype is one we can decode. Problems are FormatErrors naming the file.
// Tested in test/convert.test.ts (reference folder → byte-identical GGUF; hostile folders).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FormatError } from '../errors.js';
import { isGGUF, readGGUF, type GGUFFile, type GGUFMetaEntry } from '../formats/gguf.js';
import { openSafetensorsDir, type SafetensorsTensorInfo } from '../formats/safetensors.js';
import { configFromGGUF, configFromHF, type Phi3Config } from '../model/config.js';
import { phi3TensorSpecs } from '../model/random.js';
import { hasCodec } from '../quant/index.js';
import { GGMLType, tensorByteSize, typeName } from '../quant/types.js';
import { spmVocabFromGGUF } from '../tokenizer/spm-gguf.js';
import { readSentencePieceModel } from '../tokenizer/spm-model.js';
import { loadVocab } from '../tokenizer/vocab-source.js';
import type { SpmVocab } from '../tokenizer/vocab.js';

/** A contiguous run of rows stored in one file. */
export interface Segment {
  file: string;
  /** Absolute byte offset of the first row. */
  offset: number;
  rows: number;
}

/** One output tensor: where its rows live, in what type. Rows are dims[1..] flattened; cols = dims[0]. */
export interface InputTensor {
  name: string;
  /** ggml order (dims[0] innermost). */
  dims: number[];
  type: GGMLType;
  segments: Segment[];
  /** Inline data (LongRoPE factors built from config.json). */
  inline?: Uint8Array;
}

export interface ConvertInput {
  format: 'hf' | 'gguf';
  path: string;
  config: Phi3Config;
  vocab: SpmVocab;
  chatTemplate?: string;
  /** general.name for the output. */
  name: string;
  tensors: InputTensor[];
  /** A GGUF input's metadata, copied to the output as llama-quantize does. */
  metadata?: Map<string, GGUFMetaEntry>;
}

export interface OpenInputOptions {
  /** tokenizer.json, its folder, or a Phi-3 GGUF, for folders that lack one. */
  tokenizer?: string;
  name?: string;
}

export function openConvertInput(path: string, opts: OpenInputOptions = {}): ConvertInput {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  return statSync(path).isDirectory() ? openHF(path, opts) : openGGUFInput(path, opts);
}

function readJson(path: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(path, `cannot read JSON: ${(e as Error).message}`);
  }
}

/** llama.cpp marks Phi-3 control tokens RSTRIP only when general.name mentions phi3 / phi-3. */
function phi3Name(name: string): string {
  return /phi-?3/i.test(name) ? name : `phi3 ${name}`;
}

function rowsOf(dims: number[]): number {
  return dims.slice(1).reduce((a, b) => a * b, 1);
}

/** HF tensor names that may feed each GGUF tensor: whole, or as row-stacked parts. */
function hfCandidates(gguf: string): string[][] {
  const fixed: Record<string, string> = {
    'token_embd.weight': 'model.embed_tokens.weight',
    'output_norm.weight': 'model.norm.weight',
    'output.weight': 'lm_head.weight',
  };
  if (fixed[gguf]) return [[fixed[gguf]]];
  const m = /^blk\.(\d+)\.(.+)$/.exec(gguf);
  if (!m) return [];
  const p = `model.layers.${m[1]}.`;
  const per: Record<string, string[][]> = {
    'attn_norm.weight': [[p + 'input_layernorm.weight']],
    'attn_qkv.weight': [[p + 'self_attn.qkv_proj.weight'], [p + 'self_attn.q_proj.weight', p + 'self_attn.k_proj.weight', p + 'self_attn.v_proj.weight']],
    'attn_output.weight': [[p + 'self_attn.o_proj.weight']],
    'ffn_norm.weight': [[p + 'post_attention_layernorm.weight']],
    'ffn_up.weight': [[p + 'mlp.gate_up_proj.weight'], [p + 'mlp.gate_proj.weight', p + 'mlp.up_proj.weight']],
    'ffn_down.weight': [[p + 'mlp.down_proj.weight']],
  };
  return per[m[2]] ?? [];
}

/** HF tensors a Phi-3 checkpoint may carry that hold no weights (llama.cpp's converter skips them too). */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

function openHF(dir: string, opts: OpenInputOptions): ConvertInput {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new FormatError(dir, 'not a Hugging Face model folder: config.json is missing');
  const json = readJson(configPath);
  const archs = json.architectures;
  if (!Array.isArray(archs) || !archs.includes('Phi3ForCausalLM'))
    throw new FormatError(configPath, `architecture ${JSON.stringify(archs)} is not supported (phi3 converts Phi3ForCausalLM: Phi-3/3.5-mini, Phi-3-medium; and Phi3SmallForCausalLM)`);
  const config = configFromHF(json, configPath);
  const { tensors: st } = openSafetensorsDir(dir);
  const used = new Set<string>();
  const tensors: InputTensor[] = [];
  if (config.ropeScaling) {
    // llama.cpp's Phi3MiniModel writes the LongRoPE factors as two F32 tensors, before the weights.
    const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
    const half = config.rotaryDim / 2;
    tensors.push(
      { name: 'rope_factors_long.weight', dims: [half], type: GGMLType.F32, segments: [], inline: f32(config.ropeScaling.longFactor) },
      { name: 'rope_factors_short.weight', dims: [half], type: GGMLType.F32, segments: [], inline: f32(config.ropeScaling.shortFactor) },
    );
  }
  for (const spec of phi3TensorSpecs(config)) {
    const options = hfCandidates(spec.name);
    const found = options.find((parts) => parts.every((p) => st.has(p)));
    if (!found) {
      const want = options.map((o) => o.join(' + ')).join(' or ');
      throw new FormatError(dir, `tensor ${want || spec.name} is missing (needed for ${spec.name})`);
    }
    const infos = found.map((p) => st.get(p) as SafetensorsTensorInfo);
    tensors.push(fromParts(dir, spec.name, spec.dims, infos));
    for (const p of found) used.add(p);
  }
  for (const name of st.keys()) {
    if (used.has(name) || IGNORED.test(name)) continue;
    throw new FormatError(dir, `tensor "${name}" has no place in a Phi-3 GGUF (unexpected for this config)`);
  }
  const tokPath = opts.tokenizer ?? dir;
  if (!opts.tokenizer && !existsSync(join(dir, 'tokenizer.json')))
    throw new FormatError(dir, 'has no tokenizer.json; pass --tokenizer PATH (a tokenizer.json, its folder, or a Phi-3 GGUF)');
  const { vocab, chatTemplate } = loadVocab(tokPath, config.vocabSize);
  applySentencePieceScores(vocab, tokPath);
  const nameOrPath = typeof json._name_or_path === 'string' && json._name_or_path ? basename(json._name_or_path) : basename(dir);
  return { format: 'hf', path: dir, config, vocab, chatTemplate, name: opts.name ?? phi3Name(nameOrPath), tensors };
}

/**
 * llama.cpp's converter takes piece scores from tokenizer.model (tokenizer.json has none), so when the
 * tokenizer folder has one, its scores replace the merge-rank scores for the pieces it defines.
 */
function applySentencePieceScores(vocab: SpmVocab, tokPath: string): void {
  const dir = statSync(tokPath).isDirectory() ? tokPath : dirname(tokPath);
  const modelPath = join(dir, 'tokenizer.model');
  if (!existsSync(modelPath) || (statSync(tokPath).isFile() && isGGUF(tokPath))) return;
  const sp = readSentencePieceModel(modelPath);
  if (sp.pieces.length > vocab.pieces.length)
    throw new FormatError(modelPath, `has ${sp.pieces.length} pieces but the model's vocabulary has ${vocab.pieces.length}`);
  sp.pieces.forEach((piece, i) => {
    if (piece !== vocab.pieces[i])
      throw new FormatError(modelPath, `piece ${i} is ${JSON.stringify(piece)} but tokenizer.json has ${JSON.stringify(vocab.pieces[i])}`);
    vocab.scores[i] = sp.scores[i];
  });
}

/** Stacks HF parts (numpy [rows, cols] each) along rows and checks the result against the config. */
function fromParts(dir: string, name: string, dims: number[], infos: SafetensorsTensorInfo[]): InputTensor {
  const type = infos[0].type;
  for (const t of infos) {
    if (t.type === undefined)
      throw new FormatError(t.file, `tensor "${t.name}" has dtype ${t.dtype}; convert reads F32, F16 and BF16`);
    if (t.type !== type) throw new FormatError(dir, `cannot fuse ${infos.map((i) => `${i.name} (${i.dtype})`).join(', ')}: dtypes differ`);
  }
  const shapeOf = (t: SafetensorsTensorInfo) => (t.shape.length === 0 ? [1] : [...t.shape].reverse());
  const cols = shapeOf(infos[0])[0];
  const rows = infos.reduce((n, t) => n + rowsOf(shapeOf(t)), 0);
  const got = infos.length === 1 ? shapeOf(infos[0]) : [cols, rows];
  const shapeOk = got.length === dims.length && got.every((d, i) => d === dims[i]) && infos.every((t) => shapeOf(t)[0] === cols);
  if (!shapeOk) {
    const hf = infos.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(' + ');
    throw new FormatError(dir, `${hf} does not match the config: ${name} must be [${[...dims].reverse().join(', ')}] (numpy order)`);
  }
  const segments = infos.map((t) => ({ file: t.file, offset: t.offset, rows: rowsOf(shapeOf(t)) }));
  return { name, dims, type: type as GGMLType, segments };
}

function openGGUFInput(path: string, opts: OpenInputOptions): ConvertInput {
  const file: GGUFFile = readGGUF(path);
  const get = (k: string) => file.get(k);
  const arch = get('general.architecture');
  if (arch !== 'phi3') throw new FormatError(path, `architecture "${String(arch)}" is not supported (quantize handles "phi3" GGUFs)`);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const factors = (n: string) => {
    const t = byName.get(n);
    if (!t || t.type !== GGMLType.F32) return undefined;
    const b = readFileRange(path, t.offset, t.nbytes);
    return Array.from(new Float32Array(b.buffer, b.byteOffset, t.nbytes / 4));
  };
  const long = factors('rope_factors_long.weight');
  const short = factors('rope_factors_short.weight');
  const config = configFromGGUF(get, path, long && short ? { long, short } : undefined);
  const vocab = spmVocabFromGGUF(get, path);
  // every tensor the config implies must be there, with its shape; anything else is copied as it is
  for (const spec of phi3TensorSpecs(config)) {
    const t = byName.get(spec.name);
    if (!t) {
      if (spec.name === 'output.weight') continue; // tied: llama.cpp reuses token_embd
      throw new FormatError(path, `tensor ${spec.name} is missing`);
    }
    if (t.dims.length !== spec.dims.length || t.dims.some((d, i) => d !== spec.dims[i]))
      throw new FormatError(path, `tensor ${spec.name} has shape [${t.dims}] but the config implies [${spec.dims}]`);
  }
  const tensors = file.tensors.map((t): InputTensor => {
    if (!hasCodec(t.type)) throw new FormatError(path, `tensor ${t.name} has type ${typeName(t.type)}, which this tool cannot decode`);
    return { name: t.name, dims: t.dims, type: t.type, segments: [{ file: path, offset: t.offset, rows: rowsOf(t.dims) }] };
  });
  const tmpl = get('tokenizer.chat_template');
  const name = get('general.name');
  return {
    format: 'gguf',
    path,
    config,
    vocab,
    chatTemplate: typeof tmpl === 'string' ? tmpl : undefined,
    name: opts.name ?? (typeof name === 'string' ? name : phi3Name(basename(path))),
    tensors,
    metadata: file.metadata,
  };
}

function readFileRange(path: string, offset: number, n: number): Uint8Array {
  const b = Buffer.alloc(n);
  readRows({ file: path, offset, rows: 1 }, 0, n, b);
  return b;
}


/** Reads `nbytes` starting `byteOffset` bytes into a segment; a short read is a FormatError. */
export function readRows(seg: Segment, byteOffset: number, nbytes: number, dst: Uint8Array): void {
  const fd = openSync(seg.file, 'r');
  try {
    for (let done = 0; done < nbytes; ) {
      const n = readSync(fd, dst, done, Math.min(nbytes - done, 1 << 30), seg.offset + byteOffset + done);
      if (n === 0) throw new FormatError(seg.file, `file is truncated: reading ${nbytes} bytes at ${seg.offset + byteOffset}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Bytes of one row of `cols` elements of `type`. */
export function rowBytes(type: GGMLType, cols: number): number {
  const n = tensorByteSize(type, cols);
  if (typeof n === 'string') throw new FormatError('tensor', n);
  return n;
}
