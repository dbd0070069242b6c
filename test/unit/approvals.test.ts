import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import { Database } from "bun:sqlite";
import { Approvals, PendingApprovals } from "../../src/policy/approvals.ts";
import { migrate } from "../../src/store/migrations.ts";

function compile(approvals: unknown[], events: [string, string][] = []): Approvals | null {
  const config = parseConfig(JSON.stringify({ backends: {}, approvals }), "<test>", {});
  return Approvals.compile(config.approvals, (kind, detail) => events.push([kind, detail]), 200);
}

const alice = { sub: "alice", roles: ["dev"] };
const bob = { sub: "bob", roles: ["ops", "admin"] };

describe("Approvals", () => {
  test("no rules: nothing to compile, the step costs nothing", () => {
    expect(compile([])).toBeNull();
  });

  test("tools are globs over exposed names; the first matching rule holds the call", () => {
    const a = compile([{ tools: ["db__drop_*", "fs__write"] }, { tools: "db__*", timeout: "10s" }])!;
    expect(a.match(alice, "db__drop_table", {})).toMatchObject({ name: "approvals[0]", timeoutMs: 300_000, approver: null });
    expect(a.match(alice, "fs__write", {})?.name).toBe("approvals[0]");
    expect(a.match(alice, "db__query", {})).toMatchObject({ name: "approvals[1]", timeoutMs: 10_000 });
    expect(a.match(alice, "fs__read", {})).toBeNull();
  });

  test("args: a pattern and a not; a structured value is judged on its JSON text", () => {
    const a = compile([{ tools: "db__query", args: { sql: { pattern: "\\b(DROP|DELETE)\\b" }, readonly: { not: true } } }])!;
    expect(a.match(alice, "db__query", { sql: "DROP TABLE x" })).not.toBeNull();
    expect(a.match(alice, "db__query", { sql: "SELECT 1" })).toBeNull();
    expect(a.match(alice, "db__query", { sql: "DROP TABLE x", readonly: true })).toBeNull();
    expect(a.match(alice, "db__query", { sql: ["DROP TABLE x"] })).not.toBeNull();
    expect(a.match(alice, "db__query", undefined)).toBeNull();
  });

  test("roles and identities narrow whose calls need approval", () => {
    const a = compile([
      { tools: "*", roles: ["ops"] },
      { tools: "fs__*", identities: ["alice"] },
    ])!;
    expect(a.match(bob, "db__x", {})?.name).toBe("approvals[0]");
    expect(a.match(alice, "db__x", {})).toBeNull();
    expect(a.match(alice, "fs__write", {})?.name).toBe("approvals[1]");
    expect(a.match({ sub: "carol", roles: [] }, "fs__write", {})).toBeNull();
  });

  test("an approver role is kept for the step to judge", () => {
    expect(compile([{ tools: "*", approver: "admin" }])!.match(alice, "x", {})?.approver).toBe("admin");
  });

  test("events carry the arguments redacted and bounded", () => {
    const events: [string, string][] = [];
    const a = compile([{ tools: "*" }], events)!;
    a.event("approval_requested", { rule: "approvals[0]", tool: "t" }, { query: "x", apiKey: "sk-live-123", big: "y".repeat(500) });
    const [kind, detail] = events[0]!;
    expect(kind).toBe("approval_requested");
    const d = JSON.parse(detail);
    expect(d).toMatchObject({ rule: "approvals[0]", tool: "t" });
    expect(detail).not.toContain("sk-live-123");
    expect(d.arguments.truncated).toBe(true);
  });
});

describe("PendingApprovals", () => {
  const row = (id: string, expires: number) => ({ id, ts: 0, expires, rule: "approvals[0]", tool: "t", backend: "b", identity: "alice", approver: "admin", args: "{}" });

  test("one answer per call, none after it expired or gave up", () => {
    // The schema a gateway's database has (migrations.ts, step 7).
    const db = new Database(":memory:");
    migrate(db);
    const p = new PendingApprovals(db);
    p.open(row("a", 1000));
    p.open(row("b", 1000));
    p.open(row("c", 10));
    expect(p.list(500).map((r) => r.id)).toEqual(["a", "b"]);
    expect(p.decide("a", true, "ops", 500)).toBe(true);
    expect(p.state("a")).toEqual({ state: "approved", decidedBy: "ops" });
    expect(p.decide("a", false, "ops", 500)).toBe(false);
    expect(p.end("a", "expired")).toBe(false);
    expect(p.decide("c", true, "ops", 500)).toBe(false);
    expect(p.end("b", "cancelled")).toBe(true);
    expect(p.decide("b", true, "ops", 500)).toBe(false);
    expect(p.decide("nope", true, "ops", 500)).toBe(false);
    db.close();
  });
});
