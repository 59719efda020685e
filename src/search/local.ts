// The local document index behind `phi3 index DIR` and `phi3 serve --search local:INDEX`: every text,
// Markdown, HTML and PDF file under a folder, cut into passages and indexed with BM25, saved as one
// JSON file (default DIR/.phi3-index.json). Rebuilding re-reads only files whose size or mtime
// changed. Nothing here touches the network.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { Bm25, type Bm25Json } from './bm25.js';
import { chunkText } from './chunk.js';
import { extractFile, isIndexable } from './extract.js';
import type { Passage, SearchProvider } from './provider.js';

export const INDEX_FILE = '.phi3-index.json';
const FORMAT = 'phi3-search-index';
const VERSION = 1;

export interface IndexedDoc {
  /** Relative to the indexed folder, with '/' separators. */
  path: string;
  title: string;
  size: number;
  mtimeMs: number;
}

interface IndexJson {
  format: typeof FORMAT;
  version: number;
  root: string;
  created: string;
  chunkWords: number;
  docs: IndexedDoc[];
  passages: { doc: number; text: string }[];
  bm25: Bm25Json;
}

export interface BuildOptions {
  /** Where to write the index (default DIR/.phi3-index.json). */
  out?: string;
  chunkWords?: number;
  /** Files larger than this are skipped (default 32 MiB). */
  maxFileBytes?: number;
  onFile?: (path: string, status: 'indexed' | 'unchanged' | 'skipped', detail?: string) => void;
}

export interface BuildReport {
  out: string;
  docs: number;
  passages: number;
  reused: number;
  skipped: { path: string; reason: string }[];
}

async function* walk(dir: string, root: string, exclude: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) yield* walk(full, root, exclude);
    else if (e.isFile() && full !== exclude && isIndexable(full)) yield full;
  }
}

export async function buildIndex(dir: string, opts: BuildOptions = {}): Promise<BuildReport> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${dir} is not a folder`);
  const out = resolve(opts.out ?? join(root, INDEX_FILE));
  const chunkWords = opts.chunkWords ?? 120;
  const maxBytes = opts.maxFileBytes ?? 32 * 1024 * 1024;

  // Passages of unchanged files are taken from the previous index.
  const previous = new Map<string, { doc: IndexedDoc; texts: string[] }>();
  if (existsSync(out)) {
    try {
      const old = readIndexJson(out);
      if (old.chunkWords === chunkWords && old.root === root) {
        old.docs.forEach((d) => previous.set(d.path, { doc: d, texts: [] }));
        for (const p of old.passages) previous.get(old.docs[p.doc].path)?.texts.push(p.text);
      }
    } catch {
      // an unreadable old index is simply rebuilt
    }
  }

  const docs: IndexedDoc[] = [];
  const passages: { doc: number; text: string }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let reused = 0;
  for await (const file of walk(root, root, out)) {
    const rel = relative(root, file).split(sep).join('/');
    const st = await stat(file);
    if (st.size > maxBytes) {
      skipped.push({ path: rel, reason: `larger than ${maxBytes} bytes` });
      opts.onFile?.(rel, 'skipped', 'too large');
      continue;
    }
    const old = previous.get(rel);
    let title: string;
    let texts: string[];
    if (old && old.doc.size === st.size && old.doc.mtimeMs === st.mtimeMs) {
      title = old.doc.title;
      texts = old.texts;
      reused++;
      opts.onFile?.(rel, 'unchanged');
    } else {
      try {
        const doc = await extractFile(file);
        title = doc.title;
        texts = chunkText(doc.text, { words: chunkWords });
        opts.onFile?.(rel, 'indexed');
      } catch (e) {
        skipped.push({ path: rel, reason: (e as Error).message });
        opts.onFile?.(rel, 'skipped', (e as Error).message);
        continue;
      }
    }
    if (texts.length === 0) {
      skipped.push({ path: rel, reason: 'no text' });
      opts.onFile?.(rel, 'skipped', 'no text');
      continue;
    }
    const id = docs.push({ path: rel, title, size: st.size, mtimeMs: st.mtimeMs }) - 1;
    for (const text of texts) passages.push({ doc: id, text });
  }

  const bm25 = new Bm25();
  for (const p of passages) bm25.add(`${docs[p.doc].title}\n${p.text}`);
  const json: IndexJson = { format: FORMAT, version: VERSION, root, created: new Date().toISOString(), chunkWords, docs, passages, bm25: bm25.toJSON() };
  // Write then rename: a reader never sees half an index.
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(json));
  await rename(tmp, out);
  return { out, docs: docs.length, passages: passages.length, reused, skipped };
}

function readIndexJson(path: string): IndexJson {
  const j = JSON.parse(readFileSync(path, 'utf8')) as IndexJson;
  if (j.format !== FORMAT) throw new Error(`${path} is not a phi3 search index (run: phi3 index FOLDER)`);
  if (j.version !== VERSION) throw new Error(`${path} is index version ${j.version}; this phi3 reads version ${VERSION} (rebuild it with phi3 index)`);
  return j;
}

/** A saved index as a search provider. `path` is the index file or the folder holding .phi3-index.json. */
export class LocalSearch implements SearchProvider {
  readonly kind = 'local';
  private readonly json: IndexJson;
  private readonly bm25: Bm25;

  constructor(
    path: string,
    readonly name = 'local',
  ) {
    let file = resolve(path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, INDEX_FILE);
    if (!existsSync(file)) throw new Error(`no search index at ${file}: build one with \`phi3 index ${path}\``);
    try {
      this.json = readIndexJson(file);
    } catch (e) {
      throw new Error(`cannot read the search index ${file}: ${(e as Error).message}`);
    }
    this.bm25 = Bm25.fromJSON(this.json.bm25);
  }

  get stats(): { docs: number; passages: number; root: string } {
    return { docs: this.json.docs.length, passages: this.json.passages.length, root: this.json.root };
  }

  async search(query: string, k: number): Promise<Passage[]> {
    return this.bm25.search(query, k).map((h) => {
      const p = this.json.passages[h.id];
      const doc = this.json.docs[p.doc];
      return { text: p.text, title: doc.title || basename(doc.path), source: doc.path, score: h.score };
    });
  }
}
