// The Streamable HTTP front (MCP 2025-11-25 transport) on Hono + Bun.serve:
// POST /mcp carries client messages, GET /mcp opens the server-to-client event
// stream, DELETE /mcp ends a session. Loopback-only and closed by default.

import { Hono, type Context } from "hono";
import type { Identity } from "../config/load.ts";
import { PROTOCOL_VERSIONS } from "../dispatch/dispatcher.ts";
import { InvalidRequest, MessageTooLarge, type SentinelError } from "../errors.ts";
import type { Gateway } from "../gateway.ts";
import {
  failure,
  idOf,
  isNotification,
  isRequest,
  parseJson,
  toMessage,
  type Message,
  type Response as RpcResponse,
} from "../jsonrpc/message.ts";
import { logger } from "../log.ts";
import type { Session } from "../session/session.ts";
import { checkOrigin } from "./origin.ts";
import { EventStream } from "./event-stream.ts";

const log = logger("http");
const JSON_HEADERS = { "content-type": "application/json" };
const SWEEP_MS = 60_000;

type HttpSession = { session: Session; stream: EventStream | null };
type Env = { Bindings: { server: Bun.Server<undefined> } };

export type HttpFront = {
  url: string;
  /** Stops accepting connections and ends event streams; in-flight POSTs go on. */
  close(): Promise<void>;
  /** Closes whatever is left. */
  stop(): Promise<void>;
};

export function startHttp(gateway: Gateway, opts: { host: string; port: number }): HttpFront {
  const cfg = gateway.config;
  const sessions = new Map<string, HttpSession>();
  const app = new Hono<Env>();

  const rpcError = (c: Context, status: number, err: SentinelError, id: RpcResponse["id"] = null) =>
    c.body(JSON.stringify(gateway.pipeline.rejected(null, "http", id, err)), status as 400, JSON_HEADERS);

  const endSession = (sid: string, reason: string) => {
    const s = sessions.get(sid);
    if (!s) return;
    sessions.delete(sid);
    s.stream?.close();
    gateway.closeSession(s.session, reason);
  };

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.use("/mcp", async (c, next) => {
    const origin = c.req.header("origin");
    if (origin && !checkOrigin(origin, cfg.http.allowedOrigins)) {
      return rpcError(c, 403, new InvalidRequest(`Forbidden: origin ${origin} is not allowed`));
    }
    const version = c.req.header("mcp-protocol-version");
    if (version && !PROTOCOL_VERSIONS.includes(version)) {
      return rpcError(c, 400, new InvalidRequest(`Bad Request: unsupported MCP-Protocol-Version ${version}; supported: ${PROTOCOL_VERSIONS.join(", ")}`));
    }
    return next();
  });

  // Identity for an HTTP request; null means refuse with 401 (closed by default).
  const identify = (): Identity | null => (cfg.identity.anonymous ? { sub: "anonymous", roles: cfg.identity.anonymous.roles } : null);

  const unauthorized = (c: Context) => {
    c.header("www-authenticate", 'Bearer realm="sentinel"');
    return rpcError(c, 401, new InvalidRequest("Unauthorized: this gateway does not allow anonymous access"));
  };

  app.post("/mcp", async (c) => {
    const identity = identify();
    if (!identity) return unauthorized(c);
    const max = cfg.server.maxMessageBytes;
    if (Number(c.req.header("content-length") ?? 0) > max) return rpcError(c, 413, new MessageTooLarge(max));
    const text = await readLimited(c.req.raw, max);
    if (text === null) return rpcError(c, 413, new MessageTooLarge(max));

    let value: unknown;
    try {
      value = parseJson(text);
    } catch (err) {
      return rpcError(c, 400, err as SentinelError);
    }
    const batch = Array.isArray(value);
    const items = batch ? (value as unknown[]) : [value];
    if (items.length === 0) return rpcError(c, 400, new InvalidRequest("Invalid Request: empty batch"));
    const messages: Message[] = [];
    for (const item of items) {
      try {
        messages.push(toMessage(item));
      } catch (err) {
        return rpcError(c, 400, err as SentinelError, idOf(item));
      }
    }

    let entry: HttpSession | undefined;
    const sid = c.req.header("mcp-session-id");
    const first = messages[0]!;
    if (isRequest(first) && first.method === "initialize") {
      if (messages.length > 1) return rpcError(c, 400, new InvalidRequest("Invalid Request: initialize must not be batched"), first.id);
      const id = crypto.randomUUID();
      const holder: HttpSession = { session: null as unknown as Session, stream: null };
      holder.session = gateway.openSession(id, "http", identity, (m) => holder.stream?.send(m));
      sessions.set(id, holder);
      entry = holder;
      c.header("mcp-session-id", id);
    } else if (!sid) {
      return rpcError(c, 400, new InvalidRequest("Bad Request: Mcp-Session-Id header is required"), isRequest(first) ? first.id : null);
    } else {
      entry = sessions.get(sid);
      if (!entry) return rpcError(c, 404, new InvalidRequest("Session not found"), isRequest(first) ? first.id : null);
    }
    const { session } = entry;
    session.lastSeen = Date.now();

    const requests = messages.filter(isRequest);
    for (const m of messages) if (isNotification(m)) gateway.pipeline.notification(session, m);
    if (requests.length === 0) return c.body(null, 202);
    // A long tool call must not be cut by the server's idle timeout.
    c.env?.server?.timeout(c.req.raw, 0);
    const responses = await Promise.all(requests.map((r) => gateway.pipeline.request(session, r)));
    return c.body(JSON.stringify(batch ? responses : responses[0]), 200, JSON_HEADERS);
  });

  app.get("/mcp", (c) => {
    const identity = identify();
    if (!identity) return unauthorized(c);
    const accept = c.req.header("accept") ?? "";
    if (!accept.includes("text/event-stream")) {
      return rpcError(c, 406, new InvalidRequest("Not Acceptable: GET /mcp needs Accept: text/event-stream"));
    }
    const sid = c.req.header("mcp-session-id");
    if (!sid) return rpcError(c, 400, new InvalidRequest("Bad Request: Mcp-Session-Id header is required"));
    const entry = sessions.get(sid);
    if (!entry) return rpcError(c, 404, new InvalidRequest("Session not found"));
    if (entry.stream) return rpcError(c, 409, new InvalidRequest("Conflict: this session already has an event stream"));
    c.env?.server?.timeout(c.req.raw, 0);
    const stream = new EventStream(() => {
      if (entry.stream === stream) entry.stream = null;
    });
    entry.stream = stream;
    entry.session.lastSeen = Date.now();
    return new Response(stream.readable, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
    });
  });

  app.delete("/mcp", (c) => {
    if (!identify()) return unauthorized(c);
    const sid = c.req.header("mcp-session-id");
    if (!sid) return rpcError(c, 400, new InvalidRequest("Bad Request: Mcp-Session-Id header is required"));
    if (!sessions.has(sid)) return rpcError(c, 404, new InvalidRequest("Session not found"));
    endSession(sid, "deleted by client");
    return c.body(null, 200);
  });

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    log.error(`unhandled: ${err.message}`);
    return c.body(JSON.stringify(failure(null, { code: -32603, message: "Internal error" })), 500, JSON_HEADERS);
  });

  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // A backstop only: the exact check is ours, so that the 413 carries a JSON-RPC body.
    maxRequestBodySize: cfg.server.maxMessageBytes * 4 + 1024 * 1024,
    fetch: (req, srv) => app.fetch(req, { server: srv }),
  });

  // Clients such as Claude Code open a session per health check and never
  // DELETE it: idle sessions are ended and what they hold is released.
  const sweeper = setInterval(() => {
    const cutoff = Date.now() - cfg.http.sessionIdleMs;
    for (const [sid, s] of sessions) {
      if (s.session.lastSeen < cutoff && s.session.inflight.size === 0 && !s.stream) endSession(sid, "idle timeout");
    }
  }, Math.min(SWEEP_MS, cfg.http.sessionIdleMs));
  sweeper.unref();

  return {
    url: `http://${formatHost(server.hostname ?? opts.host)}:${server.port}/mcp`,
    async close() {
      clearInterval(sweeper);
      for (const s of sessions.values()) s.stream?.close();
      await server.stop(false);
    },
    async stop() {
      clearInterval(sweeper);
      for (const sid of [...sessions.keys()]) endSession(sid, "shutting down");
      await server.stop(true);
    },
  };
}

/** The body as text, or null once it passes `max` bytes (without buffering the rest). */
async function readLimited(req: Request, max: number): Promise<string | null> {
  if (!req.body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > max) return null;
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
