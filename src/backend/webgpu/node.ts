// The Node side of the WebGPU backend: a GPU device from Dawn (the `webgpu` npm package, an optional
// dependency). On a machine without a GPU, Dawn runs on Mesa's llvmpipe through OpenGL ES in
// compatibility mode: EGL_PLATFORM=surfaceless, Dawn backend 'opengles', featureLevel 'compatibility'
// (compat limits there: 16 storage buffers a stage, 128 MiB a binding, no shader-f16).
// PHI3_WEBGPU_BACKEND picks Dawn's backend ('vulkan', 'opengles', …); by default Dawn chooses, and if it
// finds no adapter, the llvmpipe route above is tried.
import { Phi3Error } from '../../errors.js';
import { requestDevice, WebGPUBackend, type WebGPUOptions } from './index.js';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function loadDawn(): Promise<DawnModule> {
  try {
    const name = 'webgpu'; // a variable, so bundlers for the browser leave this import alone
    return (await import(name)) as DawnModule;
  } catch (e) {
    throw new Phi3Error(`--backend webgpu needs the optional npm package "webgpu" (Dawn for Node): npm install webgpu (${(e as Error).message})`);
  }
}

// Dawn's GPU instances, kept alive for the life of the process: a collected instance takes its devices
// down with it (a crash in Dawn's threads, not an error).
const instances: GPU[] = [];

/** A GPUDevice from Dawn: the first adapter Dawn offers, else llvmpipe through OpenGL ES. */
export async function dawnDevice(): Promise<GPUDevice> {
  const loaded = await loadDawn();
  const dawn = {
    ...loaded,
    create(flags: string[]): GPU {
      const gpu = loaded.create(flags);
      instances.push(gpu);
      return gpu;
    },
  };
  // Dawn's objects check `instanceof` against these classes; some code paths look them up globally.
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const chosen = process.env.PHI3_WEBGPU_BACKEND;
  const llvmpipe = () => {
    // no display here: EGL must not look for one
    process.env.EGL_PLATFORM ??= 'surfaceless';
    return requestDevice(dawn.create(['backend=opengles']), { featureLevel: 'compatibility' });
  };
  if (chosen === 'opengles') return llvmpipe();
  if (chosen) return requestDevice(dawn.create([`backend=${chosen}`]));
  try {
    return await requestDevice(dawn.create([]));
  } catch {
    return llvmpipe();
  }
}

/** A WebGPU backend on Dawn, created at once; the device is acquired in the background. */
export function nodeWebGPUBackend(opts: WebGPUOptions = {}): WebGPUBackend {
  return new WebGPUBackend(dawnDevice(), opts);
}
