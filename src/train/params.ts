// Trainable Phi-3 parameters: every weight in ONE flat Float32Array (fp32 master weights), with named
// views in llama.cpp's GGUF order and ggml dims ([cols, rows]; a matrix of `rows` outputs over `cols`
// inputs is stored row after row). One buffer makes the optimizer, clipping and checkpoints a loop over
// one array, and is what a GPU backend would upload as one storage buffer.
// Tested by test/train-grad.test.ts (forward equals llama.cpp's logits on ../shared/reference/tiny-4k).
import { readGGUF, readTensorData } from '../formats/gguf.js';
import { FormatError } from '../errors.js';
import { dequantizeRow } from '../quant/index.js';
import type { Phi3Config } from '../model/config.js';
import { NormalRng, phi3TensorSpecs } from '../model/random.js';
import { hfToGGUFName } from '../model/weights.js';

export interface ParamView {
  name: string;
  /** ggml order: dims[0] contiguous. */
  dims: number[];
  offset: number;
  size: number;
  /** AdamW decays matrices only, never norms (the usual GPT recipe). */
  decay: boolean;
}

export interface LayerParams {
  attnNorm: ParamView;
  qkv: ParamView;
  o: ParamView;
  ffnNorm: ParamView;
  gateUp: ParamView;
  down: ParamView;
}

export class Phi3Params {
  readonly views: ParamView[];
  readonly byName = new Map<string, ParamView>();
  readonly data: Float32Array;
  readonly tokenEmbd: ParamView;
  readonly outputNorm: ParamView;
  readonly output: ParamView;
  readonly layers: LayerParams[] = [];

  constructor(readonly config: Phi3Config) {
    if (config.tieWordEmbeddings) throw new Error('training tied-embedding models is not supported');
    let offset = 0;
    this.views = phi3TensorSpecs(config).map((s) => {
      const size = s.dims.reduce((a, b) => a * b, 1);
      const v: ParamView = { name: s.name, dims: s.dims, offset, size, decay: s.dims.length > 1 };
      offset += size;
      this.byName.set(s.name, v);
      return v;
    });
    this.data = new Float32Array(offset);
    const g = (n: string) => this.byName.get(n)!;
    this.tokenEmbd = g('token_embd.weight');
    this.outputNorm = g('output_norm.weight');
    this.output = g('output.weight');
    for (let l = 0; l < config.numLayers; l++) {
      const p = `blk.${l}.`;
      this.layers.push({
        attnNorm: g(p + 'attn_norm.weight'),
        qkv: g(p + 'attn_qkv.weight'),
        o: g(p + 'attn_output.weight'),
        ffnNorm: g(p + 'ffn_norm.weight'),
        gateUp: g(p + 'ffn_up.weight'),
        down: g(p + 'ffn_down.weight'),
      });
    }
  }

  get count(): number {
    return this.data.length;
  }

  /** The view's slice of a buffer laid out like `data` (params, grads, Adam moments). */
  slice(buf: Float32Array, v: ParamView): Float32Array {
    return buf.subarray(v.offset, v.offset + v.size);
  }

  /**
   * GPT-2 / nanoGPT initialisation: matrices N(0, 0.02), the two residual projections (o, down) scaled
   * by 1/√(2·layers) so the residual stream does not grow with depth, norms 1. Seeded: same seed, same
   * bits.
   */
  initRandom(seed: number, std = 0.02): this {
    const rng = new NormalRng(seed >>> 0);
    const resid = std / Math.sqrt(2 * this.config.numLayers);
    for (const v of this.views) {
      const s = this.slice(this.data, v);
      if (!v.decay) s.fill(1);
      else {
        const sd = /attn_output|ffn_down/.test(v.name) ? resid : std;
        for (let i = 0; i < s.length; i++) s[i] = sd * rng.next();
      }
    }
    return this;
  }

  /** Copies weights from a Phi-3 GGUF of the same shape (any tensor type; dequantized to f32). */
  loadGGUF(path: string): this {
    const f = readGGUF(path);
    for (const v of this.views) {
      const t = f.tensors.find((x) => x.name === v.name);
      if (!t) throw new FormatError(path, `missing tensor ${v.name}`);
      if (t.dims.length !== v.dims.length || t.dims.some((d, i) => d !== v.dims[i]))
        throw new FormatError(path, `tensor ${v.name} has shape [${t.dims}] but the config implies [${v.dims}]`);
      dequantizeRow(t.type, readTensorData(f, t), 0, this.data, v.offset, v.size);
    }
    return this;
  }
}

/** Hugging Face Phi3ForCausalLM name of a GGUF tensor name (the inverse of weights.ts hfToGGUFName). */
export function ggufToHFName(gguf: string): string {
  const fixed: Record<string, string> = {
    'token_embd.weight': 'model.embed_tokens.weight',
    'output_norm.weight': 'model.norm.weight',
    'output.weight': 'lm_head.weight',
  };
  if (fixed[gguf]) return fixed[gguf];
  const m = /^blk\.(\d+)\.(.+)$/.exec(gguf);
  const per: Record<string, string> = {
    'attn_norm.weight': 'input_layernorm.weight',
    'attn_qkv.weight': 'self_attn.qkv_proj.weight',
    'attn_output.weight': 'self_attn.o_proj.weight',
    'ffn_norm.weight': 'post_attention_layernorm.weight',
    'ffn_up.weight': 'mlp.gate_up_proj.weight',
    'ffn_down.weight': 'mlp.down_proj.weight',
  };
  const hf = m && per[m[2]] ? `model.layers.${m[1]}.${per[m[2]]}` : undefined;
  if (!hf || hfToGGUFName(hf) !== gguf) throw new Error(`no Hugging Face name for tensor ${gguf}`);
  return hf;
}
