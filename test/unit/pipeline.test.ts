// The pipeline in-process: a real Gateway from a parsed config, the SDK echo
// fixture as a stdio backend, a session opened directly (no front). Checks the
// order of the policy steps, each refusal's error and the audit row it leaves,
// and routing.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Principal } from "../../src/auth/principal.ts";
import { parseConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/gateway.ts";
import type { Response } from "../../src/jsonrpc/message.ts";
import type { Session } from "../../src/session/session.ts";
import { openDatabase } from "../../src/store/database.ts";

const FIXTURE = resolve(import.meta.dir, "../fixtures/echo-server.ts");
const fixture = (name: string, extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [FIXTURE, "--name", name], ...extra });

let dir: string;
let db: string;
let gateway: Gateway;
let nextId = 1;

const who = (sub: string, roles: string[], expiresAt: number | null = null): Principal => ({ sub, roles, via: "jwt", expiresAt });

function open(identity: Principal): Session {
  const s = gateway.openSession(`s-${nextId++}`, "stdio", identity, () => {});
  s.initialized = true;
  return s;
}

async function call(session: Session, method: string, params: Record<string, unknown> = {}, identity?: Principal): Promise<Response> {
  const id = nextId++;
  const r = await gateway.pipeline.request(session, { jsonrpc: "2.0", id, method, params }, undefined, identity);
  return r!;
}

const tool = (session: Session, name: string, args: Record<string, unknown> = {}, identity?: Principal) =>
  call(session, "tools/call", { name, arguments: args }, identity);

/** The audit row of the latest call to `target` (rows are written in 50 ms batches). */
async function row(target: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const d = new Database(db, { readonly: true });
    const r = d.query("SELECT * FROM calls WHERE target = ? ORDER BY id DESC LIMIT 1").get(target) as Record<string, unknown> | null;
    d.close();
    if (r) return r;
    await Bun.sleep(20); // polls the database: rows have no other signal
  }
  throw new Error(`no audit row for ${target}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sentinel-pipeline-"));
  db = join(dir, "audit.db");
  // A pin recorded for alpha's "add" with another definition: its current one is a change, withheld.
  const pre = openDatabase(db);
  pre.run(
    "INSERT INTO pins (backend, tool, hash, definition, approved, first_seen, updated) VALUES ('alpha', 'add', 'old', '{}', 1, 0, 0)",
  );
  pre.close();
  const raw = {
    audit: { path: db },
    rbac: {
      roles: {
        user: { allow: [{ backends: "*" }], deny: [{ tools: "alpha__env" }] },
        reader: { allow: [{ tools: "alpha__echo" }] },
      },
    },
    disabledTools: ["alpha__fail", "alpha__env"],
    rateLimits: { tools: { alpha__whoami: "1/min" } },
    backends: { alpha: fixture("alpha"), slow: fixture("slow", { maxConcurrent: 1 }), missing: { command: "/nonexistent/mcp-server" } },
  };
  gateway = new Gateway(parseConfig(JSON.stringify(raw), join(dir, "sentinel.json")));
  gateway.start();
  await gateway.ready;
});

afterAll(async () => {
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the policy steps, in order", () => {
  test("an allowed call reaches the backend; its row says allowed and by which rule", async () => {
    const s = open(who("ann", ["user"]));
    const r = await tool(s, "alpha__echo", { text: "hi" });
    expect(r).toMatchObject({ result: { content: [{ text: "hi" }] } });
    expect(await row("alpha__echo")).toMatchObject({ decision: "allowed", rule: "user.allow[0]", backend: "alpha", outcome: "ok", identity: "ann" });
  });

  test("an unknown tool: -32602, no decision, no backend", async () => {
    const r = await tool(open(who("ann", ["user"])), "nobody__echo");
    expect(r).toMatchObject({ error: { code: -32602, message: "Unknown tool: nobody__echo" } });
    expect(await row("nobody__echo")).toMatchObject({ decision: null, backend: null, outcome: "error", error_code: -32602 });
  });

  test("RBAC comes before the kill switch: a denied, disabled tool reads as unknown", async () => {
    const r = await tool(open(who("ann", ["user"])), "alpha__env", { name: "HOME" });
    expect(r).toMatchObject({ error: { code: -32602, message: "Unknown tool: alpha__env" } });
    expect(await row("alpha__env")).toMatchObject({ decision: "denied", rule: "user.deny[0]", backend: "alpha" });
  });

  test("the kill switch: -32031, decision disabled, the RBAC rule kept", async () => {
    const r = await tool(open(who("ann", ["user"])), "alpha__fail");
    expect(r).toMatchObject({ error: { code: -32031 } });
    expect(await row("alpha__fail")).toMatchObject({ decision: "disabled", rule: "user.allow[0]" });
  });

  test("pinning: a changed definition is withheld with -32032, decision unpinned", async () => {
    const r = await tool(open(who("ann", ["user"])), "alpha__add", { a: 1, b: 2 });
    expect(r).toMatchObject({ error: { code: -32032, message: expect.stringContaining("sentinel tools approve alpha__add") } });
    expect(await row("alpha__add")).toMatchObject({ decision: "unpinned", backend: "alpha" });
  });

  test("a rate limit: the second call gets -32029 with retryAfterMs, decision rate_limited, the limit as its rule", async () => {
    const s = open(who("bea", ["user"]));
    expect(await tool(s, "alpha__whoami")).toMatchObject({ result: { content: [{ text: "alpha" }] } });
    const r = await tool(s, "alpha__whoami");
    expect(r).toMatchObject({ error: { code: -32029, data: { retryAfterMs: expect.any(Number) } } });
    expect(await row("alpha__whoami")).toMatchObject({ decision: "rate_limited", rule: "tool alpha__whoami 1/min" });
  });

  test("a backend that is down: -32000 naming it, after the policy said allowed", async () => {
    const r = await tool(open(who("ann", ["user"])), "missing__anything");
    expect(r).toMatchObject({ error: { code: -32000, message: expect.stringContaining("Backend missing") } });
    expect(await row("missing__anything")).toMatchObject({ decision: "allowed", backend: "missing" });
  });

  test("the connection's in-flight bound: -32030 at once while one call is in flight", async () => {
    const s = open(who("ann", ["user"]));
    const first = tool(s, "slow__sleep", { ms: 400 });
    const slow = gateway.backends.find((b) => b.name === "slow")!;
    while (slow.inFlight === 0) await new Promise((r) => setImmediate(r)); // the first call holds the one slot
    const second = await tool(s, "slow__echo", { text: "x" });
    expect(second).toMatchObject({ error: { code: -32030 } });
    expect(await first).toMatchObject({ result: { content: [{ text: expect.any(String) }] } });
  });

  test("an expired credential is refused before anything else, own methods included", async () => {
    const s = open(who("old", ["user"], Date.now() - 1000));
    expect(await tool(s, "alpha__echo", { text: "x" })).toMatchObject({ error: { code: -32010 } });
    expect(await call(s, "tools/list")).toMatchObject({ error: { code: -32010 } });
  });

  test("the request's own credential decides, not the session's (a refreshed token)", async () => {
    const s = open(who("cid", ["reader"]));
    expect(await tool(s, "alpha__whoami")).toMatchObject({ error: { code: -32602 } });
    const names = (r: Response) => (r as unknown as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names(await call(s, "tools/list"))).toEqual(["alpha__echo"]);
    const more = who("cid", ["user"]);
    expect(names(await call(s, "tools/list", {}, more)).length).toBeGreaterThan(1);
    expect(await tool(s, "alpha__echo", { text: "y" }, more)).toMatchObject({ result: { content: [{ text: "y" }] } });
  });
});

describe("routing", () => {
  test("the exposed name is mapped back to the backend's own; prompts and resources too", async () => {
    const s = open(who("ann", ["user"]));
    expect(await call(s, "prompts/get", { name: "alpha__greet", arguments: { name: "Ada" } })).toMatchObject({
      result: { messages: [{ content: { text: "Hello, Ada!" } }] },
    });
    expect(await call(s, "resources/read", { uri: "fixture://alpha/info" })).toMatchObject({ result: { contents: [{ text: "info from alpha" }] } });
    expect(await call(s, "resources/read", { uri: "fixture://alpha/items/7" })).toMatchObject({ result: { contents: [{ text: "item 7 from alpha" }] } });
    expect(await call(s, "resources/read", { uri: "fixture://nobody/x" })).toMatchObject({ error: { code: -32602 } });
  });

  test("malformed params, unknown methods and foreign tasks are refused with their own codes", async () => {
    const s = open(who("ann", ["user"]));
    expect(await call(s, "tools/call", { name: 5 })).toMatchObject({ error: { code: -32602, message: expect.stringContaining('"name"') } });
    expect(await call(s, "tools/destroy")).toMatchObject({ error: { code: -32601 } });
    expect(await call(s, "tasks/get", { taskId: "not-mine" })).toMatchObject({ error: { code: -32602, message: expect.stringContaining("unknown task") } });
    expect(await call(s, "completion/complete", { ref: { type: "ref/nothing" } })).toMatchObject({ error: { code: -32602 } });
  });

  test("a cancelled call owes no answer, and its row says so", async () => {
    const s = open(who("ann", ["user"]));
    const id = nextId++;
    const pending = gateway.pipeline.request(s, { jsonrpc: "2.0", id, method: "tools/call", params: { name: "alpha__wait", arguments: { ms: 5000 } } });
    s.cancel(id, "changed my mind");
    expect(await pending).toBeNull();
    expect(await row("alpha__wait")).toMatchObject({ error: "cancelled by client" });
  });
});
