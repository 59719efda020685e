// Reference matrix × activations and embedding lookup: a plain loop over weight rows, dequantizing
// each row block by block (quant/ dotRow). Slow and obviously right; the truth for fast kernels.
import { dequantizeRow, dotRow } from '../../quant/index.js';
import { typeInfo } from '../../quant/types.js';
import type { Tensor } from '../../model/tensor.js';

function rowBytes(w: Tensor): number {
  const info = typeInfo(w.type)!;
  return (w.dims[0] / info.blockSize) * info.typeSize;
}

export function matmul(y: Float32Array, x: Float32Array, w: Tensor, nTokens: number): void {
  const cols = w.dims[0];
  const rows = w.dims[1];
  const stride = rowBytes(w);
  for (let r = 0; r < rows; r++) {
    const off = r * stride;
    for (let t = 0; t < nTokens; t++) y[t * rows + r] = dotRow(w.type, w.data, off, x, t * cols, cols);
  }
}

export function embed(y: Float32Array, table: Tensor, ids: ArrayLike<number>): void {
  const dim = table.dims[0];
  const stride = rowBytes(table);
  for (let t = 0; t < ids.length; t++) dequantizeRow(table.type, table.data, ids[t] * stride, y, t * dim, dim);
}
