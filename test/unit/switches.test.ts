import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Switches } from "../../src/policy/switches.ts";
import { openDatabase } from "../../src/store/database.ts";

const root = mkdtempSync(join(tmpdir(), "sentinel-switches-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
let path: string;
let db: Database;
const T0 = 1_700_000_000_000;

beforeEach(() => {
  path = join(root, `switches-${n++}.db`);
  db = openDatabase(path);
});

describe("disable and enable", () => {
  test("an exact exposed name", () => {
    const s = new Switches(db);
    expect(s.isDisabled("n8n__run", "n8n")).toBe(false);
    s.disable("n8n__run", "leaks data", T0);
    expect(s.isDisabled("n8n__run", "n8n")).toBe(true);
    expect(s.isDisabled("n8n__run_all", "n8n")).toBe(false);
    expect(s.list()).toEqual([{ name: "n8n__run", disabledAt: T0, reason: "leaks data" }]);
    expect(s.enable("n8n__run", T0 + 1)).toBe(true);
    expect(s.isDisabled("n8n__run", "n8n")).toBe(false);
    expect(s.enable("n8n__run")).toBe(false);
    expect(s.list()).toEqual([]);
  });

  test("a glob", () => {
    const s = new Switches(db);
    s.disable("github__delete_*");
    expect(s.isDisabled("github__delete_repo", "github")).toBe(true);
    expect(s.isDisabled("github__delete_", "github")).toBe(true);
    expect(s.isDisabled("github__create_repo", "github")).toBe(false);
    expect(s.isDisabled("xgithub__delete_repo", "x")).toBe(false);
    s.disable("fs__?ead");
    expect(s.isDisabled("fs__read", "fs")).toBe(true);
    expect(s.isDisabled("fs__reads", "fs")).toBe(false);
  });

  test("backend:NAME covers every tool of that backend", () => {
    const s = new Switches(db);
    s.disable("backend:n8n");
    expect(s.isDisabled("n8n__anything", "n8n")).toBe(true);
    expect(s.isDisabled("renamed_tool", "n8n")).toBe(true);
    expect(s.isDisabled("n8n__anything", "github")).toBe(false);
    // Not an exposed name: no tool is literally called "backend:n8n".
    expect(s.isDisabled("backend:n8n", "other")).toBe(false);
    s.disable("backend:git*");
    expect(s.isDisabled("x", "github")).toBe(true);
    expect(s.isDisabled("x", "gitlab")).toBe(true);
  });

  test("disabling again replaces the reason; each change is an event", () => {
    const s = new Switches(db);
    s.disable("a__x", "first", T0);
    s.disable("a__x", "second", T0 + 1);
    s.disable("backend:a", undefined, T0 + 2);
    s.enable("a__x", T0 + 3);
    expect(s.list()).toEqual([{ name: "backend:a", disabledAt: T0 + 2, reason: null }]);
    const events = db.query("SELECT ts, kind, backend, target, detail FROM events ORDER BY id").all();
    expect(events).toEqual([
      { ts: T0, kind: "switch", backend: null, target: "a__x", detail: '{"action":"disable","reason":"first"}' },
      { ts: T0 + 1, kind: "switch", backend: null, target: "a__x", detail: '{"action":"disable","reason":"second"}' },
      { ts: T0 + 2, kind: "switch", backend: "a", target: "backend:a", detail: '{"action":"disable"}' },
      { ts: T0 + 3, kind: "switch", backend: null, target: "a__x", detail: '{"action":"enable"}' },
    ]);
  });

  test("names with regex characters are literal", () => {
    const s = new Switches(db);
    s.disable("a.b__(x)");
    expect(s.isDisabled("a.b__(x)", "a")).toBe(true);
    expect(s.isDisabled("aXb__(x)", "a")).toBe(false);
  });
});

describe("refresh", () => {
  test("sees switches set through another connection to the same file", () => {
    const gateway = new Switches(db);
    expect(gateway.refresh()).toBe(false);

    const cli = openDatabase(path);
    new Switches(cli).disable("n8n__run", "incident 42");
    expect(gateway.isDisabled("n8n__run", "n8n")).toBe(false);
    expect(gateway.refresh()).toBe(true);
    expect(gateway.isDisabled("n8n__run", "n8n")).toBe(true);
    expect(gateway.list()[0]!.reason).toBe("incident 42");
    expect(gateway.refresh()).toBe(false);

    new Switches(cli).enable("n8n__run");
    expect(gateway.refresh()).toBe(true);
    expect(gateway.isDisabled("n8n__run", "n8n")).toBe(false);
    cli.close();
  });

  test("other writes to the file are not changes", () => {
    const gateway = new Switches(db);
    const other = openDatabase(path);
    other.run("INSERT INTO events (ts, kind) VALUES (?, 'tool_changed')", [T0]);
    expect(gateway.refresh()).toBe(false);
    other.close();
  });

  test("a gateway started after the switch sees it at once", () => {
    const cli = openDatabase(path);
    new Switches(cli).disable("backend:slack");
    cli.close();
    expect(new Switches(db).isDisabled("slack__post", "slack")).toBe(true);
  });

  test("an unchanged file costs one PRAGMA: 100,000 refreshes and lookups in well under a second", () => {
    const s = new Switches(db);
    s.disable("a__*");
    s.disable("b__x");
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) {
      s.refresh();
      s.isDisabled(`a__${i}`, "a");
    }
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
