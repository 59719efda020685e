// The reference backend: plain TypeScript loops, float64 accumulation. The ground truth every other
// backend is tested against (see test/backend parity suites), and the fallback for any op a fast
// backend does not support.
import type { Backend } from '../backend.js';
import { attention } from './attention.js';
import { add, rmsnorm, rope, storeKV, swiglu } from './elementwise.js';
import { embed, matmul } from './matmul.js';
import { addBias, blocksparseAttention, gegelu, layernorm } from './small.js';

export const refBackend: Backend = {
  name: 'ref',
  matmul,
  embed,
  rmsnorm,
  rope,
  attention,
  swiglu,
  add,
  storeKV,
  layernorm,
  addBias,
  gegelu,
  blocksparseAttention,
};
