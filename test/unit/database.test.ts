// The schema steps and opening a database that other processes hold: real
// SQLite files, and a real second process for the locks.

import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/store/database.ts";
import { migrate, SCHEMA_VERSION, STEPS, userVersion } from "../../src/store/migrations.ts";
import v1 from "../../src/store/schema-v1.sql" with { type: "text" };
import v2 from "../../src/store/schema-v2.sql" with { type: "text" };

const dir = mkdtempSync(join(tmpdir(), "sentinel-db-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `db${n++}.db`);

// What the older builds left: v2 as it was written before its steps were made idempotent.
const OLD_V2_COLUMNS = "ALTER TABLE calls ADD COLUMN roles TEXT; ALTER TABLE calls ADD COLUMN decision TEXT; ALTER TABLE calls ADD COLUMN rule TEXT;";

function raw(path: string, sql: string): void {
  const db = new Database(path, { create: true });
  db.exec(sql);
  db.close();
}

function schemaOf(db: Database) {
  return {
    version: userVersion(db),
    tables: (db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name),
    calls: (db.query("PRAGMA table_info(calls)").all() as { name: string }[]).map((c) => c.name),
    indexes: (db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
      (i) => i.name,
    ),
  };
}

const CURRENT = {
  version: 7,
  tables: ["approvals", "calls", "era_verdicts", "events", "journals", "pins", "switches"],
  calls: ["id", "ts", "session", "front", "identity", "method", "backend", "target", "args", "outcome", "error_code", "error", "latency_us", "roles", "decision", "rule", "request_id", "retries", "view"],
  indexes: ["calls_identity", "calls_request", "calls_target", "calls_ts", "calls_view"],
};

describe("migrations", () => {
  test("a new file gets the whole schema", () => {
    const db = openDatabase(fresh());
    expect(schemaOf(db)).toEqual(CURRENT);
    expect(SCHEMA_VERSION).toBe(CURRENT.version);
    db.close();
  });

  test("databases at every older version upgrade in place and keep their rows", () => {
    const states: Record<string, string> = {
      "v0 (before versioning: calls, user_version 0)": v1,
      v1: `${v1} PRAGMA user_version = 1;`,
      v2: `${v1} ${OLD_V2_COLUMNS} ${v2} PRAGMA user_version = 2;`,
    };
    for (const [name, sql] of Object.entries(states)) {
      const path = fresh();
      raw(path, `${sql} INSERT INTO calls (ts, front, identity, method, outcome, latency_us) VALUES (1, 'stdio', 'old', 'tools/call', 'ok', 5);`);
      const db = openDatabase(path);
      expect({ name, ...schemaOf(db) }).toEqual({ name, ...CURRENT });
      expect(db.query("SELECT identity FROM calls").all()).toEqual([{ identity: "old" }]);
      db.close();
    }
  });

  test("a database an older build left half-migrated is repaired", () => {
    // v2's columns added, user_version still 1; with and without v2's tables.
    for (const tables of [false, true]) {
      const path = fresh();
      raw(path, `${v1} ${OLD_V2_COLUMNS} PRAGMA user_version = 1;`);
      if (tables) raw(path, v2);
      const db = openDatabase(path);
      expect(schemaOf(db)).toEqual(CURRENT);
      db.close();
      // And it stays openable: the repair is not a one-off.
      const again = openDatabase(path);
      expect(userVersion(again)).toBe(CURRENT.version);
      again.close();
    }
  });

  test("every step can run again where it already ran", () => {
    const db = openDatabase(fresh());
    for (const step of STEPS) step(db);
    for (const step of STEPS) step(db);
    expect(schemaOf(db)).toEqual(CURRENT);
    db.close();
  });

  test("the version is read again under the write lock: a migrated database is not migrated twice", () => {
    const path = fresh();
    raw(path, `${v1} PRAGMA user_version = 1;`);
    const a = new Database(path);
    const b = new Database(path);
    migrate(a);
    // b read nothing yet; migrating it now must find the work done, not add the columns again.
    expect(() => migrate(b)).not.toThrow();
    expect(schemaOf(b)).toEqual(CURRENT);
    a.close();
    b.close();
  });

  test("a database from a newer build is left alone", () => {
    const path = fresh();
    raw(path, `${v1} PRAGMA user_version = 99;`);
    const db = openDatabase(path);
    expect(userVersion(db)).toBe(99);
    expect(schemaOf(db).tables).toEqual(["calls"]);
    db.close();
  });
});

describe("opening a database another process holds", () => {
  /** A second process that takes `lock` on `path`, says so, and keeps it for `ms`. */
  async function holder(path: string, lock: string, ms: number) {
    const script = `
      const { Database } = require("bun:sqlite");
      const db = new Database(${JSON.stringify(path)}, { create: true });
      db.exec(${JSON.stringify(lock)});
      console.log("locked");
      Bun.sleepSync(${ms});
      db.exec("COMMIT");
      db.close();`;
    const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("locked");
    return proc;
  }

  test("a new file locked by another process: switching to WAL and migrating wait instead of failing", async () => {
    const path = fresh();
    const proc = await holder(path, "BEGIN EXCLUSIVE; CREATE TABLE held (x);", 400);
    const started = performance.now();
    const db = openDatabase(path);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThan(200);
    expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    expect(schemaOf(db).version).toBe(CURRENT.version);
    db.close();
    expect(await proc.exited).toBe(0);
  });

  test("an old database whose writer holds the lock: the migration waits for it", async () => {
    const path = fresh();
    raw(path, `PRAGMA journal_mode = WAL; ${v1} PRAGMA user_version = 1;`);
    const proc = await holder(path, "BEGIN IMMEDIATE; INSERT INTO calls (ts, front, identity, method, outcome, latency_us) VALUES (1, 'stdio', 'x', 'm', 'ok', 1);", 400);
    const started = performance.now();
    const db = openDatabase(path);
    expect(performance.now() - started).toBeGreaterThan(200);
    expect(schemaOf(db)).toEqual(CURRENT);
    expect((db.query("SELECT count(*) AS n FROM calls").get() as { n: number }).n).toBe(1);
    db.close();
    expect(await proc.exited).toBe(0);
  });
});

describe("several processes writing at once", () => {
  test("audit rows, pins, switches and events from 6 processes: nothing lost, no 'database is locked'", async () => {
    const path = fresh();
    const src = join(import.meta.dir, "../../src");
    const ROWS = 1500;
    const EVERY = 50;
    const script = (id: number, go: number) => `
      const { AuditStore } = await import(${JSON.stringify(`${src}/audit/store.ts`)});
      const { Pins } = await import(${JSON.stringify(`${src}/policy/pins.ts`)});
      const { Switches } = await import(${JSON.stringify(`${src}/policy/switches.ts`)});
      while (Date.now() < ${go}) {}
      const store = AuditStore.open(${JSON.stringify(path)});
      const pins = new Pins(store.db, "block", () => {});
      const switches = new Switches(store.db);
      for (let i = 0; i < ${ROWS}; i++) {
        store.record({ ts: i, session: null, front: "stdio", identity: "p${id}", method: "tools/call", backend: null, target: "t" + i,
          args: null, outcome: "ok", errorCode: null, error: null, latencyUs: 1, roles: null, decision: null, rule: null });
        if (i % ${EVERY} === 0) {
          switches.disable("p${id}__t" + i, "test");
          pins.check("p${id}", { name: "t" + i, description: "tool " + i });
          await new Promise((r) => setImmediate(r));
        }
      }
      store.close();
      console.log("done");`;
    const go = Date.now() + 500;
    const procs = Array.from({ length: 6 }, (_, id) => Bun.spawn([process.execPath, "-e", script(id, go)], { stdout: "pipe", stderr: "pipe" }));
    const outputs = await Promise.all(procs.map(async (p) => [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited] as const));
    for (const [stdout, stderr, code] of outputs) {
      expect(stderr).not.toContain("locked");
      expect(stderr).not.toContain("cannot write");
      expect({ stdout: stdout.trim(), code }).toEqual({ stdout: "done", code: 0 });
    }
    const db = new Database(path, { readonly: true });
    const count = (sql: string) => (db.query(sql).get() as { n: number }).n;
    const writes = ROWS / EVERY;
    expect(count("SELECT count(*) AS n FROM calls")).toBe(6 * ROWS);
    expect(count("SELECT count(DISTINCT identity || target) AS n FROM calls")).toBe(6 * ROWS);
    expect(count("SELECT count(*) AS n FROM switches")).toBe(6 * writes);
    expect(count("SELECT count(*) AS n FROM pins")).toBe(6 * writes);
    expect(count("SELECT count(*) AS n FROM events WHERE kind = 'switch'")).toBe(6 * writes);
    expect(count("SELECT count(*) AS n FROM journals")).toBe(0);
    db.close();
  });
});
