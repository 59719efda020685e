// The one tensor shape every loader produces and every backend consumes.
// `dims` are in ggml order: dims[0] is the innermost (contiguous) axis, so a weight matrix of
// `rows` output features over `cols` inputs has dims [cols, rows] (a Hugging Face / numpy array
// of shape [rows, cols]). Quantized data stays packed in `data`, row after row.
import type { GGMLType } from '../quant/types.js';

export interface Tensor {
  name: string;
  type: GGMLType;
  dims: number[];
  data: Uint8Array;
}

export function numElements(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
