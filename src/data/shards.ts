// Packed token shards: the hand-off between `phi3 data mix` and the trainer (src/train/).
//
// Layout of a shard folder (nanoGPT's train.bin idea, plus an index so nothing is read whole):
//   index.json        ShardIndex below: dtype, vocab size, separator token, shard list, per-source report
//   shard-00000.bin   raw little-endian token ids (u16 when vocabSize ≤ 65536, else u32), no header;
//   shard-00001.bin   documents are concatenated, each followed by `sepId` (Phi-3: <|endoftext|> 32000)
// A trainer samples windows of seqLen+1 tokens at random offsets (ShardReader.window / sampleBatch) or
// streams them in order; reads are positioned (fs.readSync), so shards larger than memory are fine.
// numpy reads a shard with np.memmap(path, dtype='<u2').  Tested in test/data-shards.test.ts.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, Phi3Error } from '../errors.js';
import { Rng } from '../generate/sampler.js';

export const SHARD_FORMAT = 'phi3-shards-v1';

export interface ShardEntry {
  file: string;
  tokens: number;
  docs: number;
}

export interface ShardIndex {
  format: typeof SHARD_FORMAT;
  dtype: 'u16' | 'u32';
  vocabSize: number;
  /** Token appended after every document (the document boundary). */
  sepId: number;
  shards: ShardEntry[];
  totalTokens: number;
  /** Free-form provenance: phase, recipe, per-source token counts, contamination report. */
  meta?: Record<string, unknown>;
}

/** Streams documents (already token ids) into shards of at most `shardTokens` tokens. */
export class ShardWriter {
  private readonly dtype: 'u16' | 'u32';
  private readonly shards: ShardEntry[] = [];
  private buf: Uint16Array | Uint32Array;
  private fill = 0;
  private docs = 0;
  private total = 0;
  private closed = false;
  /** Documents whose separator landed in the open shard; its file; tokens in it so far. */
  private pendingDocs = 0;
  private fd: number | undefined;
  private shardCount = 0;

  constructor(
    readonly dir: string,
    readonly vocabSize: number,
    readonly sepId: number,
    readonly shardTokens = 1 << 24,
  ) {
    if (!Number.isInteger(shardTokens) || shardTokens < 1) throw new Phi3Error(`shard size must be a positive integer, got ${shardTokens}`);
    if (sepId < 0 || sepId >= vocabSize) throw new Phi3Error(`separator id ${sepId} is outside the vocabulary (${vocabSize})`);
    this.dtype = vocabSize <= 65536 ? 'u16' : 'u32';
    mkdirSync(dir, { recursive: true });
    this.buf = this.dtype === 'u16' ? new Uint16Array(Math.min(shardTokens, 1 << 20)) : new Uint32Array(Math.min(shardTokens, 1 << 20));
  }

  /** Appends one document and its separator; a long document may continue into the next shard. */
  addDocument(ids: ArrayLike<number>): void {
    if (this.closed) throw new Phi3Error('ShardWriter is closed');
    for (let i = 0; i < ids.length; i++) // check first: a bad document must not be half written
      if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= this.vocabSize) throw new Phi3Error(`token id ${ids[i]} is outside the vocabulary (${this.vocabSize})`);
    for (let i = 0; i <= ids.length; i++) this.push(i < ids.length ? ids[i] : this.sepId, i === ids.length);
    this.docs++;
  }

  private push(id: number, endsDoc: boolean): void {
    if (this.fd === undefined) this.fd = openSync(join(this.dir, shardName(this.shards.length)), 'w');
    this.buf[this.fill++] = id;
    this.shardCount++;
    if (endsDoc) this.pendingDocs++; // a document counts in the shard that holds its separator
    if (this.fill === this.buf.length) this.flush();
    if (this.shardCount === this.shardTokens) this.endShard();
  }

  private flush(): void {
    if (this.fill === 0 || this.fd === undefined) return;
    const bytes = new Uint8Array(this.buf.buffer, 0, this.fill * this.buf.BYTES_PER_ELEMENT);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off);
    this.fill = 0;
  }

  private endShard(): void {
    this.flush();
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.shards.push({ file: shardName(this.shards.length), tokens: this.shardCount, docs: this.pendingDocs });
    this.total += this.shardCount;
    this.shardCount = 0;
    this.pendingDocs = 0;
  }

  /** Writes the last shard and index.json; returns the index. */
  close(meta?: Record<string, unknown>): ShardIndex {
    if (this.closed) throw new Phi3Error('ShardWriter is closed');
    this.endShard();
    this.closed = true;
    const index: ShardIndex = { format: SHARD_FORMAT, dtype: this.dtype, vocabSize: this.vocabSize, sepId: this.sepId, shards: this.shards, totalTokens: this.total, meta };
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
    return index;
  }

  get documents(): number {
    return this.docs;
  }
}

function shardName(i: number): string {
  return `shard-${String(i).padStart(5, '0')}.bin`;
}

/** Reads shards by positioned reads; validates index.json against the files before any read. */
export class ShardReader {
  readonly index: ShardIndex;
  private readonly fds: number[] = [];
  private readonly bytesPer: number;

  constructor(readonly dir: string) {
    const path = join(dir, 'index.json');
    if (!existsSync(path)) throw new FormatError(path, 'no such file: not a shard folder (run `phi3 data mix` first)');
    let idx: ShardIndex;
    try {
      idx = JSON.parse(readFileSync(path, 'utf8')) as ShardIndex;
    } catch (e) {
      throw new FormatError(path, `not valid JSON: ${(e as Error).message}`);
    }
    if (idx?.format !== SHARD_FORMAT) throw new FormatError(path, `format is ${JSON.stringify(idx?.format)}, expected "${SHARD_FORMAT}"`);
    if (idx.dtype !== 'u16' && idx.dtype !== 'u32') throw new FormatError(path, `dtype ${JSON.stringify(idx.dtype)} is not u16 or u32`);
    if (!Array.isArray(idx.shards)) throw new FormatError(path, 'shards is not a list');
    this.bytesPer = idx.dtype === 'u16' ? 2 : 4;
    for (const s of idx.shards) {
      const f = join(dir, String(s.file));
      if (String(s.file).includes('/') || !existsSync(f)) throw new FormatError(path, `shard ${JSON.stringify(s.file)} is missing`);
      const size = statSync(f).size;
      if (!Number.isInteger(s.tokens) || size !== s.tokens * this.bytesPer)
        throw new FormatError(f, `holds ${size} bytes but the index says ${s.tokens} ${idx.dtype} tokens (truncated or wrong file?)`);
    }
    this.index = idx;
  }

  get totalTokens(): number {
    return this.index.totalTokens;
  }

  /** `len` tokens of shard `shard` from `start` (must lie inside the shard). */
  read(shard: number, start: number, len: number): Uint32Array {
    const s = this.index.shards[shard];
    if (!s) throw new Phi3Error(`shard ${shard} does not exist (${this.index.shards.length} shards)`);
    if (start < 0 || len < 0 || start + len > s.tokens) throw new Phi3Error(`tokens [${start}, ${start + len}) are outside shard ${shard} (${s.tokens} tokens)`);
    this.fds[shard] ??= openSync(join(this.dir, s.file), 'r');
    const bytes = Buffer.alloc(len * this.bytesPer);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(this.fds[shard], bytes, got, bytes.length - got, start * this.bytesPer + got);
      if (n === 0) throw new FormatError(s.file, 'unexpected end of file');
      got += n;
    }
    const out = new Uint32Array(len);
    for (let i = 0; i < len; i++) out[i] = this.bytesPer === 2 ? bytes.readUInt16LE(i * 2) : bytes.readUInt32LE(i * 4);
    return out;
  }

  /** `batch` random windows of seqLen+1 tokens (inputs = w[0..seqLen), targets = w[1..seqLen]), seeded. */
  sampleBatch(rng: Rng, batch: number, seqLen: number): Uint32Array[] {
    const eligible = this.index.shards.map((s, i) => ({ i, n: s.tokens - seqLen - 1 })).filter((s) => s.n >= 0);
    if (eligible.length === 0) throw new Phi3Error(`no shard holds ${seqLen + 1} tokens; use a shorter sequence length or more data`);
    const weights = eligible.map((s) => s.n + 1);
    const sum = weights.reduce((a, b) => a + b, 0);
    const out: Uint32Array[] = [];
    for (let b = 0; b < batch; b++) {
      let r = rng.next() * sum;
      let k = 0;
      while (k < eligible.length - 1 && r >= weights[k]) r -= weights[k++];
      const start = Math.floor(rng.next() * weights[k]);
      out.push(this.read(eligible[k].i, start, seqLen + 1));
    }
    return out;
  }

  /** Every token in order, `chunk` at a time (for evaluation passes and checks). */
  *stream(chunk = 1 << 16): Generator<Uint32Array> {
    for (let i = 0; i < this.index.shards.length; i++)
      for (let at = 0; at < this.index.shards[i].tokens; at += chunk) yield this.read(i, at, Math.min(chunk, this.index.shards[i].tokens - at));
  }

  close(): void {
    for (const fd of this.fds) if (fd !== undefined) closeSync(fd);
    this.fds.length = 0;
  }
}
