// The ggml tensor-type table: type ids as stored in GGUF, and the block geometry of each type.
// A tensor row of n elements of type T occupies (n / blockSize) * typeSize bytes; n must be a
// multiple of blockSize. Ids are ggml's `enum ggml_type` (ggml.h), which GGUF stores verbatim.

export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
}

export interface TypeInfo {
  name: string;
  /** Elements per block (1 for plain float/int types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  /** Whether this engine can compute with it (dequantize a row). */
  supported: boolean;
}

const QK_K = 256;

export const TYPE_INFO: Readonly<Record<number, TypeInfo>> = {
  [GGMLType.F32]: { name: 'F32', blockSize: 1, typeSize: 4, supported: true },
  [GGMLType.F16]: { name: 'F16', blockSize: 1, typeSize: 2, supported: true },
  [GGMLType.BF16]: { name: 'BF16', blockSize: 1, typeSize: 2, supported: true },
  [GGMLType.Q4_0]: { name: 'Q4_0', blockSize: 32, typeSize: 2 + 16, supported: true },
  [GGMLType.Q4_1]: { name: 'Q4_1', blockSize: 32, typeSize: 4 + 16, supported: false },
  [GGMLType.Q5_0]: { name: 'Q5_0', blockSize: 32, typeSize: 2 + 4 + 16, supported: true },
  [GGMLType.Q5_1]: { name: 'Q5_1', blockSize: 32, typeSize: 4 + 4 + 16, supported: true },
  [GGMLType.Q8_0]: { name: 'Q8_0', blockSize: 32, typeSize: 2 + 32, supported: true },
  [GGMLType.Q8_1]: { name: 'Q8_1', blockSize: 32, typeSize: 4 + 32, supported: false },
  [GGMLType.Q2_K]: { name: 'Q2_K', blockSize: QK_K, typeSize: 2 + 2 + QK_K / 16 + QK_K / 4, supported: false },
  [GGMLType.Q3_K]: { name: 'Q3_K', blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + 12, supported: false },
  [GGMLType.Q4_K]: { name: 'Q4_K', blockSize: QK_K, typeSize: 2 + 2 + 12 + QK_K / 2, supported: true },
  [GGMLType.Q5_K]: { name: 'Q5_K', blockSize: QK_K, typeSize: 2 + 2 + 12 + QK_K / 8 + QK_K / 2, supported: true },
  [GGMLType.Q6_K]: { name: 'Q6_K', blockSize: QK_K, typeSize: 2 + QK_K / 16 + (3 * QK_K) / 4, supported: true },
  [GGMLType.Q8_K]: { name: 'Q8_K', blockSize: QK_K, typeSize: 4 + QK_K + QK_K / 8, supported: false },
  [GGMLType.I8]: { name: 'I8', blockSize: 1, typeSize: 1, supported: false },
  [GGMLType.I16]: { name: 'I16', blockSize: 1, typeSize: 2, supported: false },
  [GGMLType.I32]: { name: 'I32', blockSize: 1, typeSize: 4, supported: false },
  [GGMLType.I64]: { name: 'I64', blockSize: 1, typeSize: 8, supported: false },
  [GGMLType.F64]: { name: 'F64', blockSize: 1, typeSize: 8, supported: false },
};

export function typeInfo(type: number): TypeInfo | undefined {
  return TYPE_INFO[type];
}

export function typeName(type: number): string {
  return TYPE_INFO[type]?.name ?? `unknown type ${type}`;
}

/**
 * Bytes taken by `nElements` elements of `type`, or an error string when that is impossible
 * (unknown type, count not a multiple of the block size, or a size past Number.MAX_SAFE_INTEGER).
 */
export function tensorByteSize(type: number, nElements: number): number | string {
  const info = TYPE_INFO[type];
  if (!info) return `unknown tensor type ${type}`;
  if (!Number.isSafeInteger(nElements) || nElements < 0) return `element count ${nElements} is not a valid size`;
  if (nElements % info.blockSize !== 0)
    return `${nElements} elements is not a multiple of the ${info.name} block size ${info.blockSize}`;
  const bytes = (nElements / info.blockSize) * info.typeSize;
  if (!Number.isSafeInteger(bytes)) return `byte size of ${nElements} ${info.name} elements overflows`;
  return bytes;
}
