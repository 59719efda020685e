// Random-weight Phi-3 models of any shape, for benchmarks, tests and the embedded demo model.
// The draw follows the reference models' recipe (../shared/reference/*/spec.json) so activations stay
// O(1) and logits have a standard deviation of about 3: embeddings N(0,1), qkv and gate_up
// N(0, 1/√hidden), o N(0, 1/√hidden), down N(0, 1/√ff), norms 1 + N(0, 0.1), output N(0, 3/√hidden).
// Tensors are produced one at a time, row chunk by row chunk, so a 4-bit phi-3-mini-shaped file is
// written without ever holding its f32 weights.
import { Rng } from '../generate/sampler.js';
import type { GGUFWriteTensor } from '../formats/gguf.js';
import { quantizeRow } from '../quant/index.js';
import { tensorTypeFor, type FileTypeInfo } from '../quant/mix.js';
import { tensorByteSize, type GGMLType } from '../quant/types.js';
import type { Phi3Config } from './config.js';

/** Normal draws from a seeded PRNG (Box–Muller, both outputs used). */
export class NormalRng {
  private readonly rng: Rng;
  private spare: number | undefined;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  next(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.rng.next();
    const v = this.rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

export interface Spec {
  name: string;
  dims: number[];
  /** value = mean + std · N(0,1) */
  mean: number;
  std: number;
}

/** Every tensor of a Phi-3 GGUF, in llama.cpp's order, with its draw. */
export function phi3TensorSpecs(c: Phi3Config): Spec[] {
  const h = c.hiddenSize;
  const qkv = c.numHeads * c.headDim + 2 * c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  const specs: Spec[] = [{ name: 'token_embd.weight', dims: [h, c.vocabSize], mean: 0, std: 1 }];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `blk.${l}.`;
    specs.push(
      { name: p + 'attn_norm.weight', dims: [h], mean: 1, std: 0.1 },
      { name: p + 'attn_qkv.weight', dims: [h, qkv], mean: 0, std: 1 / Math.sqrt(h) },
      { name: p + 'attn_output.weight', dims: [c.numHeads * c.headDim, h], mean: 0, std: 1 / Math.sqrt(h) },
      { name: p + 'ffn_norm.weight', dims: [h], mean: 1, std: 0.1 },
      { name: p + 'ffn_up.weight', dims: [h, 2 * ff], mean: 0, std: 1 / Math.sqrt(h) },
      { name: p + 'ffn_down.weight', dims: [ff, h], mean: 0, std: 1 / Math.sqrt(ff) },
    );
  }
  specs.push({ name: 'output_norm.weight', dims: [h], mean: 1, std: 0.1 });
  if (!c.tieWordEmbeddings) specs.push({ name: 'output.weight', dims: [h, c.vocabSize], mean: 0, std: 3 / Math.sqrt(h) });
  return specs;
}

/** Draws one tensor row chunk by row chunk and encodes it in `type`. */
export function drawTensor(spec: Spec, type: GGMLType, rng: NormalRng): Uint8Array {
  const cols = spec.dims[0];
  const rows = spec.dims.length > 1 ? spec.dims[1] : 1;
  const rowBytes = tensorByteSize(type, cols) as number;
  const out = new Uint8Array(rowBytes * rows);
  const chunkRows = Math.max(1, Math.floor((1 << 20) / cols));
  const buf = new Float32Array(chunkRows * cols);
  for (let r = 0; r < rows; r += chunkRows) {
    const n = Math.min(chunkRows, rows - r) * cols;
    for (let i = 0; i < n; i++) buf[i] = spec.mean + spec.std * rng.next();
    out.set(quantizeRow(type, buf, n), r * rowBytes);
  }
  return out;
}

/**
 * The tensors of a random model, with lazily drawn data. Each tensor has its own seed derived from the
 * model seed and its index, so the draw does not depend on the order data is requested in.
 */
export function randomPhi3Tensors(c: Phi3Config, ft: FileTypeInfo, seed: number): GGUFWriteTensor[] {
  return phi3TensorSpecs(c).map((spec, i) => {
    const type = tensorTypeFor(ft, spec.name, spec.dims, c.numLayers);
    return {
      name: spec.name,
      type,
      dims: spec.dims,
      data: () => drawTensor(spec, type, new NormalRng((seed * 1000003 + i * 7919) >>> 0)),
    };
  });
}
