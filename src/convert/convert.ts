// Writes a Phi-3 GGUF from a ConvertInput (HF folder or GGUF) in any llama.cpp file type: the engine of
// `phi3 convert` (f32/f16/bf16) and `phi3 quantize` (q4_0 … q8_0), which differ only in the type mix.
//
// Streaming: tensors are produced one at a time, when the writer asks for them (writeGGUF's lazy data),
// and each is converted a chunk of rows at a time (read raw rows → float32 → target type), so peak
// memory is one output tensor plus one chunk. The writer writes to a temporary name and renames it at
// the end, so a failure or interruption never leaves a file under the output name.
// Metadata: from an HF folder, llama.cpp's converter keys (formats/phi3-gguf.ts); from a GGUF, every key
// of the input with general.file_type and general.quantization_version updated, as llama-quantize does.
// Tested in test/convert.test.ts and test/quantize.test.ts.
import { Phi3Error } from '../errors.js';
import { GGUFValueType, writeGGUF, type GGUFMetaEntry, type GGUFWriteTensor } from '../formats/gguf.js';
import { phi3Metadata } from '../formats/phi3-gguf.js';
import { PHI3_TEMPLATE } from '../chat/template.js';
import { quantizeFast } from '../quant/fast.js';
import { dequantizeRow } from '../quant/index.js';
import { FILE_TYPES, isQuantizable, tensorTypeFor, type FileTypeInfo } from '../quant/mix.js';
import { GGMLType, tensorByteSize, typeName } from '../quant/types.js';
import { availableParallelism } from 'node:os';
import { QuantPool, type RowJob } from './quant-pool.js';
import { readRows, rowBytes, type ConvertInput, type InputTensor } from './source.js';

/** Elements converted per chunk: 4M floats = 16 MB of scratch. */
const CHUNK_ELEMENTS = 1 << 22;
/** Tensors smaller than this are converted on the calling thread (a helper round trip costs more). */
const POOL_MIN_ELEMENTS = 1 << 20;

export interface ConvertOptions {
  /** A FILE_TYPES key: f32, f16, bf16, q8_0, q4_0, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k. */
  type: string;
  /** Allow re-quantizing tensors that are already quantized (quality loss compounds, as llama.cpp warns). */
  allowRequantize?: boolean;
  /** Threads that convert (quantize) rows in parallel; default: the machine's available parallelism. 1 = this thread. */
  threads?: number;
  /** Progress in elements converted (for a bar with an ETA). */
  onProgress?: (done: number, total: number, tensor: string) => void;
}

export interface PlannedTensor {
  name: string;
  dims: number[];
  from: GGMLType;
  to: GGMLType;
}

export interface ConvertSummary {
  tensors: number;
  bytes: number;
  /** Output type name → number of tensors. */
  types: Record<string, number>;
}

export function fileTypeInfo(type: string): FileTypeInfo {
  const ft = FILE_TYPES[type.toLowerCase()];
  if (!ft) throw new Phi3Error(`unknown type "${type}"; one of ${Object.keys(FILE_TYPES).join(', ')}`);
  return ft;
}

const FLOAT_TYPES = new Set([GGMLType.F32, GGMLType.F16, GGMLType.BF16]);

/** Which type every tensor gets: llama.cpp's mix for 2-D weights; other tensors as llama.cpp treats them. */
export function planTensors(input: ConvertInput, ft: FileTypeInfo, allowRequantize = false): PlannedTensor[] {
  const tied = !input.tensors.some((t) => t.name === 'output.weight');
  return input.tensors.map((t) => {
    let to: GGMLType;
    if (isQuantizable(t.name, t.dims)) to = tensorTypeFor(ft, t.name, t.dims, input.config.numLayers, tied);
    else to = input.format === 'gguf' ? t.type : GGMLType.F32; // llama-quantize copies; the converter writes F32
    if (to !== t.type && !FLOAT_TYPES.has(t.type) && !allowRequantize)
      throw new Phi3Error(
        `${t.name} is already ${typeName(t.type)}; re-quantizing it to ${typeName(to)} loses quality twice. ` +
          'Start from the F16/BF16/F32 model, or pass --allow-requantize',
      );
    return { name: t.name, dims: t.dims, from: t.type, to };
  });
}

function metadataFor(input: ConvertInput, ft: FileTypeInfo): Array<[string, GGUFMetaEntry]> {
  if (!input.metadata) {
    return phi3Metadata({
      config: input.config,
      vocab: input.vocab,
      name: input.name,
      fileType: ft.fileType,
      chatTemplate: input.chatTemplate ?? PHI3_TEMPLATE,
    });
  }
  const out: Array<[string, GGUFMetaEntry]> = [];
  const set = (k: string, e: GGUFMetaEntry) => {
    const i = out.findIndex(([key]) => key === k);
    if (i >= 0) out[i] = [k, e];
    else out.push([k, e]);
  };
  for (const [k, e] of input.metadata) out.push([k, e]);
  set('general.name', { type: GGUFValueType.STRING, value: input.name });
  set('general.quantization_version', { type: GGUFValueType.UINT32, value: 2 });
  set('general.file_type', { type: GGUFValueType.UINT32, value: ft.fileType });
  return out;
}

/** Produces one output tensor's bytes, a chunk of rows at a time. */
export function convertTensor(t: InputTensor, to: GGMLType, onChunk?: (elements: number) => void, pool?: QuantPool): Uint8Array {
  if (t.inline) {
    if (to !== t.type) throw new Phi3Error(`internal: inline tensor ${t.name} cannot change type`);
    onChunk?.(t.dims.reduce((a, b) => a * b, 1));
    return t.inline;
  }
  const cols = t.dims[0];
  const inRow = rowBytes(t.type, cols);
  const outRow = rowBytes(to, cols);
  const rows = t.segments.reduce((n, s) => n + s.rows, 0);
  const out = new Uint8Array(outRow * rows);
  let outRowIdx = 0;
  if (to === t.type) {
    // same type: the bytes are copied as they are (no decode/encode round trip)
    for (const s of t.segments) {
      readRows(s, 0, s.rows * inRow, out.subarray(outRowIdx * outRow));
      outRowIdx += s.rows;
      onChunk?.(s.rows * cols);
    }
    return out;
  }
  const chunkRows = Math.max(1, Math.floor(CHUNK_ELEMENTS / cols));
  if (pool && rows * cols >= POOL_MIN_ELEMENTS) {
    // parallel: ~4 jobs per helper so uneven rows still balance; same bytes as the loop below
    const per = Math.max(1, Math.ceil(rows / (pool.size * 4)));
    const jobs: RowJob[] = [];
    for (const sg of t.segments) {
      for (let r = 0; r < sg.rows; r += per) {
        const n = Math.min(per, sg.rows - r);
        jobs.push({ file: sg.file, offset: sg.offset + r * inRow, rows: n, outOffset: outRowIdx * outRow });
        outRowIdx += n;
      }
    }
    try {
      return pool.run({ cols, from: t.type, to, chunkElements: CHUNK_ELEMENTS / pool.size }, jobs, out.length, onChunk);
    } catch (e) {
      throw new Phi3Error(`${t.name}: ${(e as Error).message}`);
    }
  }
  const raw = new Uint8Array(Math.min(chunkRows, rows) * inRow);
  const f32 = new Float32Array(Math.min(chunkRows, rows) * cols);
  for (const s of t.segments) {
    for (let r = 0; r < s.rows; r += chunkRows) {
      const n = Math.min(chunkRows, s.rows - r);
      readRows(s, r * inRow, n * inRow, raw);
      dequantizeRow(t.type, raw, 0, f32, 0, n * cols);
      checkFinite(t.name, f32, n * cols, outRowIdx);
      out.set(quantizeFast(to, f32, n * cols), outRowIdx * outRow);
      outRowIdx += n;
      onChunk?.(n * cols);
    }
  }
  return out;
}

/** NaN or infinite weights would quantize to garbage silently; name the tensor and row instead. */
function checkFinite(name: string, x: Float32Array, n: number, firstRow: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v - v !== 0) throw new Phi3Error(`${name} holds a non-finite value (${v}) near row ${firstRow}; the checkpoint is corrupt`);
  }
}

/** Converts `input` into `out` (GGUF). Throws before creating anything when the input or type is bad. */
export function convertModel(input: ConvertInput, out: string, o: ConvertOptions): ConvertSummary {
  const ft = fileTypeInfo(o.type);
  const plan = planTensors(input, ft, o.allowRequantize);
  const metadata = metadataFor(input, ft);
  const total = plan.reduce((n, p) => n + p.dims.reduce((a, b) => a * b, 1), 0);
  let done = 0;
  const types: Record<string, number> = {};
  let bytes = 0;
  const threads = o.threads ?? availableParallelism();
  const pool = threads > 1 && plan.some((p) => p.from !== p.to) ? new QuantPool(threads) : undefined;
  const tensors: GGUFWriteTensor[] = plan.map((p, i) => {
    types[typeName(p.to)] = (types[typeName(p.to)] ?? 0) + 1;
    bytes += tensorByteSize(p.to, p.dims.reduce((a, b) => a * b, 1)) as number;
    return {
      name: p.name,
      type: p.to,
      dims: p.dims,
      data: () =>
        convertTensor(
          input.tensors[i],
          p.to,
          (n) => {
            done += n;
            o.onProgress?.(done, total, p.name);
          },
          pool,
        ),
    };
  });
  try {
    writeGGUF(out, metadata, tensors);
  } finally {
    pool?.close();
  }
  return { tensors: tensors.length, bytes, types };
}
