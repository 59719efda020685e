// GGUF v2/v3 reader (the writer lives in gguf-writer.ts and is re-exported here).
//
// Byte layout, all little-endian:
//   magic "GGUF" (4 bytes; read as a u32 LE it is 0x46554747), version u32 (2 or 3; v1 used u32
//   counts and is rejected), tensor_count u64, metadata_kv_count u64,
//   metadata_kv_count × { key: string, value_type u32, value },
//   tensor_count × { name: string, n_dims u32, dims u64 × n_dims (ggml order, dims[0] innermost),
//                    type u32 (ggml type id), offset u64 (relative to the data section) },
//   padding to `general.alignment` (u32 metadata, default 32), then the data section.
//   string = u64 byte length + UTF-8 bytes (no terminator).
//   value types: UINT8=0 INT8=1 UINT16=2 INT16=3 UINT32=4 INT32=5 FLOAT32=6 BOOL=7 (1 byte)
//   STRING=8 ARRAY=9 (u32 element type + u64 count + elements) UINT64=10 INT64=11 FLOAT64=12.
//   Every tensor offset is a multiple of the alignment. v3 only added big-endian files (recognised
//   and rejected here); v2 and v3 little-endian files are byte-identical apart from the version.
//
// Contract: readGGUF reads and validates the header only (through a growing window over the fd),
// never tensor data, so opening a multi-GB file costs just its header. Anything inconsistent
// (truncation, impossible counts or lengths, unknown types, bad dims, misaligned or out-of-file
// tensors, duplicates) is a FormatError(path, problem) raised before any large allocation.
// Dims must be ≥ 1: llama.cpp rejects negatives and an empty tensor has no use in a model.
import { RequestError } from '../errors.js';
import { numElements } from '../model/tensor.js';
import { GGMLType, tensorByteSize, typeInfo } from '../quant/types.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_HEADER_BYTES,
  GGUF_MAGIC,
  GGUFValueType as VT,
  MAX_ARRAY_DEPTH,
  MAX_ARRAY_ELEMENTS,
  MAX_DIMS,
  MAX_STRING_BYTES,
  arrayTypeTag,
  ggufArray,
  isValueType,
  minValueBytes,
  valueTypeName,
  type GGUFMetaEntry,
  type GGUFValue,
} from './gguf-types.js';
import { FileReader, alignUp, fdSource, readFully, withFile, type ByteSource } from './io.js';

export * from './gguf-types.js';
export { writeGGUF, type GGUFWriteTensor, type GGUFWriteOptions } from './gguf-writer.js';

export interface GGUFTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) axis. */
  dims: number[];
  type: GGMLType;
  /** Absolute file offset of the first byte. */
  offset: number;
  nbytes: number;
  nElements: number;
}

export interface GGUFFile {
  path: string;
  /** Where tensor bytes are read from when the file was opened as a ByteSource (else `path` is reopened). */
  source?: ByteSource;
  version: number;
  fileSize: number;
  alignment: number;
  /** Absolute offset of the data section. */
  dataOffset: number;
  metadata: Map<string, GGUFMetaEntry>;
  tensors: GGUFTensorInfo[];
  get(key: string): GGUFValue | undefined;
}

/** Smallest encodings, used to reject counts the rest of the file could not possibly hold. */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

export function readGGUF(path: string): GGUFFile {
  return withFile(path, (fd, size) => parse(new FileReader(fdSource(fd, size, path))));
}

/** Reads the header from a ByteSource (a browser File, an OPFS file); tensors are read from it later. */
export function readGGUFFrom(source: ByteSource): GGUFFile {
  return { ...parse(new FileReader(source)), source };
}

/** True when the file exists and starts with the GGUF magic. */
export function isGGUF(path: string): boolean {
  try {
    return withFile(path, (fd, size) => {
      if (size < 4) return false;
      const b = Buffer.alloc(4);
      readFully(fd, b, 0, path);
      return b.toString('latin1') === GGUF_MAGIC;
    });
  } catch {
    return false;
  }
}

/** Reads one tensor's bytes (into `dst` when given; the result is a view of exactly t.nbytes). */
export function readTensorData(file: GGUFFile, t: GGUFTensorInfo, dst?: Uint8Array): Uint8Array {
  if (dst && dst.length < t.nbytes)
    throw new RequestError(`buffer of ${dst.length} bytes is too small for tensor "${t.name}" (${t.nbytes} bytes)`);
  const out = dst ? dst.subarray(0, t.nbytes) : new Uint8Array(t.nbytes);
  if (file.source) file.source.read(out, t.offset);
  else withFile(file.path, (fd) => readFully(fd, out, t.offset, file.path));
  return out;
}

function parse(r: FileReader): GGUFFile {
  const { version, tensorCount, kvCount } = readHeader(r);
  const metadata = readMetadata(r, kvCount);
  const alignment = alignmentOf(r, metadata);
  const raw: RawTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) raw.push(readTensorInfo(r, i));
  const dataOffset = alignUp(r.pos, alignment);
  const tensors = raw.map((t) => finishTensor(r, t, dataOffset, alignment));
  checkUniqueNames(r, tensors);
  return {
    path: r.path,
    version,
    fileSize: r.size,
    alignment,
    dataOffset,
    metadata,
    tensors,
    get: (key) => metadata.get(key)?.value,
  };
}

function readHeader(r: FileReader): { version: number; tensorCount: number; kvCount: number } {
  if (r.size < 4) r.fail(`file is ${r.size} bytes, shorter than the ${GGUF_HEADER_BYTES}-byte GGUF header`);
  const magic = r.bytes(4, 'magic');
  if (String.fromCharCode(...magic) !== GGUF_MAGIC)
    r.fail(`not a GGUF file: expected magic "GGUF" but found ${describeBytes(magic)}`);
  if (r.size < GGUF_HEADER_BYTES)
    r.fail(`file is truncated: ${r.size} bytes, shorter than the ${GGUF_HEADER_BYTES}-byte GGUF header`);
  const version = r.u32('version');
  checkVersion(r, version);
  const tensorCount = r.u64('tensor count');
  const kvCount = r.u64('metadata count');
  checkCount(r, 'tensor', tensorCount, MIN_TENSOR_INFO_BYTES);
  checkCount(r, 'metadata key/value', kvCount, MIN_KV_BYTES);
  const need = tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) + kvCount * BigInt(MIN_KV_BYTES);
  if (need > BigInt(r.remaining))
    r.fail(
      `file is truncated: ${kvCount} metadata entries and ${tensorCount} tensor infos need at least ` +
        `${need} bytes but only ${r.remaining} bytes follow the header`,
    );
  return { version, tensorCount: Number(tensorCount), kvCount: Number(kvCount) };
}

function describeBytes(b: Uint8Array): string {
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = [...b].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `bytes ${hex} ("${text}")`;
}

function checkVersion(r: FileReader, version: number): void {
  if (version === 2 || version === 3) return;
  if (version === 1) r.fail('GGUF version 1 is not supported (it uses 32-bit counts); re-convert with a current llama.cpp');
  if (version === 0x02000000 || version === 0x03000000)
    r.fail(`big-endian GGUF files are not supported (version field reads ${version} little-endian)`);
  r.fail(`unsupported GGUF version ${version} (this reader handles versions 2 and 3)`);
}

function checkCount(r: FileReader, what: string, count: bigint, minBytes: number): void {
  if (count * BigInt(minBytes) > BigInt(r.remaining))
    r.fail(
      `${what} count ${count} is impossible: that many entries need at least ${count * BigInt(minBytes)} bytes ` +
        `but only ${r.remaining} bytes follow the header (corrupt or truncated file)`,
    );
}

function readMetadata(r: FileReader, kvCount: number): Map<string, GGUFMetaEntry> {
  const metadata = new Map<string, GGUFMetaEntry>();
  for (let i = 0; i < kvCount; i++) {
    const key = readString(r, 'metadata key', `#${i}`);
    if (metadata.has(key)) r.fail(`duplicate metadata key "${key}"`);
    const ctx = `metadata "${key}"`;
    const type = r.u32(`value type of ${ctx}`);
    if (!isValueType(type)) r.fail(`${ctx} has unknown value type ${type}`);
    const value = readValue(r, type, ctx, 0);
    const entry: GGUFMetaEntry = { type, value };
    if (Array.isArray(value)) entry.arrayType = arrayTypeTag(value);
    metadata.set(key, entry);
  }
  return metadata;
}

/** Reads a GGUF string; `label` names it in errors ("metadata string of N bytes (value of "k")…"). */
function readString(r: FileReader, label: string, ctx: string): string {
  const at = r.pos;
  const len = r.u64(`length of ${label} (${ctx})`);
  const where = `${label} of ${len} bytes (${ctx}) at byte ${at}`;
  if (len > BigInt(r.remaining)) r.fail(`${where} runs past the end of the file (${r.size} bytes; truncated or corrupt)`);
  if (len > BigInt(MAX_STRING_BYTES)) r.fail(`${where} exceeds the ${MAX_STRING_BYTES}-byte limit`);
  return r.utf8(Number(len), `${label} (${ctx})`);
}

function readValue(r: FileReader, type: VT, ctx: string, depth: number): GGUFValue {
  switch (type) {
    case VT.UINT8: return r.u8(ctx);
    case VT.INT8: return r.i8(ctx);
    case VT.UINT16: return r.u16(ctx);
    case VT.INT16: return r.i16(ctx);
    case VT.UINT32: return r.u32(ctx);
    case VT.INT32: return r.i32(ctx);
    case VT.FLOAT32: return r.f32(ctx);
    case VT.FLOAT64: return r.f64(ctx);
    case VT.BOOL: return r.u8(ctx) !== 0;
    case VT.UINT64: return narrow(r.u64(ctx));
    case VT.INT64: return narrow(r.i64(ctx));
    case VT.STRING: return readString(r, 'metadata string', `value of ${ctx}`);
    case VT.ARRAY: return readArray(r, ctx, depth + 1);
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readArray(r: FileReader, ctx: string, depth: number): GGUFValue[] {
  if (depth > MAX_ARRAY_DEPTH) r.fail(`${ctx}: arrays nested deeper than ${MAX_ARRAY_DEPTH} levels`);
  const elemType = r.u32(`array element type of ${ctx}`);
  if (!isValueType(elemType)) r.fail(`${ctx}: array has unknown element type ${elemType}`);
  const at = r.pos;
  const count = r.u64(`array length of ${ctx}`);
  const minBytes = BigInt(minValueBytes(elemType)) * count;
  if (minBytes > BigInt(r.remaining))
    r.fail(
      `${ctx}: array of ${count} ${valueTypeName(elemType)} elements at byte ${at} needs at least ` +
        `${minBytes} bytes but only ${r.remaining} remain in the file (truncated or corrupt)`,
    );
  if (count > BigInt(MAX_ARRAY_ELEMENTS))
    r.fail(`${ctx}: array of ${count} elements exceeds the limit of ${MAX_ARRAY_ELEMENTS}`);
  const items: GGUFValue[] = new Array<GGUFValue>(Number(count));
  for (let i = 0; i < items.length; i++) items[i] = readValue(r, elemType, ctx, depth);
  return ggufArray(elemType, items);
}

function alignmentOf(r: FileReader, metadata: Map<string, GGUFMetaEntry>): number {
  const entry = metadata.get('general.alignment');
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  const a = entry.value;
  if (typeof a !== 'number' || !Number.isInteger(a) || entry.type === VT.FLOAT32 || entry.type === VT.FLOAT64)
    r.fail(`general.alignment must be an unsigned integer, found ${valueTypeName(entry.type)} ${String(a)}`);
  if (a <= 0 || a > 2 ** 31 || (a & (a - 1)) !== 0)
    r.fail(`general.alignment ${a} is not a power of two between 1 and 2^31`);
  return a;
}

interface RawTensorInfo {
  index: number;
  name: string;
  dims: bigint[];
  type: number;
  relOffset: bigint;
}

function readTensorInfo(r: FileReader, index: number): RawTensorInfo {
  const name = readString(r, 'tensor name', `#${index}`);
  const nDims = r.u32(`dimension count of tensor "${name}"`);
  if (nDims < 1 || nDims > MAX_DIMS)
    r.fail(`tensor "${name}" has ${nDims} dimensions (must be 1 to ${MAX_DIMS})`);
  const dims: bigint[] = [];
  for (let d = 0; d < nDims; d++) dims.push(r.u64(`dimension ${d} of tensor "${name}"`));
  const type = r.u32(`type of tensor "${name}"`);
  const relOffset = r.u64(`data offset of tensor "${name}"`);
  return { index, name, dims, type, relOffset };
}

/** Validates a tensor's shape, type and placement, and makes its offset absolute. */
function finishTensor(r: FileReader, t: RawTensorInfo, dataOffset: number, alignment: number): GGUFTensorInfo {
  const what = `tensor "${t.name}"`;
  const dims = checkDims(r, what, t.dims);
  const info = typeInfo(t.type);
  if (!info) r.fail(`${what} has unknown ggml type id ${t.type}`);
  if (dims[0] % info.blockSize !== 0)
    r.fail(`${what}: row length ${dims[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  const nElements = numElements(dims);
  const nbytes = tensorByteSize(t.type, nElements);
  if (typeof nbytes === 'string') r.fail(`${what}: ${nbytes}`);
  if (t.relOffset % BigInt(alignment) !== 0n)
    r.fail(`${what}: data offset ${t.relOffset} is not a multiple of the alignment ${alignment}`);
  const end = BigInt(dataOffset) + t.relOffset + BigInt(nbytes);
  if (end > BigInt(r.size))
    r.fail(`${what} ends at byte ${end} but the file has only ${r.size} bytes (truncated file?)`);
  return { name: t.name, dims, type: t.type as GGMLType, offset: dataOffset + Number(t.relOffset), nbytes, nElements };
}

function checkDims(r: FileReader, what: string, raw: bigint[]): number[] {
  let product = 1n;
  for (const [d, v] of raw.entries()) {
    if (v === 0n) r.fail(`${what}: dimension ${d} is 0 (empty tensors are not supported)`);
    product *= v;
  }
  if (product > BigInt(Number.MAX_SAFE_INTEGER))
    r.fail(`${what}: dims [${raw.join(', ')}] hold ${product} elements, which overflows (limit 2^53-1)`);
  return raw.map(Number);
}

function checkUniqueNames(r: FileReader, tensors: GGUFTensorInfo[]): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) r.fail(`duplicate tensor name "${t.name}"`);
    seen.add(t.name);
  }
}
