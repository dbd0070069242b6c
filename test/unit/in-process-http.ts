// The HTTP front in-process, for tests that drive its app with `app.request()`:
// a real Gateway from a parsed config, with the SDK echo fixture as a stdio
// backend and a temporary audit database; no server, no port.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SignJWT } from "jose";
import { Authenticator } from "../../src/auth/authenticator.ts";
import { parseConfig } from "../../src/config/load.ts";
import { createHttpApp, type HttpApp } from "../../src/front/http/app.ts";
import { OpenPosts } from "../../src/front/http/open-posts.ts";
import { SessionTable } from "../../src/front/http/session-table.ts";
import { Gateway } from "../../src/gateway.ts";
import type { Session } from "../../src/session/session.ts";

const FIXTURE = resolve(import.meta.dir, "../fixtures/echo-server.ts");
export const MCP = "http://127.0.0.1/mcp";
export const ACCEPT = "application/json, text/event-stream";
export const JSON_POST = { "content-type": "application/json", accept: ACCEPT };
export const INIT = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "in-process", version: "1" } },
};

export const SECRET = "in-process-http-secret-0123456789abcdef";
export const AUDIENCE = "sentinel-in-process";

/** An HS256 token for `sub`, as the JWT config of `withJwt` accepts. */
export function token(sub: string, roles: string[] = [], expiresInS = 3600): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInS)
    .sign(new TextEncoder().encode(SECRET));
}

export const withJwt = { auth: { jwt: { secret: SECRET, audience: AUDIENCE } } };

export type Front = {
  app: HttpApp;
  gateway: Gateway;
  sessions: SessionTable<Session>;
  posts: OpenPosts<Session>;
  stop(): Promise<void>;
};

/** Starts a gateway whose config is `extra` plus the alpha fixture backend, and builds its app. */
export async function startFront(extra: Record<string, unknown> = {}): Promise<Front> {
  const dir = mkdtempSync(join(tmpdir(), "sentinel-http-app-"));
  const raw = { audit: { path: join(dir, "audit.db") }, backends: { alpha: { command: process.execPath, args: [FIXTURE, "--name", "alpha"] } }, ...extra };
  const config = parseConfig(JSON.stringify(raw), join(dir, "sentinel.json"));
  const auth = await Authenticator.create(config.auth);
  const gateway = new Gateway(config);
  gateway.start();
  await gateway.ready;
  const sessions = new SessionTable(gateway, config.http);
  const posts = new OpenPosts<Session>();
  const app = createHttpApp(gateway, auth, { host: "127.0.0.1", sessions, posts });
  return {
    app,
    gateway,
    sessions,
    posts,
    async stop() {
      sessions.endAll("test over");
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let nextId = 1;

/** A response's JSON body, untyped (tests read into it). */
export const json = (res: Response): Promise<any> => res.json();

/** POSTs one message (or a raw body) to /mcp. */
export function post(app: HttpApp, body: unknown, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  return Promise.resolve(
    app.request(MCP, { method: "POST", headers: { ...JSON_POST, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body), ...init }),
  );
}

export function call(method: string, params?: Record<string, unknown>): Record<string, unknown> {
  return { jsonrpc: "2.0", id: nextId++, method, ...(params && { params }) };
}

/** Initializes a session (and sends notifications/initialized); its id. */
export async function openSession(app: HttpApp, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(app, INIT, headers);
  if (res.status !== 200) throw new Error(`initialize: ${res.status} ${await res.text()}`);
  await res.json();
  const sid = res.headers.get("mcp-session-id")!;
  const done = await post(app, { jsonrpc: "2.0", method: "notifications/initialized" }, { ...headers, "mcp-session-id": sid });
  if (done.status !== 202) throw new Error(`notifications/initialized: ${done.status}`);
  return sid;
}
