// The Streamable HTTP front (MCP 2025-11-25 transport) on Hono + Bun.serve:
// POST /mcp carries client messages, GET /mcp opens the server-to-client event
// stream, DELETE /mcp ends a session. Loopback-only and closed by default.
// Handlers read the raw Request and build Responses directly: Hono routes, and
// the hot path pays for nothing else (measured: middleware and Context helpers
// cost ~15 µs CPU per request here).

import { Hono } from "hono";
import type { Authenticator } from "../auth/authenticator.ts";
import { sameSubject, type Principal } from "../auth/principal.ts";
import { PROTOCOL_VERSIONS } from "../dispatch/dispatcher.ts";
import {
  Conflict,
  Forbidden,
  InvalidRequest,
  LimitExceeded,
  MessageTooLarge,
  NotAcceptable,
  Overloaded,
  RateLimited,
  SessionNotFound,
  Unauthenticated,
  type SentinelError,
} from "../errors.ts";
import type { Gateway } from "../gateway.ts";
import {
  describeUnanswered,
  failure,
  idFromEdges,
  idOf,
  isNotification,
  isRequest,
  owesAnswer,
  toMessage,
  type JsonRpcId,
  type Message,
  type Request as RpcRequest,
} from "../jsonrpc/message.ts";
import { readBody } from "../jsonrpc/body.ts";
import { EDGE } from "../jsonrpc/lines.ts";
import { checkShape, limitExceeded, parseWithin } from "../jsonrpc/shape.ts";
import { logger } from "../log.ts";
import type { Session } from "../session/session.ts";
import { toWire } from "../jsonrpc/wire.ts";
import { EventStream } from "./event-stream.ts";
import { checkHost, checkOrigin, isLoopback } from "./origin.ts";

const log = logger("http");
const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" };
const SWEEP_MS = 60_000;
const DISCONNECT_SWEEP_MS = 500;
// Bun's largest idle timeout, in seconds.
const MAX_IDLE_S = 255;
const RATE_LIMITED = new RateLimited("", 0).rpcCode;

// Messages kept per session for GET-stream resumption (Last-Event-ID).
const BACKLOG = 256;

type HttpSession = {
  session: Session;
  stream: EventStream | null;
  /** Server-to-client messages sent outside a POST, numbered, for replay on reconnect. */
  backlog: { id: number; data: string }[];
  nextEventId: number;
};
type Env = { Bindings: { server: Bun.Server<undefined> } };

export type HttpFront = {
  url: string;
  /** Stops accepting connections and ends event streams; in-flight POSTs go on. */
  close(): Promise<void>;
  /** Closes whatever is left. */
  stop(): Promise<void>;
};

export function startHttp(gateway: Gateway, auth: Authenticator, opts: { host: string; port: number }): HttpFront {
  const cfg = gateway.config;
  const { pipeline } = gateway;
  const sessions = new Map<string, HttpSession>();
  const limits = cfg.limits.client;
  const max = limits.messageBytes;
  const loopbackOnly = isLoopback(opts.host);

  /** An error answer: audited, with a JSON-RPC body and the status the error class names (errors.ts). */
  const reject = (err: SentinelError, id: JsonRpcId | null = null, headers?: Record<string, string>) =>
    new Response(JSON.stringify(pipeline.rejected(null, "http", id, err)), { status: err.httpStatus, headers: { ...JSON_HEADERS, ...headers } });

  /**
   * A notification or response that cannot be accepted: audited and logged, never
   * answered in JSON-RPC. The POST still ends in "an HTTP error status code" (MCP
   * 2025-11-25): 400, with an empty body, as there is no request to answer.
   */
  const unanswered = (what: string, id: JsonRpcId | null, err: SentinelError): void => {
    pipeline.rejected(null, "http", id, err);
    log.warn(`dropped a ${what}, unanswered: ${err.message}`);
  };

  const anonymous: Principal | null = cfg.identity.anonymous
    ? { sub: "anonymous", roles: cfg.identity.anonymous.roles, via: "anonymous", expiresAt: null }
    : null;

  /** Who is calling: a verified bearer token, else anonymous if the config allows it (closed by default). */
  const identify = async (req: Request): Promise<Principal | Unauthenticated> => {
    const header = req.headers.get("authorization");
    if (!header) return anonymous ?? new Unauthenticated("Unauthorized: credentials are required (Authorization: Bearer <token>)");
    const m = /^Bearer +(\S+)\s*$/i.exec(header);
    if (!m) return new Unauthenticated("Unauthorized: the Authorization header must be a Bearer token");
    if (!auth.enabled) return new Unauthenticated("Unauthorized: this gateway accepts no tokens");
    try {
      return await auth.verify(m[1]!);
    } catch (err) {
      return err instanceof Unauthenticated ? err : new Unauthenticated("Unauthorized: invalid token");
    }
  };

  /** RFC 6750 / 9728: the challenge names the protected-resource metadata when OAuth is configured. */
  const unauthorized = (req: Request, err: Unauthenticated) => {
    const parts = ['Bearer realm="sentinel"'];
    if (cfg.auth.oauth) parts.push(`resource_metadata="${new URL("/.well-known/oauth-protected-resource", req.url).href}"`);
    if (req.headers.has("authorization")) parts.push('error="invalid_token"', `error_description="${err.message.replace(/"/g, "'")}"`);
    return reject(err, null, { "www-authenticate": parts.join(", ") });
  };

  /** What every /mcp request passes first: Origin, protocol version, credentials. */
  const gate = async (req: Request): Promise<Principal | Response> => {
    const refused = screen(req.headers);
    if (refused) return refused;
    const identity = await identify(req);
    return identity instanceof Unauthenticated ? unauthorized(req, identity) : identity;
  };

  /** A session may only be used by the subject that opened it, whatever token it now presents. */
  const owns = (entry: HttpSession, who: Principal) => sameSubject(entry.session.identity, who);

  /** Checks every /mcp request shares: Origin (DNS rebinding) and protocol version. */
  const screen = (headers: Headers): Response | null => {
    if (loopbackOnly && !checkHost(headers.get("host"), cfg.http.allowedOrigins)) {
      return reject(new Forbidden(`Forbidden: host ${headers.get("host")} is not allowed`));
    }
    const origin = headers.get("origin");
    if (origin && !checkOrigin(origin, cfg.http.allowedOrigins)) {
      return reject(new Forbidden(`Forbidden: origin ${origin} is not allowed`));
    }
    const version = headers.get("mcp-protocol-version");
    if (version && !PROTOCOL_VERSIONS.includes(version)) {
      return reject(new InvalidRequest(`Bad Request: unsupported MCP-Protocol-Version ${version}; supported: ${PROTOCOL_VERSIONS.join(", ")}`));
    }
    return null;
  };

  /** The session a request names: a Response when it names none or an unknown one. */
  const sessionOf = (headers: Headers, id: JsonRpcId | null, who: Principal): HttpSession | Response => {
    const sid = headers.get("mcp-session-id");
    if (!sid) return reject(new InvalidRequest("Bad Request: Mcp-Session-Id header is required"), id);
    const entry = sessions.get(sid);
    // Another identity's session reads as unknown: ids are not capabilities.
    return entry && owns(entry, who) ? entry : reject(new SessionNotFound(), id);
  };

  const endSession = (sid: string, reason: string) => {
    const s = sessions.get(sid);
    if (!s) return;
    sessions.delete(sid);
    s.stream?.close();
    gateway.closeSession(s.session, reason);
  };

  // POSTs being answered, so that a client that disconnects has its calls
  // cancelled at the backends. Checked by a sweep rather than a listener per
  // request: `req.signal` costs ~10 µs a call, and only slow calls need it.
  const inflight = new Map<Request, { session: Session; requests: RpcRequest[] }>();
  const disconnects = setInterval(() => {
    for (const [req, open] of inflight) {
      if (!req.signal.aborted) continue;
      inflight.delete(req);
      for (const r of open.requests) open.session.cancel(r.id, "client disconnected");
    }
  }, DISCONNECT_SWEEP_MS);
  disconnects.unref();

  // Bun closes a connection idle this long; a call may take as long as its
  // backend's timeout, so those above the cap lift it per request instead.
  const longest = Math.max(cfg.server.startupTimeoutMs, ...cfg.backends.map((b) => b.timeoutMs));
  const longCalls = longest > MAX_IDLE_S * 1000 - 15_000;

  const app = new Hono<Env>();

  app.get("/healthz", () => Response.json({ status: "ok" }));

  // RFC 9728 metadata, so that OAuth clients find the authorization server.
  const metadata = (c: { req: { raw: Request } }) => {
    const o = cfg.auth.oauth!;
    return Response.json({
      resource: o.resource ?? new URL("/mcp", c.req.raw.url).href,
      authorization_servers: o.authorizationServers,
      bearer_methods_supported: ["header"],
      resource_name: "Sentinel MCP gateway",
      ...(o.scopesSupported && { scopes_supported: o.scopesSupported }),
    });
  };
  if (cfg.auth.oauth) {
    app.get("/.well-known/oauth-protected-resource", metadata);
    app.get("/.well-known/oauth-protected-resource/mcp", metadata);
  }

  app.post("/mcp", async (c) => {
    const req = c.req.raw;
    const headers = req.headers;
    const identity = await gate(req);
    if (identity instanceof Response) return identity;

    const length = headers.get("content-length");
    if (Number(length ?? 0) > max) return reject(new MessageTooLarge(max));
    // With a declared length Bun enforces it; only a chunked body needs counting as it streams.
    const text = length !== null ? await req.text() : await readBody(req.body, max);
    if (text === null) return reject(new MessageTooLarge(max));

    let value: unknown;
    try {
      value = parseWithin(text, limits, "client");
    } catch (err) {
      // Unparsed: answered as JSON-RPC answers a parse error, under the id its edges show if it was only too deep.
      return reject(err as SentinelError, err instanceof LimitExceeded ? idFromEdges(text.slice(0, EDGE), text.slice(-EDGE)) : null);
    }
    const batch = Array.isArray(value);
    const items = batch ? (value as unknown[]) : [value];
    if (items.length === 0) return reject(new InvalidRequest("Invalid Request: empty batch"));
    if (items.length > limits.arrayItems) {
      const err = limitExceeded("arrayItems", limits, "client");
      if (items.some(owesAnswer)) return reject(err);
      unanswered(`batch of ${items.length} notifications and responses`, null, err);
      return new Response(null, { status: 400 });
    }
    const messages: Message[] = [];
    // Notifications and responses refused here: owed no answer, they leave the POST a bare 400.
    let refused = 0;
    for (const item of items) {
      try {
        checkShape(item, limits, "client");
        messages.push(toMessage(item));
      } catch (err) {
        if (owesAnswer(item)) return reject(err as SentinelError, idOf(item));
        unanswered(describeUnanswered(item as object), idOf(item), err as SentinelError);
        refused++;
      }
    }
    if (messages.length === 0) return new Response(null, { status: 400 });

    const first = messages[0]!;
    const firstId = isRequest(first) ? first.id : null;
    let entry: HttpSession;
    let created: string | null = null;
    if (isRequest(first) && first.method === "initialize") {
      if (messages.length > 1) return reject(new InvalidRequest("Invalid Request: initialize must not be batched"), firstId);
      // Sessions hold memory: their number is bounded, so that no client can exhaust it.
      if (sessions.size >= cfg.http.maxSessions) {
        return reject(new Overloaded("Service Unavailable: too many open sessions; retry later"), firstId, { "retry-after": "60" });
      }
      created = crypto.randomUUID();
      const holder: HttpSession = { session: null as unknown as Session, stream: null, backlog: [], nextEventId: 1 };
      holder.session = gateway.openSession(created, "http", identity, (m) => {
        const event = { id: holder.nextEventId++, data: JSON.stringify(m) };
        holder.backlog.push(event);
        if (holder.backlog.length > BACKLOG) holder.backlog.shift();
        holder.stream?.send(event.data, event.id);
      });
      sessions.set(created, holder);
      entry = holder;
    } else {
      const found = sessionOf(headers, firstId, identity);
      if (found instanceof Response) return found;
      entry = found;
    }
    const { session } = entry;
    session.lastSeen = Date.now();
    // Each request is authorized by its own credential (a refreshed token may carry other roles).
    if (identity !== session.identity) gateway.reidentify(session, identity);

    const requests = messages.filter(isRequest);
    for (const m of messages) {
      if (isNotification(m)) pipeline.notification(session, m);
      else if (!isRequest(m)) pipeline.response(session, m);
    }
    if (requests.length === 0) return new Response(null, { status: refused > 0 ? 400 : 202 });
    // Calls longer than the idle timeout must not be cut by it (only configured for such backends).
    if (longCalls) c.env?.server?.timeout(req, 0);
    const open = { session, requests };
    inflight.set(req, open);
    try {
      if (batch) {
        const out = (await Promise.all(requests.map((r) => pipeline.request(session, r, undefined, identity)))).filter((r) => r !== null);
        return out.length ? new Response(wireBody(out), { headers: JSON_HEADERS }) : new Response(null, { status: 202 });
      }
      return await answer(session, identity, requests[0]!, (req.headers.get("accept") ?? "").includes("text/event-stream"), created);
    } finally {
      inflight.delete(req);
    }
  });

  /**
   * One request's answer: JSON when nothing else needs saying, else an SSE
   * stream, opened at the first message that belongs to the request (progress,
   * a server-to-client request) and closed after the response. The fast path
   * stays JSON; clients that do not accept SSE get related messages on GET.
   */
  const answer = (session: Session, identity: Principal, request: RpcRequest, sse: boolean, created: string | null): Promise<Response> =>
    new Promise((resolve) => {
      let stream: EventStream | null = null;
      const relate = sse
        ? (m: Message) => {
            if (!stream) {
              stream = new EventStream(() => {});
              resolve(new Response(stream.readable, { headers: created ? { ...SSE_HEADERS, "mcp-session-id": created } : SSE_HEADERS }));
            }
            stream.send(m);
          }
        : undefined;
      void pipeline.request(session, request, relate, identity).then((response) => {
        if (stream) {
          if (response) stream.send(response);
          stream.close();
          return;
        }
        // Cancelled by the client: nothing is owed, and nothing is sent.
        if (!response) return resolve(new Response(null, { status: 204 }));
        const headers: Record<string, string> = created ? { ...JSON_HEADERS, "mcp-session-id": created } : { ...JSON_HEADERS };
        // The whole request was refused for its rate: say so in HTTP too.
        const retry = "error" in response && response.error.code === RATE_LIMITED ? (response.error.data as { retryAfterMs?: number })?.retryAfterMs : undefined;
        if (retry !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(retry / 1000)));
        resolve(new Response(wireBody(response), { status: retry !== undefined ? 429 : 200, headers }));
      });
    });

  app.get("/mcp", async (c) => {
    const req = c.req.raw;
    const identity = await gate(req);
    if (identity instanceof Response) return identity;
    if (!(req.headers.get("accept") ?? "").includes("text/event-stream")) {
      return reject(new NotAcceptable("Not Acceptable: GET /mcp needs Accept: text/event-stream"));
    }
    const entry = sessionOf(req.headers, null, identity);
    if (entry instanceof Response) return entry;
    if (entry.stream) return reject(new Conflict("Conflict: this session already has an event stream"));
    c.env?.server?.timeout(req, 0);
    const stream = new EventStream(() => {
      if (entry.stream === stream) entry.stream = null;
    });
    entry.stream = stream;
    entry.session.lastSeen = Date.now();
    // Resumption: replay what the client missed since the event it names.
    const last = Number(req.headers.get("last-event-id"));
    if (Number.isInteger(last) && last > 0) for (const e of entry.backlog) if (e.id > last) stream.send(e.data, e.id);
    return new Response(stream.readable, { headers: SSE_HEADERS });
  });

  app.delete("/mcp", async (c) => {
    const req = c.req.raw;
    const identity = await gate(req);
    if (identity instanceof Response) return identity;
    const entry = sessionOf(req.headers, null, identity);
    if (entry instanceof Response) return entry;
    endSession(req.headers.get("mcp-session-id")!, "deleted by client");
    return new Response(null, { status: 200 });
  });

  app.notFound(() => Response.json({ error: "not found" }, { status: 404 }));
  app.onError((err) => {
    log.error(`unhandled: ${err.message}`);
    return new Response(JSON.stringify(failure(null, { code: -32603, message: "Internal error" })), { status: 500, headers: JSON_HEADERS });
  });

  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // A backstop only: the exact check is ours, so that the 413 carries a JSON-RPC body.
    maxRequestBodySize: max * 4 + 1024 * 1024,
    idleTimeout: MAX_IDLE_S,
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
      clearInterval(disconnects);
      for (const s of sessions.values()) s.stream?.close();
      await server.stop(false);
    },
    async stop() {
      clearInterval(sweeper);
      clearInterval(disconnects);
      for (const sid of [...sessions.keys()]) endSession(sid, "shutting down");
      await server.stop(true);
    },
  };
}

/** A JSON body: text, or a stream of the pieces of a large result relayed as bytes (not joined: wire.ts). */
function wireBody(m: Message | Message[]): string | ReadableStream<Uint8Array> {
  const wire = toWire(m);
  if (typeof wire === "string") return wire;
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i === wire.length) return controller.close();
      const piece = wire[i++]!;
      controller.enqueue(typeof piece === "string" ? encoder.encode(piece) : piece);
    },
  });
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
