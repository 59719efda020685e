// safetensors reader and writer (Hugging Face checkpoints), single files and sharded directories.
//
// Layout: u64 LE header length N, then N bytes of UTF-8 JSON
//   { "<name>": { "dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end] }, …,
//     "__metadata__": { "<str>": "<str>" } }
// then the data buffer; offsets are relative to its start (byte 8 + N) and `end` is exclusive.
// Shapes are numpy order (outermost first); toTensor reverses them into ggml dims.
//
// Contract: readSafetensorsHeader reads only the header and validates it (sizes, offsets inside the
// file, byte counts that match shape × dtype) with FormatError(path, problem). Every dtype the
// format defines is listed with its `type` left undefined when this engine cannot compute with it
// (I64, F64, BOOL, F8_*…); such a tensor is rejected only when someone reads it.
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FormatError, RequestError } from '../errors.js';
import { GGMLType } from '../quant/types.js';
import type { Tensor } from '../model/tensor.js';
import { FileReader, FileWriter, alignUp, fdSource, readFully, withFile } from './io.js';

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  /** Absolute file offset of the first byte. */
  offset: number;
  nbytes: number;
  /** The GGML type for F32/F16/BF16; undefined for dtypes this engine does not compute with. */
  type?: GGMLType;
}

export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensorInfo>;
}

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsWriteTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

/** A header above this is corruption (real ones are a few hundred KB even for 100B-parameter shards). */
export const MAX_HEADER_BYTES = 100_000_000;
export const INDEX_FILE = 'model.safetensors.index.json';

const SUPPORTED: Record<string, GGMLType> = { F32: GGMLType.F32, F16: GGMLType.F16, BF16: GGMLType.BF16 };
/** Bits per element of every dtype the format defines (sub-byte float types pack several per byte). */
const DTYPE_BITS: Record<string, number> = {
  F64: 64, F32: 32, F16: 16, BF16: 16, I64: 64, I32: 32, I16: 16, I8: 8, U64: 64, U32: 32, U16: 16, U8: 8,
  BOOL: 8, F8_E4M3: 8, F8_E5M2: 8, F8_E8M0: 8, F6_E2M3: 6, F6_E3M2: 6, F4: 4,
};

export function readSafetensorsHeader(path: string): SafetensorsFile {
  return withFile(path, (fd, size) => parseHeader(new FileReader(fdSource(fd, size, path))));
}

function parseHeader(r: FileReader): SafetensorsFile {
  if (r.size < 8) r.fail(`file is truncated: ${r.size} bytes, too short for the 8-byte safetensors header length`);
  const n = r.u64('header length');
  if (n > BigInt(r.size - 8)) r.fail(`header of ${n} bytes but file has ${r.size} bytes (truncated or not safetensors)`);
  if (n > BigInt(MAX_HEADER_BYTES)) r.fail(`header length ${n} is absurd (limit ${MAX_HEADER_BYTES} bytes)`);
  const json = parseJson(r, r.bytes(Number(n), 'header'));
  const dataStart = 8 + Number(n);
  const file: SafetensorsFile = { path: r.path, metadata: {}, tensors: new Map() };
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') file.metadata = parseMetadata(r, entry);
    else file.tensors.set(name, parseEntry(r, name, entry, dataStart));
  }
  return file;
}

function parseJson(r: FileReader, bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return r.fail('header is not valid UTF-8');
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    return r.fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) return r.fail(`header is not a JSON object (found ${describeJson(json)})`);
  return json;
}

function parseMetadata(r: FileReader, m: unknown): Record<string, string> {
  if (!isObject(m)) return r.fail(`__metadata__ must be an object of strings, found ${describeJson(m)}`);
  for (const [k, v] of Object.entries(m))
    if (typeof v !== 'string') r.fail(`__metadata__["${k}"] must be a string, found ${describeJson(v)}`);
  return m as Record<string, string>;
}

function parseEntry(r: FileReader, name: string, e: unknown, dataStart: number): SafetensorsTensorInfo {
  const what = `tensor "${name}"`;
  if (!isObject(e)) return r.fail(`${what}: entry must be an object, found ${describeJson(e)}`);
  const { dtype, shape, data_offsets: offs } = e;
  if (typeof dtype !== 'string') return r.fail(`${what}: dtype must be a string, found ${describeJson(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isSize))
    return r.fail(`${what}: shape must be an array of non-negative integers, found ${describeJson(shape)}`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isSize) || offs[0] > offs[1])
    return r.fail(`${what}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, found ${describeJson(offs)}`);
  const [begin, end] = offs as [number, number];
  const nbytes = end - begin;
  checkSize(r, what, dtype, shape as number[], nbytes);
  if (dataStart + end > r.size)
    r.fail(`${what}: data ends at byte ${dataStart + end} but the file has only ${r.size} bytes (truncated?)`);
  const info: SafetensorsTensorInfo = { name, dtype, shape: shape as number[], file: r.path, offset: dataStart + begin, nbytes };
  if (SUPPORTED[dtype] !== undefined) info.type = SUPPORTED[dtype];
  return info;
}

/** data_offsets must span exactly shape × dtype bytes (unknown dtypes can only be bounded by the file). */
function checkSize(r: FileReader, what: string, dtype: string, shape: number[], nbytes: number): void {
  let count = 1n;
  for (const d of shape) count *= BigInt(d);
  if (count > BigInt(Number.MAX_SAFE_INTEGER))
    r.fail(`${what}: shape [${shape.join(', ')}] holds ${count} elements, which overflows (limit 2^53-1)`);
  const bits = DTYPE_BITS[dtype];
  if (bits === undefined) return;
  const expected = Math.ceil((Number(count) * bits) / 8);
  if (expected !== nbytes)
    r.fail(`${what}: data_offsets span ${nbytes} bytes but ${dtype} [${shape.join(', ')}] needs ${expected} bytes`);
}

/** Opens a checkpoint directory: the index's shards, else model.safetensors, else every *.safetensors. */
export function openSafetensorsDir(dir: string): { files: SafetensorsFile[]; tensors: Map<string, SafetensorsTensorInfo> } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FormatError(dir, 'not a directory');
  const index = join(dir, INDEX_FILE);
  if (existsSync(index)) return openIndexed(dir, index);
  const single = join(dir, 'model.safetensors');
  const names = existsSync(single)
    ? ['model.safetensors']
    : readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (names.length === 0) throw new FormatError(dir, `no ${INDEX_FILE}, model.safetensors or *.safetensors file`);
  const files = names.map((f) => readSafetensorsHeader(join(dir, f)));
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const f of files)
    for (const [name, t] of f.tensors) {
      const prev = tensors.get(name);
      if (prev) throw new FormatError(f.path, `tensor "${name}" also appears in ${prev.file}`);
      tensors.set(name, t);
    }
  return { files, tensors };
}

function openIndexed(dir: string, index: string): { files: SafetensorsFile[]; tensors: Map<string, SafetensorsTensorInfo> } {
  const weightMap = readWeightMap(index);
  const shards = new Map<string, SafetensorsFile>();
  for (const shard of new Set(Object.values(weightMap))) {
    const path = join(dir, shard);
    const user = Object.keys(weightMap).find((k) => weightMap[k] === shard);
    if (!existsSync(path))
      throw new FormatError(index, `weight_map names shard "${shard}" (for tensor "${user}"), but ${path} does not exist`);
    shards.set(shard, readSafetensorsHeader(path));
  }
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, shard] of Object.entries(weightMap)) {
    const file = shards.get(shard) as SafetensorsFile;
    const t = file.tensors.get(name);
    if (!t) throw new FormatError(file.path, `tensor "${name}" is listed in ${INDEX_FILE} for this shard but is missing from it`);
    tensors.set(name, t);
  }
  return { files: [...shards.values()], tensors };
}

function readWeightMap(index: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(withFile(index, (fd, size) => readAll(fd, size, index).toString('utf8')));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(index, `not valid JSON: ${(e as Error).message}`);
  }
  const map = isObject(json) ? json.weight_map : undefined;
  if (!isObject(map)) throw new FormatError(index, 'has no "weight_map" object');
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file !== basename(file) || file === '..' || file === '')
      throw new FormatError(index, `weight_map["${name}"] must be a plain shard file name, found ${describeJson(file)}`);
  }
  return map as Record<string, string>;
}

function readAll(fd: number, size: number, path: string): Buffer {
  if (size > MAX_HEADER_BYTES) throw new FormatError(path, `index of ${size} bytes is absurd (limit ${MAX_HEADER_BYTES})`);
  const b = Buffer.alloc(size);
  readFully(fd, b, 0, path);
  return b;
}

/** Reads a tensor's raw bytes (into `dst` when given; the result is a view of exactly info.nbytes). */
export function readSafetensorsData(info: SafetensorsTensorInfo, dst?: Uint8Array): Uint8Array {
  requireSupported(info);
  if (dst && dst.length < info.nbytes)
    throw new RequestError(`buffer of ${dst.length} bytes is too small for tensor "${info.name}" (${info.nbytes} bytes)`);
  const out = dst ? dst.subarray(0, info.nbytes) : new Uint8Array(info.nbytes);
  withFile(info.file, (fd) => readFully(fd, out, info.offset, info.file));
  return out;
}

/** Wraps data as a Tensor: numpy shape [rows, cols] becomes ggml dims [cols, rows]. */
export function toTensor(info: SafetensorsTensorInfo, data: Uint8Array): Tensor {
  const type = requireSupported(info);
  if (data.length !== info.nbytes)
    throw new RequestError(`tensor "${info.name}" needs ${info.nbytes} bytes, got ${data.length}`);
  const dims = info.shape.length === 0 ? [1] : [...info.shape].reverse();
  return { name: info.name, type, dims, data };
}

function requireSupported(info: SafetensorsTensorInfo): GGMLType {
  const type = SUPPORTED[info.dtype];
  if (type === undefined)
    throw new FormatError(
      info.file,
      `tensor "${info.name}" has dtype ${info.dtype}, which this engine cannot load (supported: F32, F16, BF16)`,
    );
  return type;
}

/** Writes one safetensors file; the header is space-padded to 8 bytes, as the Hugging Face library does. */
export function writeSafetensors(path: string, tensors: SafetensorsWriteTensor[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    checkWriteTensor(path, t, header);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = alignUp(8 + json.length, 8) - 8;
  const fd = openSync(path, 'w');
  try {
    const w = new FileWriter(fd);
    w.u64(padded);
    w.bytes(json);
    w.bytes(Buffer.alloc(padded - json.length, 0x20));
    for (const t of tensors) w.bytes(t.data);
    w.flush();
  } finally {
    closeSync(fd);
  }
}

function checkWriteTensor(path: string, t: SafetensorsWriteTensor, header: Record<string, unknown>): void {
  const fail = (problem: string): never => {
    throw new FormatError(path, `cannot write safetensors: tensor "${t.name}" ${problem}`);
  };
  if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) fail('is a duplicate or reserved name');
  if (SUPPORTED[t.dtype] === undefined) fail(`has unsupported dtype ${String(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every(isSize)) fail(`has invalid shape ${describeJson(t.shape)}`);
  const need = (t.shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[t.dtype]) / 8;
  if (need !== t.data.length) fail(`has ${t.data.length} bytes but ${t.dtype} [${t.shape.join(', ')}] needs ${need}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function describeJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
