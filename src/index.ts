// phi3 — the public API. Load a Phi-3 model (GGUF or Hugging Face folder), tokenize, chat, generate.
//
//   import { loadModel } from 'phi3';
//   const model = await loadModel('phi-3-mini-4k-instruct-q4.gguf');
//   for await (const { text } of model.chat([{ role: 'user', content: 'Hi!' }])) process.stdout.write(text);
export { loadModel, Phi3, Session, type LoadOptions, type ModelInfo } from './phi3.js';
export { openModelFiles, type ModelFiles } from './load.js';
export { ChatTemplate, PHI3_TEMPLATE, type ChatMessage, type Role } from './chat/template.js';
export type { GenerateOptions, GeneratedPiece, GenerationResult, FinishReason } from './generate/generate.js';
export { Sampler, type SamplingOptions } from './generate/sampler.js';
export { configFromHF, configFromGGUF, presetConfig, parameterCount, type Phi3Config } from './model/config.js';
export { PRESETS } from './model/presets.js';
export { Phi3Model, type ModelOptions } from './model/phi3.js';
export { Phi3SmallModel } from './model/phi3-small.js';
export { configFromHFSmall, type Phi3SmallConfig } from './model/config-small.js';
export type { CausalLM, ModelConfig } from './model/causal-lm.js';
export { TiktokenTokenizer } from './tokenizer/tiktoken.js';
export type { Backend } from './backend/backend.js';
export { refBackend } from './backend/ref/index.js';
// WebGPU: createWebGPUBackend(navigator.gpu) in a page; in Node, selectBackend('webgpu') uses Dawn.
export { WebGPUBackend, createWebGPUBackend, type WebGPUOptions } from './backend/webgpu/index.js';
export type { Tokenizer } from './tokenizer/tokenizer.js';
export { Phi3Error, FormatError, RequestError } from './errors.js';
