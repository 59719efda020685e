// Writes a random-weight Phi-3 Hugging Face folder of a real shape (BF16, sharded safetensors with
// model.safetensors.index.json, config.json, and the Phi-3 tokenizer files copied in), through the
// project's own safetensors writer: the input for measuring `phi3 convert` / `phi3 quantize` on a full
// phi-3-mini (≈7.6 GB) or phi-3-medium without downloading one.
//   node --import tsx bench/make-hf-folder.ts OUT_DIR [--preset phi-3-mini-4k] [--layers N] [--shard-gb 2] [--tokenizer DIR]
// Weights are uniform with the std the real draw uses (model/random.ts), from a fast xorshift: the
// quantizers' speed and memory do not depend on the distribution's shape.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type SafetensorsWriteTensor } from '../src/formats/safetensors.js';
import { PRESETS } from '../src/model/presets.js';
import { presetConfig } from '../src/model/config.js';
import { phi3TensorSpecs } from '../src/model/random.js';
import { f32ToBf16 } from '../src/quant/half.js';

const args = process.argv.slice(2);
const out = args[0];
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const preset = opt('--preset', 'phi-3-mini-4k');
const shardBytes = Number(opt('--shard-gb', '2')) * 2 ** 30;
const tokDir = opt('--tokenizer', join(import.meta.dirname, '../../shared/phi3/tokenizer/phi-3-mini'));
if (!out) throw new Error('usage: make-hf-folder.ts OUT_DIR [--preset NAME] [--shard-gb N] [--tokenizer DIR]');
mkdirSync(out, { recursive: true });
const layers = Number(opt('--layers', '0')); // 0 = the preset's; fewer keeps the real tensor shapes in a smaller folder
const c = presetConfig(preset);
if (layers > 0) c.numLayers = layers;
const hfName = (g: string): string => {
  const fixed: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
  if (fixed[g]) return fixed[g];
  const m = /^blk\.(\d+)\.(.+)$/.exec(g)!;
  const per: Record<string, string> = {
    'attn_norm.weight': 'input_layernorm.weight', 'attn_qkv.weight': 'self_attn.qkv_proj.weight', 'attn_output.weight': 'self_attn.o_proj.weight',
    'ffn_norm.weight': 'post_attention_layernorm.weight', 'ffn_up.weight': 'mlp.gate_up_proj.weight', 'ffn_down.weight': 'mlp.down_proj.weight',
  };
  return `model.layers.${m[1]}.${per[m[2]]}`;
};
let s = 0x9e3779b9;
const rnd = () => {
  s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
  return (s >>> 0) / 2 ** 32 - 0.5; // uniform, std 1/sqrt(12)
};
const specs = phi3TensorSpecs(c);
const shards: SafetensorsWriteTensor[][] = [[]];
let inShard = 0;
for (const sp of specs) {
  const n = sp.dims.reduce((a, b) => a * b, 1);
  if (inShard + 2 * n > shardBytes && shards[shards.length - 1].length > 0) {
    shards.push([]);
    inShard = 0;
  }
  shards[shards.length - 1].push({ name: hfName(sp.name), dtype: 'BF16', shape: [...sp.dims].reverse(), data: new Uint8Array(0) });
  inShard += 2 * n;
}
const weightMap: Record<string, string> = {};
let total = 0;
shards.forEach((tensors, i) => {
  const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
  for (const t of tensors) {
    const sp = specs.find((x) => hfName(x.name) === t.name)!;
    const n = sp.dims.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(2 * n);
    const scale = sp.std * Math.sqrt(12);
    for (let k = 0; k < n; k++) {
      const h = f32ToBf16(sp.mean + scale * rnd());
      data[2 * k] = h & 0xff;
      data[2 * k + 1] = h >> 8;
    }
    t.data = data;
    weightMap[t.name] = file;
    total += data.length;
  }
  writeSafetensors(join(out, file), tensors);
  for (const t of tensors) t.data = new Uint8Array(0);
  console.error(`wrote ${file}`);
});
writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 1));
writeFileSync(join(out, 'config.json'), JSON.stringify({ architectures: ['Phi3ForCausalLM'], model_type: 'phi3', torch_dtype: 'bfloat16', _name_or_path: `random/${preset}`, ...PRESETS[preset].config, ...(layers > 0 ? { num_hidden_layers: layers } : {}) }, null, 1));
for (const f of ['tokenizer.json', 'tokenizer_config.json', 'tokenizer.model']) if (existsSync(join(tokDir, f))) copyFileSync(join(tokDir, f), join(out, f));
console.error(`${out}: ${shards.length} shards, ${(total / 2 ** 30).toFixed(2)} GiB, ${c.numLayers} layers`);
