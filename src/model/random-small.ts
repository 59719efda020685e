// Every tensor of a phi3small GGUF (formats/phi3small-gguf.ts), in file order, with the random draw
// `phi3 init --preset phi-3-small-8k --random` uses. The draw is the tiny-small reference recipe
// (../shared/reference/tiny-small/spec.json), scaled by width, so activations stay O(1), about 1% of the
// up_proj outputs reach the GeGeLU clamp, and logits have a standard deviation of about 3 at any size.
// Tested by test/phi3-small.test.ts (a random model of the tiny shape loads and generates).
import type { GGUFWriteTensor } from '../formats/gguf.js';
import { tensorTypeFor, type FileTypeInfo } from '../quant/mix.js';
import { PRESETS } from './presets.js';
import { configFromHFSmall, type Phi3SmallConfig } from './config-small.js';
import { NormalRng, drawTensor, type Spec } from './random.js';

export function phi3SmallTensorSpecs(c: Phi3SmallConfig): Spec[] {
  const h = c.hiddenSize;
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const ff = c.intermediateSize;
  const s = (name: string, dims: number[], mean: number, std: number): Spec => ({ name, dims, mean, std });
  const specs: Spec[] = [s('token_embd.weight', [h, c.vocabSize], 0, 0.5)];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `blk.${l}.`;
    specs.push(
      s(p + 'attn_norm.weight', [h], 1, 0.1),
      s(p + 'attn_norm.bias', [h], 0, 0.1),
      s(p + 'attn_qkv.weight', [h, qkv], 0, 2 / Math.sqrt(h)),
      s(p + 'attn_qkv.bias', [qkv], 0, 0.5),
      s(p + 'attn_output.weight', [c.numHeads * c.headDim, h], 0, 3 / Math.sqrt(h)),
      s(p + 'attn_output.bias', [h], 0, 0.1),
      s(p + 'ffn_norm.weight', [h], 1, 0.1),
      s(p + 'ffn_norm.bias', [h], 0, 0.1),
      s(p + 'ffn_up.weight', [h, 2 * ff], 0, 8 / Math.sqrt(h)),
      s(p + 'ffn_up.bias', [2 * ff], 0, 1),
      s(p + 'ffn_down.weight', [ff, h], 0, 0.2 / Math.sqrt(ff)),
      s(p + 'ffn_down.bias', [h], 0, 0.1),
    );
  }
  specs.push(s('output_norm.weight', [h], 5, 0.5), s('output_norm.bias', [h], 0, 0.1));
  if (!c.tieWordEmbeddings) specs.push(s('output.weight', [h, c.vocabSize], 0, 0.5));
  return specs;
}

/** The tensors of a random phi3small model, lazily drawn, each from its own seed. */
export function randomPhi3SmallTensors(c: Phi3SmallConfig, ft: FileTypeInfo, seed: number): GGUFWriteTensor[] {
  return phi3SmallTensorSpecs(c).map((spec, i) => {
    const type = tensorTypeFor(ft, spec.name, spec.dims, c.numLayers, c.tieWordEmbeddings);
    return { name: spec.name, type, dims: spec.dims, data: () => drawTensor(spec, type, new NormalRng((seed * 1000003 + i * 7919) >>> 0)) };
  });
}

/** A Phi-3-small preset's config (presets.ts), e.g. 'phi-3-small-8k'. */
export function smallPresetConfig(name: string): Phi3SmallConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset "${name}"; known: ${Object.keys(PRESETS).join(', ')}`);
  return configFromHFSmall(p.config, `preset ${name}`);
}
