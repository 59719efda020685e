// The engine in the browser (issue 10): the ESM browser build's size budget and Node-free-ness, and
// the chat page served with no model (startStaticSite = `phi3 serve --static`) in Debian's chromium:
// the page takes the tiny-4k GGUF from disk (setInputFiles), copies it into OPFS with progress, runs
// it in a Web Worker, produces llama.cpp's greedy tokens (the reference fixtures, which our Node
// engine also reproduces) and the same chat answer as Node, then works again offline: network cut,
// page reloaded, the page from its service worker and the model from OPFS. Run cross-origin isolated
// (COOP/COEP: WASM threads in Web Workers) and not (one thread). Skipped, saying why, only without
// chromium.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildBrowser, type BrowserBuild } from '../scripts/build-browser.js';
import { FormatError, loadModel, type Phi3 } from '../src/index.js';
import { memorySource, type ByteSource } from '../src/formats/io.js';
import { readGGUF, readGGUFFrom } from '../src/formats/gguf.js';
import { WasmBackend } from '../src/backend/wasm/index.js';
import { startStaticSite, type RunningStaticSite } from '../src/server/static-site.js';
import { REFERENCE, readJson, tempDir } from './helpers.js';

const CHROMIUM = process.env.PHI3_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set PHI3_CHROMIUM`;
const MODEL = join(REFERENCE, 'tiny-4k/model.gguf');
const QUESTION = 'What is the capital of France?';

interface Prompt {
  name: string;
  ids: number[];
  greedy: number[];
}
const prompts = readJson<{ runs: { main: { prompts: Prompt[] } } }>(join(REFERENCE, 'tiny-4k/expected.json')).runs.main.prompts;

let bundle: BrowserBuild;
let browser: Browser;
let node: Phi3;
const sites: RunningStaticSite[] = [];
/** Another origin serving the model file, as a model host would (CORS + CORP, so COEP pages may fetch it). */
let modelHost: Server;
let modelURL: string;

before(async () => {
  bundle = await buildBrowser(tempDir('phi3-browser-'));
});

describe('platform seam', () => {
  it('reads a GGUF through a ByteSource (how browsers pass Files and OPFS files) as it reads it by path', async () => {
    const bytes = readFileSync(MODEL);
    const reads: number[] = [];
    const mem = memorySource(bytes, 'tiny.gguf');
    const counted: ByteSource = { name: mem.name, size: mem.size, read: (dst, at) => (reads.push(dst.length), mem.read(dst, at)) };
    const byPath = readGGUF(MODEL);
    const bySource = readGGUFFrom(counted);
    assert.deepEqual(bySource.tensors, byPath.tensors);
    assert.deepEqual([...bySource.metadata.keys()], [...byPath.metadata.keys()]);
    const m = await loadModel(counted);
    assert.deepEqual(
      [...(await collect(m.generate(prompts[0].ids, { maxTokens: 4, temperature: 0, noStop: true })))],
      prompts[0].greedy.slice(0, 4),
    );
    // tensor by tensor: no read larger than the largest tensor (here the 32064 × 64 f32 embedding)
    const largest = Math.max(...byPath.tensors.map((t) => t.nbytes));
    assert.ok(Math.max(...reads) <= largest, `largest read ${Math.max(...reads)} > largest tensor ${largest}`);
    assert.throws(() => readGGUFFrom(memorySource(bytes.subarray(0, 1000), 'cut.gguf')), (e: unknown) => e instanceof FormatError && /cut\.gguf/.test(e.message));
  });
});

async function collect(g: AsyncGenerator<{ token: number | null }, unknown, void>): Promise<number[]> {
  const out: number[] = [];
  for await (const p of g) if (p.token !== null) out.push(p.token);
  return out;
}

describe('browser build', () => {
  it('is under 1 MB gzipped without weights and imports nothing from node:', () => {
    let gz = 0;
    for (const name of readdirSync(bundle.outdir)) {
      if (!/\.(js|wasm)$/.test(name)) continue;
      const bytes = readFileSync(join(bundle.outdir, name));
      gz += gzipSync(bytes, { level: 9 }).length;
      if (name.endsWith('.js')) {
        const text = bytes.toString('utf8');
        assert.doesNotMatch(text, /(?:from|import)\s*\(?\s*["']node:/, `${name} imports a Node built-in`);
      }
    }
    assert.ok(bundle.files.some((f) => f.name === 'phi3.js') && bundle.files.some((f) => f.name === 'worker.js'));
    assert.ok(gz < 1_000_000, `engine bundle is ${gz} bytes gzipped`);
    assert.ok(gz > 20_000, `engine bundle of ${gz} bytes gzipped is implausibly small`);
  });
});

/** Answers `QUESTION` greedily (20 tokens) through the page's chat UI. */
async function askGreedy(page: Page): Promise<string> {
  await page.click('#open-settings-top');
  await page.fill('#s-temperature', '0');
  await page.fill('#s-max-tokens', '20');
  await page.click('#s-save');
  await page.waitForSelector('#settings', { state: 'hidden' });
  await page.click('#new-chat');
  await page.fill('#input', QUESTION);
  await page.click('#send');
  await page.waitForSelector('#send:not([hidden])', { timeout: 60_000 });
  return page.evaluate(() => Array.from(document.querySelectorAll('.msg.assistant .bubble')).pop()?.textContent?.trim() ?? '');
}

/** The page's engine (window.phi3Engine, local.js) generating from token ids. */
function pageGreedy(page: Page, ids: number[], n: number): Promise<number[]> {
  return page.evaluate(
    async ([ids, n]) => {
      const engine = (window as unknown as { phi3Engine: { call(op: string, a: object): Promise<{ tokens: number[] }> } }).phi3Engine;
      return (await engine.call('generate', { prompt: ids, options: { maxTokens: n, temperature: 0, noStop: true } })).tokens;
    },
    [ids, n] as const,
  );
}

const engineInfo = (page: Page) =>
  page.evaluate(() => (window as unknown as { phi3Engine: { call(op: string): Promise<Record<string, unknown>> } }).phi3Engine.call('info'));

describe('chat page with the engine in the browser', { skip }, () => {
  let nodeAnswer: string;
  before(async () => {
    node = await loadModel(MODEL, { backend: new WasmBackend({ threads: 1 }) });
    const g = node.chat([{ role: 'user', content: QUESTION }], { maxTokens: 20, temperature: 0 });
    for (;;) {
      const r = await g.next();
      if (r.done) {
        nodeAnswer = r.value.text;
        break;
      }
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    modelHost = createServer((req, res) => {
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(statSync(MODEL).size),
        'Access-Control-Allow-Origin': '*',
        'Cross-Origin-Resource-Policy': 'cross-origin',
      });
      createReadStream(MODEL).pipe(res);
    });
    await new Promise<void>((resolve) => modelHost.listen(0, '127.0.0.1', resolve));
    const addr = modelHost.address();
    modelURL = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/models/tiny-from-url.gguf`;
  });

  after(async () => {
    await browser?.close();
    for (const s of sites) await s.close();
    modelHost?.closeAllConnections();
    await new Promise((resolve) => modelHost?.close(resolve));
  });

  it('picks WebGPU where the browser has an adapter (SwiftShader) and matches llama.cpp greedy tokens', async () => {
    const site = await startStaticSite({ port: 0, engineDir: bundle.outdir });
    sites.push(site);
    // Chromium's software WebGPU adapter: Dawn on SwiftShader's Vulkan
    const gpuBrowser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-vulkan-surface'],
    });
    try {
      const page = await (await gpuBrowser.newContext()).newPage();
      await page.goto(`${site.url}/`);
      await page.waitForSelector('#models[open]');
      await page.setInputFiles('#m-file', MODEL);
      await page.waitForFunction(() => /^(Loaded|Error)/.test(document.getElementById('m-status')?.textContent ?? ''), null, { timeout: 60_000 });
      assert.match((await page.textContent('#m-status')) ?? '', /^Loaded model\.gguf .* webgpu$/);
      for (const p of prompts) {
        const n = 8;
        assert.deepEqual(await pageGreedy(page, p.ids, n), p.greedy.slice(0, n), `prompt ${p.name}: WebGPU in the browser differs from llama.cpp`);
      }
    } finally {
      await gpuBrowser.close();
    }
  });

  for (const isolate of [true, false]) {
    it(`loads GGUFs from disk and a URL into OPFS, matches Node's greedy tokens, and works offline (${isolate ? 'cross-origin isolated: 2 threads' : 'not isolated: 1 thread'})`, async () => {
      const site = await startStaticSite({ port: 0, engineDir: bundle.outdir, isolate });
      sites.push(site);
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${site.url}/`);
      // no model on the server and none cached: the Models dialog opens; pick the file from disk
      await page.waitForSelector('#models[open]');
      await page.setInputFiles('#m-file', MODEL);
      await page.waitForFunction(() => document.getElementById('model-name')?.textContent?.includes('in this browser'), null, { timeout: 60_000 });
      const bar = await page.evaluate(() => {
        const p = document.getElementById('m-progress') as HTMLProgressElement;
        return { value: p.value, max: p.max };
      });
      assert.ok(bar.max > 1 && bar.value === bar.max, `the progress bar ends full: ${JSON.stringify(bar)}`);
      assert.match(await page.textContent('#m-list') ?? '', /model\.gguf/);
      // ... and one from a URL (another origin), downloaded into OPFS the same way
      await page.fill('#m-url', modelURL);
      await page.click('#m-fetch');
      await page.waitForFunction(() => /Loaded tiny-from-url\.gguf/.test(document.getElementById('m-status')?.textContent ?? ''), null, { timeout: 60_000 });
      const cached = await page.evaluate(() =>
        (window as unknown as { phi3Engine: { call(op: string): Promise<{ name: string; size: number }[]> } }).phi3Engine.call('list'),
      );
      assert.deepEqual(cached, [
        { name: 'model.gguf', size: statSync(MODEL).size },
        { name: 'tiny-from-url.gguf', size: statSync(MODEL).size },
      ]);
      await page.click('#m-list button[aria-label="Delete tiny-from-url.gguf"]');
      await page.waitForFunction(() => !/tiny-from-url/.test(document.getElementById('m-list')?.textContent ?? ''));
      await page.click('#models button[value=close]');

      assert.equal(await page.evaluate(() => crossOriginIsolated), isolate);
      const loaded = await page.evaluate(() =>
        (window as unknown as { phi3Engine: { call(op: string, a: object): Promise<Record<string, unknown>> } }).phi3Engine.call('load', { name: 'model.gguf', threads: 2, backend: 'wasm' }),
      );
      assert.equal(loaded.threads, isolate ? 2 : 1, `engine ${String(loaded.backend)}`);
      for (const p of prompts) {
        const n = Math.min(p.greedy.length, 16);
        const ours = await pageGreedy(page, p.ids, n);
        assert.deepEqual(ours, p.greedy.slice(0, n), `prompt ${p.name}: the browser's greedy tokens differ from llama.cpp's`);
        const inNode: number[] = [];
        for await (const piece of node.generate(p.ids, { maxTokens: n, temperature: 0, noStop: true })) if (piece.token !== null) inNode.push(piece.token);
        assert.deepEqual(ours, inNode, `prompt ${p.name}: browser and Node differ`);
      }
      assert.equal(await askGreedy(page), nodeAnswer.trim(), 'the chat answer differs from Node\'s');

      // The library itself, as a page or a worker imports it (engine/phi3.js = package.json's "browser"
      // export): loadModel(File) with the same API as Node, on the page's main thread and in a worker.
      const first = prompts[0];
      const lib = await page.evaluate(async (ids) => {
        const file = (document.getElementById('m-file') as HTMLInputElement).files![0];
        const url = `${location.origin}/engine/phi3.js`;
        const run = `const { loadModel } = await import(${JSON.stringify(url)});
          const m = await loadModel(file, { backend: 'wasm' });
          const out = [];
          for await (const p of m.generate(ids, { maxTokens: 8, temperature: 0, noStop: true })) if (p.token !== null) out.push(p.token);
          return { out, backend: m.model.backend.name, name: m.info().name };`;
        const onPage = await new Function('file', 'ids', `return (async () => { ${run} })()`)(file, ids);
        const src = `onmessage = async (e) => { const { file, ids } = e.data; postMessage(await (async () => { ${run} })()); };`;
        const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
        const inWorker = await new Promise((resolve, reject) => {
          w.onmessage = (e) => resolve(e.data);
          w.onerror = (e) => reject(new Error(e.message));
          w.postMessage({ file, ids });
        });
        w.terminate();
        return { onPage, inWorker };
      }, first.ids);
      for (const [where, r] of Object.entries(lib) as [string, { out: number[]; backend: string; name: string }][]) {
        assert.deepEqual(r.out, first.greedy.slice(0, 8), `loadModel ${where}: greedy tokens`);
        assert.match(r.backend, /^wasm-/, `loadModel ${where} runs the WASM backend`);
      }

      // the one expected error: /props is not found (no model on this server: the page runs it itself)
      assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
      errors.length = 0;

      // Offline: wait until the service worker controls the page, cut the network, reload.
      await page.evaluate(() => navigator.serviceWorker.ready);
      await context.setOffline(true);
      await page.reload();
      await page.waitForFunction(() => document.getElementById('model-name')?.textContent?.includes('in this browser'), null, { timeout: 60_000 });
      const info = await engineInfo(page);
      assert.equal(info.file, 'model.gguf');
      assert.equal(await askGreedy(page), nodeAnswer.trim(), 'offline, the chat answer differs from Node\'s');
      await context.close();
      // offline, the one expected error is the failed /props request
      assert.ok(errors.length <= 1 && errors.every((e) => /Failed to load resource/.test(e)), errors.join('\n'));
    });
  }
});
