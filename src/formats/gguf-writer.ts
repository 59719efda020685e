// GGUF writer: the exact inverse of readGGUF (layout documented in gguf.ts).
// Contract: validates every tensor (name unique, 1..4 dims ≥ 1, data length equal to what its type
// and dims require) before creating the file, then streams header and data with fs.writeSync.
// Metadata values are range-checked against their declared type as they are written; on any error
// the partial file is removed. A non-default alignment is recorded as `general.alignment` (u32).
// Tensor data may be given lazily (a function producing the bytes when its turn comes), so a converter
// holds one tensor at a time; the file is written under a temporary name and renamed when complete, so
// an interrupted write never leaves a half file under the real name.
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import { FormatError } from '../errors.js';
import { numElements } from '../model/tensor.js';
import { GGMLType, tensorByteSize, typeInfo } from '../quant/types.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUFValueType as VT,
  MAX_DIMS,
  arrayTypeTag,
  valueTypeName,
  type GGUFMetaEntry,
  type GGUFValue,
} from './gguf-types.js';
import { FileWriter, alignUp } from './io.js';

export interface GGUFWriteTensor {
  name: string;
  type: GGMLType;
  /** ggml order (dims[0] innermost). */
  dims: number[];
  /** The bytes, or a function returning them, called once, in file order. */
  data: Uint8Array | (() => Uint8Array);
}

export interface GGUFWriteOptions {
  alignment?: number;
  version?: 2 | 3;
  /** Called after each tensor's data is written (for progress bars). */
  onTensor?: (done: number, total: number, name: string) => void;
}

export function writeGGUF(
  path: string,
  metadata: Array<[string, GGUFMetaEntry]>,
  tensors: GGUFWriteTensor[],
  opts: GGUFWriteOptions = {},
): void {
  const fail = (problem: string): never => {
    throw new FormatError(path, `cannot write GGUF: ${problem}`);
  };
  const version = opts.version ?? 3;
  if (version !== 2 && version !== 3) fail(`version ${String(version)} is not 2 or 3`);
  const { entries, alignment } = withAlignment(metadata, opts.alignment, fail);
  const sizes = checkTensors(tensors, fail);
  const tmp = `${path}.partial-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const w = new FileWriter(fd);
    writeHeader(w, version, entries, tensors, sizes, alignment, fail);
    tensors.forEach((t, i) => {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      if (data.length !== sizes[i])
        fail(`tensor "${t.name}" has ${data.length} bytes of data but its type and dims need ${sizes[i]}`);
      w.bytes(data);
      w.pad(alignment);
      opts.onTensor?.(i + 1, tensors.length, t.name);
    });
    w.flush();
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, path);
}

type Fail = (problem: string) => never;

/** Resolves the alignment from metadata and options, adding `general.alignment` when needed. */
function withAlignment(
  metadata: Array<[string, GGUFMetaEntry]>,
  requested: number | undefined,
  fail: Fail,
): { entries: Array<[string, GGUFMetaEntry]>; alignment: number } {
  const keys = new Set<string>();
  for (const [k] of metadata) {
    if (keys.has(k)) fail(`duplicate metadata key "${k}"`);
    keys.add(k);
  }
  const existing = metadata.find(([k]) => k === 'general.alignment')?.[1];
  if (existing && existing.type !== VT.UINT32) fail('general.alignment must be a UINT32');
  const fromMeta = existing ? Number(existing.value) : undefined;
  const alignment = requested ?? fromMeta ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment > 2 ** 31 || (alignment & (alignment - 1)) !== 0)
    fail(`alignment ${alignment} is not a power of two`);
  if (fromMeta !== undefined && fromMeta !== alignment)
    fail(`alignment option ${alignment} contradicts general.alignment ${fromMeta}`);
  const entries = [...metadata];
  if (fromMeta === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT)
    entries.push(['general.alignment', { type: VT.UINT32, value: alignment }]);
  return { entries, alignment };
}

/** Validates names, dims and types; returns each tensor's byte size. */
function checkTensors(tensors: GGUFWriteTensor[], fail: Fail): number[] {
  const names = new Set<string>();
  const sizes: number[] = [];
  for (const t of tensors) {
    if (names.has(t.name)) fail(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (t.dims.length < 1 || t.dims.length > MAX_DIMS) fail(`tensor "${t.name}" must have 1 to ${MAX_DIMS} dims`);
    if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 1))
      fail(`tensor "${t.name}" has invalid dims [${t.dims.join(', ')}]`);
    const info = typeInfo(t.type);
    if (!info) fail(`tensor "${t.name}" has unknown ggml type ${t.type}`);
    else if (t.dims[0] % info.blockSize !== 0)
      fail(`tensor "${t.name}": row length ${t.dims[0]} is not a multiple of the ${info.name} block size`);
    const nbytes = tensorByteSize(t.type, numElements(t.dims));
    if (typeof nbytes === 'string') return fail(`tensor "${t.name}": ${nbytes}`);
    if (typeof t.data !== 'function' && nbytes !== t.data.length)
      fail(`tensor "${t.name}" has ${t.data.length} bytes of data but its type and dims need ${String(nbytes)}`);
    sizes.push(nbytes);
  }
  return sizes;
}

function writeHeader(
  w: FileWriter,
  version: number,
  entries: Array<[string, GGUFMetaEntry]>,
  tensors: GGUFWriteTensor[],
  sizes: number[],
  alignment: number,
  fail: Fail,
): void {
  w.bytes(Buffer.from(GGUF_MAGIC, 'latin1'));
  w.u32(version);
  w.u64(tensors.length);
  w.u64(entries.length);
  for (const [key, e] of entries) {
    writeString(w, key);
    w.u32(e.type);
    const ctx = `metadata "${key}"`;
    if (e.type === VT.ARRAY) writeArray(w, e.value, e.arrayType, ctx, fail);
    else writeValue(w, e.type, e.value, ctx, fail);
  }
  let offset = 0;
  tensors.forEach((t, i) => {
    writeString(w, t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offset = alignUp(offset + sizes[i], alignment);
  });
  w.pad(alignment);
}

function writeString(w: FileWriter, s: string): void {
  const b = Buffer.from(s, 'utf8');
  w.u64(b.length);
  w.bytes(b);
}

const INT_RANGE: Partial<Record<VT, [number, number]>> = {
  [VT.UINT8]: [0, 0xff],
  [VT.INT8]: [-0x80, 0x7f],
  [VT.UINT16]: [0, 0xffff],
  [VT.INT16]: [-0x8000, 0x7fff],
  [VT.UINT32]: [0, 0xffffffff],
  [VT.INT32]: [-0x80000000, 0x7fffffff],
};

const BIG_RANGE: Partial<Record<VT, [bigint, bigint]>> = {
  [VT.UINT64]: [0n, 2n ** 64n - 1n],
  [VT.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
};

function writeValue(w: FileWriter, type: VT, v: GGUFValue, ctx: string, fail: Fail): void {
  const bad = (): never => fail(`${ctx}: ${describe(v)} is not a valid ${valueTypeName(type)}`);
  const ints = INT_RANGE[type];
  const bigs = BIG_RANGE[type];
  if (ints) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < ints[0] || v > ints[1]) bad();
  } else if (bigs) {
    if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)))) bad();
    else if (BigInt(v) < bigs[0] || BigInt(v) > bigs[1]) bad();
  } else if (type === VT.FLOAT32 || type === VT.FLOAT64) {
    if (typeof v !== 'number') bad();
  } else if (type === VT.BOOL) {
    if (typeof v !== 'boolean') bad();
  } else if (type === VT.STRING) {
    if (typeof v !== 'string') bad();
  } else if (type === VT.ARRAY) {
    return writeArray(w, v, arrayTypeTag(v as GGUFValue[]), ctx, fail);
  } else {
    fail(`${ctx}: unknown value type ${String(type)}`);
  }
  emit(w, type, v);
}

function emit(w: FileWriter, type: VT, v: GGUFValue): void {
  switch (type) {
    case VT.UINT8: return w.u8(v as number);
    case VT.INT8: return w.i8(v as number);
    case VT.UINT16: return w.u16(v as number);
    case VT.INT16: return w.i16(v as number);
    case VT.UINT32: return w.u32(v as number);
    case VT.INT32: return w.i32(v as number);
    case VT.FLOAT32: return w.f32(v as number);
    case VT.FLOAT64: return w.f64(v as number);
    case VT.BOOL: return w.u8(v ? 1 : 0);
    case VT.UINT64: return w.u64(v as bigint | number);
    case VT.INT64: return w.i64(v as bigint | number);
    case VT.STRING: return writeString(w, v as string);
  }
}

function writeArray(w: FileWriter, v: GGUFValue, declared: VT | undefined, ctx: string, fail: Fail): void {
  if (!Array.isArray(v)) return fail(`${ctx}: ${describe(v)} is not an array`);
  const elemType = declared ?? arrayTypeTag(v) ?? inferElemType(v, ctx, fail);
  w.u32(elemType);
  w.u64(v.length);
  for (const item of v) writeValue(w, elemType, item, ctx, fail);
}

/** Element type for an untagged array: the narrowest GGUF type that holds every value exactly. */
function inferElemType(v: GGUFValue[], ctx: string, fail: Fail): VT {
  if (v.every((x) => typeof x === 'string')) return VT.STRING;
  if (v.every((x) => typeof x === 'boolean')) return VT.BOOL;
  if (v.every((x) => Array.isArray(x))) return VT.ARRAY;
  if (v.every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isSafeInteger(x)))) {
    const big = v.map((x) => BigInt(x as number | bigint));
    if (big.every((x) => x >= -(2n ** 31n) && x < 2n ** 31n)) return VT.INT32;
    return big.every((x) => x >= 0n) ? VT.UINT64 : VT.INT64;
  }
  if (v.every((x) => typeof x === 'number')) return VT.FLOAT64;
  return fail(`${ctx}: cannot infer one element type for a mixed array; tag it with ggufArray()`);
}

function describe(v: GGUFValue): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return `array of ${v.length}`;
  return `${typeof v} ${String(v)}`;
}
