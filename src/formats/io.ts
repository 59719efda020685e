// Bounded file I/O shared by the format readers and writers.
// FileReader reads a little-endian stream from a ByteSource (an open fd in Node; a Blob or an OPFS
// file in a browser's Web Worker, src/browser/source.ts) through a small window that it refills
// (and grows) on demand, so parsing a header costs only the header bytes however big the file is.
// It uses only DataView and TextDecoder, so the parsers built on it run in browsers too.
// Every read is checked against the file size first: running off the end is a FormatError naming
// the file, the byte position and what was being read, never a RangeError from a Buffer.
// FileWriter is the mirror image: little-endian scalars into a 64 KiB buffer, big blobs straight
// through, all with fs.writeSync.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { FormatError } from '../errors.js';

const WINDOW = 1 << 16;
/** readSync/writeSync take at most 2^31-1 bytes per call; stay well below. */
const IO_CHUNK = 1 << 30;

/**
 * Synchronous random-access bytes of one file: what the format readers and the tensor loader need, so
 * parsing and loading stay synchronous (and shared) on every platform.
 */
export interface ByteSource {
  /** Names the file in errors. */
  readonly name: string;
  readonly size: number;
  /** Fills `dst` from byte `position`; throws a FormatError when the file ends first. */
  read(dst: Uint8Array, position: number): void;
}

/** A ByteSource over an open fd (valid while the fd is). */
export function fdSource(fd: number, size: number, path: string): ByteSource {
  return { name: path, size, read: (dst, position) => readFully(fd, dst, position, path) };
}

/** A ByteSource over bytes in memory (small files, tests). */
export function memorySource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    read(dst, position) {
      if (position + dst.length > bytes.length)
        throw new FormatError(name, `file is truncated: it ended at byte ${bytes.length} while reading ${dst.length} bytes at byte ${position}`);
      dst.set(bytes.subarray(position, position + dst.length));
    },
  };
}

/** Opens `path` read-only, hands fd and size to `fn`, always closes. Open failures become FormatErrors. */
export function withFile<T>(path: string, fn: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new FormatError(path, `cannot open file: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FormatError(path, 'not a regular file');
    return fn(fd, st.size);
  } finally {
    closeSync(fd);
  }
}

/** Fills `dst` from file position `position`; a short file is a FormatError (it may have shrunk). */
export function readFully(fd: number, dst: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < dst.length) {
    const n = readSync(fd, dst, done, Math.min(dst.length - done, IO_CHUNK), position + done);
    if (n === 0)
      throw new FormatError(
        path,
        `file is truncated: it ended at byte ${position + done} while reading ${dst.length} bytes at byte ${position}`,
      );
    done += n;
  }
}

// ignoreBOM keeps a leading U+FEFF in the string, as Buffer.toString did (TextDecoder drops it by default)
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export class FileReader {
  /** Absolute file position of the next read. */
  pos = 0;
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  readonly path: string;
  readonly size: number;

  constructor(private readonly source: ByteSource) {
    this.path = source.name;
    this.size = source.size;
  }

  /** Bytes between the current position and the end of the file. */
  get remaining(): number {
    return this.size - this.pos;
  }

  fail(problem: string): never {
    throw new FormatError(this.path, problem);
  }

  /** Makes [pos, pos+n) readable and returns its index in `buf`. Callers bound n before calling. */
  private need(n: number, what: string): number {
    if (n > this.remaining)
      this.fail(
        `file is truncated: ${what} at byte ${this.pos} needs ${n} bytes but the file has only ${this.size} bytes`,
      );
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const len = Math.min(Math.max(n, WINDOW), this.remaining);
    const buf = new Uint8Array(len);
    this.source.read(buf, this.pos);
    this.buf = buf;
    this.view = new DataView(buf.buffer);
    this.bufStart = this.pos;
    return 0;
  }

  private take<T>(n: number, what: string, get: (v: DataView, at: number) => T): T {
    const at = this.need(n, what);
    this.pos += n;
    return get(this.view, at);
  }

  u8 = (what: string): number => this.take(1, what, (v, at) => v.getUint8(at));
  i8 = (what: string): number => this.take(1, what, (v, at) => v.getInt8(at));
  u16 = (what: string): number => this.take(2, what, (v, at) => v.getUint16(at, true));
  i16 = (what: string): number => this.take(2, what, (v, at) => v.getInt16(at, true));
  u32 = (what: string): number => this.take(4, what, (v, at) => v.getUint32(at, true));
  i32 = (what: string): number => this.take(4, what, (v, at) => v.getInt32(at, true));
  f32 = (what: string): number => this.take(4, what, (v, at) => v.getFloat32(at, true));
  f64 = (what: string): number => this.take(8, what, (v, at) => v.getFloat64(at, true));
  u64 = (what: string): bigint => this.take(8, what, (v, at) => v.getBigUint64(at, true));
  i64 = (what: string): bigint => this.take(8, what, (v, at) => v.getBigInt64(at, true));

  /** A copy of the next `n` bytes. */
  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    this.pos += n;
    return this.buf.slice(at, at + n);
  }

  /** `n` bytes decoded as UTF-8 (invalid sequences become U+FFFD, as llama.cpp does not validate). */
  utf8(n: number, what: string): string {
    const at = this.need(n, what);
    this.pos += n;
    return utf8.decode(this.buf.subarray(at, at + n));
  }
}

export class FileWriter {
  /** Bytes handed to the writer so far (flushed or not): the current file offset. */
  written = 0;
  private readonly buf = Buffer.alloc(WINDOW);
  private used = 0;

  constructor(private readonly fd: number) {}

  private room(n: number): number {
    if (this.used + n > this.buf.length) this.flush();
    const at = this.used;
    this.used += n;
    this.written += n;
    return at;
  }

  u8 = (v: number): void => void this.buf.writeUInt8(v, this.room(1));
  i8 = (v: number): void => void this.buf.writeInt8(v, this.room(1));
  u16 = (v: number): void => void this.buf.writeUInt16LE(v, this.room(2));
  i16 = (v: number): void => void this.buf.writeInt16LE(v, this.room(2));
  u32 = (v: number): void => void this.buf.writeUInt32LE(v, this.room(4));
  i32 = (v: number): void => void this.buf.writeInt32LE(v, this.room(4));
  f32 = (v: number): void => void this.buf.writeFloatLE(v, this.room(4));
  f64 = (v: number): void => void this.buf.writeDoubleLE(v, this.room(8));
  u64 = (v: bigint | number): void => void this.buf.writeBigUInt64LE(BigInt(v), this.room(8));
  i64 = (v: bigint | number): void => void this.buf.writeBigInt64LE(BigInt(v), this.room(8));

  bytes(data: Uint8Array): void {
    if (data.length <= this.buf.length - this.used) {
      this.buf.set(data, this.room(data.length));
      return;
    }
    this.flush();
    writeAll(this.fd, data);
    this.written += data.length;
  }

  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const n = alignUp(this.written, alignment) - this.written;
    if (n > 0) this.bytes(new Uint8Array(n));
  }

  flush(): void {
    writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.length; ) {
    done += writeSync(fd, data, done, Math.min(data.length - done, IO_CHUNK));
  }
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
