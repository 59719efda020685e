// Model files in a browser, as the synchronous ByteSource the GGUF reader and tensor loader use
// (src/formats/io.ts): a Blob or File read slice by slice with FileReaderSync, or an Origin Private
// File System file through its FileSystemSyncAccessHandle. Both exist only inside Web Workers, which
// is where the engine runs; bytes go straight into the buffer each tensor is loaded into, so a model
// larger than 2 GB never needs one ArrayBuffer of its size.
import { FormatError, Phi3Error } from '../errors.js';
import type { ByteSource } from '../formats/io.js';

/** Largest slice read at once (FileReaderSync makes a new ArrayBuffer per slice). */
const SLICE = 64 << 20;

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

/** The part of FileSystemSyncAccessHandle we use (worker-only; not in TypeScript's DOM lib). */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  getSize(): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

function truncated(name: string, at: number, n: number, position: number): never {
  throw new FormatError(name, `file is truncated: it ended at byte ${at} while reading ${n} bytes at byte ${position}`);
}

/** A Blob (or File) read with FileReaderSync: Web Workers only. */
export function blobSource(blob: Blob, name: string): ByteSource {
  const FRS = (globalThis as { FileReaderSync?: new () => FileReaderSyncLike }).FileReaderSync;
  if (!FRS) throw new Phi3Error('reading a File or Blob synchronously needs a Web Worker (FileReaderSync); run the engine in a worker');
  const reader = new FRS();
  return {
    name,
    size: blob.size,
    read(dst, position) {
      for (let done = 0; done < dst.length; ) {
        const n = Math.min(SLICE, dst.length - done);
        const at = position + done;
        if (at + n > blob.size) truncated(name, blob.size, dst.length, position);
        dst.set(new Uint8Array(reader.readAsArrayBuffer(blob.slice(at, at + n))), done);
        done += n;
      }
    },
  };
}

/** An OPFS file through its sync access handle (Web Workers only); the caller closes the handle. */
export function opfsSource(handle: SyncAccessHandle, name: string): ByteSource {
  const size = handle.getSize();
  return {
    name,
    size,
    read(dst, position) {
      for (let done = 0; done < dst.length; ) {
        const n = handle.read(dst.subarray(done, Math.min(dst.length, done + SLICE)), { at: position + done });
        if (n <= 0) truncated(name, position + done, dst.length, position);
        done += n;
      }
    },
  };
}
