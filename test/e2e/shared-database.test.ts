// Several gateways on one database, as with one Claude Code window each: they
// start at the same instant, on a new file or one an older build wrote, and
// then all write at once. Drives dist/sentinel over stdio; real SQLite.

import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import v1 from "../../src/store/schema-v1.sql" with { type: "text" };
import v2 from "../../src/store/schema-v2.sql" with { type: "text" };
import { INIT, runCli, stdioFixture, stdioRpc, tempDir, writeConfig, type StdioRpc } from "./harness.ts";

// v2's columns as older builds added them, outside its (now idempotent) step.
const V2_COLUMNS = "ALTER TABLE calls ADD COLUMN roles TEXT; ALTER TABLE calls ADD COLUMN decision TEXT; ALTER TABLE calls ADD COLUMN rule TEXT;";

const STATES: Record<string, string | null> = {
  "a new file": null,
  "v0 (before versioning: calls, user_version 0)": v1,
  v1: `${v1} PRAGMA user_version = 1;`,
  v2: `${v1} ${V2_COLUMNS} ${v2} PRAGMA user_version = 2;`,
  "half-migrated by an older build (v2 columns, user_version 1, no v2 tables)": `${v1} ${V2_COLUMNS} PRAGMA user_version = 1;`,
  "half-migrated by an older build (v2 columns and tables, user_version 1)": `${v1} ${V2_COLUMNS} ${v2} PRAGMA user_version = 1;`,
};

const GATEWAYS = 16;

function setUp(state: string | null) {
  const dir = tempDir();
  const db = join(dir, "audit.db");
  if (state) {
    const old = new Database(db, { create: true });
    old.exec(state);
    old.run("INSERT INTO calls (ts, front, identity, method, outcome, latency_us) VALUES (1, 'stdio', 'before', 'tools/call', 'ok', 1)");
    old.close();
  }
  return { db, config: writeConfig(dir, { backends: { echo: stdioFixture("echo") } }) };
}

function schemaOf(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const names = (sql: string) => (db.query(sql).all() as { name: string }[]).map((r) => r.name);
    return {
      version: (db.query("PRAGMA user_version").get() as { user_version: number }).user_version,
      tables: names("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
      governanceColumns: names("PRAGMA table_info(calls)").filter((c) => ["roles", "decision", "rule"].includes(c)),
      viewColumn: names("PRAGMA table_info(calls)").filter((c) => c === "view"),
      pins: names("SELECT tool AS name FROM pins ORDER BY tool").length,
      journals: names("SELECT file AS name FROM journals").length,
    };
  } finally {
    db.close();
  }
}

/** initialize, then tools/list: what a client does first. */
async function firstContact(g: StdioRpc): Promise<string[]> {
  const init = await g.call("initialize", INIT.params);
  if (!init?.result) throw new Error(`initialize: ${JSON.stringify(init)}; stderr: ${g.stderr().slice(-500)}`);
  g.notify("notifications/initialized");
  const list = await g.call("tools/list", {});
  if (!list?.result) throw new Error(`tools/list: ${JSON.stringify(list)}; stderr: ${g.stderr().slice(-500)}`);
  return (list.result.tools as { name: string }[]).map((t) => t.name);
}

describe(`${GATEWAYS} gateways started at once`, () => {
  for (const [name, state] of Object.entries(STATES)) {
    test(`on ${name}: all serve, and the schema is current`, async () => {
      const { db, config } = setUp(state);
      const gateways = Array.from({ length: GATEWAYS }, () => stdioRpc(config));
      const lists = await Promise.all(gateways.map(firstContact));
      for (const tools of lists) expect(tools).toContain("echo__echo");
      const codes = await Promise.all(gateways.map((g) => g.close()));
      expect(codes).toEqual(gateways.map(() => 0));
      for (const g of gateways) expect(g.stderr()).not.toMatch(/SQLite|database is locked|duplicate column/);

      const schema = schemaOf(db);
      expect(schema).toMatchObject({
        version: 7,
        tables: ["approvals", "calls", "era_verdicts", "events", "journals", "pins", "switches"],
        governanceColumns: ["roles", "decision", "rule"],
        viewColumn: ["view"],
        journals: 0,
      });
      expect(schema.pins).toBeGreaterThan(0);
      // A later start on the same file works too: nothing was left half done.
      const later = stdioRpc(config);
      expect(await firstContact(later)).toContain("echo__echo");
      expect(await later.close()).toBe(0);
    }, 60_000);
  }
});

describe("gateways writing at once", () => {
  test("4 gateways with calls in flight on each, and kill switches flipped meanwhile: every answered call has one row", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { backends: { echo: stdioFixture("echo") } });
    const gateways = Array.from({ length: 4 }, () => stdioRpc(config));
    await Promise.all(gateways.map(firstContact));

    const CALLS = 400;
    const IN_FLIGHT = 8;
    const answered: string[] = [];
    const failed: unknown[] = [];
    const load = gateways.map(async (g, k) => {
      let next = 0;
      const worker = async () => {
        while (next < CALLS) {
          const text = `g${k}-${next++}`;
          const res = await g.call("tools/call", { name: "echo__echo", arguments: { text } });
          if (res?.result && !res.result.isError) answered.push(text);
          else failed.push(res);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    });
    // Other writers on the same file meanwhile: `sentinel tools disable/enable` (switches and events).
    const admin = (async () => {
      const results = [];
      for (let i = 0; i < 5; i++) {
        results.push(await runCli(["tools", "disable", `echo__other${i}`, "--config", config]));
        results.push(await runCli(["tools", "enable", `echo__other${i}`, "--config", config]));
      }
      return results;
    })();
    await Promise.all(load);
    for (const r of await admin) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.not.stringContaining("locked") });
    expect(failed).toEqual([]);
    expect(answered.length).toBe(4 * CALLS);

    const codes = await Promise.all(gateways.map((g) => g.close()));
    expect(codes).toEqual([0, 0, 0, 0]);
    for (const g of gateways) expect(g.stderr()).not.toMatch(/database is locked|cannot write/);

    const db = new Database(join(dir, "audit.db"), { readonly: true });
    const rows = db.query("SELECT args FROM calls WHERE method = 'tools/call'").all() as { args: string }[];
    const events = (db.query("SELECT count(*) AS n FROM events WHERE kind = 'switch'").get() as { n: number }).n;
    db.close();
    const texts = rows.map((r) => JSON.parse(r.args).text as string).sort();
    expect(texts).toEqual([...answered].sort());
    expect(events).toBe(10);
  }, 60_000);
});
