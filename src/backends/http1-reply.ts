// Reading one HTTP/1.1 answer as its bytes arrive on a pooled connection
// (http1.ts): the head, then the body by its framing (content-length, chunked,
// or until the connection closes), handed over chunk by chunk.

import { joinBytes } from "../jsonrpc/bytes.ts";
import type { BackendResponse } from "./http1.ts";

/** A body read once, chunk by chunk (a ReadableStream is one too). */
export type BodyChunks = AsyncIterable<Uint8Array> & { cancel(): Promise<void> };

/** The connection closed before any byte of the answer: a pooled one the server had closed. */
export class StaleConnection extends Error {}

const HEADER_LIMIT = 64 * 1024;
const CRLF2 = new Uint8Array([13, 10, 13, 10]);

/** The answer being read on a connection: its head, then its body by its framing. */
export class Reply implements BackendResponse {
  status = 0;
  ok = false;
  readonly headers = new HeaderMap();
  body: Body | null = null;
  private headBytes: Uint8Array[] = [];
  private headSize = 0;
  private received = 0;
  /** Body framing: bytes still due (length), chunked, or until the socket closes. */
  private framing: "length" | "chunked" | "close" = "close";
  private remaining = 0;
  private chunked = new Chunked();
  private keepAlive = true;
  private settled = false;

  constructor(
    private readonly resolve: (r: BackendResponse) => void,
    private readonly reject: (err: Error) => void,
    private readonly done: (reusable: boolean) => void,
  ) {}

  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (!this.body) return this.pushHead(chunk);
    this.pushBody(chunk);
  }

  private pushHead(chunk: Uint8Array): void {
    this.headBytes.push(chunk);
    this.headSize += chunk.length;
    const all = this.headBytes.length === 1 ? chunk : joinBytes(this.headBytes, this.headSize);
    const end = indexOf(all, CRLF2);
    if (end < 0) {
      if (this.headSize > HEADER_LIMIT) this.fail(new Error("backend answer headers too large"));
      else if (all !== chunk) this.headBytes = [all];
      return;
    }
    const rest = all.subarray(end + 4);
    this.headBytes = [];
    this.headSize = 0;
    const head = this.parseHead(Buffer.from(all.buffer, all.byteOffset, end).toString("latin1"));
    if (head instanceof Error) return void this.fail(head);
    if (head === "interim") {
      // An interim answer (100 Continue): the real head follows.
      if (rest.length) this.pushHead(rest);
      return;
    }
    this.body = new Body(() => this.cancelBody());
    this.settled = true;
    this.resolve(this);
    if (this.framing === "length" && this.remaining === 0) return this.finish();
    if (rest.length) this.pushBody(rest);
  }

  private parseHead(head: string): "final" | "interim" | Error {
    const lines = head.split("\r\n");
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (!status) return new Error("backend answered something other than HTTP/1.x");
    this.status = Number(status[2]);
    if (this.status >= 100 && this.status < 200) return "interim";
    this.ok = this.status >= 200 && this.status < 300;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon > 0) this.headers.add(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const connection = this.headers.get("connection")?.toLowerCase() ?? "";
    this.keepAlive = status[1] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
    const length = this.headers.get("content-length");
    if (this.status === 204 || this.status === 304) [this.framing, this.remaining] = ["length", 0];
    else if (this.headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) this.framing = "chunked";
    else if (length !== null) {
      if (!/^\d+$/.test(length)) return new Error("backend answered a bad content-length");
      [this.framing, this.remaining] = ["length", Number(length)];
    }
    else [this.framing, this.keepAlive] = ["close", false];
    return "final";
  }

  private pushBody(chunk: Uint8Array): void {
    if (this.framing === "close") return this.body!.push(chunk);
    if (this.framing === "length") {
      const take = chunk.length <= this.remaining ? chunk : chunk.subarray(0, this.remaining);
      this.remaining -= take.length;
      if (take.length) this.body!.push(take);
      if (this.remaining === 0) this.finish();
      return;
    }
    const ended = this.chunked.push(chunk, (piece) => this.body!.push(piece));
    if (ended instanceof Error) this.fail(ended);
    else if (ended) this.finish();
  }

  private finish(): void {
    this.body!.end();
    this.done(this.keepAlive);
  }

  /** The socket closed: the end of a body read until close, else a loss. */
  closed(): void {
    if (this.body && this.framing === "close") {
      this.body.end();
      return this.done(false);
    }
    this.fail(this.received === 0 ? new StaleConnection("connection closed before an answer") : new Error("connection closed mid-answer"));
  }

  fail(err: Error): Error {
    if (this.settled) this.body?.error(err);
    else this.reject(err);
    this.settled = true;
    this.done(false);
    return err;
  }

  private cancelBody(): void {
    if (!this.body?.ended) this.done(false);
  }

  text(): Promise<string> {
    return this.body ? this.body.text() : Promise.resolve("");
  }
}

/** Header fields by lower-case name; repeated fields joined as fetch's Headers joins them. */
class HeaderMap {
  private readonly map = new Map<string, string>();
  add(name: string, value: string): void {
    const had = this.map.get(name);
    this.map.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
}

/** Chunked transfer coding, decoded as bytes arrive: size line, data, CRLF; a 0 size and trailers end it. */
class Chunked {
  private line = "";
  private due = 0;
  private state: "size" | "data" | "crlf" | "trailer" = "size";

  /** True at the end of the body, an Error if it is not chunked coding. */
  push(chunk: Uint8Array, out: (piece: Uint8Array) => void): boolean | Error {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === "data") {
        const n = Math.min(this.due, chunk.length - i);
        out(chunk.subarray(i, i + n));
        i += n;
        this.due -= n;
        if (this.due === 0) this.state = "crlf";
        continue;
      }
      const nl = chunk.indexOf(10, i);
      const end = nl < 0 ? chunk.length : nl;
      this.line += Buffer.from(chunk.buffer, chunk.byteOffset + i, end - i).toString("latin1");
      if (this.line.length > 4096) return new Error("bad chunked encoding");
      i = end;
      if (nl < 0) break;
      i++;
      const line = this.line.replace(/\r$/, "");
      this.line = "";
      if (this.state === "crlf") {
        if (line !== "") return new Error("bad chunked encoding");
        this.state = "size";
      } else if (this.state === "size") {
        const size = Number.parseInt(line, 16);
        if (!Number.isFinite(size) || size < 0) return new Error("bad chunked encoding");
        [this.state, this.due] = size === 0 ? ["trailer", 0] : ["data", size];
      } else if (line === "") return true; // the blank line after the trailers
    }
    return false;
  }
}

/** A body's chunks, as they arrive, for one reader. */
class Body implements BodyChunks {
  private chunks: Uint8Array[] = [];
  private waiting: ((r: IteratorResult<Uint8Array>) => void) | null = null;
  private failWaiting: ((err: Error) => void) | null = null;
  private failure: Error | null = null;
  ended = false;

  constructor(private readonly onCancel: () => void) {}

  push(chunk: Uint8Array): void {
    if (this.waiting) return this.wake({ value: chunk, done: false });
    this.chunks.push(chunk);
  }

  end(): void {
    this.ended = true;
    if (this.waiting) this.wake({ value: undefined, done: true });
  }

  error(err: Error): void {
    this.failure = err;
    this.ended = true;
    const fail = this.failWaiting;
    this.waiting = this.failWaiting = null;
    fail?.(err);
  }

  private wake(r: IteratorResult<Uint8Array>): void {
    const w = this.waiting!;
    this.waiting = this.failWaiting = null;
    w(r);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        if (this.chunks.length) return Promise.resolve({ value: this.chunks.shift()!, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: async () => {
        await this.cancel();
        return { value: undefined, done: true };
      },
    };
  }

  async cancel(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.chunks = [];
    this.onCancel();
  }

  async text(): Promise<string> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const c of this) {
      parts.push(c);
      size += c.length;
    }
    return Buffer.from(joinBytes(parts, size)).toString("utf8");
  }
}

function indexOf(bytes: Uint8Array, needle: Uint8Array): number {
  for (let i = bytes.indexOf(needle[0]!); i >= 0 && i <= bytes.length - needle.length; i = bytes.indexOf(needle[0]!, i + 1)) {
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
