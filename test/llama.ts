// llama.cpp as an independent judge: greedy tokens from node-llama-cpp's prebuilt binary on a GGUF we
// wrote, so tests can check that llama.cpp loads our files and decodes what we decode.

/** Greedy tokens from llama.cpp for each prompt on `path`, or the reason it cannot run here. */
export async function llamaGreedy(path: string, prompts: number[][], n: number): Promise<number[][] | string> {
  let mod: typeof import('node-llama-cpp');
  try {
    mod = await import('node-llama-cpp');
  } catch (e) {
    return `node-llama-cpp is not installed (${(e as Error).message})`;
  }
  let llama;
  try {
    llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: mod.LlamaLogLevel.error });
  } catch (e) {
    return `the prebuilt llama.cpp binary cannot load here (${(e as Error).message.split('\n')[0]})`;
  }
  const model = await llama.loadModel({ modelPath: path });
  const out: number[][] = [];
  for (const ids of prompts) {
    // one thread: llama.cpp's spinning worker threads crawl on a loaded 2-core CI machine
    const ctx = await model.createContext({ contextSize: 256, batchSize: 256, threads: 1 });
    const toks: number[] = [];
    for await (const t of ctx.getSequence().evaluate(ids as never, { temperature: 0 })) {
      toks.push(t as number);
      if (toks.length >= n) break;
    }
    out.push(toks);
    await ctx.dispose();
  }
  await model.dispose();
  return out;
}
