// The HTTP front's session rules in-process (app.request(), no server): sessions
// belong to the subject that opened them, are bounded in number, end when idle,
// and keep one GET stream with a replayable backlog.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, INIT, json, MCP, openSession, post, startFront, token, withJwt, type Front } from "./in-process-http.ts";

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** Reads an event stream until `until` appears in it. */
async function readUntil(body: ReadableStream<Uint8Array>, until: string): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(until)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

describe("ownership", () => {
  let front: Front;
  let alice: string;
  let sid: string;
  beforeAll(async () => {
    front = await startFront(withJwt);
    alice = await token("alice", ["reader"]);
    sid = await openSession(front.app, bearer(alice));
  });
  afterAll(() => front.stop());

  test("another subject's session reads as unknown: 404 on POST, GET and DELETE", async () => {
    const bob = { ...bearer(await token("bob")), "mcp-session-id": sid };
    expect((await post(front.app, call("ping"), bob)).status).toBe(404);
    expect((await front.app.request(MCP, { headers: { ...bob, accept: "text/event-stream" } })).status).toBe(404);
    expect((await front.app.request(MCP, { method: "DELETE", headers: bob })).status).toBe(404);
    expect((await post(front.app, call("ping"), { ...bearer(alice), "mcp-session-id": sid })).status).toBe(200);
  });

  test("a refreshed token of the same subject keeps the session, and the session takes its identity", async () => {
    const refreshed = await token("alice", ["reader", "writer"], 7200);
    expect(refreshed).not.toBe(alice);
    const res = await post(front.app, call("ping"), { ...bearer(refreshed), "mcp-session-id": sid });
    expect(res.status).toBe(200);
    const session = [...front.gateway.sessions].find((s) => s.id === sid)!;
    expect(session.identity.roles).toEqual(["reader", "writer"]);
  });

  test("DELETE ends the session: 200, then 404", async () => {
    const mine = await openSession(front.app, bearer(alice));
    const headers = { ...bearer(alice), "mcp-session-id": mine };
    expect((await front.app.request(MCP, { method: "DELETE", headers })).status).toBe(200);
    expect((await post(front.app, call("ping"), headers)).status).toBe(404);
    expect([...front.gateway.sessions].some((s) => s.id === mine)).toBe(false);
  });
});

describe("the GET stream", () => {
  let front: Front;
  let sid: string;
  beforeAll(async () => {
    front = await startFront({ identity: { anonymous: { roles: [] } } });
    sid = await openSession(front.app);
  });
  afterAll(() => front.stop());

  const get = (headers: Record<string, string> = {}) =>
    front.app.request(MCP, { headers: { accept: "text/event-stream", "mcp-session-id": sid, ...headers } });

  test("without text/event-stream in Accept: 406", async () => {
    const res = await get({ accept: "application/json" });
    expect(res.status).toBe(406);
    expect((await json(res)).error.message).toContain("Accept: text/event-stream");
  });

  test("without a session id: 400", async () => {
    expect((await front.app.request(MCP, { headers: { accept: "text/event-stream" } })).status).toBe(400);
  });

  test("one stream per session: a second gets 409 until the first ends", async () => {
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("text/event-stream");
    const second = await get();
    expect(second.status).toBe(409);
    expect((await json(second)).error.message).toContain("already has an event stream");
    await first.body!.cancel();
    const third = await get();
    expect(third.status).toBe(200);
    await third.body!.cancel();
  });

  test("messages sent outside a POST are replayed after the Last-Event-ID the client names", async () => {
    // Without SSE in Accept, the call's progress goes to the session (its backlog), not into the answer.
    const res = await post(front.app, call("tools/call", { name: "alpha__progress", arguments: { steps: 2 }, _meta: { progressToken: "r" } }), {
      "mcp-session-id": sid,
      accept: "application/json",
    });
    expect(res.status).toBe(200);
    await json(res);
    const stream = await get({ "last-event-id": "1" });
    const text = await readUntil(stream.body!, "id: 2\n");
    expect(text).toStartWith(": stream open\n\n");
    expect(text).not.toContain("id: 1\n");
    const data = JSON.parse(text.split("\n").find((l) => l.startsWith("data: "))!.slice(6));
    expect(data).toMatchObject({ method: "notifications/progress", params: { progressToken: "r", progress: 2 } });
  });
});

describe("bounds", () => {
  let front: Front;
  let sid: string;
  beforeAll(async () => {
    front = await startFront({
      identity: { anonymous: { roles: [] } },
      http: { maxSessions: 1, sessionIdleTimeout: "1s" },
      rateLimits: { perIdentity: "1/min" },
    });
    sid = await openSession(front.app);
  });
  afterAll(() => front.stop());

  test("a call over its rate: 429 with Retry-After and the JSON-RPC error under its id", async () => {
    const echo = () => call("tools/call", { name: "alpha__echo", arguments: { text: "hi" } });
    expect((await post(front.app, echo(), { "mcp-session-id": sid })).status).toBe(200);
    const over = echo();
    const res = await post(front.app, over, { "mcp-session-id": sid });
    expect(res.status).toBe(429);
    const seconds = Number(res.headers.get("retry-after"));
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    expect(await json(res)).toMatchObject({ id: over.id, error: { code: -32029, data: { retryAfterMs: expect.any(Number) } } });
  });

  test("a new session past the cap: 503 with Retry-After", async () => {
    const res = await post(front.app, INIT);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect(await json(res)).toMatchObject({ id: 0, error: { message: expect.stringContaining("too many open sessions") } });
  });

  test("an idle session is ended by the sweep, unless its GET stream is open; the cap then admits a new one", async () => {
    const stream = await front.app.request(MCP, { headers: { accept: "text/event-stream", "mcp-session-id": sid } });
    expect(stream.status).toBe(200);
    front.sessions.sweepIdle(Date.now() + 5_000);
    expect(front.sessions.size).toBe(1);
    await stream.body!.cancel();
    front.sessions.sweepIdle(Date.now() + 5_000);
    expect(front.sessions.size).toBe(0);
    expect((await post(front.app, call("ping"), { "mcp-session-id": sid })).status).toBe(404);
    expect((await post(front.app, INIT)).status).toBe(200);
  });
});
