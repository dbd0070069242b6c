// The Streamable HTTP front's server: the app (src/front/http/app.ts) on
// Bun.serve, with what only a server has: connections (idle timeout, clients
// that disconnect mid-call) and a lifetime (close, stop). Loopback-only and
// closed by default.

import type { FrontGateway, FrontSession } from "./http/gateway-api.ts";
import { createHttpApp, type ServerHooks } from "./http/app.ts";
import type { TokenVerifier } from "./http/credential-gate.ts";
import { OpenPosts } from "./http/open-posts.ts";
import { SessionTable } from "./http/session-table.ts";

export { createHttpApp, type HttpApp, type HttpAppOptions, type ServerHooks } from "./http/app.ts";
export type { FrontGateway, FrontSession } from "./http/gateway-api.ts";

const DISCONNECT_SWEEP_MS = 500;
// Bun's largest idle timeout, in seconds.
const MAX_IDLE_S = 255;

export type HttpFront = {
  url: string;
  /** Stops accepting connections and ends event streams; in-flight POSTs go on. */
  close(): Promise<void>;
  /** Closes whatever is left. */
  stop(): Promise<void>;
};

export function startHttp<S extends FrontSession>(gateway: FrontGateway<S>, auth: TokenVerifier, opts: { host: string; port: number }): HttpFront {
  const cfg = gateway.config;
  const sessions = new SessionTable(gateway, cfg.http);
  const posts = new OpenPosts<S>();
  const app = createHttpApp(gateway, auth, { host: opts.host, sessions, posts });

  // A client that disconnects has its calls cancelled at the backends: a sweep,
  // not a listener per request (`req.signal` costs ~10 µs a call; open-posts.ts).
  const disconnects = setInterval(() => posts.sweep(), DISCONNECT_SWEEP_MS);
  disconnects.unref();

  // Bun closes a connection idle this long; a call may take as long as its
  // backend's timeout, so those above the cap lift it per request instead.
  const longest = Math.max(cfg.server.startupTimeoutMs, ...cfg.backends.map((b) => b.timeoutMs));
  const longCalls = longest > MAX_IDLE_S * 1000 - 15_000;
  const hooks: ServerHooks = {
    streaming: (req) => server.timeout(req, 0),
    calling: longCalls ? (req) => server.timeout(req, 0) : () => {},
    address: (req) => server.requestIP(req)?.address ?? null,
  };

  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // A backstop only: the exact check is ours, so that the 413 carries a JSON-RPC body.
    maxRequestBodySize: cfg.limits.client.messageBytes * 4 + 1024 * 1024,
    idleTimeout: MAX_IDLE_S,
    fetch: (req) => app.fetch(req, hooks),
  });
  sessions.startSweeping();

  return {
    url: `http://${formatHost(server.hostname ?? opts.host)}:${server.port}/mcp`,
    async close() {
      clearInterval(disconnects);
      sessions.closeStreams();
      await server.stop(false);
    },
    async stop() {
      clearInterval(disconnects);
      sessions.endAll("shutting down");
      await server.stop(true);
    },
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
