// The Streamable HTTP front's routes (MCP 2025-11-25 transport), as a Hono app
// that tests drive with `app.request()`: POST /mcp carries client messages,
// GET /mcp opens the server-to-client event stream, DELETE /mcp ends a session.
// Handlers read the raw Request and build Responses directly: Hono routes, and
// the hot path pays for nothing else (measured: middleware and Context helpers
// cost ~15 µs CPU per request here).

import { Hono, type Context } from "hono";
import { adminRoutes } from "../../admin/routes.ts";
import type { Config } from "../../config/load.ts";
import { toJsonRpcError, Unhandled } from "../../errors.ts";
import { failure } from "../../jsonrpc/message.ts";
import { logger } from "../../log.ts";
import { metricsRoute } from "../../ops/metrics-route.ts";
import { readyRoute } from "../../ops/status.ts";
import type { TokenVerifier } from "./credential-gate.ts";
import type { FrontGateway, FrontSession } from "./gateway-api.ts";
import { postRoute } from "./post-route.ts";
import { JSON_HEADERS } from "./response-shaper.ts";
import { routeContext, type Env, type HttpAppOptions } from "./route-context.ts";
import { deleteRoute, streamRoute } from "./session-routes.ts";

export type { HttpAppOptions, ServerHooks } from "./route-context.ts";
export type HttpApp = Hono<Env>;

const log = logger("http");

export function createHttpApp<S extends FrontSession>(gateway: FrontGateway<S>, auth: TokenVerifier, options: HttpAppOptions<S>): HttpApp {
  const routes = routeContext(gateway, auth, options);
  const oauth = gateway.config.auth.oauth;
  const app = new Hono<Env>();
  app.get("/healthz", () => Response.json({ status: "ok" }));
  app.get("/readyz", readyRoute(gateway));
  if (gateway.metrics) {
    const scrape = metricsRoute(gateway.metrics, () => gateway.config);
    app.get("/metrics", (c) => scrape(c.req.raw, c.env?.address?.(c.req.raw) ?? null));
  }
  adminRoutes(app, gateway, auth, options.host);
  if (oauth) {
    const metadata = protectedResourceMetadata(oauth);
    app.get("/.well-known/oauth-protected-resource", metadata);
    app.get("/.well-known/oauth-protected-resource/mcp", metadata);
  }
  const post = postRoute(routes);
  const stream = streamRoute(routes);
  const end = deleteRoute(routes);
  app.post("/mcp", (c) => post(c, null));
  app.get("/mcp", (c) => stream(c, null));
  app.delete("/mcp", (c) => end(c, null));
  // A view (virtual server) of its own: read per request, so that a reload may add or remove one. Unknown: 404.
  const inView = (handler: (c: Context<Env>, view: string) => Promise<Response>) =>
    function viewed(c: Context<Env>): Promise<Response> | Response {
      const view = c.req.param("view")!;
      if (!Object.hasOwn(gateway.config.views, view)) return Response.json({ error: `no such view: ${view}` }, { status: 404 });
      return handler(c, view);
    };
  app.post("/mcp/:view", inView(post));
  app.get("/mcp/:view", inView(stream));
  app.delete("/mcp/:view", inView(end));
  app.notFound(() => Response.json({ error: "not found" }, { status: 404 }));
  app.onError((err) => {
    log.error(`unhandled: ${err.message}`);
    const e = new Unhandled();
    return new Response(JSON.stringify(failure(null, toJsonRpcError(e))), { status: e.httpStatus, headers: JSON_HEADERS });
  });
  return app;
}

/** RFC 9728 metadata, so that OAuth clients find the authorization server. */
function protectedResourceMetadata(o: NonNullable<Config["auth"]["oauth"]>) {
  return function metadata(c: Context<Env>): Response {
    return Response.json({
      resource: o.resource ?? new URL("/mcp", c.req.raw.url).href,
      authorization_servers: o.authorizationServers,
      bearer_methods_supported: ["header"],
      resource_name: "Sentinel MCP gateway",
      ...(o.scopesSupported && { scopes_supported: o.scopesSupported }),
    });
  };
}
