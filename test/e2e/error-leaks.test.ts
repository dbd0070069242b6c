// Client-facing errors reveal nothing internal: every error this suite can
// provoke, on both fronts, is scanned for backend URLs and hosts, file paths,
// stack frames and errno names. Clients know a backend only by its name.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN, FIXTURE, INIT, rawStdio, ROOT, startFixture, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway, type RawStdio, type Spawned } from "./harness.ts";

const MAX = 32 * 1024;
let dir: string;
let configPath: string;
let beta: Spawned;
let gamma: Spawned;
let bad: ReturnType<typeof Bun.serve>;
let closedPort: number;

// What must not show: every address and path the gateway knows about.
let forbidden: string[];
const STACK = /\bat [^\s]+ \(|\.ts:\d+|\.js:\d+|node_modules|\bE(?:CONNREFUSED|CONNRESET|NOTFOUND|HOSTUNREACH|PIPE|NOENT|ACCES)\b/;

beforeAll(async () => {
  dir = tempDir();
  beta = await startFixture("beta", "http");
  gamma = await startFixture("gamma", "http");
  // A backend that answers every request with an error page full of internals.
  bad = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(`Error: db down\n    at query (/srv/internal/app/db.js:12:5)\n    at ${ROOT}/x.ts:1:1`, { status: 500 }),
  });
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  closedPort = probe.port!;
  probe.stop(true);
  configPath = writeConfig(dir, {
    limits: { client: { messageBytes: MAX } },
    identity: { anonymous: { roles: ["user"] }, local: { roles: ["user"] } },
    rbac: { roles: { user: { allow: [{ backends: "*" }], deny: [{ tools: "alpha__env" }] } } },
    backends: {
      alpha: stdioFixture("alpha", { timeout: "500ms" }),
      beta: { url: beta.url },
      gamma: { url: gamma.url },
      bad: { url: `http://127.0.0.1:${bad.port}/internal/mcp` },
      down: { url: `http://127.0.0.1:${closedPort}/mcp` },
      missing: { command: "/nonexistent/opt/tools/mcp-server", args: ["--secret-dir", "/var/lib/hidden"] },
    },
  });
  forbidden = [
    beta.url,
    gamma.url,
    new URL(beta.url).host,
    new URL(gamma.url).host,
    `127.0.0.1:${bad.port}`,
    `127.0.0.1:${closedPort}`,
    "/internal/mcp",
    "/nonexistent",
    "/var/lib/hidden",
    "/srv/internal",
    dir,
    ROOT,
    BUN,
    FIXTURE,
  ];
});

afterAll(async () => {
  await beta.stop();
  await gamma.stop().catch(() => {});
  bad.stop(true);
});

/** Every error-provoking request the suite knows, as raw JSON-RPC lines, ids from 100. */
function provocations(): string[] {
  let id = 100;
  const req = (method: string, params?: unknown) => JSON.stringify({ jsonrpc: "2.0", id: id++, method, ...(params !== undefined && { params }) });
  const call = (name: string, args: unknown = {}) => req("tools/call", { name, arguments: args });
  return [
    "{not json",
    JSON.stringify({ id: id++, method: "tools/list" }),
    req("tools/destroy"),
    call("nobody__echo", { text: "x" }),
    call("alpha__env", { name: "HOME" }), // denied
    call("alpha__echo", { text: 42 }), // invalid arguments
    call("alpha__sleep", { ms: 5000 }), // times out at 500 ms
    call("down__echo", { text: "x" }), // unreachable backend
    call("bad__echo", { text: "x" }), // backend answering 500 with internals
    call("missing__echo", { text: "x" }), // command that does not exist
    call("gamma__echo", { text: "x" }), // backend killed mid-session (below)
    req("resources/read", { uri: "file:///nowhere" }),
    req("prompts/get", { name: "alpha__nope" }),
    req("logging/setLevel", { level: "loud" }),
    call("alpha__echo", { text: "x".repeat(MAX * 2) }), // oversized
  ];
}

function scan(answer: string): void {
  for (const f of forbidden) expect(answer).not.toContain(f);
  expect(answer).not.toMatch(STACK);
  expect(answer).not.toMatch(/https?:\/\/127\.0\.0\.1/);
}

describe("no internal detail in errors", () => {
  test("stdio front: every answer is scanned", async () => {
    const io: RawStdio = rawStdio(configPath);
    try {
      io.write(JSON.stringify(INIT) + "\n");
      await io.next();
      io.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
      const lines = provocations();
      const answers: string[] = [];
      for (const line of lines) {
        io.write(line + "\n");
        answers.push(JSON.stringify(await io.next(5000)));
      }
      expect(answers).toHaveLength(lines.length);
      // Each was refused (none slipped through as a result), but gamma's call: it is still up here.
      const refused = answers.filter((a) => JSON.parse(a).error || JSON.parse(a).result?.isError);
      expect(refused.length).toBe(lines.length - 1);
      for (const a of answers) scan(a);
    } finally {
      await io.close();
    }
  });

  test("HTTP front: every answer (body and headers) is scanned, the killed backend's included", async () => {
    const gw: HttpGateway = await startHttpGateway(configPath);
    try {
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const init = await fetch(gw.url, { method: "POST", headers, body: JSON.stringify(INIT) });
      const session = init.headers.get("mcp-session-id")!;
      await init.text();
      // gamma goes away after the gateway connected to it: the "cannot reach http://..." case.
      await gamma.stop();
      const texts: string[] = [];
      for (const line of provocations()) {
        const res = await fetch(gw.url, { method: "POST", headers: { ...headers, "mcp-session-id": session }, body: line });
        texts.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
      }
      // Transport-level refusals too: unknown session, bad Origin, bad version.
      const extras: Record<string, string>[] = [{ "mcp-session-id": "nope" }, { origin: "http://evil.example" }, { "mcp-protocol-version": "1999-01-01" }];
      for (const extra of extras) {
        const res = await fetch(gw.url, { method: "POST", headers: { ...headers, ...extra }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) });
        texts.push(`${res.status} ${await res.text()}`);
      }
      expect(texts.some((t) => t.includes("Backend gamma"))).toBe(true);
      for (const t of texts) scan(t);
      // The detail an operator needs is in Sentinel's log instead.
      expect(gw.stderr()).toContain(`127.0.0.1:${closedPort}`);
    } finally {
      await gw.stop();
    }
  });
});
