// One WebAssembly.Memory and a first-fit allocator over it. Weights, the KV cache and scratch buffers
// all live here, so kernels reach them by address with no copies. The memory is shared (a
// SharedArrayBuffer, so worker threads run on it) when the platform allows, and grows on demand up to
// wasm32's 4 GiB; growing a shared memory keeps existing views valid, which is what lets the model hold
// Float32Array/Uint8Array views of its weights and cache. Tested by test/wasm-parity.test.ts.
import { Phi3Error } from '../../errors.js';

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

interface Block {
  off: number;
  size: number;
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  private free: Block[] = [];
  private readonly sizes = new Map<number, number>();
  private readonly buffers = new Set<ArrayBufferLike>();
  private buf: ArrayBufferLike;
  /** Bytes handed out and not yet released. */
  used = 0;

  /** Most pages this memory may grow to (wasm32: 65536 = 4 GiB; less in tests of multi-memory placement). */
  readonly maxPages: number;

  constructor(shared: boolean, maxBytes = MAX_PAGES * PAGE, initialPages = 64) {
    this.shared = shared;
    this.maxPages = Math.min(MAX_PAGES, Math.max(initialPages, Math.floor(maxBytes / PAGE)));
    const maximum = this.maxPages;
    this.memory = new WebAssembly.Memory(shared ? { initial: initialPages, maximum, shared: true } : { initial: initialPages, maximum });
    this.buf = this.memory.buffer;
    this.buffers.add(this.buf);
  }

  /** Declares [base, end of memory) free: called once the module's static data and stack are known. */
  init(base: number): void {
    const start = align(base, 64);
    this.free = [{ off: start, size: this.buf.byteLength - start }];
  }

  get buffer(): ArrayBufferLike {
    if (this.buf.byteLength !== this.memory.buffer.byteLength || (!this.shared && this.buf !== this.memory.buffer)) {
      this.buf = this.memory.buffer;
      this.buffers.add(this.buf);
    }
    return this.buf;
  }

  /** Whether `a` is a view on this memory (then its byteOffset is its address). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** Reserves `bytes` (64-byte aligned) and returns its address, or −1 when this memory cannot hold it. */
  tryAlloc(bytes: number): number {
    try {
      return this.alloc(bytes);
    } catch (e) {
      if (e instanceof Phi3Error) return -1;
      throw e;
    }
  }

  /** Reserves `bytes` (64-byte aligned) and returns its address. */
  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1), 64);
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) {
      this.grow(size);
      i = this.free.findIndex((b) => b.size >= size);
    }
    const b = this.free[i];
    const off = b.off;
    b.off += size;
    b.size -= size;
    if (b.size === 0) this.free.splice(i, 1);
    this.sizes.set(off, size);
    this.used += size;
    return off;
  }

  release(off: number): void {
    const size = this.sizes.get(off);
    if (size === undefined) return;
    this.sizes.delete(off);
    this.used -= size;
    let i = this.free.findIndex((b) => b.off > off);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { off, size });
    // coalesce with the neighbours
    const next = this.free[i + 1];
    if (next && off + size === next.off) {
      this.free[i].size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.off + prev.size === off) {
      prev.size += this.free[i].size;
      this.free.splice(i, 1);
    }
  }

  private grow(size: number): void {
    const end = this.memory.buffer.byteLength;
    const last = this.free[this.free.length - 1];
    const tailFree = last && last.off + last.size === end ? last.size : 0;
    const pages = Math.ceil((size - tailFree) / PAGE);
    const have = end / PAGE;
    if (have + pages > this.maxPages)
      throw new Phi3Error(
        `out of WebAssembly memory: need ${((size / 2 ** 20) | 0)} MiB more but ${(end / 2 ** 30).toFixed(2)} GiB of this memory's ${((this.maxPages * PAGE) / 2 ** 30).toFixed(2)} GiB are in use`,
      );
    this.memory.grow(pages);
    if (tailFree) last.size += pages * PAGE;
    else this.free.push({ off: end, size: pages * PAGE });
    void this.buffer;
  }

  u8(off: number, n: number): Uint8Array {
    return new Uint8Array(this.buffer, off, n);
  }

  f32(off: number, n: number): Float32Array {
    return new Float32Array(this.buffer, off, n);
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
