// Corpus I/O: documents in and out, streamed (never the whole corpus in memory).
// In:  a file or a folder (recursively, sorted); `.gz`/`.dz` (gzip, dictzip) are decompressed on the fly.
//   - JSON lines (`.jsonl`, `.ndjson`, or format 'jsonl'): one object per line, text in `field` (default
//     "text"), id in "id" if present else `<file>:<line>`; every other field travels along in `meta`.
//   - plain text: `split` decides what a document is: 'file' (default; one file = one document),
//     'blank' (blank-line-separated paragraphs), 'line', or a delimiter line such as '%' (fortune files).
//   - Parquet (`.parquet`, e.g. FineWeb's shards): read one row group at a time with hyparquet (snappy
//     built in; gzip, zstd, brotli, lz4 through hyparquet-compressors); text in `field`, other columns in meta.
// Out: JSON lines (`{"id","text",...meta}`) or plain text with a delimiter line.
// Bad input (a non-JSON line, a missing text field) is a FormatError naming the file and line.
// Tested in test/data-docs.test.ts.
import { createReadStream, createWriteStream, readdirSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { FormatError, Phi3Error } from '../errors.js';

export interface Doc {
  id: string;
  text: string;
  meta?: Record<string, unknown>;
}

export type DocFormat = 'auto' | 'jsonl' | 'text' | 'parquet';

export interface ReadOptions {
  format?: DocFormat;
  /** JSON field holding the text. */
  field?: string;
  /** Plain text: 'file' | 'blank' | 'line' | a delimiter line (e.g. '%'). */
  split?: string;
  /** Called with bytes read so far (compressed bytes for .gz), for progress bars. */
  onBytes?: (bytes: number) => void;
}

/** Files under `path` (itself if a file), sorted so that runs are reproducible. */
export function listFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Phi3Error(`${path}: no such file or folder`);
  }
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

export function totalBytes(paths: string[]): number {
  return paths.reduce((a, p) => a + statSync(p).size, 0);
}

function isParquet(file: string, format: DocFormat): boolean {
  return format === 'parquet' || (format === 'auto' && /\.parquet$/i.test(file));
}

function isJsonl(file: string, format: DocFormat): boolean {
  if (format !== 'auto') return format === 'jsonl';
  return /\.(jsonl|ndjson)(\.gz)?$/i.test(file);
}

async function* lines(file: string, onBytes?: (n: number) => void): AsyncGenerator<string> {
  const raw = createReadStream(file);
  let seen = 0;
  if (onBytes) raw.on('data', (c) => onBytes((seen += c.length)));
  const input = /\.(gz|dz)$/i.test(file) ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (e) {
    throw new FormatError(file, `cannot read: ${(e as Error).message}`);
  }
}

/** Streams the documents of one or more corpora. */
export async function* readDocs(paths: string | string[], o: ReadOptions = {}): AsyncGenerator<Doc> {
  const files = (Array.isArray(paths) ? paths : [paths]).flatMap(listFiles);
  let base = 0;
  for (const file of files) {
    const onBytes = o.onBytes ? (n: number) => o.onBytes!(base + n) : undefined;
    if (isParquet(file, o.format ?? 'auto')) yield* readParquet(file, o.field ?? 'text', onBytes);
    else if (isJsonl(file, o.format ?? 'auto')) yield* readJsonl(file, o.field ?? 'text', onBytes);
    else yield* readText(file, o.split ?? 'file', onBytes);
    base += statSync(file).size;
    o.onBytes?.(base);
  }
}

async function* readJsonl(file: string, field: string, onBytes?: (n: number) => void): AsyncGenerator<Doc> {
  let n = 0;
  for await (const line of lines(file, onBytes)) {
    n++;
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new FormatError(file, `line ${n} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new FormatError(file, `line ${n} is not a JSON object`);
    const { [field]: text, id, ...meta } = obj as Record<string, unknown>;
    if (typeof text !== 'string') throw new FormatError(file, `line ${n} has no string field "${field}" (use --field to name the text field)`);
    yield { id: typeof id === 'string' || typeof id === 'number' ? String(id) : `${file}:${n}`, text, meta: Object.keys(meta).length ? meta : undefined };
  }
}

/** JSON-safe cell values: BigInt → number (or string past 2^53), Date → ISO text, byte arrays → base64. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function* readParquet(file: string, field: string, onBytes?: (n: number) => void): AsyncGenerator<Doc> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  let meta;
  const buf = await asyncBufferFromFile(file);
  try {
    meta = await parquetMetadataAsync(buf);
  } catch (e) {
    throw new FormatError(file, `not a readable Parquet file: ${(e as Error).message}`);
  }
  const names = meta.schema.slice(1).map((s) => s.name);
  if (!names.includes(field)) throw new FormatError(file, `has no column "${field}" (columns: ${names.join(', ')}; use --field)`);
  let row = 0;
  const size = statSync(file).size;
  for (const rg of meta.row_groups) {
    const n = Number(rg.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file: buf, metadata: meta, rowStart: row, rowEnd: row + n, compressors })) as Record<string, unknown>[];
    } catch (e) {
      throw new FormatError(file, `cannot read rows ${row}..${row + n - 1}: ${(e as Error).message}`);
    }
    for (const [k, r] of rows.entries()) {
      const { [field]: text, id, ...rest } = r;
      if (typeof text !== 'string') throw new FormatError(file, `row ${row + k}: column "${field}" is not text`);
      const metaOut = plain(rest) as Record<string, unknown>;
      yield { id: typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : `${file}:${row + k}`, text, meta: Object.keys(metaOut).length ? metaOut : undefined };
    }
    row += n;
    onBytes?.(Math.round((size * row) / Math.max(1, Number(meta.num_rows))));
  }
}

async function* readText(file: string, split: string, onBytes?: (n: number) => void): AsyncGenerator<Doc> {
  const name = file;
  let buf: string[] = [];
  let k = 0;
  const flush = function* (): Generator<Doc> {
    const text = buf.join('\n').trim();
    buf = [];
    if (text) yield { id: split === 'file' ? name : `${name}#${k++}`, text };
  };
  for await (const line of lines(file, onBytes)) {
    if (split === 'line') {
      buf.push(line);
      yield* flush();
    } else if ((split === 'blank' && line.trim() === '') || (split !== 'file' && split !== 'blank' && line === split)) yield* flush();
    else buf.push(line);
  }
  yield* flush();
}

/** Writes documents as JSON lines or delimited text, with backpressure. */
export class DocWriter {
  private readonly out: WriteStream;
  private readonly asText: boolean;

  constructor(
    readonly path: string,
    o: { format?: DocFormat; delimiter?: string } = {},
  ) {
    this.asText = o.format === 'text' || (o.format !== 'jsonl' && !/\.(jsonl|ndjson)$/i.test(path));
    this.delimiter = o.delimiter ?? '%';
    this.out = createWriteStream(path);
  }

  private readonly delimiter: string;

  async write(doc: Doc): Promise<void> {
    const s = this.asText ? `${doc.text}\n${this.delimiter}\n` : JSON.stringify({ id: doc.id, text: doc.text, ...doc.meta }) + '\n';
    if (!this.out.write(s)) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}
