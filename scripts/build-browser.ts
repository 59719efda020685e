// `npm run build:browser [-- OUTDIR]`: the ESM browser build (default dist/browser/).
//   phi3.js     the library (src/browser/index.ts): `import { loadModel } from 'phi3'` in a page or worker
//   worker.js   the chat page's engine worker (src/browser/worker.ts)
//   chunk-*.js  code both share; kernels-*.wasm  the WASM kernels, fetched from next to phi3.js
//   manifest.json  the files above, for the page's service worker (offline visits)
//   site/       the static chat page (src/web + engine/ = the files above + vendor/marked), for any
//               static host; `phi3 serve --static` serves the same files with COOP/COEP headers
// Node built-ins: the browser graph still imports modules whose Node-only functions (reading a path,
// Hugging Face folders, writers, the Node WASM host) it never calls. Each `node:X` import becomes a
// stub whose exports throw "X.f (a Node built-in) is not available in browsers" if called, so nothing Node-only is
// bundled and a mistake fails loudly instead of at load time.
import { build, type Plugin } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const nodeStubs: Plugin = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path.slice(5), namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, async (args) => {
      if (!builtinModules.includes(args.path)) throw new Error(`unknown Node built-in node:${args.path}`);
      const names = Object.keys((await import(`node:${args.path}`)) as object).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      const lines = [
        `const fail = (f) => function () { throw new Error('${args.path}.' + f + ' (a Node built-in) is not available in browsers'); };`,
        ...names.map((n) => `export const ${n} = fail(${JSON.stringify(n)});`),
        'export default {};',
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

export interface BrowserBuild {
  outdir: string;
  /** The files written under outdir/ (not site/), with their sizes. */
  files: { name: string; bytes: number }[];
}

export async function buildBrowser(outdir = join(REPO, 'dist/browser')): Promise<BrowserBuild> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { phi3: join(REPO, 'src/browser/index.ts'), worker: join(REPO, 'src/browser/worker.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    plugins: [nodeStubs],
    logLevel: 'warning',
    metafile: true,
  });
  for (const f of ['kernels-relaxed.wasm', 'kernels-simd128.wasm']) cpSync(join(REPO, 'src/backend/wasm', f), join(outdir, f));
  const files = Object.entries(result.metafile.outputs).map(([name, o]) => ({ name: name.split('/').pop()!, bytes: o.bytes }));
  // what the page's service worker (src/web/sw.js) caches for offline visits
  writeFileSync(join(outdir, 'manifest.json'), JSON.stringify({ files: [...files.map((f) => f.name), 'kernels-relaxed.wasm', 'kernels-simd128.wasm'] }));
  const site = join(outdir, 'site');
  cpSync(join(REPO, 'src/web'), site, { recursive: true });
  mkdirSync(join(site, 'engine'), { recursive: true });
  for (const name of readdirSync(outdir)) if (name !== 'site') cpSync(join(outdir, name), join(site, 'engine', name));
  mkdirSync(join(site, 'vendor'), { recursive: true });
  cpSync(createRequire(import.meta.url).resolve('marked'), join(site, 'vendor/marked.esm.js'));
  return { outdir, files };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildBrowser(process.argv[2] ? resolve(process.argv[2]) : undefined);
  for (const f of out.files) console.log(`${f.name.padEnd(28)} ${(f.bytes / 1024).toFixed(1).padStart(8)} KiB`);
  console.log(`→ ${out.outdir}`);
}
