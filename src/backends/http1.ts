// The POSTs to an HTTP backend, over HTTP/1.1 on pooled keep-alive sockets
// (Bun.connect), instead of fetch: a call through an HTTP backend is one POST,
// and fetch with its web streams cost ~30 µs of CPU per POST more than this
// (measured: a bare relay, 101 vs 72 µs per call). Plain http: only, with no
// proxy in the environment; https: and proxied backends keep fetch, whose TLS,
// CA and proxy handling this does not redo. The answer is what the connectors
// need of a Response: status, headers and a body read once, as chunks.

import type { Socket } from "bun";
import { Reply, StaleConnection, type BodyChunks } from "./http1-reply.ts";

/** What the connectors read of an answer: a fetch Response has this shape too. */
export type BackendResponse = {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: BodyChunks | null;
  text(): Promise<string>;
};

export type { BodyChunks };

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

const IDLE_PER_ORIGIN = 16;
const BAD_VALUE = /[\r\n\0]/;
// Framing is this client's to write: a configured header of these names is not sent (fetch drops them too).
const FRAMING = new Set(["host", "content-length", "transfer-encoding", "connection"]);

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
