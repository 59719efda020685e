// GGUF metadata value types and the limits the reader enforces, shared by reader and writer.
// Arrays read from a file carry their element type under the ARRAY_TYPE symbol (non-enumerable,
// so it does not show up in comparisons or JSON): that is how a nested array round-trips through
// writeGGUF with its exact element type. Arrays built by hand can be tagged with ggufArray(),
// otherwise the writer infers the element type from the values.

export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** u64/i64 values are numbers when they are safe integers, bigints otherwise. */
export type GGUFValue = number | bigint | string | boolean | GGUFValue[];

export interface GGUFMetaEntry {
  type: GGUFValueType;
  value: GGUFValue;
  /** Element type, for type === ARRAY. */
  arrayType?: GGUFValueType;
}

export const GGUF_MAGIC = 'GGUF';
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** magic + version + tensor_count (u64) + metadata_kv_count (u64). */
export const GGUF_HEADER_BYTES = 24;
/** One string bigger than this is corruption, not data (the largest real ones, chat templates, are KBs). */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** Real arrays (vocabularies, merges) stay well under a million entries; each element costs a JS value. */
export const MAX_ARRAY_ELEMENTS = 1 << 24;
/** Nested arrays recurse; a hostile file must not be able to blow the stack. */
export const MAX_ARRAY_DEPTH = 8;
export const MAX_DIMS = 4;

/** Bytes of one value of a fixed-size type; 0 for STRING/ARRAY (variable), undefined when unknown. */
const FIXED_SIZE: Record<number, number> = {
  [GGUFValueType.UINT8]: 1,
  [GGUFValueType.INT8]: 1,
  [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT16]: 2,
  [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4,
  [GGUFValueType.INT32]: 4,
  [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.UINT64]: 8,
  [GGUFValueType.INT64]: 8,
  [GGUFValueType.FLOAT64]: 8,
  [GGUFValueType.STRING]: 0,
  [GGUFValueType.ARRAY]: 0,
};

export function isValueType(t: number): t is GGUFValueType {
  return FIXED_SIZE[t] !== undefined;
}

/** The fewest bytes one value of type `t` can occupy (a string is at least its u64 length). */
export function minValueBytes(t: GGUFValueType): number {
  if (t === GGUFValueType.STRING) return 8;
  if (t === GGUFValueType.ARRAY) return 12; // element type u32 + count u64
  return FIXED_SIZE[t];
}

export function valueTypeName(t: number): string {
  return GGUFValueType[t] ?? `unknown value type ${t}`;
}

export const ARRAY_TYPE: unique symbol = Symbol('gguf.arrayType');

type Tagged = GGUFValue[] & { [ARRAY_TYPE]?: GGUFValueType };

/** Tags `items` with its GGUF element type (in place) and returns it. */
export function ggufArray(elemType: GGUFValueType, items: GGUFValue[]): GGUFValue[] {
  Object.defineProperty(items, ARRAY_TYPE, { value: elemType, enumerable: false, configurable: true });
  return items;
}

export function arrayTypeTag(items: GGUFValue[]): GGUFValueType | undefined {
  return (items as Tagged)[ARRAY_TYPE];
}
