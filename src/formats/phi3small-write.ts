// Writes a phi3small GGUF (layout in phi3small-gguf.ts) from any tensor source — a Hugging Face
// Phi3SmallForCausalLM folder or another phi3small GGUF — re-encoding each weight matrix to the file
// type's per-tensor type (quant/mix.ts) one tensor at a time, so memory stays at one tensor. 1-D
// tensors (norms, biases) stay F32. Used by tests and by `phi3 convert`/`quantize` for this architecture.
// Tested by test/phi3-small.test.ts: tiny-small → GGUF (BF16 and Q8_0) → logits and tokens checked.
import { Phi3Error } from '../errors.js';
import { dequantizeRow, quantizeRow } from '../quant/index.js';
import { tensorTypeFor, type FileTypeInfo } from '../quant/mix.js';
import type { Phi3SmallConfig } from '../model/config-small.js';
import { phi3SmallTensorSpecs } from '../model/random-small.js';
import { numElements, type Tensor } from '../model/tensor.js';
import { GGMLType, typeName } from '../quant/types.js';
import type { TensorSource } from '../model/weights.js';
import type { TiktokenTokenizer } from '../tokenizer/tiktoken.js';
import { writeGGUF, type GGUFWriteTensor } from './gguf.js';
import { phi3SmallMetadata } from './phi3small-gguf.js';

/** `t` in `type`: its own bytes when already of that type, else decoded and re-encoded row by row. */
function recode(t: Tensor, type: number): Uint8Array {
  if (t.type === type) return t.data;
  const cols = t.dims[0];
  const rows = numElements(t.dims) / cols;
  const f = new Float32Array(cols);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let r = 0; r < rows; r++) {
    dequantizeRow(t.type, t.data, (r * t.data.length) / rows, f, 0, cols);
    const q = quantizeRow(type, f, cols);
    parts.push(q);
    size += q.length;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export interface SmallGGUFInput {
  config: Phi3SmallConfig;
  tokenizer: TiktokenTokenizer;
  tensors: TensorSource;
  fileType: FileTypeInfo;
  name: string;
  chatTemplate?: string;
  /** Allow re-encoding tensors that are already quantized (quality loss compounds, as llama.cpp warns). */
  allowRequantize?: boolean;
  onTensor?: (done: number, total: number, name: string) => void;
  /** Called once per output tensor before writing (for summaries). */
  onPlan?: (t: { name: string; type: number; dims: number[] }) => void;
}

const FLOAT = new Set<number>([GGMLType.F32, GGMLType.F16, GGMLType.BF16]);

export function writeSmallGGUF(out: string, m: SmallGGUFInput): void {
  const c = m.config;
  const tensors: GGUFWriteTensor[] = phi3SmallTensorSpecs(c).map((spec) => {
    const type = tensorTypeFor(m.fileType, spec.name, spec.dims, c.numLayers, c.tieWordEmbeddings);
    const data = () => {
      const t = m.tensors.get(spec.name);
      if (t.type !== type && !FLOAT.has(t.type) && !m.allowRequantize)
        throw new Phi3Error(`${spec.name} is already ${typeName(t.type)}; re-quantizing it to ${typeName(type)} loses quality twice (pass --allow-requantize)`);
      return recode(t, type);
    };
    return { name: spec.name, type, dims: spec.dims, data };
  });
  if (c.ropeScaling) {
    const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
    const half = c.headDim / 2;
    tensors.splice(1, 0,
      { name: 'rope_factors_long.weight', type: 0, dims: [half], data: f32(c.ropeScaling.longFactor) },
      { name: 'rope_factors_short.weight', type: 0, dims: [half], data: f32(c.ropeScaling.shortFactor) },
    );
  }
  for (const t of tensors) m.onPlan?.(t);
  const metadata = phi3SmallMetadata({ config: c, tokenizer: m.tokenizer, name: m.name, fileType: m.fileType.fileType, chatTemplate: m.chatTemplate });
  writeGGUF(out, metadata, tensors, { onTensor: m.onTensor });
}
