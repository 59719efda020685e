// Opening a model: a GGUF file or a Hugging Face folder (config.json, *.safetensors, tokenizer.json,
// tokenizer_config.json) becomes {config, weights, tokenizer, chat template}. Only headers are parsed
// eagerly; each tensor's bytes are read once, straight into the buffer the model keeps.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, Phi3Error } from './errors.js';
import { readGGUF, readGGUFFrom, readTensorData, type GGUFFile, type GGUFTensorInfo } from './formats/gguf.js';
import type { ByteSource } from './formats/io.js';
import { openSafetensorsDir, readSafetensorsData, toTensor, type SafetensorsTensorInfo } from './formats/safetensors.js';
import { configFromGGUF, configFromHF } from './model/config.js';
import { configFromHFSmall, isPhi3SmallJson } from './model/config-small.js';
import type { ModelConfig } from './model/causal-lm.js';
import { hfSmallToGGUFName } from './model/weights-small.js';
import { configFromSmallGGUF, PHI3SMALL_ARCH } from './formats/phi3small-gguf.js';
import { TiktokenTokenizer } from './tokenizer/tiktoken.js';
import type { Tensor } from './model/tensor.js';
import { hfToGGUFName, type TensorSource } from './model/weights.js';
import { dequantizeRow } from './quant/index.js';
import { typeName as typeNameOf } from './quant/types.js';
import { SpmTokenizer } from './tokenizer/tokenizer.js';
import type { Tokenizer } from './tokenizer/tokenizer.js';

export interface ModelFiles {
  format: 'gguf' | 'hf';
  path: string;
  config: ModelConfig;
  tensors: TensorSource;
  tokenizer: Tokenizer;
  /** Jinja chat template carried by the model, if any. */
  chatTemplate?: string;
  /** Token texts the template needs. */
  bosToken?: string;
  eosToken?: string;
  /** Tensor name → type name, for `phi3 info`. */
  tensorTypes: Map<string, string>;
  /** Bytes of all weights as stored. */
  weightBytes: number;
  /** Human-readable name from the metadata. */
  name?: string;
}

function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FormatError(path, `cannot read: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(path, `invalid JSON: ${(e as Error).message}`);
  }
}

class GGUFSource implements TensorSource {
  allocate?: (bytes: number) => Uint8Array;
  private readonly byName = new Map<string, GGUFTensorInfo>();
  constructor(readonly file: GGUFFile) {
    for (const t of file.tensors) this.byName.set(t.name, t);
  }
  get path(): string {
    return this.file.path;
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  get(name: string): Tensor {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(this.path, `missing tensor ${name}`);
    return { name, type: info.type, dims: info.dims, data: readTensorData(this.file, info, this.allocate?.(info.nbytes)) };
  }
}

class SafetensorsSource implements TensorSource {
  allocate?: (bytes: number) => Uint8Array;
  /** GGUF name → safetensors entry */
  private readonly byName = new Map<string, SafetensorsTensorInfo>();
  constructor(
    readonly path: string,
    tensors: Map<string, SafetensorsTensorInfo>,
    toName: (hf: string) => string | undefined = hfToGGUFName,
  ) {
    for (const [hf, info] of tensors) {
      const name = toName(hf);
      if (name) this.byName.set(name, info);
    }
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  get(name: string): Tensor {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(this.path, `missing tensor for ${name}`);
    return { ...toTensor(info, readSafetensorsData(info, this.allocate?.(info.nbytes))), name };
  }
}

function ropeFactorsFromGGUF(src: GGUFSource): { short: number[]; long: number[] } | undefined {
  if (!src.has('rope_factors_long.weight') || !src.has('rope_factors_short.weight')) return undefined;
  const read = (name: string) => {
    const t = src.get(name);
    const out = new Float32Array(t.dims[0]);
    dequantizeRow(t.type, t.data, 0, out, 0, out.length);
    return Array.from(out);
  };
  return { short: read('rope_factors_short.weight'), long: read('rope_factors_long.weight') };
}

function tokenText(tok: Tokenizer, id: unknown): string | undefined {
  return typeof id === 'number' && id >= 0 && id < tok.vocabSize ? tok.idToPiece(id) : undefined;
}

/** A GGUF file by path, or as a ByteSource (how browsers pass a File or an OPFS file). */
export function openGGUF(input: string | ByteSource): ModelFiles {
  const file = typeof input === 'string' ? readGGUF(input) : readGGUFFrom(input);
  const path = file.path;
  const src = new GGUFSource(file);
  const get = (key: string) => file.get(key);
  const small = get('general.architecture') === PHI3SMALL_ARCH;
  const config = small ? configFromSmallGGUF(get, path, ropeFactorsFromGGUF(src)) : configFromGGUF(get, path, ropeFactorsFromGGUF(src));
  const tokenizer = small ? TiktokenTokenizer.fromGGUFMetadata(get, path) : SpmTokenizer.fromGGUFMetadata(get, path);
  const template = file.get('tokenizer.chat_template');
  const tensorTypes = new Map<string, string>();
  let weightBytes = 0;
  for (const t of file.tensors) {
    tensorTypes.set(t.name, typeNameOf(t.type));
    weightBytes += t.nbytes;
  }
  const name = file.get('general.name');
  return {
    format: 'gguf',
    path,
    config,
    tensors: src,
    tokenizer,
    chatTemplate: typeof template === 'string' ? template : undefined,
    bosToken: tokenText(tokenizer, file.get('tokenizer.ggml.bos_token_id')),
    eosToken: tokenText(tokenizer, file.get('tokenizer.ggml.eos_token_id')),
    tensorTypes,
    weightBytes,
    name: typeof name === 'string' ? name : undefined,
  };
}

export interface OpenOptions {
  /** A tokenizer.json (or a folder holding one) to use instead of the model's own. */
  tokenizer?: string;
}

function findTokenizer(dir: string, override?: string): { tok: string; cfg?: string } {
  const base = override ? (statSync(override).isDirectory() ? override : undefined) : dir;
  const tok = override && !base ? override : join(base!, 'tokenizer.json');
  if (!existsSync(tok))
    throw new FormatError(dir, `no tokenizer.json found${override ? ` at ${override}` : ''}; pass --tokenizer PATH`);
  const cfgDir = base ?? dir;
  const cfg = [join(cfgDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json')].find(existsSync);
  return { tok, cfg };
}

export function openHFFolder(dir: string, opts: OpenOptions = {}): ModelFiles {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new FormatError(dir, 'not a Hugging Face model folder: config.json is missing');
  const cfgJson = readJsonFile(configPath);
  if (isPhi3SmallJson(cfgJson)) return openHFSmallFolder(dir, cfgJson, configPath, opts);
  const config = configFromHF(cfgJson, configPath);
  const { tensors } = openSafetensorsDir(dir);
  const { tok, cfg } = findTokenizer(dir, opts.tokenizer);
  const tokJson = readJsonFile(tok);
  const tokCfg = cfg ? readJsonFile(cfg) : undefined;
  const tokenizer = SpmTokenizer.fromTokenizerJson(tokJson, tokCfg, tok);
  const tensorTypes = new Map<string, string>();
  let weightBytes = 0;
  for (const [name, info] of tensors) {
    tensorTypes.set(name, info.dtype);
    weightBytes += info.nbytes;
  }
  const special = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'object' && v ? ((v as { content?: string }).content ?? undefined) : undefined);
  return {
    format: 'hf',
    path: dir,
    config,
    tensors: new SafetensorsSource(dir, tensors),
    tokenizer,
    chatTemplate: typeof tokCfg?.chat_template === 'string' ? tokCfg.chat_template : undefined,
    bosToken: special(tokCfg?.bos_token),
    eosToken: special(tokCfg?.eos_token),
    tensorTypes,
    weightBytes,
    name: typeof cfgJson._name_or_path === 'string' ? cfgJson._name_or_path : undefined,
  };
}

/**
 * A Phi-3-small folder: config.json, *.safetensors and the tiktoken ranks (cl100k_base.tiktoken, as the
 * HF repo ships it, or --tokenizer FILE|FOLDER); chat template from tokenizer_config.json if present.
 */
function openHFSmallFolder(dir: string, cfgJson: Record<string, unknown>, configPath: string, opts: OpenOptions): ModelFiles {
  const config = configFromHFSmall(cfgJson, configPath);
  const { tensors } = openSafetensorsDir(dir);
  const where = opts.tokenizer ?? dir;
  const tikPath = existsSync(where) && statSync(where).isDirectory() ? join(where, 'cl100k_base.tiktoken') : where;
  if (!existsSync(tikPath))
    throw new FormatError(dir, `no tiktoken ranks at ${tikPath}; pass --tokenizer PATH (cl100k_base.tiktoken or its folder)`);
  const tokenizer = TiktokenTokenizer.fromTiktokenFile(tikPath, config.vocabSize);
  const cfgFile = join(dir, 'tokenizer_config.json');
  const tokCfg = existsSync(cfgFile) ? readJsonFile(cfgFile) : undefined;
  const tensorTypes = new Map<string, string>();
  let weightBytes = 0;
  for (const [name, info] of tensors) {
    tensorTypes.set(name, info.dtype);
    weightBytes += info.nbytes;
  }
  return {
    format: 'hf',
    path: dir,
    config,
    tensors: new SafetensorsSource(dir, tensors, hfSmallToGGUFName),
    tokenizer,
    chatTemplate: typeof tokCfg?.chat_template === 'string' ? tokCfg.chat_template : undefined,
    bosToken: '<|endoftext|>',
    eosToken: '<|endoftext|>',
    tensorTypes,
    weightBytes,
    name: typeof cfgJson._name_or_path === 'string' ? cfgJson._name_or_path : undefined,
  };
}

/** Opens a GGUF file or a Hugging Face folder (by path), or a GGUF ByteSource. */
export function openModelFiles(path: string | ByteSource, opts: OpenOptions = {}): ModelFiles {
  if (typeof path !== 'string') return openGGUF(path);
  if (!existsSync(path)) throw new Phi3Error(`${path}: no such file or folder`);
  return statSync(path).isDirectory() ? openHFFolder(path, opts) : openGGUF(path);
}
