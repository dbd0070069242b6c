// Newline-delimited framing for stdio, on bytes: a message may arrive split
// across reads, many may arrive in one read, and a multi-byte character may
// straddle two chunks. A line longer than the limit is dropped as it streams
// (never buffered whole) and reported once, with its first and last bytes so
// that the reader can still tell which request it answered.

import { joinBytes } from "./bytes.ts";

const NEWLINE = 0x0a;
const decoder = new TextDecoder();
const NON_BLANK = /\S/;

export type LineSink = {
  line(text: string): void;
  /**
   * A line of at least `largeFrom` bytes, as the bytes it came in (never
   * decoded here): large results are relayed as bytes (raw-result.ts).
   */
  large?(parts: Uint8Array[], size: number): void;
  /** `head` and `tail` are the line's first and last EDGE bytes, decoded. */
  oversized(bytes: number, head: string, tail: string): void;
};

/** Bytes kept of each end of a dropped line: enough to show a message's id. */
export const EDGE = 256;

export class LineDecoder {
  private parts: Uint8Array[] = [];
  private size = 0;
  private skipping = false;
  private head: Uint8Array = new Uint8Array(0);
  private tail: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly maxBytes: number,
    private readonly sink: LineSink,
    /** With sink.large: lines this long go there. */
    private readonly largeFrom = Number.POSITIVE_INFINITY,
    /**
     * The caller never reuses a chunk it pushed (a Bun stream's reads are
     * fresh arrays), so that a long line can be kept as views instead of copies.
     */
    private readonly freshChunks = false,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      // The common case: a whole line inside this chunk, nothing buffered. It is
      // decoded in place, without copying (results can be large).
      if (nl !== -1 && this.size === 0 && !this.skipping && nl - start <= this.maxBytes) {
        if (nl - start >= this.largeFrom && this.sink.large) this.emitLarge([this.freshChunks ? chunk.subarray(start, nl) : chunk.slice(start, nl)], nl - start);
        else this.emit(chunk.subarray(start, nl));
        start = nl + 1;
        continue;
      }
      const end = nl === -1 ? chunk.length : nl;
      this.append(chunk.subarray(start, end));
      if (nl === -1) return;
      this.finishLine();
      start = nl + 1;
    }
  }

  /** Flushes a final line that had no trailing newline (stream ended). */
  end(): void {
    if (this.size > 0 || this.skipping) this.finishLine();
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.skipping) {
      if (this.head.length < EDGE) this.head = joinBytes([this.head, bytes.subarray(0, EDGE - this.head.length)], Math.min(EDGE, this.head.length + bytes.length));
      this.keepTail(bytes);
      return;
    }
    if (this.size > this.maxBytes) {
      const kept = joinBytes([...this.parts, bytes], this.size);
      this.skipping = true;
      this.parts = [];
      this.head = kept.slice(0, EDGE);
      this.tail = new Uint8Array(0);
      this.keepTail(kept);
      return;
    }
    // subarray views the caller's chunk, which may be reused: copy, unless the caller says it is not.
    this.parts.push(this.freshChunks ? bytes : bytes.slice());
  }

  private keepTail(bytes: Uint8Array): void {
    const joined = bytes.length >= EDGE ? bytes.subarray(bytes.length - EDGE) : joinBytes([this.tail, bytes], this.tail.length + bytes.length);
    this.tail = joined.slice(Math.max(0, joined.length - EDGE));
  }

  private finishLine(): void {
    if (this.skipping) {
      const size = this.size;
      const head = decoder.decode(this.head);
      const tail = decoder.decode(this.tail);
      this.reset();
      this.sink.oversized(size, head, tail);
      return;
    }
    if (this.size >= this.largeFrom && this.sink.large) {
      const { parts, size } = this;
      this.reset();
      this.emitLarge(parts, size);
      return;
    }
    const bytes = this.parts.length === 1 ? this.parts[0]! : joinBytes(this.parts, this.size);
    this.reset();
    this.emit(bytes);
  }

  private emitLarge(parts: Uint8Array[], size: number): void {
    // Tolerate CRLF, as for text lines.
    const last = parts[parts.length - 1]!;
    if (last[last.length - 1] === 0x0d) {
      parts[parts.length - 1] = last.subarray(0, last.length - 1);
      size--;
    }
    this.sink.large!(parts, size);
  }

  private emit(bytes: Uint8Array): void {
    const text = decoder.decode(bytes);
    // Tolerate CRLF and blank keep-alive lines.
    const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
    // A search for the first non-blank character, not trim(): trim copies the line.
    if (NON_BLANK.test(trimmed)) this.sink.line(trimmed);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    this.head = this.tail = new Uint8Array(0);
  }
}

