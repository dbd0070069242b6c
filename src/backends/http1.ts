// The POSTs to an HTTP backend, over HTTP/1.1 on pooled keep-alive sockets
// (Bun.connect), instead of fetch: a call through an HTTP backend is one POST,
// and fetch with its web streams cost ~30 µs of CPU per POST more than this
// (measured: a bare relay, 101 vs 72 µs per call). Plain http: only, with no
// proxy in the environment; https: and proxied backends keep fetch, whose TLS,
// CA and proxy handling this does not redo. The answer is what the connectors
// need of a Response: status, headers and a body read once, as chunks.

import type { Socket } from "bun";
import { joinBytes } from "../jsonrpc/bytes.ts";

/** What the connectors read of an answer: a fetch Response has this shape too. */
export type BackendResponse = {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: BodyChunks | null;
  text(): Promise<string>;
};

/** A body read once, chunk by chunk (a ReadableStream is one too). */
export type BodyChunks = AsyncIterable<Uint8Array> & { cancel(): Promise<void> };

export type PostInit = { headers: Record<string, string>; body: string; signal?: AbortSignal };

/** POSTs `body` to `url`: over a pooled socket when the URL allows, else with fetch. */
export function post(url: string, init: PostInit): Promise<BackendResponse> {
  const target = rawTarget(url);
  if (!target) return fetch(url, { method: "POST", headers: init.headers, body: init.body, ...(init.signal && { signal: init.signal }) });
  return exchange(target, init, true);
}

type Target = { key: string; hostname: string; port: number; host: string; path: string };

const targets = new Map<string, Target | null>();
const PROXIED = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"].some((k) => process.env[k]);

function rawTarget(url: string): Target | null {
  let t = targets.get(url);
  if (t !== undefined) return t;
  const u = new URL(url);
  t =
    u.protocol !== "http:" || PROXIED || u.username || u.password
      ? null
      : {
          key: `${u.hostname}:${u.port || 80}`,
          hostname: u.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: Number(u.port || 80),
          host: u.host,
          path: `${u.pathname}${u.search}`,
        };
  targets.set(url, t);
  return t;
}

const HEADER_LIMIT = 64 * 1024;
const IDLE_PER_ORIGIN = 16;
const BAD_VALUE = /[\r\n\0]/;
// Framing is this client's to write: a configured header of these names is not sent (fetch drops them too).
const FRAMING = new Set(["host", "content-length", "transfer-encoding", "connection"]);
const CRLF2 = new Uint8Array([13, 10, 13, 10]);

/** Idle keep-alive connections, by host:port. */
const idle = new Map<string, Conn[]>();

async function exchange(t: Target, init: PostInit, mayRetry: boolean): Promise<BackendResponse> {
  if (init.signal?.aborted) throw abortError();
  const pooled = idle.get(t.key)?.pop();
  const conn = pooled ?? (await Conn.open(t));
  try {
    return await conn.send(t, init);
  } catch (err) {
    // A pooled socket the server closed as the request went out: nothing was
    // answered, so nothing was done; once more on a new one (as browsers do).
    if (pooled && mayRetry && err instanceof StaleConnection) return exchange(t, init, false);
    throw err;
  }
}

class StaleConnection extends Error {}

function abortError(): Error {
  return new DOMException("The operation was aborted.", "AbortError");
}

/** One socket, one exchange at a time (no pipelining). */
class Conn {
  private reply: Reply | null = null;
  private pending: Uint8Array | null = null;
  closed = false;

  private constructor(private readonly key: string) {}

  private socket!: Socket<undefined>;

  static async open(t: Target): Promise<Conn> {
    const conn = new Conn(t.key);
    conn.socket = await Bun.connect({
      hostname: t.hostname,
      port: t.port,
      socket: {
        // Bytes on an idle socket answer nothing: it cannot be trusted for the next request.
        data: (_s, chunk) => (conn.reply ? conn.reply.push(chunk) : conn.destroy()),
        drain: () => conn.flush(),
        close: () => conn.lost(),
        end: () => conn.lost(),
        error: () => conn.lost(),
      },
    });
    conn.socket.setNoDelay(true);
    return conn;
  }

  send(t: Target, init: PostInit): Promise<BackendResponse> {
    let head = `POST ${t.path} HTTP/1.1\r\nhost: ${t.host}\r\n`;
    for (const name in init.headers) {
      const value = init.headers[name]!;
      if (BAD_VALUE.test(value) || BAD_VALUE.test(name)) throw new TypeError(`invalid value for header ${name}`);
      if (FRAMING.has(name.toLowerCase())) continue;
      head += `${name}: ${value}\r\n`;
    }
    const text = `${head}content-length: ${Buffer.byteLength(init.body)}\r\n\r\n${init.body}`;
    return new Promise<BackendResponse>((resolve, reject) => {
      const signal = init.signal;
      const onAbort = () => void reply.fail(abortError());
      const reply = new Reply(resolve, reject, (reusable) => {
        signal?.removeEventListener("abort", onAbort);
        this.reply = null;
        if (reusable && !this.closed) this.park();
        else this.destroy();
      });
      this.reply = reply;
      signal?.addEventListener("abort", onAbort, { once: true });
      this.socket.ref();
      const written = Math.max(this.socket.write(text), 0);
      // A large request the kernel did not take at once: the rest goes out on drain.
      if (written < text.length || written < Buffer.byteLength(text)) {
        const bytes = Buffer.from(text);
        if (written < bytes.length) this.pending = bytes.subarray(written);
      }
    });
  }

  private flush(): void {
    if (!this.pending) return;
    const written = Math.max(this.socket.write(this.pending), 0);
    this.pending = written < this.pending.length ? this.pending.subarray(written) : null;
  }

  private park(): void {
    const list = idle.get(this.key) ?? [];
    if (list.length >= IDLE_PER_ORIGIN) return this.destroy();
    list.push(this);
    idle.set(this.key, list);
    // An idle socket must not keep the gateway from exiting.
    this.socket.unref();
  }

  private lost(): void {
    if (this.closed) return;
    this.closed = true;
    const list = idle.get(this.key);
    const i = list?.indexOf(this) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    this.reply?.closed();
  }

  destroy(): void {
    this.lost();
    this.socket.end();
  }
}

/** The answer being read on a connection: its head, then its body by its framing. */
class Reply implements BackendResponse {
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
