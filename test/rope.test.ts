// RoPE and LongRoPE. Hand-derived values (FACTS.md §3.1), and behaviour on a 128K-style variant of the
// tiny-4k reference model: the same weights with rope_scaling factors added to its config.json.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFromHF, longRopeAttentionFactor, presetConfig } from '../src/model/config.js';
import { chooseFactorSet, inverseFrequencies, ropeAngles } from '../src/model/rope.js';
import { loadModel } from '../src/index.js';
import { REFERENCE, TOKENIZER_DIR, tempDir } from './helpers.js';

describe('rope', () => {
  it('attention factor for 4096 → 131072 is sqrt(1 + ln 32 / ln 4096)', () => {
    // ln 32 / ln 4096 = 5/12 exactly, so the factor is sqrt(17/12).
    assert.ok(Math.abs(longRopeAttentionFactor(131072, 4096) - Math.sqrt(17 / 12)) < 1e-15);
    assert.ok(Math.abs(longRopeAttentionFactor(131072, 4096) - 1.1902380714238083) < 1e-12);
    assert.equal(presetConfig('phi-3-mini-128k').ropeScaling?.attentionFactor, longRopeAttentionFactor(131072, 4096));
    assert.equal(longRopeAttentionFactor(4096, 4096), 1);
  });

  it('inverse frequencies are base^(-2i/d) / factor[i]', () => {
    const c = presetConfig('phi-3-mini-128k');
    const s = inverseFrequencies(c, 'short');
    const l = inverseFrequencies(c, 'long');
    assert.equal(s.length, 48);
    assert.equal(s[0], 1 / c.ropeScaling!.shortFactor[0]);
    assert.ok(Math.abs(l[47] - Math.pow(10000, -94 / 96) / c.ropeScaling!.longFactor[47]) < 1e-18);
    const plain = inverseFrequencies(presetConfig('phi-3-mini-4k'), 'short');
    assert.ok(Math.abs(plain[1] - Math.pow(10000, -2 / 96)) < 1e-18);
  });

  it('angles at position p are p·invfreq, scaled by the attention factor', () => {
    const c = presetConfig('phi-3-mini-128k');
    const a = ropeAngles(c, 'short', 5, 2);
    const inv = inverseFrequencies(c, 'short');
    const m = c.ropeScaling!.attentionFactor;
    assert.ok(Math.abs(a.cos[0] - Math.fround(Math.cos(5 * inv[0]) * m)) < 1e-7);
    assert.ok(Math.abs(a.sin[48 + 3] - Math.fround(Math.sin(6 * inv[3]) * m)) < 1e-7);
  });

  it('factor set choice: HF dynamic by position, llama.cpp by context size, or forced', () => {
    const c = presetConfig('phi-3-mini-128k');
    assert.equal(chooseFactorSet(c, 'dynamic', 4095, 131072), 'short');
    assert.equal(chooseFactorSet(c, 'dynamic', 4096, 131072), 'long');
    assert.equal(chooseFactorSet(c, 'context', 10, 8192), 'long');
    assert.equal(chooseFactorSet(c, 'context', 10, 4096), 'short');
    assert.equal(chooseFactorSet(c, 'long', 0, 4096), 'long');
    assert.equal(chooseFactorSet(presetConfig('phi-3-mini-4k'), 'long', 0, 4096), 'short');
  });

  it('rejects factor lists of the wrong length', () => {
    const base = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 10 };
    assert.throws(
      () => configFromHF({ ...base, max_position_embeddings: 64, original_max_position_embeddings: 8, rope_scaling: { type: 'su', short_factor: [1], long_factor: [1] } }),
      /short_factor must be 8 positive numbers/,
    );
  });
});

/** tiny-4k weights with LongRoPE: original context 8, maximum 64, factors ≠ 1. */
function longRopeVariant(factors: { short: number[]; long: number[] }, attention_factor?: number): string {
  const dir = tempDir();
  const cfg = JSON.parse(readFileSync(join(REFERENCE, 'tiny-4k/hf/config.json'), 'utf8'));
  cfg.max_position_embeddings = 64;
  cfg.original_max_position_embeddings = 8;
  cfg.rope_scaling = { type: 'longrope', short_factor: factors.short, long_factor: factors.long, ...(attention_factor ? { attention_factor } : {}) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  symlinkSync(join(REFERENCE, 'tiny-4k/hf/model.safetensors'), join(dir, 'model.safetensors'));
  copyFileSync(join(TOKENIZER_DIR, 'phi-3-mini/tokenizer.json'), join(dir, 'tokenizer.json'));
  return dir;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('LongRoPE in the forward pass', () => {
  const ids = [15043, 29892, 590, 1024, 338, 263, 1243, 310, 278, 1556, 3186, 29889];

  it('unit factors and attention factor 1 give exactly the unscaled model', async () => {
    const ones = new Array(8).fill(1);
    const scaled = await loadModel(longRopeVariant({ short: ones, long: ones }, 1));
    const plain = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'));
    assert.ok(maxAbsDiff(scaled.forward(ids), plain.forward(ids)) < 1e-5);
  });

  it('dynamic mode: crossing the original context recomputes the cache with long factors', async () => {
    const short = [1, 1.5, 2, 2, 3, 4, 4, 5];
    const long = [2, 3, 5, 8, 13, 21, 34, 55];
    const m = await loadModel(longRopeVariant({ short, long }));
    // Token by token past position 7: the call at position 8 switches to long factors for everything.
    const cache = m.model.newCache();
    m.model.forward(ids.slice(0, 8), cache);
    assert.equal(cache.factorSet, 'short');
    const crossed = m.model.forward(ids.slice(8, 10), cache);
    assert.equal(cache.factorSet, 'long');
    assert.equal(cache.length, 10);
    const longAll = await loadModel(longRopeVariant({ short, long }), { ropeFactors: 'long' });
    assert.ok(maxAbsDiff(crossed, longAll.forward(ids.slice(0, 10))) < 1e-5);
    // Below the original context the short factors apply, and they differ from the long ones.
    const shortOnly = m.forward(ids.slice(0, 8));
    assert.ok(maxAbsDiff(shortOnly, longAll.forward(ids.slice(0, 8))) > 1e-3);
  });

  it('context mode (llama.cpp): long factors from the start when the context exceeds the original', async () => {
    const f = { short: [1, 1.5, 2, 2, 3, 4, 4, 5], long: [2, 3, 5, 8, 13, 21, 34, 55] };
    const ctx = await loadModel(longRopeVariant(f), { ropeFactors: 'context', contextSize: 32 });
    const longAll = await loadModel(longRopeVariant(f), { ropeFactors: 'long' });
    assert.ok(maxAbsDiff(ctx.forward(ids.slice(0, 4)), longAll.forward(ids.slice(0, 4))) < 1e-6);
  });
});
