// Training checkpoints: everything needed to continue bit for bit (fp32 weights, AdamW moments, step,
// the run's settings) in one file:
//   "PHI3CKPT" | u32 version | u32 header bytes | header JSON | f32 buffers … | sha256 of all before
// Written atomically: a temporary file in the same folder, fsync, rename over the old one, fsync of the
// folder. A write killed at any point leaves the previous checkpoint intact and a `.tmp-*` file that is
// never read; a truncated or altered file fails its checksum with a clear error instead of loading.
// Tested by test/train-resume.test.ts (SIGKILLed child processes, truncated and corrupted files).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FormatError } from '../errors.js';
import type { Phi3Config } from '../model/config.js';

const MAGIC = 'PHI3CKPT';
const VERSION = 1;

export interface CheckpointHeader {
  config: Phi3Config;
  /** Optimizer updates completed. */
  step: number;
  /** Free-form run state (phase, settings, tokenizer path, metrics) the trainer wants back. */
  state: Record<string, unknown>;
  /** Names and lengths of the buffers that follow, in order. */
  buffers: Array<{ name: string; length: number }>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  buffers: Map<string, Float32Array>;
}

export function writeCheckpoint(path: string, config: Phi3Config, step: number, state: Record<string, unknown>, buffers: Record<string, Float32Array>): void {
  const header: CheckpointHeader = {
    config,
    step,
    state,
    buffers: Object.entries(buffers).map(([name, b]) => ({ name, length: b.length })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(16);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(VERSION, 8);
  pre.writeUInt32LE(json.length, 12);
  const hash = createHash('sha256');
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  try {
    const put = (b: Uint8Array) => {
      hash.update(b);
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    };
    put(pre);
    put(json);
    for (const b of Object.values(buffers)) put(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    const digest = hash.digest();
    writeSync(fd, digest, 0, digest.length);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // some filesystems cannot fsync a directory; the rename itself is still atomic
  }
}

export function readCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new FormatError(path, 'no such checkpoint');
  const buf = readFileSync(path);
  if (buf.length < 16 + 32 || buf.toString('latin1', 0, 8) !== MAGIC) throw new FormatError(path, 'not a phi3 training checkpoint (bad magic or too short)');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw new FormatError(path, `checkpoint version ${version} is not supported (expected ${VERSION})`);
  const body = buf.subarray(0, buf.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - 32)))
    throw new FormatError(path, 'checkpoint checksum mismatch: the file is truncated or corrupt (an interrupted write?)');
  const hlen = buf.readUInt32LE(12);
  if (16 + hlen > body.length) throw new FormatError(path, 'checkpoint header runs past the end of the file');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + hlen)) as CheckpointHeader;
  } catch (e) {
    throw new FormatError(path, `checkpoint header is not JSON: ${(e as Error).message}`);
  }
  const buffers = new Map<string, Float32Array>();
  let off = 16 + hlen;
  for (const { name, length } of header.buffers) {
    const bytes = length * 4;
    if (off + bytes > body.length) throw new FormatError(path, `checkpoint buffer ${name} runs past the end of the file`);
    // copy: the file buffer's offset need not be 4-byte aligned
    buffers.set(name, new Float32Array(new Uint8Array(body.subarray(off, off + bytes)).buffer));
    off += bytes;
  }
  if (off !== body.length) throw new FormatError(path, `checkpoint has ${body.length - off} unexpected trailing bytes`);
  return { header, buffers };
}
