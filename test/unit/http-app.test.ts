// The HTTP front's app in-process (app.request(), no server): the statuses and
// headers of the Streamable HTTP transport, against a real gateway and backend.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, INIT, json, MCP, openSession, post, startFront, token, withJwt, type Front } from "./in-process-http.ts";

describe("credentials", () => {
  let front: Front;
  beforeAll(async () => {
    front = await startFront(withJwt);
  });
  afterAll(() => front.stop());

  test("no credentials: 401 with a bare Bearer challenge and a JSON-RPC body", async () => {
    const res = await post(front.app, INIT);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="sentinel"');
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await json(res)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32010, message: expect.stringContaining("credentials are required") } });
  });

  test("a bad token: 401 naming invalid_token; a non-Bearer header: 401", async () => {
    const res = await post(front.app, INIT, { authorization: "Bearer not-a-token" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith('Bearer realm="sentinel", error="invalid_token", error_description="');
    expect((await post(front.app, INIT, { authorization: "Basic abc" })).status).toBe(401);
  });

  test("GET and DELETE pass the same gate", async () => {
    expect((await front.app.request(MCP, { headers: { accept: "text/event-stream" } })).status).toBe(401);
    expect((await front.app.request(MCP, { method: "DELETE" })).status).toBe(401);
  });

  test("a valid token opens a session, whose id comes with the initialize answer only", async () => {
    const bearer = { authorization: `Bearer ${await token("alice")}` };
    const res = await post(front.app, INIT, bearer);
    expect(res.status).toBe(200);
    const sid = res.headers.get("mcp-session-id");
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await json(res)).result.protocolVersion).toBe("2025-11-25");
    const ping = await post(front.app, call("ping"), { ...bearer, "mcp-session-id": sid! });
    expect(ping.status).toBe(200);
    expect(ping.headers.get("mcp-session-id")).toBeNull();
  });

  test("health needs no credentials; other paths are 404", async () => {
    expect(await json(await front.app.request("http://127.0.0.1/healthz"))).toEqual({ status: "ok" });
    expect((await front.app.request("http://127.0.0.1/nope")).status).toBe(404);
    expect((await front.app.request("http://127.0.0.1/.well-known/oauth-protected-resource")).status).toBe(404);
  });
});

describe("credentials with OAuth", () => {
  let front: Front;
  beforeAll(async () => {
    front = await startFront({ auth: { ...withJwt.auth, oauth: { authorizationServers: ["https://idp.example"] } } });
  });
  afterAll(() => front.stop());

  test("the 401 challenge names the protected-resource metadata", async () => {
    const res = await post(front.app, INIT);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="sentinel", resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"',
    );
  });

  test("the metadata names the authorization server and this resource", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const res = await front.app.request(`http://127.0.0.1${path}`);
      expect(await json(res)).toMatchObject({ resource: MCP, authorization_servers: ["https://idp.example"], bearer_methods_supported: ["header"] });
    }
  });
});

describe("transport rules", () => {
  let front: Front;
  let sid: string;
  beforeAll(async () => {
    front = await startFront({ identity: { anonymous: { roles: [] } }, limits: { client: { messageBytes: 2048 } } });
    sid = await openSession(front.app);
  });
  afterAll(() => front.stop());
  const inSession = () => ({ "mcp-session-id": sid });

  test("another Origin: 403; a loopback one passes", async () => {
    const res = await post(front.app, call("ping"), { ...inSession(), origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect((await json(res)).error.message).toContain("origin https://evil.example");
    expect((await post(front.app, call("ping"), { ...inSession(), origin: "http://localhost:3000" })).status).toBe(200);
  });

  test("a rebound Host on a loopback bind: 403", async () => {
    const res = await post(front.app, call("ping"), { ...inSession(), host: "evil.example:8787" });
    expect(res.status).toBe(403);
    expect((await json(res)).error.message).toContain("host evil.example:8787");
    expect((await post(front.app, call("ping"), { ...inSession(), host: "127.0.0.1:8787" })).status).toBe(200);
  });

  test("an unsupported MCP-Protocol-Version: 400", async () => {
    const res = await post(front.app, call("ping"), { ...inSession(), "mcp-protocol-version": "1999-01-01" });
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toContain("unsupported MCP-Protocol-Version 1999-01-01");
    expect((await post(front.app, call("ping"), { ...inSession(), "mcp-protocol-version": "2025-11-25" })).status).toBe(200);
  });

  test("no session id: 400 under the request's id; an unknown one: 404", async () => {
    const missing = await post(front.app, { jsonrpc: "2.0", id: 41, method: "ping" });
    expect(missing.status).toBe(400);
    expect(await json(missing)).toMatchObject({ id: 41, error: { code: -32600, message: expect.stringContaining("Mcp-Session-Id") } });
    const unknown = await post(front.app, { jsonrpc: "2.0", id: 42, method: "ping" }, { "mcp-session-id": "no-such-session" });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ id: 42, error: { message: "Session not found" } });
  });

  test("an oversized body: 413, declared or streamed (chunked)", async () => {
    const big = JSON.stringify(call("tools/call", { name: "alpha__echo", arguments: { text: "x".repeat(4096) } }));
    const declared = await post(front.app, big, inSession());
    expect(declared.status).toBe(413);
    expect((await json(declared)).error.message).toContain("2048-byte limit");
    const body = new Blob([big]).stream();
    const streamed = await post(front.app, "", inSession(), { body, duplex: "half" } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  test("bad JSON: 400 with a parse error; an empty batch: 400", async () => {
    const res = await post(front.app, "{nope", inSession());
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe(-32700);
    expect((await post(front.app, "[]", inSession())).status).toBe(400);
  });

  test("notifications: 202 with no body; refused ones: 400 with no body", async () => {
    const ok = await post(front.app, { jsonrpc: "2.0", method: "notifications/roots/list_changed" }, inSession());
    expect(ok.status).toBe(202);
    expect(await ok.text()).toBe("");
    const refused = await post(front.app, { jsonrpc: "2.0", method: "notifications/x", params: "not an object" }, inSession());
    expect(refused.status).toBe(400);
    expect(await refused.text()).toBe("");
    const mixed = await post(front.app, [{ jsonrpc: "2.0", method: "notifications/x", params: 1 }, { jsonrpc: "2.0", method: "notifications/roots/list_changed" }], inSession());
    expect(mixed.status).toBe(400);
    expect(await mixed.text()).toBe("");
  });

  test("a request: 200 JSON; a batch: 200 JSON array in order", async () => {
    const one = await post(front.app, { jsonrpc: "2.0", id: "p", method: "ping" }, inSession());
    expect(one.status).toBe(200);
    expect(one.headers.get("content-type")).toBe("application/json");
    expect(await json(one)).toEqual({ jsonrpc: "2.0", id: "p", result: {} });
    const batch = await post(front.app, [call("tools/call", { name: "alpha__echo", arguments: { text: "a" } }), { jsonrpc: "2.0", id: "b", method: "ping" }], inSession());
    expect(batch.status).toBe(200);
    const out = await json(batch);
    expect(out).toHaveLength(2);
    expect(out[0].result.content[0].text).toBe("a");
    expect(out[1]).toEqual({ jsonrpc: "2.0", id: "b", result: {} });
  });

  test("initialize may not be batched", async () => {
    const res = await post(front.app, [INIT, call("ping")]);
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toContain("initialize must not be batched");
  });

  test("a call with progress, when the client accepts SSE, is answered as an event stream", async () => {
    const res = await post(front.app, call("tools/call", { name: "alpha__progress", arguments: { steps: 2 }, _meta: { progressToken: "t" } }), inSession());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = (await res.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));
    expect(events.map((e) => e.method ?? "answer")).toEqual(["notifications/progress", "notifications/progress", "answer"]);
    expect(events[2].result.content[0].text).toBe("did 2 steps");
  });

  test("the same call without SSE in Accept is answered in JSON", async () => {
    const res = await post(front.app, call("tools/call", { name: "alpha__progress", arguments: { steps: 2 }, _meta: { progressToken: "t" } }), {
      ...inSession(),
      accept: "application/json",
    });
    expect(res.headers.get("content-type")).toBe("application/json");
    expect((await json(res)).result.content[0].text).toBe("did 2 steps");
  });

  /** Until the call is in flight at the backend (so that cancelling it has something to cancel). */
  const atBackend = async () => {
    const alpha = front.gateway.backends.find((b) => b.name === "alpha")!;
    while (alpha.inFlight === 0) await new Promise((r) => setImmediate(r));
  };

  test("a call the client cancels: 204 with no body", async () => {
    const slow = call("tools/call", { name: "alpha__wait", arguments: { ms: 10_000 } });
    const pending = post(front.app, slow, inSession());
    await atBackend();
    const cancel = await post(front.app, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: slow.id } }, inSession());
    expect(cancel.status).toBe(202);
    const res = await pending;
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  test("a 2026-07-28 POST whose client has gone has its call cancelled by the disconnect sweep", async () => {
    const gone = new AbortController();
    const _meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
    const modern = { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "alpha__wait" };
    const pending = post(front.app, call("tools/call", { name: "alpha__wait", arguments: { ms: 10_000 }, _meta }), modern, { signal: gone.signal });
    await atBackend();
    gone.abort();
    front.posts.sweep();
    expect((await pending).status).toBe(204);
  });

  test("a 2025 POST whose client has gone is not cancelled (MCP 2025-11-25): the call ends with its result", async () => {
    const gone = new AbortController();
    const pending = post(front.app, call("tools/call", { name: "alpha__wait", arguments: { ms: 300 } }), inSession(), { signal: gone.signal });
    await atBackend();
    gone.abort();
    front.posts.sweep();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result?: { content: { text: string }[] } }).result?.content[0]?.text).toBeTruthy();
  });
});
