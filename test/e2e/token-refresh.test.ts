// Identity per request on the HTTP front: an OAuth client refreshes its access
// token inside one MCP session. Each request is authorized by the token it
// carries; the session stays bound to the subject (and issuer) that opened it.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { auditRows, eventually, INIT, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway } from "./harness.ts";

const SECRET = "refresh-test-secret-0123456789abcdefgh";
const ISSUER = "https://idp.refresh.test";
const AUDIENCE = "sentinel-refresh";
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

let gw: HttpGateway;
let configPath: string;

function token(sub: string, roles: string[], expiresInS = 3600, iss = ISSUER): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuer(iss)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInS)
    .sign(new TextEncoder().encode(SECRET));
}

beforeAll(async () => {
  configPath = writeConfig(tempDir(), {
    auth: { jwt: { secret: SECRET, issuer: [ISSUER, "https://other-idp.test"], audience: AUDIENCE, clockTolerance: "0s" } },
    rbac: {
      roles: {
        reader: { allow: [{ tools: "alpha__echo" }] },
        writer: { allow: [{ tools: "alpha__add" }] },
      },
    },
    backends: { alpha: stdioFixture("alpha") },
  });
  gw = await startHttpGateway(configPath);
});

afterAll(() => gw.stop());

let nextId = 1;
async function post(session: string | null, bearer: string, method: string, params: Record<string, unknown> = {}) {
  const headers: Record<string, string> = { ...HEADERS, authorization: `Bearer ${bearer}` };
  if (session) headers["mcp-session-id"] = session;
  const body = method === "initialize" ? INIT : { jsonrpc: "2.0", id: nextId++, method, params };
  const res = await fetch(gw.url, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, session: res.headers.get("mcp-session-id"), body: text ? JSON.parse(text) : null };
}

async function open(bearer: string): Promise<string> {
  const init = await post(null, bearer, "initialize");
  expect(init.status).toBe(200);
  const session = init.session!;
  const headers = { ...HEADERS, authorization: `Bearer ${bearer}`, "mcp-session-id": session };
  await fetch(gw.url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  return session;
}

const toolNames = (r: { body: { result: { tools: { name: string }[] } } }) => r.body.result.tools.map((t) => t.name).sort();

describe("a refreshed token on the same session", () => {
  test("keeps the session alive past the first token's expiry", async () => {
    const first = await token("alice", ["reader"], 2);
    const session = await open(first);
    expect((await post(session, first, "tools/call", { name: "alpha__echo", arguments: { text: "t1" } })).status).toBe(200);
    const refreshed = await token("alice", ["reader"]);
    // The first token expires (an event in time, so it is polled for): it is refused on its own...
    await eventually(async () => (await post(session, first, "ping")).status === 401, 10_000, 200);
    // ...while the refreshed one goes on using the same session.
    const call = await post(session, refreshed, "tools/call", { name: "alpha__echo", arguments: { text: "t2" } });
    expect(call.status).toBe(200);
    expect(call.body.result.content[0].text).toBe("t2");
  });

  test("roles added or removed by the new token take effect on the next list and call", async () => {
    const reader = await token("carol", ["reader"]);
    const session = await open(reader);
    expect(toolNames(await post(session, reader, "tools/list"))).toEqual(["alpha__echo"]);
    const denied = await post(session, reader, "tools/call", { name: "alpha__add", arguments: { a: 1, b: 2 } });
    expect(denied.body.error).toMatchObject({ code: -32602, message: "Unknown tool: alpha__add" });

    const both = await token("carol", ["reader", "writer"]);
    expect(toolNames(await post(session, both, "tools/list"))).toEqual(["alpha__add", "alpha__echo"]);
    const added = await post(session, both, "tools/call", { name: "alpha__add", arguments: { a: 1, b: 2 } });
    expect(added.body.result.content[0].text).toBe("3");

    const readerAgain = await token("carol", ["reader"]);
    expect(toolNames(await post(session, readerAgain, "tools/list"))).toEqual(["alpha__echo"]);
    const removed = await post(session, readerAgain, "tools/call", { name: "alpha__add", arguments: { a: 1, b: 2 } });
    expect(removed.body.error).toMatchObject({ code: -32602 });

    // The audit rows record the roles each call was actually decided with.
    const rows = await eventually(async () => {
      const r = await auditRows(configPath, ["--identity", "carol", "--method", "tools/call"]);
      return r.length >= 3 ? r : null;
    });
    const decided = rows!.map((r) => [r.decision, JSON.parse(r.roles!)]).reverse();
    expect(decided).toEqual([
      ["denied", ["reader"]],
      ["allowed", ["reader", "writer"]],
      ["denied", ["reader"]],
    ]);
  });

  test("a session whose roles change is told which lists changed", async () => {
    const reader = await token("dave", ["reader"]);
    const session = await open(reader);
    await post(session, reader, "tools/list");
    const stream = await fetch(gw.url, { headers: { accept: "text/event-stream", authorization: `Bearer ${reader}`, "mcp-session-id": session } });
    expect(stream.status).toBe(200);
    const reader$ = stream.body!.getReader();
    const both = await token("dave", ["reader", "writer"]);
    expect((await post(session, both, "ping")).status).toBe(200);
    let text = "";
    while (!text.includes("list_changed")) {
      const { value, done } = await reader$.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"method":"notifications/tools/list_changed"');
    await reader$.cancel();
  });

  test("a token of another subject, or of the same subject from another issuer, gets 404 on the session", async () => {
    const alice = await token("erin", ["reader"]);
    const session = await open(alice);
    const mallory = await token("mallory", ["reader", "writer"]);
    const other = await post(session, mallory, "tools/list");
    expect(other.status).toBe(404);
    const twin = await token("erin", ["reader", "writer"], 3600, "https://other-idp.test");
    expect((await post(session, twin, "tools/list")).status).toBe(404);
    // The owner is not disturbed.
    expect((await post(session, alice, "tools/list")).status).toBe(200);
  });
});
