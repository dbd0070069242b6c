// A streaming text/event-stream parser (WHATWG server-sent events), for the
// Streamable HTTP and legacy SSE connectors. It works on bytes: each chunk is
// searched once for line ends (never the whole line again, so a multi-megabyte
// event in many chunks costs linear time), and an event's data is kept as views
// into the chunks it came in. Small events are decoded to text; with `rawFrom`,
// larger ones are handed over as those bytes, so that a 20 MiB result is never
// turned into a string here (see jsonrpc/raw-result.ts). Bounded: an event
// larger than the limit ends the read with EventTooLarge.

export type SseEvent = {
  event: string;
  data: string;
  id?: string;
  /** Set instead of `data` for an event of at least `rawFrom` bytes: its data, in pieces. */
  raw?: { parts: Uint8Array[]; size: number };
};

export type SseOptions = {
  /** The server's reconnection delay (`retry:`). */
  onRetry?: (ms: number) => void;
  maxEventBytes?: number;
  /** Events at least this large come as bytes (`raw`), not text. */
  rawFrom?: number;
};

export class EventTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`an event exceeds the ${limit}-byte limit`);
  }
}

import { joinBytes } from "../jsonrpc/bytes.ts";

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NEWLINE = new Uint8Array([LF]);
const decoder = new TextDecoder();

/** Reads events until the stream ends. */
export async function readSse(
  body: AsyncIterable<Uint8Array>,
  onEvent: (e: SseEvent) => void,
  onRetry?: (ms: number) => void,
  maxEventBytes = Number.POSITIVE_INFINITY,
  rawFrom = Number.POSITIVE_INFINITY,
): Promise<void> {
  const parser = new SseParser(onEvent, { maxEventBytes, rawFrom, ...(onRetry && { onRetry }) });
  for await (const chunk of body) parser.push(chunk);
}

class SseParser {
  // The current line's pieces so far: views into the chunks (a chunk read from a body is never reused).
  private line: Uint8Array[] = [];
  private lineSize = 0;
  private afterCr = false;
  private event = "";
  private data: Uint8Array[] = [];
  private dataSize = 0;
  private hasData = false;
  private id: string | undefined;
  private readonly max: number;
  private readonly rawFrom: number;

  constructor(
    private readonly onEvent: (e: SseEvent) => void,
    private readonly opts: SseOptions,
  ) {
    this.max = opts.maxEventBytes ?? Number.POSITIVE_INFINITY;
    this.rawFrom = opts.rawFrom ?? Number.POSITIVE_INFINITY;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    // "\r\n" split across chunks: the "\n" ends nothing new.
    if (this.afterCr && chunk[0] === LF) start = 1;
    this.afterCr = false;
    // Where the next CR is, found once per chunk region: most streams have none.
    let cr = chunk.indexOf(CR, start);
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        next = cr + 1;
        if (next < chunk.length) {
          if (chunk[next] === LF) next++;
        } else this.afterCr = true;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      if (end > start || this.line.length > 0) this.line.push(chunk.subarray(start, end));
      this.finishLine(this.lineSize + (end - start));
      start = next;
    }
    if (start < chunk.length) {
      this.line.push(chunk.subarray(start));
      this.lineSize += chunk.length - start;
      if (this.dataSize + this.lineSize > this.max) throw new EventTooLarge(this.max);
    }
  }

  private finishLine(size: number): void {
    const pieces = this.line;
    this.line = [];
    this.lineSize = 0;
    if (size === 0) return this.dispatch();
    const head = prefix(pieces, 16);
    if (head[0] === COLON) return; // a comment
    let colon = head.indexOf(COLON);
    const field = decoder.decode(colon === -1 ? head : head.subarray(0, colon));
    if (colon === -1) colon = size;
    // The value starts after the colon and one optional space.
    const from = colon + 1 + (head[colon + 1] === SPACE ? 1 : 0);
    if (field === "data") {
      if (this.hasData) {
        this.data.push(NEWLINE);
        this.dataSize++;
      }
      this.hasData = true;
      for (const p of skip(pieces, Math.min(from, size))) this.data.push(p);
      this.dataSize += Math.max(0, size - from);
      if (this.dataSize > this.max) throw new EventTooLarge(this.max);
      return;
    }
    const value = from >= size ? "" : decoder.decode(joinBytes(skip(pieces, from), size - from));
    if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.opts.onRetry?.(Number(value));
  }

  private dispatch(): void {
    if (this.hasData) {
      const event = this.event || "message";
      const id = this.id !== undefined ? { id: this.id } : {};
      if (this.dataSize >= this.rawFrom) this.onEvent({ event, data: "", ...id, raw: { parts: this.data, size: this.dataSize } });
      else this.onEvent({ event, data: decoder.decode(joinBytes(this.data, this.dataSize)), ...id });
    }
    this.event = "";
    this.data = [];
    this.dataSize = 0;
    this.hasData = false;
  }
}

/** The first `n` bytes of the pieces (fewer if they are shorter). */
function prefix(pieces: Uint8Array[], n: number): Uint8Array {
  const first = pieces[0];
  if (!first) return new Uint8Array(0);
  if (first.length >= n || pieces.length === 1) return first.subarray(0, n);
  return joinBytes(pieces, n).subarray(0, n);
}

/** The pieces without their first `n` bytes. */
function skip(pieces: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    if (n >= p.length) {
      n -= p.length;
      continue;
    }
    out.push(n > 0 ? p.subarray(n) : p);
    n = 0;
  }
  return out;
}

