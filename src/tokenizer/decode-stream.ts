// Incremental detokenization. Each push returns exactly the text that became complete with that token:
// bytes of a UTF-8 character split over several byte tokens are held back until the character is
// whole, so no chunk ever ends in half a character (invalid sequences come out as U+FFFD, as in
// decode). The leading-space strip applies only to the first text the stream produces. Invariant:
// pushes + flush concatenated == the one-shot decode of the same ids.

export interface DecodeStream {
  push(id: number): string;
  /** Emits whatever is still held (an incomplete trailing character becomes U+FFFD). */
  flush(): string;
}

export class Utf8DecodeStream implements DecodeStream {
  // ignoreBOM: a U+FEFF the model generates is text, not a byte-order mark to drop.
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private started = false;

  constructor(
    private readonly pieceBytes: (id: number) => Uint8Array,
    private readonly stripLeadingSpace: boolean,
  ) {}

  push(id: number): string {
    return this.emit(this.decoder.decode(this.pieceBytes(id), { stream: true }));
  }

  flush(): string {
    return this.emit(this.decoder.decode());
  }

  private emit(text: string): string {
    if (this.started || text.length === 0) return text;
    this.started = true;
    return this.stripLeadingSpace ? stripOneSpace(text) : text;
  }
}

/** The one-shot equivalent of pushing every token's bytes and flushing. */
export function decodeUtf8(bytes: Uint8Array, stripLeadingSpace: boolean): string {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  return stripLeadingSpace ? stripOneSpace(text) : text;
}

function stripOneSpace(text: string): string {
  return text.startsWith(' ') ? text.slice(1) : text;
}

/** The pieces' bytes back to back (decode() fuses byte-fallback tokens across piece boundaries). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}
