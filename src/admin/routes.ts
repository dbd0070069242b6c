// GET /admin and its JSON API under /admin/api, on the HTTP front's listener.
// The page is one HTML document with its script inline, embedded in the binary
// (no CDN, no fonts): it works offline. Actions are POSTs with a JSON body,
// which a page of another origin cannot send without a preflight we never grant.

import type { Context, Hono } from "hono";
import type { Principal } from "../auth/principal.ts";
import { Forbidden, InvalidRequest } from "../errors.ts";
import type { TokenVerifier } from "../front/http/credential-gate.ts";
import { refusals } from "../front/http/refusals.ts";
import type { Env } from "../front/http/route-context.ts";
import type { FrontPipeline, FrontSession } from "../front/http/gateway-api.ts";
import type { Config } from "../config/load.ts";
import html from "./admin.html" with { type: "text" };
import { AdminApi, toCsv, type AdminGateway } from "./api.ts";
import { adminGuard } from "./guard.ts";
import type { AdminFeed, LiveCall } from "./live.ts";

const NO_STORE = { "cache-control": "no-store" };
// The page's own script and style are inline; nothing else may load or run.
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  ...NO_STORE,
};
const LIVE_TICK_MS = 2000;
// bun-types declare *.html a bundle; imported as text it is the file's text.
const page = html as unknown as string;

type Gateway = Partial<AdminGateway> & { config: Config; admin?: AdminFeed | null; pipeline: FrontPipeline<FrontSession> };

export function adminRoutes(app: Hono<Env>, gateway: Gateway, auth: TokenVerifier, host: string): void {
  const feed = gateway.admin;
  if (!feed) return;
  const api = new AdminApi({
    get config() {
      return gateway.config;
    },
    get backends() {
      return gateway.backends ?? [];
    },
    get live() {
      return gateway.live ?? null;
    },
  });
  const { reject } = refusals(gateway.pipeline);
  const admit = adminGuard(gateway.config, auth, host, reject);
  const bad = (message: string) => reject(new InvalidRequest(`Bad Request: ${message}`));

  /** A handler that runs only for an admin. */
  const guarded = (handle: (c: Context<Env>, who: Principal) => Response | Promise<Response>) =>
    async function adminRoute(c: Context<Env>): Promise<Response> {
      const who = await admit(c.req.raw, c.env?.address?.(c.req.raw) ?? null);
      return who instanceof Response ? who : handle(c, who);
    };
  /** An action: a JSON body, so that no plain form of another site can send one. */
  const action = (handle: (c: Context<Env>, who: Principal, body: Record<string, unknown>) => Response | Promise<Response>) =>
    guarded(async (c, who) => {
      if (!(c.req.header("content-type") ?? "").startsWith("application/json")) return reject(new Forbidden("Forbidden: admin actions take a JSON body"));
      const body = (await c.req.raw.json().catch(() => null)) as unknown;
      if (typeof body !== "object" || body === null || Array.isArray(body)) return bad("expected a JSON object");
      return handle(c, who, body as Record<string, unknown>);
    });
  const string = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v : null);

  app.get("/admin", guarded(() => new Response(page, { headers: PAGE_HEADERS })));
  app.get("/admin/api/backends", guarded((_c, who) => Response.json({ ...api.backends(), who: who.sub }, { headers: NO_STORE })));
  app.post(
    "/admin/api/backends/:name/restart",
    action(async (c, who) => ((await api.restart(c.req.param("name") ?? "", who)) ? Response.json({ restarted: true }) : Response.json({ error: "no such backend" }, { status: 404 }))),
  );
  app.get(
    "/admin/api/audit",
    guarded((c) => {
      const q = new URL(c.req.url).searchParams;
      const f = api.filter(q, 0);
      if (typeof f === "string") return bad(f);
      const page = Math.max(0, Number.parseInt(q.get("page") ?? "0", 10) || 0);
      return Response.json(api.audit(f, page, until(q)), { headers: NO_STORE });
    }),
  );
  app.get(
    "/admin/api/audit/export",
    guarded((c) => {
      const q = new URL(c.req.url).searchParams;
      const f = api.filter(q, 0);
      if (typeof f === "string") return bad(f);
      const rows = api.exportRows(f, until(q));
      const csv = q.get("format") === "csv";
      const body = csv ? toCsv(rows) : rows.map((r) => JSON.stringify(r) + "\n").join("");
      const type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
      return new Response(body, { headers: { "content-type": type, "content-disposition": `attachment; filename="sentinel-audit.${csv ? "csv" : "jsonl"}"`, ...NO_STORE } });
    }),
  );
  app.get("/admin/api/chart", guarded(() => Response.json(api.chart(), { headers: NO_STORE })));
  app.get("/admin/api/pins", guarded(() => Response.json(api.pins(), { headers: NO_STORE })));
  app.post(
    "/admin/api/pins/approve",
    action((_c, who, b) => {
      const backend = string(b.backend);
      const tool = string(b.tool);
      const hash = string(b.hash);
      if (!backend || !tool || !hash || !/^[0-9a-f]{8,64}$/.test(hash)) return bad("expected backend, tool and hash");
      if (api.approve(backend, tool, hash, who)) return Response.json({ approved: true });
      return Response.json({ error: "nothing awaits approval under that hash (it changed again?): reload and review" }, { status: 409 });
    }),
  );
  app.post(
    "/admin/api/switches/disable",
    action((_c, who, b) => {
      const given = string(b.name);
      if (!given || /\s/.test(given)) return bad("expected a tool name, glob, BACKEND:TOOL or backend:NAME");
      const name = api.switchName(given);
      if (!name) return bad(`no backend named ${given.slice(0, given.indexOf(":"))} (for a whole backend write backend:NAME)`);
      const reason = string(b.reason) ?? undefined;
      api.disable(name, reason, who);
      return Response.json({ disabled: name });
    }),
  );
  app.post(
    "/admin/api/switches/enable",
    action((_c, who, b) => {
      const name = string(b.name);
      if (!name) return bad("expected a name");
      return api.enable(name, who) ? Response.json({ enabled: name }) : Response.json({ error: `${name} is not disabled` }, { status: 404 });
    }),
  );
  app.get("/admin/api/approvals", guarded(() => Response.json(api.approvals(), { headers: NO_STORE })));
  for (const answer of ["approve", "deny"] as const) {
    app.post(
      `/admin/api/approvals/${answer}`,
      action((_c, who, b) => {
        const id = string(b.id);
        if (!id) return bad("expected an id");
        if (api.decide(id, answer === "approve", who)) return Response.json({ [answer === "approve" ? "approved" : "denied"]: id });
        return Response.json({ error: `no call waits for approval ${id} (unknown, answered or expired)` }, { status: 409 });
      }),
    );
  }
  app.get(
    "/admin/api/live",
    guarded((c) => {
      c.env?.streaming?.(c.req.raw);
      return liveStream(api, feed, c.req.raw.signal);
    }),
  );
}

function until(q: URLSearchParams): number | null {
  const u = q.get("until");
  return u ? Date.parse(u) : null;
}

/** SSE: the last calls, then each call as it ends and the number in flight every tick. */
function liveStream(api: AdminApi, feed: AdminFeed, signal: AbortSignal): Response {
  const enc = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => {
        try {
          controller.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          stop();
        }
      };
      const recent = api.recent(20).map((r): LiveCall => ({
        ts: r.ts,
        identity: r.identity,
        method: r.method,
        target: r.target,
        backend: r.backend,
        outcome: r.outcome === "ok" ? "ok" : "error",
        decision: r.decision,
        latencyMs: r.latency_us / 1000,
      }));
      send("recent", recent);
      send("inflight", api.backends().inflight);
      const unwatch = feed.watch((call) => send("call", call));
      const tick = setInterval(() => send("inflight", api.backends().inflight), LIVE_TICK_MS);
      stop = () => {
        unwatch();
        clearInterval(tick);
      };
      signal.addEventListener("abort", () => {
        stop();
        try {
          controller.close();
        } catch {
          // already closed
        }
      });
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", ...NO_STORE, connection: "keep-alive" } });
}
