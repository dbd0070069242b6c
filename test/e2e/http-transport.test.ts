// The Streamable HTTP front against the transport spec's rules, with raw fetch:
// closed by default, sessions, protocol-version and Origin checks.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { INIT, nextLog, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway } from "./harness.ts";

const ACCEPT = "application/json, text/event-stream";
const json = { "content-type": "application/json", accept: ACCEPT };

describe("closed by default", () => {
  let gw: HttpGateway;
  beforeAll(async () => {
    gw = await startHttpGateway(writeConfig(tempDir(), { backends: { alpha: stdioFixture("alpha") } }));
  });
  afterAll(() => gw.stop());

  test("binds to loopback", () => {
    expect(gw.url).toStartWith("http://127.0.0.1:");
  });

  test("without credentials and without anonymous access, every MCP request gets 401", async () => {
    const res = await fetch(gw.url, { method: "POST", headers: json, body: JSON.stringify(INIT) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32010, message: expect.stringContaining("credentials are required") } });
    expect((await fetch(gw.url, { headers: { accept: "text/event-stream" } })).status).toBe(401);
  });

  test("health check needs no credentials and reveals nothing", async () => {
    const res = await fetch(new URL("/healthz", gw.url));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("sessions and headers", () => {
  let gw: HttpGateway;
  beforeAll(async () => {
    const configPath = writeConfig(tempDir(), {
      http: { sessionIdleTimeout: "400ms" },
      identity: { anonymous: { roles: [] } },
      backends: { alpha: stdioFixture("alpha") },
    });
    gw = await startHttpGateway(configPath);
  });
  afterAll(() => gw.stop());

  const open = async () => {
    const res = await fetch(gw.url, { method: "POST", headers: json, body: JSON.stringify(INIT) });
    expect(res.status).toBe(200);
    await res.json();
    return res.headers.get("mcp-session-id")!;
  };
  const ping = (headers: Record<string, string>) =>
    fetch(gw.url, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) });

  test("a request without a session id gets 400; an unknown one 404", async () => {
    expect((await ping({})).status).toBe(400);
    const res = await ping({ "mcp-session-id": "no-such-session" });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ id: 1, error: { code: -32600 } });
  });

  test("DELETE ends a session; it is 404 afterwards", async () => {
    const sid = await open();
    expect((await ping({ "mcp-session-id": sid })).status).toBe(200);
    expect((await fetch(gw.url, { method: "DELETE", headers: { "mcp-session-id": sid } })).status).toBe(200);
    expect((await ping({ "mcp-session-id": sid })).status).toBe(404);
    expect((await fetch(gw.url, { method: "DELETE", headers: { "mcp-session-id": sid } })).status).toBe(404);
  });

  test("an unsupported MCP-Protocol-Version gets 400; supported ones pass", async () => {
    const sid = await open();
    expect((await ping({ "mcp-session-id": sid, "mcp-protocol-version": "1999-01-01" })).status).toBe(400);
    expect((await ping({ "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" })).status).toBe(200);
  });

  test("the 2026-07-28 probe gets 400 with a JSON-RPC error body, so the client falls back", async () => {
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { ...json, "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: expect.any(Number), message: expect.any(String) } });
  });

  test("a foreign Origin gets 403; a loopback one passes", async () => {
    const sid = await open();
    expect((await ping({ "mcp-session-id": sid, origin: "https://evil.example" })).status).toBe(403);
    expect((await ping({ "mcp-session-id": sid, origin: "http://localhost:3000" })).status).toBe(200);
  });

  test("on a loopback bind, a rebound Host name gets 403 even without an Origin", async () => {
    const sid = await open();
    const port = new URL(gw.url).port;
    expect((await ping({ "mcp-session-id": sid, host: `evil.example:${port}` })).status).toBe(403);
    expect((await ping({ "mcp-session-id": sid, host: `localhost:${port}` })).status).toBe(200);
  });

  test("GET opens the session's event stream; a second one is refused", async () => {
    const sid = await open();
    const aborter = new AbortController();
    const res = await fetch(gw.url, { headers: { accept: "text/event-stream", "mcp-session-id": sid }, signal: aborter.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect((await fetch(gw.url, { headers: { accept: "text/event-stream", "mcp-session-id": sid } })).status).toBe(409);
    expect((await fetch(gw.url, { headers: { accept: "application/json", "mcp-session-id": sid } })).status).toBe(406);
    aborter.abort();
  });

  test("open sessions are bounded: past the limit, initialize gets 503 until one ends", async () => {
    const capped = await startHttpGateway(
      writeConfig(tempDir(), { http: { maxSessions: 2 }, identity: { anonymous: { roles: [] } }, backends: { alpha: stdioFixture("alpha") } }),
    );
    try {
      const init = () => fetch(capped.url, { method: "POST", headers: json, body: JSON.stringify(INIT) });
      const first = await init();
      const sid = first.headers.get("mcp-session-id")!;
      await first.text();
      await (await init()).text();
      const refused = await init();
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: { code: -32600 } });
      await fetch(capped.url, { method: "DELETE", headers: { "mcp-session-id": sid } });
      expect((await init()).status).toBe(200);
    } finally {
      await capped.stop();
    }
  });

  test("idle sessions expire, and what they held is released", async () => {
    const sid = await open();
    expect((await ping({ "mcp-session-id": sid })).status).toBe(200);
    // Any request would renew the session, so the expiry is watched from the side: the session's
    // subscription is dropped when it ends, and the backend logs its unsubscribe.
    const uri = "fixture://alpha/info";
    const released = nextLog(gw.stderr, /\[alpha\] unsubscribed fixture:\/\/alpha\/info/);
    const sub = await fetch(gw.url, {
      method: "POST",
      headers: { ...json, "mcp-session-id": sid },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "resources/subscribe", params: { uri } }),
    });
    expect(await sub.json()).toMatchObject({ id: 2, result: {} });
    await released;
    expect((await ping({ "mcp-session-id": sid })).status).toBe(404);
  });
});
