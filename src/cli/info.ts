// `phi3 info`: what a model file is and what it will cost to run.
import type { Phi3 } from '../phi3.js';

function gib(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(2)} GiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

export function printInfo(model: Phi3, json: boolean): void {
  const i = model.info();
  if (json) {
    console.log(JSON.stringify(i, null, 2));
    return;
  }
  const c = i.config;
  const lines = [
    ['path', `${i.path} (${i.format === 'gguf' ? 'GGUF' : 'Hugging Face folder'})`],
    ['name', i.name ?? '-'],
    ['architecture', `${i.architecture}: ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads / ${c.numKvHeads} kv heads (head dim ${c.headDim}), ffn ${c.intermediateSize}, vocab ${c.vocabSize}`],
    ['parameters', `${(i.parameters / 1e9).toFixed(3)} B (${i.parameters.toLocaleString('en-US')})`],
    ['tensor types', Object.entries(i.tensorTypes).map(([t, n]) => `${t} ×${n}`).join(', ')],
    ['context', `${i.contextSize} tokens (model maximum ${c.contextLength}, original ${c.originalContextLength})`],
    ['rope', `theta ${c.ropeTheta}, scaling: ${i.ropeScaling}`],
    ['sliding window', c.slidingWindow ? `${c.slidingWindow} in the config (not applied, as in llama.cpp)` : 'none'],
    ...(c.architecture === 'phi3small'
      ? [['attention', `blocksparse (block ${c.blockSize}, ${c.localBlocks} local blocks, vertical stride ${c.vertStride}${c.homoHeadPattern ? ', same for all heads' : ''}), ${c.denseEveryN === 0 ? 'no dense layers' : `dense on layers i with (i+1) % ${c.denseEveryN} == 0`}; muP ×${c.mupEmbeddingMultiplier} embedding, ÷${c.mupWidthMultiplier} logits`]]
      : []),
    ['memory', `weights ${gib(i.weightBytes)} + KV cache ${gib(i.kvCacheBytes)} at ${i.contextSize} tokens (f32) = ${gib(i.weightBytes + i.kvCacheBytes)}`],
    ['chat template', `(${i.chatTemplateSource})\n${i.chatTemplate}`],
  ];
  for (const [k, v] of lines) console.log(`${k.padEnd(15)}${v}`);
}
